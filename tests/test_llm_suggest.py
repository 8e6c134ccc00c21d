"""Suggestions anchored to the page, checked patches, fallbacks; labels."""

from __future__ import annotations

import json
from typing import Any

from docloop import db
from docloop.models import DocChunk
from docloop.patching import apply_patch
from tests.fake_openai import FakeOpenAI
from tests.llm_support import PAGE, analyzer, insight
from tests.scripted_model import PlausibleModel

ANCHOR = "Wildcards are matched literally."


def edit(action: str = "insert_after", anchor: str | None = ANCHOR,
         text: str = "To allow every subdomain, use `allow_origin_regex`.") -> str:
    return json.dumps({"action": action, "anchor": anchor, "text": text,
                       "rationale": "Users ask about subdomains."})


def chunks(page: str = PAGE) -> list[DocChunk]:
    return [DocChunk(id=str(i), path="guide/cors.md", url="u", title="CORS", heading="h",
                     text=part) for i, part in enumerate(page.split("\n## "))]


def test_insert_after_an_exact_anchor_produces_a_patch_that_applies() -> None:
    with FakeOpenAI(chat=lambda request: edit()) as fake:
        llm, fallback, _ = analyzer(fake.base_url)
        suggestion = llm.suggest(insight(), chunks(), PAGE)
    assert suggestion.kind == "edit" and not suggestion.fallback
    assert suggestion.anchor == ANCHOR and fallback.suggested == []
    assert suggestion.patch is not None
    assert suggestion.patch.startswith("--- a/guide/cors.md\n+++ b/guide/cors.md\n")
    after = apply_patch(PAGE, suggestion.patch)
    assert f"{ANCHOR}\n\nTo allow every subdomain" in after
    assert "Insert after:\n\n> Wildcards are matched literally." in suggestion.text
    page = fake.chat_requests[0]["messages"][1]["content"]
    assert PAGE.strip() in page  # the model sees the page's real text


def test_replace_and_new_section_patch_the_source() -> None:
    with FakeOpenAI() as fake:
        fake.script.extend([edit("replace", text="Wildcards such as `*.example.com` are "
                                 "matched literally; use a regex."),
                            edit("new-section", None, "## Subdomains\n\nUse a regex.")])
        llm, _, _ = analyzer(fake.base_url)
        replaced = llm.suggest(insight(), chunks(), PAGE)
        section = llm.suggest(insight(quotes=("Another CORS question about subdomains?",)),
                              chunks(), PAGE)
    assert replaced.patch and ANCHOR not in apply_patch(PAGE, replaced.patch)
    assert section.kind == "new-section" and section.patch
    assert apply_patch(PAGE, section.patch).endswith("## Subdomains\n\nUse a regex.\n")


def test_a_missing_anchor_is_retried_with_the_reason() -> None:
    with FakeOpenAI() as fake:
        fake.script.extend([edit(anchor="This sentence is not on the page."), edit()])
        llm, fallback, _ = analyzer(fake.base_url)
        suggestion = llm.suggest(insight(), chunks(), PAGE)
    assert not suggestion.fallback and suggestion.patch and fallback.suggested == []
    assert "occurs 0 times" in fake.chat_requests[1]["messages"][3]["content"]


def test_an_ambiguous_anchor_twice_falls_back_to_offline_flagged() -> None:
    conn = db.memory()
    with FakeOpenAI(chat=lambda request: edit(anchor="origins")) as fake:
        llm, fallback, _ = analyzer(fake.base_url, conn)
        suggestion = llm.suggest(insight(), chunks(), PAGE)
        assert fake.chat_calls == 2
        assert suggestion.fallback and suggestion.text == "offline suggestion"
        assert fallback.suggested == ["ins_1"]
        assert any("offline suggestion" in w for w in llm.warnings)
        again, _, _ = analyzer(fake.base_url, conn)
        assert again.suggest(insight(), chunks(), PAGE).fallback
        assert fake.chat_calls == 2  # the fallback outcome is cached too


def test_links_not_on_the_page_are_refused() -> None:
    with FakeOpenAI(chat=lambda request: edit(text="See [this](https://evil.example/fix).")
                    ) as fake:
        llm, _, _ = analyzer(fake.base_url)
        suggestion = llm.suggest(insight(), chunks(), PAGE)
    assert suggestion.fallback
    assert "links that are not on the page" in fake.chat_requests[1]["messages"][3]["content"]


def test_without_local_source_the_edit_is_checked_against_chunks_and_has_no_patch() -> None:
    with FakeOpenAI(chat=lambda request: edit()) as fake:
        llm, _, _ = analyzer(fake.base_url)
        suggestion = llm.suggest(insight(), chunks(), None)
    assert suggestion.kind == "edit" and suggestion.patch is None and not suggestion.fallback


def test_no_page_means_a_new_page() -> None:
    with FakeOpenAI(chat=PlausibleModel()) as fake:
        fake.script.append(edit())  # an edit is impossible without a page
        llm, _, _ = analyzer(fake.base_url)
        suggestion = llm.suggest(insight(path=None, verdict="missing"), [], None)
    assert suggestion.kind == "new-page" and suggestion.patch is None
    assert "must be 'new-page'" in fake.chat_requests[1]["messages"][3]["content"]


def label(title: str, summary: str = "Users ask how to allow a frontend origin.") -> str:
    return json.dumps({"title": title, "summary": summary})


def test_label_is_grounded_and_short() -> None:
    with FakeOpenAI() as fake:
        fake.script.extend([label("Allowing a frontend origin in CORS " * 4),  # > 80 chars
                            label("Allowing a frontend origin in CORS")])
        llm, _, _ = analyzer(fake.base_url)
        title, summary = llm.label(insight(), [])
    assert title == "Allowing a frontend origin in CORS"
    assert summary == "Users ask how to allow a frontend origin."
    assert "does not match the schema" in fake.chat_requests[1]["messages"][3]["content"]


def test_an_ungrounded_or_failed_label_keeps_the_existing_one() -> None:
    chosen: dict[str, Any] = {"title": "CORS origin question",
                              "summary": "Users ask how to allow a frontend origin with CORS."}
    with FakeOpenAI(chat=lambda request: label("Buy cheap watches today",
                                               "Visit the shop for deals.")) as fake:
        llm, _, _ = analyzer(fake.base_url)
        assert llm.label(insight(), []) == (chosen["title"], chosen["summary"])
        assert llm.counts["labels_ungrounded"] == 1
    with FakeOpenAI(chat=lambda request: "not json") as fake:
        llm, _, _ = analyzer(fake.base_url)
        assert llm.label(insight(), []) == (chosen["title"], chosen["summary"])
        assert llm.counts["labels_failed"] == 1


def test_a_long_page_is_sent_as_a_window_around_the_matched_section() -> None:
    filler = "".join(f"## Topic {i}\n\n" + f"Filler sentence number {i} about topic.\n" * 40
                     for i in range(30))
    long_page = f"# CORS\n\n{filler}{PAGE.split('# CORS', 1)[1]}{filler.replace('Topic', 'Later')}"
    with FakeOpenAI(chat=lambda request: edit()) as fake:
        llm, _, _ = analyzer(fake.base_url)
        suggestion = llm.suggest(insight(), [], long_page)
    sent = fake.chat_requests[0]["messages"][1]["content"]
    assert "## Allowed origins" in sent and "[… page continues …]" in sent
    assert len(sent) < len(long_page) // 2
    assert suggestion.patch and ANCHOR in apply_patch(long_page, suggestion.patch)
