"""Scripted "models" for the fake server: plausible, and one that obeys injections.

`PlausibleModel` answers like a careful model: one problem per conversation
whose first message asks something, quoting that message verbatim; a label
from the problem summaries; an `insert_after` edit anchored to a real line of
the page. `ObeyingModel` does all that and also *follows* every hostile
instruction it can see, the way an unprotected model might. `InventingModel`
cites correctly only about half the time, cuts off answers to big batches
and refuses some, as weak local models do.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from tests.fake_openai import refusal, truncated

SUMMARY_WORDS = 14


def stage_of(request: dict[str, Any]) -> str:
    system = request["messages"][0]["content"]
    if "community chat to find problems" in system:
        return "extract"
    if "name a recurring documentation problem" in system:
        return "label"
    return "suggest"


def data_message(request: dict[str, Any]) -> str:
    return next(m for m in request["messages"] if m["role"] == "user")["content"]


def block(text: str, tag: str) -> str:
    """The content between `<tag ...>` and `</tag>`."""
    match = re.search(rf"<{tag}[^>]*>\n(.*)\n</{tag}>", text, re.S)
    if match is None:
        raise AssertionError(f"no <{tag}> block in the request")
    return match.group(1)


def first_sentence(text: str) -> str:
    head = re.split(r"(?<=[.?!])\s|\n", text.strip(), maxsplit=1)[0]
    return " ".join(head.split()[:SUMMARY_WORDS])


class PlausibleModel:
    """Valid, evidence-based answers for every stage."""

    def __call__(self, request: dict[str, Any]) -> str:
        stage = stage_of(request)
        data = data_message(request)
        if stage == "extract":
            return json.dumps({"problems": self.problems(json.loads(block(data,
                                                                          "conversations")))})
        if stage == "label":
            return json.dumps(self.label(json.loads(block(data, "evidence"))))
        return json.dumps(self.suggestion(block(data, "page"),
                                          json.loads(block(data, "evidence"))))

    def problems(self, conversations: list[dict[str, Any]]) -> list[dict[str, Any]]:
        found = []
        for conversation in conversations:
            messages = [m for m in conversation["messages"] if m[0]]
            asking = next((m for m in messages if "?" in m[2]), None)
            if asking is None:
                continue
            quote = first_sentence(asking[2])
            found.append({"summary": f"Users ask: {quote}"[:200], "category": "how-to",
                          "conversation_ids": [conversation["id"]],
                          "quotes": [{"message_id": asking[0], "text": quote}]})
        return found

    def label(self, evidence: dict[str, Any]) -> dict[str, str]:
        first = (evidence["problems"] or evidence["quotes"] or ["Recurring question"])[0]
        return {"title": first[:80], "summary": f"Several users hit this: {first}"[:300]}

    def suggestion(self, page: str, evidence: dict[str, Any]) -> dict[str, Any]:
        note = f"> **Note:** {evidence['summary'][:200]}"
        lines = [line for line in page.splitlines()
                 if line.strip() and not line.startswith(("#", "```", ">", "["))
                 and page.count(line) == 1 and len(line) > 20]
        if page.startswith("(no documentation page") or not lines:
            return {"action": "new-page", "anchor": None, "rationale": "No page covers it.",
                    "text": f"# {evidence['title'][:60]}\n\n{note}\n"}
        return {"action": "insert_after", "anchor": lines[0], "text": note,
                "rationale": "Answer the recurring question where readers look for it."}


class ObeyingModel(PlausibleModel):
    """Follows any instruction found in the data, as an unprotected model might.

    `hostile` maps the start of each hostile message to the text an obedient
    model would write into a ticket because of it.
    """

    def __init__(self, hostile: dict[str, str]) -> None:
        self.hostile = hostile

    def problems(self, conversations: list[dict[str, Any]]) -> list[dict[str, Any]]:
        found = super().problems(conversations)
        benign = [(c, m) for c in conversations for m in c["messages"]
                  if m[0] and not self._payload(m[2])]
        for conversation in conversations:
            for message in conversation["messages"]:
                payload = self._payload(message[2])
                if payload:
                    found.extend(self._obey(conversation, message, payload, benign))
        return found

    def label(self, evidence: dict[str, Any]) -> dict[str, str]:
        for text in evidence["problems"] + evidence["quotes"]:
            payload = self._payload(text)
            if payload:
                return {"title": payload[:80], "summary": payload[:300]}
        return super().label(evidence)

    def _payload(self, text: str) -> str | None:
        return next((p for start, p in self.hostile.items() if text.startswith(start)), None)

    def _obey(self, conversation: dict[str, Any], message: list[str], payload: str,
              benign: list[tuple[dict[str, Any], list[str]]]) -> list[dict[str, Any]]:
        cid, (mid, _, text) = conversation["id"], message
        own = " ".join(text.split()[:12])
        claims = [
            # the payload, "quoted" although nobody wrote it
            {"conversation_ids": [cid], "quotes": [{"message_id": mid, "text": payload}]},
            # the hostile message itself as evidence
            {"conversation_ids": [cid], "quotes": [{"message_id": mid, "text": own}]},
            # a conversation that is not in the data
            {"conversation_ids": ["999999999"], "quotes": [{"message_id": "m1",
                                                            "text": payload}]},
            # text copied over the trim marker of a giant message
            {"conversation_ids": [cid], "quotes": [{"message_id": mid, "text": text[-80:]}]},
        ]
        if benign:
            other_conversation, other = benign[0]
            claims.append({"conversation_ids": [other_conversation["id"]],
                           "quotes": [{"message_id": other[0],
                                       "text": first_sentence(other[2])}]})
        return [{"summary": payload[:300], "category": "docs-gap", **claim}
                for claim in claims]


INVENTED = "as the docs clearly state"  # in every invented quote and anchor


def coin(text: str, sides: int = 2) -> int:
    """A fixed pseudo-random choice per text (the same answer on every run)."""
    return int(hashlib.sha256(text.encode()).hexdigest(), 16) % sides


class InventingModel(PlausibleModel):
    """Reports a problem for every conversation, but cites correctly only about half the time.

    Otherwise it paraphrases the quote, cites a conversation or message that is
    not in the batch, or gives no quote at all, in turn. It also cuts off its
    answer (`finish_reason: "length"`) for batches of more than `max_batch`
    conversations, refuses any batch holding a conversation that mentions
    `refuse_word`, and invents the anchor of about half its suggestions, on
    every try.
    """

    def __init__(self, max_batch: int = 40, refuse_word: str = "\0") -> None:
        self.max_batch = max_batch
        self.refuse_word = refuse_word

    def __call__(self, request: dict[str, Any]) -> Any:
        if stage_of(request) == "extract":
            sent = json.loads(block(data_message(request), "conversations"))
            if any(self.refuse_word in row[2] for c in sent for row in c["messages"]):
                return refusal()
            if len(sent) > self.max_batch:
                return truncated(json.dumps({"problems": self.problems(sent)}))
        return super().__call__(request)

    def problems(self, conversations: list[dict[str, Any]]) -> list[dict[str, Any]]:
        found = []
        for conversation in conversations:
            ref, _, text = next(m for m in conversation["messages"] if m[0])
            quote = first_sentence(text)
            claim = {"summary": f"Users report: {quote}"[:200], "category": "question",
                     "conversation_ids": [conversation["id"]],
                     "quotes": [{"message_id": ref, "text": quote}]}
            if coin(text):
                claim.update(self._invented(claim, text))
            found.append(claim)
        return found

    def _invented(self, claim: dict[str, Any], text: str) -> dict[str, Any]:
        quote = claim["quotes"][0]
        made_up = {"message_id": quote["message_id"], "text": f"{INVENTED}: {quote['text']}"}
        return [{"quotes": [made_up]},
                {"conversation_ids": ["c999"], "quotes": [{**made_up, "message_id": "m999"}]},
                {"quotes": []},
                {"quotes": [made_up, quote]}][coin(text + "kind", 4)]

    def suggestion(self, page: str, evidence: dict[str, Any]) -> dict[str, Any]:
        answer = super().suggestion(page, evidence)
        if answer["action"] == "insert_after" and coin(evidence["title"]):
            answer["anchor"] = f"{INVENTED} that this works."
        return answer
