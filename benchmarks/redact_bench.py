"""Redaction: secrets caught per family, ordinary text kept, and throughput.

Run: PYTHONPATH=src python benchmarks/redact_bench.py [--per-family N] [--seed S]

Writes benchmarks/results/redact.md and prints it. The corpus comes from the
seeded generator the tests use (tests/redaction_samples.py): random secrets in
each issuer's documented shape, planted in chat-like sentences, and ordinary
technical chat (hashes, UUIDs, base64 in code, versions, URLs, ports, dates,
snowflakes, stack traces) that must come back unchanged. A secret counts as
caught only when none of its planted parts survives redaction.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the generator lives in the tests package

from docloop.redact import redact  # noqa: E402
from docloop.redact_personal import is_phone_number  # noqa: E402
from tests.redaction_samples import ordinary_samples, secret_samples  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "redact.md"


def measure_secrets(seed: int, per_family: int) -> tuple[Counter[str], Counter[str], list[str]]:
    """Per family: samples and samples fully caught; plus a few misses to show."""
    total: Counter[str] = Counter()
    caught: Counter[str] = Counter()
    misses: list[str] = []
    for family, text, planted in secret_samples(seed=seed, per_family=per_family):
        total[family] += 1
        redacted = redact(text)
        if any(part in redacted for part in planted):
            misses.append(f"{family}: {redacted[:120]!r}")
        else:
            caught[family] += 1
    return total, caught, misses


def measure_ordinary(seed: int, per_family: int) -> tuple[Counter[str], Counter[str], list[str]]:
    """Per family: samples and samples changed by redaction (false positives)."""
    total: Counter[str] = Counter()
    changed: Counter[str] = Counter()
    examples: list[str] = []
    for family, text in ordinary_samples(seed=seed, per_family=per_family):
        total[family] += 1
        redacted = redact(text)
        if redacted != text:
            changed[family] += 1
            examples.append(f"{family}: {text[:80]!r} -> {redacted[:80]!r}")
    return total, changed, examples


def throughput(seed: int, per_family: int) -> tuple[int, int, float]:
    """Messages, characters and seconds to redact the whole corpus once (cold: the
    phone-number cache is emptied first, as the corpus was already redacted once)."""
    is_phone_number.cache_clear()
    texts = [t for _, t, _ in secret_samples(seed=seed, per_family=per_family)]
    texts += [t for _, t in ordinary_samples(seed=seed + 1, per_family=per_family)]
    started = time.perf_counter()
    for text in texts:
        redact(text)
    return len(texts), sum(len(t) for t in texts), time.perf_counter() - started


#: 2,000-character messages (Discord's limit) built to make patterns backtrack
_DIGITS = random.Random(5)
ADVERSARIAL = {
    "digit groups": " ".join(f"0{_DIGITS.randrange(10, 99)}" for _ in range(500)),
    "dashes": "-" * 2000, "dotted words": "a." * 1000,
    "key names": "password" * 250, "schemes": "sk-" * 666, "plus digits": "+1" + "2" * 1998,
    "base64": "A1b2" * 500, "key headers": "-----BEGIN PRIVATE KEY-----" * 74,
}


def worst_case() -> tuple[str, float]:
    """The slowest adversarial message and its redaction time in milliseconds."""
    timings = {}
    is_phone_number.cache_clear()
    for name, text in ADVERSARIAL.items():
        started = time.perf_counter()
        redact(text)
        timings[name] = (time.perf_counter() - started) * 1000
    slowest = max(timings, key=timings.__getitem__)
    return slowest, timings[slowest]


def render(args: argparse.Namespace) -> str:
    total, caught, misses = measure_secrets(args.seed, args.per_family)
    o_total, changed, examples = measure_ordinary(args.seed + 1, args.per_family)
    count, chars, seconds = throughput(args.seed, args.per_family)
    slowest, slowest_ms = worst_case()
    all_caught, all_secret = sum(caught.values()), sum(total.values())
    all_changed, all_ordinary = sum(changed.values()), sum(o_total.values())
    lines = [
        "## Redaction: secrets caught and ordinary text kept",
        "",
        f"Command: `PYTHONPATH=src python benchmarks/redact_bench.py --per-family "
        f"{args.per_family} --seed {args.seed}`",
        "",
        "Samples come from the seeded generator in `tests/redaction_samples.py` (random values "
        "in each issuer's documented shape, planted in chat sentences; not copied from "
        "anywhere). A sample is caught when none of its planted parts survives.",
        "",
        f"**Secrets and personal data caught: {all_caught}/{all_secret} "
        f"({all_caught / all_secret:.1%}). Ordinary texts changed (false positives): "
        f"{all_changed}/{all_ordinary} ({all_changed / all_ordinary:.1%}).** "
        f"Throughput: {count / seconds:,.0f} messages/s ({chars / seconds / 1e6:.2f} M chars/s); "
        f"the slowest of {len(ADVERSARIAL)} adversarial 2,000-character messages "
        f"({slowest}) takes {slowest_ms:.0f} ms.",
        "",
        "| secret family | samples | caught | rate |",
        "|---|---:|---:|---:|",
        *(f"| {f} | {total[f]} | {caught[f]} | {caught[f] / total[f]:.1%} |" for f in total),
        "",
        "| ordinary-text family | samples | changed | false-positive rate |",
        "|---|---:|---:|---:|",
        *(f"| {f} | {o_total[f]} | {changed[f]} | {changed[f] / o_total[f]:.1%} |"
          for f in o_total),
        "",
    ]
    if misses or examples:
        lines += ["Misses and false positives (first 10):", "",
                  *(f"- `{m}`" for m in (misses + examples)[:10]), ""]
    lines += ["Limits: the ordinary corpus is generated too, so it only holds the kinds of text "
              "listed; a bare 40-character AWS secret is recognised by its mixed case and "
              "digits, and national phone numbers only in the regions listed in "
              "`docloop.redact_personal.NATIONAL_REGIONS`.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-family", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2026)
    text = render(parser.parse_args())
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
