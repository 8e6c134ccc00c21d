"""How well each problem representation ranks same-group pairs above different-group pairs.

For every labelled set (benchmarks/labelled_sets.py), the problems docloop extracts with
the shipped settings that fall in exactly one labelled group are compared pairwise;
the figure is the ROC AUC of "same group" over "different group" pairs (1.0: every
same-group pair is more alike than every different-group pair). A clustering threshold
can only be as good as this ranking, so representations are compared here first.

Usage: PYTHONPATH=src python benchmarks/separation_bench.py [SET ...]
Writes benchmarks/results/separation.md.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from docloop.models import Problem  # noqa: E402
from docloop.quality import SHIPPED  # noqa: E402
from docloop.stages.cluster import centred  # noqa: E402
from docloop.stages.hubness import neighbourhood_density  # noqa: E402
from docloop.stages.lexical import lexical_vectors  # noqa: E402
from docloop.stages.shared_terms import SharedTerms  # noqa: E402
from docloop.text import error_strings, sentences  # noqa: E402
from labelled_sets import SETS, SetRun  # noqa: E402

RESULTS = HERE / "results" / "separation.md"
Similarity = Callable[[SetRun, list[Problem], np.ndarray], np.ndarray]


def auc(similarity: np.ndarray, same: np.ndarray) -> float:
    """Mann-Whitney AUC of the upper-triangle same-group pairs over the others."""
    upper = np.triu_indices(len(similarity), 1)
    scores, positive = similarity[upper], same[upper]
    ranks = np.empty(len(scores))
    ranks[np.argsort(scores, kind="stable")] = np.arange(1, len(scores) + 1)
    hits, misses = int(positive.sum()), int((~positive).sum())
    return float((ranks[positive].sum() - hits * (hits + 1) / 2) / (hits * misses))


def _cosine(vectors: np.ndarray) -> np.ndarray:
    space = centred(vectors, SHIPPED.center_shrink)
    return space @ space.T


def whole(run: SetRun, problems: list[Problem], vectors: np.ndarray) -> np.ndarray:
    """What clustering embeds: `Problem.embedding_text` (verbatim where the text dropped code)."""
    return _cosine(vectors)


def problem_text(run: SetRun, problems: list[Problem], vectors: np.ndarray) -> np.ndarray:
    """The problem text and answer only (what was embedded before issue #12's second round)."""
    return _cosine(run.embed([p.with_answer for p in problems]))


def key_text(run: SetRun, problems: list[Problem], vectors: np.ndarray) -> np.ndarray:
    """Title and the first two error lines only."""
    texts = [" ".join(dict.fromkeys([p.title, *error_strings(p.text)[:2]])) for p in problems]
    return _cosine(run.embed(texts))


def blend_key(run: SetRun, problems: list[Problem], vectors: np.ndarray) -> np.ndarray:
    return 0.7 * problem_text(run, problems, vectors) + 0.3 * key_text(run, problems, vectors)


def sentence_max(run: SetRun, problems: list[Problem], vectors: np.ndarray) -> np.ndarray:
    """Best-matching pair of sentences (up to eight per problem)."""
    parts = [[s for s in sentences(p.text) if len(s) > 20][:8] or [p.text] for p in problems]
    owner = np.array([i for i, texts in enumerate(parts) for _ in texts])
    space = centred(run.embed([s for texts in parts for s in texts]), SHIPPED.center_shrink)
    pairs = space @ space.T
    out = np.empty((len(problems), len(problems)), dtype=np.float32)
    for i in range(len(problems)):
        rows = pairs[owner == i]
        out[i] = [rows[:, owner == j].max() for j in range(len(problems))]
    return out


def tfidf(run: SetRun, problems: list[Problem], vectors: np.ndarray) -> np.ndarray:
    lexical = lexical_vectors(problems)
    return lexical @ lexical.T


def rarest_term(run: SetRun, problems: list[Problem], vectors: np.ndarray) -> np.ndarray:
    """Rarity of the rarest code term two problems share (the shared_weight bonus)."""
    terms = SharedTerms(problems, 1.0)
    return np.array([[max((terms.rarity[t] for t in a & b), default=0.0) for b in terms.terms]
                     for a in terms.terms])


def csls(run: SetRun, problems: list[Problem], vectors: np.ndarray) -> np.ndarray:
    """Whole text with local scaling: cos - (d(x) + d(y)) / 2 (stages/hubness.py, k = 5)."""
    space = centred(vectors, SHIPPED.center_shrink)
    density = neighbourhood_density(space, 5)
    return space @ space.T - (density[:, None] + density[None, :]) / 2


#: sections in a problem's docs profile, and the softmax temperature over their cosines
PROFILE_SECTIONS = 20
PROFILE_TEMPERATURE = 0.1
PROFILE_BLEND = 0.4  # the profile's weight beside the shipped similarity (the best tried)


def docs_profile(run: SetRun, problems: list[Problem], vectors: np.ndarray) -> np.ndarray:
    """Where the docs put each problem: its PROFILE_SECTIONS closest sections of the set's
    docs index (a section's best chunk cosine), softmax-weighted, compared by cosine, as
    search logs group queries by the results they share (RESULTS.md, session 12)."""
    conn = sqlite3.connect(f"file:{run.settings.db_path}?mode=ro", uri=True)
    rows = conn.execute("SELECT path, heading, vector FROM docs_chunks").fetchall()
    conn.close()
    sections = {key: i for i, key in enumerate(dict.fromkeys((r[0], r[1]) for r in rows))}
    owner = np.array([sections[(r[0], r[1])] for r in rows])
    cosines = vectors @ np.stack([np.frombuffer(r[2], dtype=np.float32) for r in rows]).T
    best = np.full((len(vectors), len(sections)), -1.0, dtype=np.float32)
    np.maximum.at(best.T, owner, cosines.T)
    profile = np.zeros_like(best)
    for i, row in enumerate(best):
        top = np.argsort(-row)[:PROFILE_SECTIONS]
        profile[i, top] = np.exp((row[top] - row[top[0]]) / PROFILE_TEMPERATURE)
    profile /= np.linalg.norm(profile, axis=1, keepdims=True)
    return profile @ profile.T


def csls_with_docs(run: SetRun, problems: list[Problem], vectors: np.ndarray) -> np.ndarray:
    return csls(run, problems, vectors) + PROFILE_BLEND * docs_profile(run, problems, vectors)


SYSTEMS: dict[str, Similarity] = {
    "problem text only": problem_text, "embedding text (shipped)": whole,
    "key text": key_text, "whole 70 % + key 30 %": blend_key,
    "best sentence pair": sentence_max, "TF-IDF words": tfidf,
    "rarest shared code term": rarest_term, "embedding text, CSLS k=5": csls,
    "docs section profile (top 20)": docs_profile,
    "CSLS k=5 + 0.4 × docs section profile": csls_with_docs}


def measure(run: SetRun) -> dict[str, float]:
    """AUC of every system on the set's problems that belong to one labelled group."""
    problems, vectors = run.extracted(SHIPPED)
    keep, groups = [], []
    for index, problem in enumerate(problems):
        labels = {run.gold.messages.get(m) for m in run.label_ids(problem.message_ids)} - {None}
        if len(labels) == 1 and (label := labels.pop()) != "noise":
            keep.append(index)
            groups.append(label)
    labels_array = np.array(groups)
    same = labels_array[:, None] == labels_array[None, :]
    chosen = [problems[i] for i in keep]
    return {name: auc(system(run, chosen, vectors[keep]), same)
            for name, system in SYSTEMS.items()}


def main(names: list[str]) -> None:
    logging.disable(logging.INFO)
    sets = [s for s in SETS if s.available() and (not names or s.name in names)]
    rows = [(s.name, measure(SetRun(s))) for s in sets]
    lines = ["## Problem similarity: which representation separates groups", "",
             "Command: `PYTHONPATH=src python benchmarks/separation_bench.py`. ROC AUC of "
             "same-group over different-group pairs of labelled problems (centred cosine "
             "unless said).", "",
             "| representation | " + " | ".join(name for name, _ in rows) + " |",
             "|---|" + "---:|" * len(rows)]
    lines += [f"| {system} | " + " | ".join(f"{m[system]:.3f}" for _, m in rows) + " |"
              for system in SYSTEMS]
    text = "\n".join(lines) + "\n"
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
