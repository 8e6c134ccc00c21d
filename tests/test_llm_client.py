"""LLMClient against the fake server: formats, retries, accounting, budget."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from docloop.backends.analyzers.llm_client import BudgetExhausted, LLMClient, RequestRejected
from docloop.cli import main
from docloop.config import Settings
from docloop.errors import ConfigError, MissingDependencyError, PermanentError, TransientError
from tests.fake_openai import (
    FakeOpenAI,
    Reply,
    completion,
    error,
    insufficient_quota,
    invalid_api_key,
    model_not_found,
    rate_limited,
    refusal,
    schema_rejected,
    truncated,
)
from tests.llm_support import Sleeps, settings, use_fake

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "tidepool" / "discord"
SCHEMA: dict[str, Any] = {"type": "object", "properties": {"ok": {"type": "boolean"}},
                          "required": ["ok"], "additionalProperties": False}
MESSAGES = [{"role": "system", "content": "Answer in JSON."},
            {"role": "user", "content": "data"}]


def client(fake: FakeOpenAI, sleeps: Sleeps | None = None, **extra: Any) -> LLMClient:
    wait = sleeps if sleeps is not None else Sleeps()
    return LLMClient(settings(fake.base_url, **extra), sleep=wait)


def ask(llm: LLMClient) -> str:
    return llm.chat("extract", MESSAGES, "answer", SCHEMA, max_tokens=50).content


def test_structured_output_is_requested_as_json_schema() -> None:
    with FakeOpenAI(chat=lambda request: '{"ok": true}') as fake:
        assert ask(client(fake)) == '{"ok": true}'
    sent = fake.chat_requests[0]
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["schema"] == SCHEMA
    assert sent["response_format"]["json_schema"]["strict"] is True
    assert sent["temperature"] == 0


def test_a_server_rejecting_json_schema_gets_json_mode_with_the_schema_in_the_prompt() -> None:
    def chat(request: dict[str, Any]) -> Reply | str:
        if request["response_format"]["type"] == "json_schema":
            return schema_rejected()
        return '{"ok": true}'

    with FakeOpenAI(chat=chat) as fake:
        llm = client(fake)
        assert ask(llm) == '{"ok": true}'
        assert ask(llm) == '{"ok": true}'
    kinds = [r["response_format"]["type"] for r in fake.chat_requests]
    assert kinds == ["json_schema", "json_object", "json_object"]  # sticky for the run
    assert '"required": ["ok"]' in fake.chat_requests[1]["messages"][0]["content"]


def test_other_4xx_is_a_per_request_rejection_not_a_format_switch() -> None:
    with FakeOpenAI() as fake:
        fake.script.append(error(413, "request too large"))
        llm = client(fake)
        with pytest.raises(RequestRejected):
            ask(llm)
        fake.script.extend([error(400, "context too long"), error(400, "context too long")])
        with pytest.raises(RequestRejected):
            ask(llm)
    assert fake.chat_calls == 3 and not llm.json_mode


def test_429_waits_for_retry_after_then_succeeds() -> None:
    sleeps = Sleeps()
    with FakeOpenAI(chat=lambda request: '{"ok": true}') as fake:
        fake.script.append(error(429, "slow down", code="rate_limit_exceeded",
                                 headers={"retry-after": "7"}))
        fake.script.append(error(429, "slow down", headers={"retry-after-ms": "250"}))
        assert ask(client(fake, sleeps)) == '{"ok": true}'
    assert sleeps == [7.0, 0.25]
    assert fake.chat_calls == 3


def test_retry_after_as_an_http_date_and_a_cap_on_long_waits() -> None:
    sleeps = Sleeps()
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    with FakeOpenAI(chat=lambda request: '{"ok": true}') as fake:
        fake.script.append(error(429, "slow down", headers={"retry-after": soon}))
        fake.script.append(error(503, "maintenance", headers={"retry-after": "3600"}))
        assert ask(client(fake, sleeps)) == '{"ok": true}'
    assert 20 < sleeps[0] <= 30
    assert sleeps[1] == 60.0  # waits are capped; the budget of attempts still applies


def test_429_insufficient_quota_fails_at_once() -> None:
    sleeps = Sleeps()
    with FakeOpenAI() as fake:
        fake.script.append(error(429, "You exceeded your current quota",
                                 code="insufficient_quota", kind="insufficient_quota"))
        with pytest.raises(PermanentError, match="insufficient_quota"):
            ask(client(fake, sleeps))
    assert fake.chat_calls == 1 and sleeps == []


def test_5xx_is_retried_with_exponential_backoff() -> None:
    sleeps = Sleeps()
    with FakeOpenAI(chat=lambda request: '{"ok": true}') as fake:
        fake.script.extend([error(500, "boom"), error(503, "busy")])
        assert ask(client(fake, sleeps)) == '{"ok": true}'
    assert sleeps == [0.5, 1.0]


def test_persistent_5xx_gives_up_after_the_attempt_limit() -> None:
    with FakeOpenAI(chat=lambda request: error(502, "bad gateway")) as fake, \
            pytest.raises(TransientError):
        ask(client(fake))
    assert fake.chat_calls == 4


def test_a_slow_response_times_out_and_is_retried() -> None:
    with FakeOpenAI(chat=lambda request: '{"ok": true}') as fake:
        fake.script.append(Reply(body=completion('{"ok": false}').body, delay=1.5))
        assert ask(client(fake, llm_timeout_s=0.3)) == '{"ok": true}'
    assert fake.chat_calls == 2


def test_bad_key_is_a_configuration_error_with_a_hint() -> None:
    with FakeOpenAI(api_key="sk-right") as fake, \
            pytest.raises(ConfigError, match="OPENAI_API_KEY") as caught:
        ask(client(fake))
    assert "401 invalid_api_key" in str(caught.value) and fake.chat_calls == 1


def test_tokens_and_cost_are_accounted_per_stage() -> None:
    with FakeOpenAI(chat=lambda request: '{"ok": true}') as fake:
        llm = client(fake)
        ask(llm)
        llm.chat("suggest", MESSAGES, "answer", SCHEMA, max_tokens=50)
    total = llm.usage.total
    assert total.calls == 2
    assert total.prompt_tokens == fake.prompt_tokens
    assert total.completion_tokens == fake.completion_tokens
    expected = (fake.prompt_tokens * 0.15 + fake.completion_tokens * 0.60) / 1_000_000
    assert total.cost_usd == pytest.approx(expected, abs=1e-6)
    assert set(total.by_stage) == {"extract", "suggest"}
    assert total.by_stage["extract"].calls == 1


def test_price_table_is_overridable() -> None:
    with FakeOpenAI(chat=lambda request: '{"ok": true}') as fake:
        llm = LLMClient(settings(fake.base_url), prices={"gpt-4o-mini": (1_000_000.0, 0.0)})
        ask(llm)
    assert llm.usage.total.cost_usd == pytest.approx(fake.prompt_tokens)


def test_budget_stops_calls_once_spent() -> None:
    with FakeOpenAI(chat=lambda request: '{"ok": true}') as fake:
        llm = client(fake, llm_token_budget=5)
        ask(llm)
        with pytest.raises(BudgetExhausted, match="llm_token_budget"):
            ask(llm)
    assert fake.chat_calls == 1


def test_a_local_server_needs_no_key_but_something_is_required() -> None:
    with FakeOpenAI(chat=lambda request: '{"ok": true}') as fake:
        llm = client(fake)
        ask(llm)
    assert llm._client.api_key == "sk-no-key-needed"
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        LLMClient(Settings(analyzer="llm"))


def test_missing_sdk_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "openai", None)
    with pytest.raises(MissingDependencyError, match=r"docloop\[llm\]"):
        LLMClient(settings("http://127.0.0.1:9/v1"))


def test_an_unknown_model_is_a_configuration_error_naming_the_setting() -> None:
    with FakeOpenAI(models={"llama3.1"}) as fake, \
            pytest.raises(ConfigError, match=r"llm_model 'gpt-4o-mini'.*404 model_not_found"):
        ask(client(fake))
    assert fake.chat_calls == 1


def test_without_retry_after_the_reset_of_the_exhausted_limit_is_waited_for() -> None:
    sleeps = Sleeps()
    with FakeOpenAI(chat=lambda request: '{"ok": true}') as fake:
        only_requests = rate_limited(retry_after=None)
        only_requests.headers["x-ratelimit-remaining-tokens"] = "150000"
        fake.script.extend([only_requests, rate_limited(retry_after=None, self_hosted=True)])
        assert ask(client(fake, sleeps)) == '{"ok": true}'
    # x-ratelimit-reset-requests: 12ms; then a self-hosted server's bare 429: backoff
    assert sleeps == [0.012, 1.0]


def test_refusals_and_cut_off_answers_come_back_for_the_caller_to_judge() -> None:
    with FakeOpenAI() as fake:
        fake.script.extend([refusal("I can't help with that."), truncated('{"ok": true}')])
        llm = client(fake)
        refused = llm.chat("extract", MESSAGES, "answer", SCHEMA, max_tokens=50)
        cut = llm.chat("extract", MESSAGES, "answer", SCHEMA, max_tokens=50)
    assert (refused.refusal, refused.content) == ("I can't help with that.", "")
    assert cut.finish_reason == "length" and cut.refusal is None


@pytest.mark.parametrize(("reply", "code", "words"), [
    (invalid_api_key(), 2, "OPENAI_API_KEY"),
    (model_not_found("gpt-4o-mini"), 2, "llm_model 'gpt-4o-mini'"),
    (insufficient_quota(), 1, "insufficient_quota"),
])
def test_the_cli_run_stops_with_one_clear_line(reply: Reply, code: int, words: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeOpenAI(chat=lambda request: reply) as fake:
        use_fake(monkeypatch, fake.base_url, DOCLOOP_ANALYZER="llm")
        result = CliRunner().invoke(main, ["run", "--source", f"discord-export:{EXAMPLE}",
                                           "--since", "all"])
    assert result.exit_code == code, result.output
    last = result.output.strip().splitlines()[-1]  # the lines above are INFO logs
    assert words in last and "Traceback" not in result.output
