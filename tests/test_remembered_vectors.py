"""conftest's remembered MiniLM vectors: the model's, in the order asked, computed once."""

from __future__ import annotations

import numpy as np
import pytest

from docloop.backends.embedders.minilm import MiniLMEmbedder
from tests.conftest import MODEL_EMBED


@pytest.mark.model
def test_remembered_vectors_are_the_models_in_the_order_asked_and_computed_once(
        minilm: MiniLMEmbedder, monkeypatch: pytest.MonkeyPatch) -> None:
    assert MiniLMEmbedder.embed is not MODEL_EMBED  # this test sees the remembered ones
    texts = ["the upload fails after ten minutes", "where is the cache kept?",
             "the upload fails after ten minutes", "a third text, never embedded before 7f3a"]
    remembered = minilm.embed(texts)
    assert np.allclose(remembered, MODEL_EMBED(minilm, texts), atol=1e-5)
    assert np.array_equal(remembered[0], remembered[2])

    def model_ran(*args: object) -> None:
        raise AssertionError("the model ran for a text it had embedded")

    monkeypatch.setattr(MiniLMEmbedder, "_run", model_ran)
    assert np.array_equal(minilm.embed(texts[::-1]), remembered[::-1])
    assert minilm.embed([]).shape == (0, MiniLMEmbedder.dim)
