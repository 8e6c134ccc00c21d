"""Redaction corpus: secrets and personal data go, ordinary technical text stays."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from docloop.redact import PLACEHOLDERS, redact

CASES_FILE = Path(__file__).parent / "data" / "redaction_cases.jsonl"
CASES = [json.loads(line) for line in CASES_FILE.read_text(encoding="utf-8").splitlines() if line]


def test_corpus_has_enough_cases_of_each_kind() -> None:
    kinds = [case["kind"] for case in CASES]
    assert kinds.count("positive") >= 40
    assert kinds.count("negative") >= 40


@pytest.mark.parametrize("case", CASES, ids=[f"{c['kind']}-{i}" for i, c in enumerate(CASES)])
def test_redaction_case(case: dict[str, str]) -> None:
    assert redact(case["text"]) == case["expected"]
    if case["kind"] == "positive":
        assert any(tag in case["expected"] for tag in PLACEHOLDERS)


@pytest.mark.parametrize("case", CASES, ids=[f"{c['kind']}-{i}" for i, c in enumerate(CASES)])
def test_redaction_is_idempotent(case: dict[str, str]) -> None:
    once = redact(case["text"])
    assert redact(once) == once


def test_several_secrets_in_one_message_are_all_replaced() -> None:
    text = (
        "I set OPENAI_API_KEY=sk-abcdefghijklmnopqrstuvwx and mail ops@example.com, "
        "ring +1 212 555 0199"
    )
    assert redact(text) == "I set OPENAI_API_KEY=[secret] and mail [email], ring [phone]"
