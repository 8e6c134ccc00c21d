"""The shapes the model must answer in, and their strict JSON schemas.

Pydantic validates the answers (length limits included); the schema sent to
the server is the same model with the keywords strict structured outputs do
not accept removed, every property required and no extra properties.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

CATEGORIES = ("how-to", "error", "docs-gap", "question")
_UNSUPPORTED = {"title", "default", "minLength", "maxLength", "minItems", "maxItems"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QuoteOut(_Strict):
    message_id: str
    text: str = Field(min_length=1, max_length=600)


class ProblemOut(_Strict):
    summary: str = Field(min_length=3, max_length=300)
    category: Literal["how-to", "error", "docs-gap", "question"]
    conversation_ids: list[str] = Field(min_length=1, max_length=20)
    quotes: list[QuoteOut] = Field(min_length=1, max_length=5)


class ExtractOut(_Strict):
    problems: list[ProblemOut]


class LabelOut(_Strict):
    title: str = Field(min_length=3, max_length=80)
    summary: str = Field(min_length=3, max_length=400)


class SuggestOut(_Strict):
    action: Literal["replace", "insert_after", "new-section", "new-page"]
    anchor: str | None
    text: str = Field(min_length=1, max_length=6000)
    rationale: str = Field(max_length=400)


def strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    """`model`'s JSON schema in the form `strict: true` structured outputs accept."""
    return _strip(model.model_json_schema())


def _strip(node: Any) -> Any:
    if isinstance(node, list):
        return [_strip(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strip(v) for k, v in node.items() if k not in _UNSUPPORTED}
    if isinstance(node.get("properties"), dict):  # property names are not keywords
        out["properties"] = {name: _strip(v) for name, v in node["properties"].items()}
    if out.get("type") == "object" and "properties" in out:
        out["required"] = sorted(out["properties"])
        out["additionalProperties"] = False
    return out
