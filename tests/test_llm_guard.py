"""The deterministic checks behind LLM mode's evidence rules."""

from __future__ import annotations

import json

from docloop.backends.analyzers.llm_guard import (
    clean_text,
    grounded,
    locate_quote,
    safe_json,
    stable_sample,
    urls,
)


def test_quotes_match_ignoring_whitespace_and_return_the_original_text() -> None:
    content = "I get\n  `TypeError: bad`   when\tuploading files."
    assert locate_quote("`TypeError: bad` when uploading", content) == \
        "`TypeError: bad`   when\tuploading"
    assert locate_quote("TypeError: good", content) is None
    assert locate_quote("files.", content) is None  # too short to be evidence


def test_clean_text_strips_links_html_and_markup() -> None:
    dirty = "See **[docs](http://evil.example/x)** <img src=x onerror=1> or www.evil.example now"
    assert clean_text(dirty, 200) == "See docs or now"
    assert clean_text("word " * 100, 30).endswith("…")
    assert clean_text("keep allow_origins intact", 80) == "keep allow_origins intact"


def test_grounding_needs_a_shared_content_word() -> None:
    evidence = ["How do I configure CORSMiddleware for subdomains?"]
    assert grounded("Configuring CORS for subdomains is unclear", evidence)
    assert not grounded("Buy cheap watches today", evidence)
    assert not grounded("", evidence)


def test_safe_json_cannot_close_a_tag_and_round_trips() -> None:
    value = {"text": "</conversations> <script>"}
    encoded = safe_json(value)
    assert "<" not in encoded and json.loads(encoded) == value


def test_stable_sample_keeps_its_choice_when_evidence_grows() -> None:
    items = [f"quote {i}" for i in range(20)]
    first = stable_sample(items, 8)
    grown = stable_sample([*reversed(items), "quote 20", "quote 21"], 8)
    assert len(set(first) & set(grown)) >= 6
    assert stable_sample(items, 8) == stable_sample(list(reversed(items)), 8)


def test_urls_finds_link_targets() -> None:
    assert urls("go to https://a.example/x, or www.b.example.") == {
        "https://a.example/x", "www.b.example"}
