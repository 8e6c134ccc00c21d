"""Extraction: batching, verification of evidence, failures, caching, budget."""

from __future__ import annotations

import json
from typing import Any

from docloop import db
from docloop.backends.analyzers.llm_extract import TRIM_MARKER, conversation_record, make_batches
from tests.fake_openai import FakeOpenAI, Reply, completion, refusal, server_error, truncated
from tests.llm_support import analyzer, conv, msg
from tests.scripted_model import PlausibleModel, block, data_message

CONVERSATIONS = [
    conv("100", msg("100", "a", "How do I allow my frontend origin in CORS? I get blocked."),
         msg("101", "b", "Use allow_origins."),
         msg("102", "a", "Still blocked  with  subdomains.")),
    conv("200", msg("200", "c", "Why does the dependency override not apply in tests?")),
    conv("300", msg("300", "d", "Thanks everyone, great release!")),
]


def answer(problems: list[dict[str, Any]]) -> str:
    return json.dumps({"problems": problems})


def claim(cid: str, mid: str, text: str, summary: str = "CORS frontend origin is blocked",
          ) -> dict[str, Any]:
    return {"summary": summary, "category": "how-to", "conversation_ids": [cid],
            "quotes": [{"message_id": mid, "text": text}]}


def test_batches_respect_the_budget_and_never_split_a_conversation() -> None:
    many = [conv(str(i), *[msg(f"{i}{j}", "a", "word " * 40) for j in range(5)])
            for i in range(1, 30)]
    batches = make_batches(many, batch_tokens=800)
    assert len(batches) > 1
    assert [c.id for b in batches for c in b.conversations] == [c.id for c in many]
    for batch in batches:
        sent = json.loads(block(batch.data, "conversations"))
        assert [batch.refs[r["id"]] for r in sent] == batch.conversations
        assert len(batch.data) // 4 <= 800 + 100


def test_batches_survive_a_sliding_window() -> None:
    week = [conv(str(i), msg(str(i), "a", f"How do I set option {i} for the server?"))
            for i in range(1000, 1400)]
    before = {b.data for b in make_batches(week, batch_tokens=2000)}
    after = {b.data for b in make_batches(week[20:] + [
        conv(str(i), msg(str(i), "a", f"Is option {i} documented?")) for i in range(2000, 2020)
    ], batch_tokens=2000)}
    assert len(before) > 20
    assert len(before - after) <= 5  # only the batches near the two edges change


def test_an_oversized_conversation_is_trimmed_with_a_visible_marker() -> None:
    giant = conv("1", msg("1", "a", "x" * 50_000), *[msg(str(i), "b", "y " * 300)
                                                     for i in range(2, 60)])
    record, refs = conversation_record(giant, "c1", 0, max_tokens=2000)
    assert refs["m1"].id == "1" and len(refs) == 59
    texts = [m[2] for m in record["messages"]]
    assert texts[0].endswith(TRIM_MARKER)
    assert texts[-1].startswith(TRIM_MARKER) and "more messages not shown" in texts[-1]
    assert len(json.dumps(record)) // 4 <= 2000 * 1.1


def test_messages_are_sent_as_json_data_with_pseudonymous_authors() -> None:
    with FakeOpenAI(chat=PlausibleModel()) as fake:
        llm, _, _ = analyzer(fake.base_url)
        llm.extract(CONVERSATIONS)
    data = data_message(fake.chat_requests[0])
    sent = json.loads(block(data, "conversations"))
    assert sent[0] == {"id": "c1", "channel": "help", "messages": [
        ["m1", "u1", CONVERSATIONS[0].messages[0].content],
        ["m2", "u2", "Use allow_origins."], ["m3", "u1", "Still blocked  with  subdomains."]]}
    assert "usera" not in data  # author names are not sent
    assert "never an instruction" in fake.chat_requests[0]["messages"][0]["content"].lower()


def test_valid_output_becomes_problems_with_evidence_fields() -> None:
    with FakeOpenAI(chat=PlausibleModel()) as fake:
        llm, _, _ = analyzer(fake.base_url)
        problems = llm.extract(CONVERSATIONS)
    assert fake.chat_calls == 1
    by_conversation = {p.conversation_id: p for p in problems}
    assert set(by_conversation) == {"100", "200"}
    cors = by_conversation["100"]
    assert cors.quotes[0].message_id == "100" and cors.quotes[0].author == "usera"
    assert cors.message_ids == ["100", "102"]  # the quoted message and the asker's follow-up
    assert cors.author_ids == ["a"] and cors.channel_name == "help"
    assert cors.timestamp == CONVERSATIONS[0].messages[0].timestamp
    assert cors.category == "how-to" and cors.id.startswith("p_")


def test_quotes_are_verified_verbatim_after_whitespace_normalisation() -> None:
    claims = [claim("c1", "m3", "Still blocked with subdomains."),  # spaces differ
              claim("c1", "m2", "How do I allow my frontend origin in CORS?"),  # wrong id
              claim("c1", "m1", "CORS is broken for everyone")]  # never said
    with FakeOpenAI(chat=lambda request: answer(claims)) as fake:
        llm, _, _ = analyzer(fake.base_url)
        problems = llm.extract(CONVERSATIONS[:1])
    assert len(problems) == 1
    quotes = {(q.message_id, q.text) for q in problems[0].quotes}
    assert quotes == {("102", "Still blocked  with  subdomains."),
                      ("100", "How do I allow my frontend origin in CORS?")}
    assert llm.counts["problem_without_verified_quote"] == 1
    assert any("no verified quote left" in w for w in llm.warnings)


def test_quotes_from_another_conversation_or_unknown_ids_are_dropped() -> None:
    claims = [claim("c2", "m1", "How do I allow my frontend origin in CORS?"),
              claim("100", "m1", "How do I allow my frontend origin in CORS?")]  # a real id
    with FakeOpenAI(chat=lambda request: answer(claims)) as fake:
        llm, _, _ = analyzer(fake.base_url)
        assert llm.extract(CONVERSATIONS) == []
    assert llm.counts["unknown_conversation_id"] == 1
    assert llm.counts["quote_not_verbatim"] == 2


def test_invalid_json_is_retried_once_with_the_error() -> None:
    with FakeOpenAI(chat=PlausibleModel()) as fake:
        fake.script.append('{"problems": [')
        llm, _, _ = analyzer(fake.base_url)
        assert len(llm.extract(CONVERSATIONS)) == 2
    retry = fake.chat_requests[1]["messages"]
    assert [m["role"] for m in retry] == ["system", "user", "assistant", "user"]
    assert "not valid JSON" in retry[3]["content"]


def test_an_invalid_item_is_dropped_and_the_rest_of_the_answer_kept() -> None:
    good = claim("c1", "m1", "How do I allow my frontend origin in CORS?")
    bad = [{"summary": "x", "category": "rant", "conversation_ids": ["c2"], "quotes": []},
           {"summary": "Dependency override ignored in tests", "category": "how-to",
            "conversation_ids": ["c2"], "quotes": [{"message_id": "m4", "text": ""}]},
           "not an object"]
    with FakeOpenAI(chat=lambda request: answer([bad[0], good, bad[1], bad[2]])) as fake:
        llm, _, _ = analyzer(fake.base_url)
        problems = llm.extract(CONVERSATIONS)
    assert [p.conversation_id for p in problems] == ["100"]
    assert fake.chat_calls == 1  # nothing to correct: the answer as a whole is fine
    assert llm.stats.dropped == {"invalid_problem": 1, "invalid_quote": 1,
                                 "problem_without_quote": 2}
    assert llm.stats.conversations_sent == 3 and llm.stats.conversations_unanalysed == 0


def test_a_broken_answer_twice_splits_the_batch_and_the_outcomes_are_cached() -> None:
    conn = db.memory()
    model = PlausibleModel()

    def chat(request: dict[str, Any]) -> str:
        sent = json.loads(block(data_message(request), "conversations"))
        return "not json" if len(sent) > 1 else model(request)

    with FakeOpenAI(chat=chat) as fake:
        llm, _, _ = analyzer(fake.base_url, conn)
        assert len(llm.extract(CONVERSATIONS)) == 2
        assert "not valid JSON" in fake.chat_requests[1]["messages"][3]["content"]
        sizes = [len(json.loads(block(data_message(r), "conversations")))
                 for r in fake.chat_requests]
        # asked, corrected, then halves down to ones (halves run concurrently, in any order)
        assert sizes[:2] == [3, 3] and sorted(sizes[2:]) == [1, 1, 1, 2, 2]
        assert llm.stats.conversations_unanalysed == 0
        again, _, _ = analyzer(fake.base_url, conn)
        assert len(again.extract(CONVERSATIONS)) == 2
        assert fake.chat_calls == 7 and again.stats.cached == 5  # every outcome is cached


def test_truncated_output_splits_the_batch_without_asking_again() -> None:
    with FakeOpenAI(chat=PlausibleModel()) as fake:
        fake.script.append(truncated('{"problems": [{"summary": "CORS"}]}'))
        llm, _, _ = analyzer(fake.base_url)
        assert len(llm.extract(CONVERSATIONS)) == 2
    sizes = [len(json.loads(block(data_message(r), "conversations")))
             for r in fake.chat_requests]
    assert sizes[0] == 3 and sorted(sizes[1:]) == [1, 2]  # the halves, in any order
    assert all(len(r["messages"]) == 2 for r in fake.chat_requests)  # no correction turn


def test_a_refusal_splits_down_to_the_one_conversation_it_concerns() -> None:
    model = PlausibleModel()

    def chat(request: dict[str, Any]) -> Reply | str:
        return refusal() if "dependency override" in data_message(request) else model(request)

    with FakeOpenAI(chat=chat) as fake:
        llm, _, _ = analyzer(fake.base_url)
        problems = llm.extract(CONVERSATIONS)
    assert [p.conversation_id for p in problems] == ["100"]
    assert llm.stats.conversations_sent == 3 and llm.stats.conversations_unanalysed == 1
    assert any("1 of 3 conversation(s) never analysed" in w and "refused" in w
               for w in llm.warnings)


def test_a_rerun_makes_zero_calls_and_retry_failed_asks_only_the_failed_conversation() -> None:
    conn = db.memory()
    many = [conv(str(i), msg(str(i), "a", f"How do I configure feature {i} with options?"))
            for i in range(1, 40)]
    model = PlausibleModel()
    down = {"feature 7 ": True}

    def chat(request: dict[str, Any]) -> Reply | str:
        if down["feature 7 "] and "feature 7 " in data_message(request):
            return server_error(503)
        return model(request)

    with FakeOpenAI(chat=chat) as fake:
        first, _, _ = analyzer(fake.base_url, conn, batch_tokens=300)
        first.client._sleep = lambda seconds: None
        found = first.extract(many)
        calls = fake.chat_calls
        assert len(found) == 38 and first.stats.conversations_unanalysed == 1
        second, _, _ = analyzer(fake.base_url, conn, batch_tokens=300)
        assert second.extract(many) == found
        assert fake.chat_calls == calls and second.stats.calls == 0
        assert second.stats.conversations_unanalysed == 1
        down["feature 7 "] = False
        third, _, _ = analyzer(fake.base_url, conn, retry_failed=True, batch_tokens=300)
        assert len(third.extract(many)) == 39
        assert fake.chat_calls == calls + 1
        assert "feature 7 " in data_message(fake.chat_requests[-1])
        assert third.stats.conversations_unanalysed == 0


def test_budget_reached_stops_cleanly_and_keeps_what_is_done() -> None:
    many = [conv(str(i), msg(str(i), "a", f"How do I configure feature {i} with options?"))
            for i in range(1, 40)]
    with FakeOpenAI(chat=PlausibleModel()) as fake:
        llm, _, _ = analyzer(fake.base_url, batch_tokens=300, llm_token_budget=400,
                             llm_concurrency=1)
        llm.runner.concurrency = 1
        problems = llm.extract(many)
    assert 0 < len(problems) < 39
    assert 0 < llm.stats.conversations_unanalysed < 39
    assert any("budget" in w for w in llm.warnings)
    assert fake.chat_calls < len(make_batches(many, 300))


def test_batches_are_sent_concurrently_up_to_the_setting() -> None:
    many = [conv(str(i), msg(str(i), "a", f"How do I configure feature {i} with options?"))
            for i in range(1, 40)]
    model = PlausibleModel()

    def slow(request: dict[str, Any]) -> Reply:
        return Reply(body=completion(model(request)).body, delay=0.3)

    with FakeOpenAI(chat=slow) as fake:
        llm, _, _ = analyzer(fake.base_url, batch_tokens=300)
        assert llm.runner.concurrency == 2
        assert len(llm.extract(many)) == 39
    assert fake.max_in_flight == 2
