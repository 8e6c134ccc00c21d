"""The OpenAI fake is held to the documented wire format (API-FACTS §5).

Every answer is read back twice: as raw HTTP (status, headers, JSON body)
and through the real `openai` SDK, whose own response types and error
classes are the reference for the shapes. The clients are tested against
these same shapes in test_llm_client.py and test_openai_embed.py.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import openai
import pytest
from openai.types import CreateEmbeddingResponse, Model
from openai.types.chat import ChatCompletion

from tests import fake_openai as api
from tests.fake_openai import FakeOpenAI, Reply

ERROR_KEYS = {"message", "type", "param", "code"}


def post(fake: FakeOpenAI, path: str, body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    """Raw HTTP: status, lower-cased headers and the decoded JSON body."""
    request = urllib.request.Request(f"{fake.base_url}{path}", data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json",
                                              "authorization": "Bearer sk-test"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, \
                json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, json.loads(exc.read())


def sdk(fake: FakeOpenAI) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0)


CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def test_a_chat_completion_parses_as_the_sdk_type_with_usage() -> None:
    with FakeOpenAI(chat=lambda request: '{"ok": true}') as fake:
        status, _, body = post(fake, "/chat/completions", CHAT)
    completion = ChatCompletion.model_validate(body)
    assert status == 200 and completion.object == "chat.completion"
    choice = completion.choices[0]
    assert (choice.finish_reason, choice.message.content, choice.message.refusal) == \
        ("stop", '{"ok": true}', None)
    assert completion.usage is not None and completion.usage.total_tokens == \
        completion.usage.prompt_tokens + completion.usage.completion_tokens


def test_a_refusal_sets_message_refusal_and_a_null_content() -> None:
    # API-FACTS §5: parse() gives `choices[0].message.parsed` "(or `.refusal`)"
    with FakeOpenAI(chat=lambda request: api.refusal("I can't help with that.")) as fake:
        _, _, body = post(fake, "/chat/completions", CHAT)
    message = ChatCompletion.model_validate(body).choices[0].message
    assert body["choices"][0]["message"]["content"] is None
    assert message.refusal == "I can't help with that." and message.content is None


def test_a_cut_off_answer_has_finish_reason_length_and_broken_json() -> None:
    # API-FACTS §5: the SDK's parse() raises LengthFinishReasonError on such an answer
    with FakeOpenAI(chat=lambda request: api.truncated('{"problems": []}')) as fake:
        _, _, body = post(fake, "/chat/completions", CHAT)
    choice = ChatCompletion.model_validate(body).choices[0]
    assert choice.finish_reason == "length"
    with pytest.raises(json.JSONDecodeError):
        json.loads(choice.message.content or "")


def test_embeddings_parse_as_the_sdk_type_with_a_dimension_per_model() -> None:
    with FakeOpenAI(embedding_dims={"nomic-embed-text": 768}) as fake:
        response = sdk(fake).embeddings.create(model="nomic-embed-text", input=["a", "b"],
                                               encoding_format="float")
        _, _, raw = post(fake, "/embeddings", {"model": "other", "input": "a",
                                               "encoding_format": "float"})
    assert isinstance(response, CreateEmbeddingResponse) and response.object == "list"
    assert [d.index for d in response.data] == [0, 1]
    assert {len(d.embedding) for d in response.data} == {768}
    assert len(CreateEmbeddingResponse.model_validate(raw).data[0].embedding) == 8


@pytest.mark.parametrize("inputs", [["fine", ""], ["x"] * 2049])
def test_embeddings_refuse_empty_strings_and_more_than_2048_inputs(inputs: list[str]) -> None:
    # API-FACTS §5: "≤ 2048 inputs per request ... no empty strings"
    with FakeOpenAI() as fake:
        status, _, body = post(fake, "/embeddings", {"model": "m", "input": inputs})
    assert status == 400 and set(body["error"]) == ERROR_KEYS
    assert body["error"]["param"] == "input"


ERRORS = [
    # (reply, status, SDK class, type, code)
    (api.invalid_api_key(), 401, openai.AuthenticationError, "invalid_request_error",
     "invalid_api_key"),
    (api.model_not_found("gpt-9"), 404, openai.NotFoundError, "invalid_request_error",
     "model_not_found"),
    (api.schema_rejected(), 400, openai.BadRequestError, "invalid_request_error", None),
    # API-FACTS §5: two kinds of 429, told apart by `error.code`
    (api.rate_limited(), 429, openai.RateLimitError, "requests", "rate_limit_exceeded"),
    (api.insufficient_quota(), 429, openai.RateLimitError, "insufficient_quota",
     "insufficient_quota"),
    (api.server_error(500), 500, openai.InternalServerError, "server_error", None),
    (api.server_error(503), 503, openai.InternalServerError, "server_error", None),
]


@pytest.mark.parametrize(("reply", "status", "sdk_class", "kind", "code"), ERRORS)
def test_errors_have_the_api_body_and_the_sdk_reads_it(
        reply: Reply, status: int, sdk_class: type[openai.APIStatusError], kind: str,
        code: str | None) -> None:
    with FakeOpenAI(chat=lambda request: reply) as fake:
        raw_status, _, body = post(fake, "/chat/completions", CHAT)
        with pytest.raises(sdk_class) as caught:
            sdk(fake).chat.completions.create(**CHAT)  # type: ignore[call-overload]
    assert raw_status == status and set(body) == {"error"} and set(body["error"]) == ERROR_KEYS
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert (caught.value.status_code, caught.value.type, caught.value.code) == (status, kind, code)


def test_a_rejected_response_format_names_the_parameter() -> None:
    with FakeOpenAI(chat=lambda request: api.schema_rejected()) as fake, \
            pytest.raises(openai.BadRequestError) as caught:
        sdk(fake).chat.completions.create(**CHAT)  # type: ignore[call-overload]
    assert caught.value.param == "response_format"


def test_rate_limit_headers_are_the_documented_names_and_durations() -> None:
    # API-FACTS §5: x-ratelimit-{limit,remaining,reset}-{requests,tokens}; resets like
    # `12ms`, `6m0s`; self-hosted servers (Ollama, vLLM) send none of them
    with FakeOpenAI() as fake:
        fake.script.extend([api.rate_limited(retry_after="2"),
                            api.rate_limited(retry_after=None, self_hosted=True)])
        _, hosted, _ = post(fake, "/chat/completions", CHAT)
        _, local, _ = post(fake, "/chat/completions", CHAT)
    names = {f"x-ratelimit-{what}-{unit}" for what in ("limit", "remaining", "reset")
             for unit in ("requests", "tokens")}
    assert names <= set(hosted) and hosted["retry-after"] == "2"
    assert (hosted["x-ratelimit-reset-requests"], hosted["x-ratelimit-reset-tokens"]) == \
        ("12ms", "6m0s")
    assert not {name for name in local if name.startswith(("x-ratelimit", "retry-after"))}


def test_a_wrong_key_and_an_unknown_model_are_checked_before_the_script() -> None:
    with FakeOpenAI(api_key="sk-right", models={"gpt-4o-mini"}) as fake:
        status, _, body = post(fake, "/chat/completions", CHAT)
        assert (status, body["error"]["code"]) == (401, "invalid_api_key")
        fake.api_key = "sk-test"
        status, _, body = post(fake, "/chat/completions", {**CHAT, "model": "gpt-9"})
        assert (status, body["error"]["code"]) == (404, "model_not_found")
        assert "`gpt-9`" in body["error"]["message"]


def get(fake: FakeOpenAI, path: str, key: str = "sk-test") -> tuple[int, Any]:
    """Raw HTTP GET: status and the decoded JSON body."""
    request = urllib.request.Request(f"{fake.base_url}{path}",
                                     headers={"authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def client(fake: FakeOpenAI) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0)


def test_the_model_list_is_openais_shape_and_parses_as_the_sdk_type() -> None:
    with FakeOpenAI(models={"gpt-4o-mini", "text-embedding-3-small"}) as fake:
        status, body = get(fake, "/models")
        listed = [m.id for m in client(fake).models.list()]
    assert status == 200 and body["object"] == "list"
    for item in body["data"]:
        assert set(item) == {"id", "object", "created", "owned_by"}
        assert item["object"] == "model" and isinstance(item["created"], int)
        Model.model_validate(item)
    assert sorted(listed) == ["gpt-4o-mini", "text-embedding-3-small"]


def test_the_model_list_refuses_a_wrong_key_like_every_route() -> None:
    with FakeOpenAI(api_key="sk-right", models={"gpt-4o-mini"}) as fake:
        status, body = get(fake, "/models", key="sk-wrong")
        assert (status, set(body["error"])) == (401, ERROR_KEYS)
        assert body["error"]["code"] == "invalid_api_key"
        with pytest.raises(openai.AuthenticationError):
            client(fake).models.list()


def test_a_server_without_the_model_route_answers_a_bare_404() -> None:
    with FakeOpenAI(models_route=False) as fake:
        status, body = get(fake, "/models")
        assert (status, body) == (404, {"detail": "Not Found"})
        with pytest.raises(openai.NotFoundError):
            client(fake).models.list()
