"""Shared words as vectors: the lexical half of clustering's similarity (stages/lexical.py)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from docloop.backends.analyzers.offline import OfflineAnalyzer
from docloop.config import Settings
from docloop.models import Problem
from docloop.quality import QualitySettings
from docloop.stages.cluster import cluster_problems
from docloop.stages.lexical import joint_space, lexical_vectors, pad_lexical
from tests.helpers import BASE

TEXTS = [
    "the frozen executable built with pyinstaller cannot import the core module",
    "after bundling with pyinstaller the app fails to import the core module",
    "validators cannot access the other field values during validation",
    "how do I read another field value inside a validator",
]


def _problems(texts: list[str]) -> list[Problem]:
    return [Problem(id=f"p{i}", conversation_id=str(i), text=text,
                    timestamp=BASE + timedelta(hours=i)) for i, text in enumerate(texts)]


def test_problems_sharing_rare_words_are_close_and_others_are_not() -> None:
    vectors = lexical_vectors(_problems(TEXTS))
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    same = float(vectors[0] @ vectors[1])
    assert same > 0.3
    assert same > float(vectors[0] @ vectors[2]) and same > float(vectors[0] @ vectors[3])
    assert np.array_equal(vectors, lexical_vectors(_problems(TEXTS)))  # deterministic


def test_the_joint_space_blends_the_two_cosines_by_weight() -> None:
    rng = np.random.default_rng(1)
    embedded = rng.standard_normal((4, 8)).astype(np.float32)
    embedded /= np.linalg.norm(embedded, axis=1, keepdims=True)
    lexical = lexical_vectors(_problems(TEXTS))
    joint = joint_space(embedded, lexical, 0.3)
    expected = 0.7 * float(embedded[0] @ embedded[1]) + 0.3 * float(lexical[0] @ lexical[1])
    assert abs(float(joint[0] @ joint[1]) - expected) < 1e-5
    assert joint_space(embedded, lexical, 0.0) is embedded
    padded = pad_lexical(embedded[0], 0.3)
    assert abs(float(padded @ joint[1]) - 0.7 * float(embedded[0] @ embedded[1])) < 1e-5


def test_lexical_weight_joins_paraphrases_the_embedding_keeps_apart() -> None:
    problems = _problems(TEXTS)
    embedded = np.eye(4, dtype=np.float32)  # the embedding sees four unrelated problems
    alone = cluster_problems(problems, embedded, shared_weight=0.0, lexical_weight=0.0,
                             center_shrink=None)
    assert len(alone) == 4
    blended = cluster_problems(problems, embedded, shared_weight=0.0, lexical_weight=0.8,
                               threshold=0.2, center_shrink=None)
    groups = {frozenset(problems[i].id for i in c.members) for c in blended}
    assert frozenset({"p0", "p1"}) in groups


def test_the_offline_analyzer_takes_its_quality_settings_from_the_run() -> None:
    quality = QualitySettings(follow_up_words=3)
    analyzer = OfflineAnalyzer.from_settings(Settings(), quality=quality)
    assert analyzer.quality is quality
    assert OfflineAnalyzer.from_settings(Settings()).quality == QualitySettings()


def test_without_lexical_weight_no_tfidf_vectors_are_built(monkeypatch: pytest.MonkeyPatch) -> None:
    """Weight 0 gives the centred embedding alone; the TF-IDF matrix (770 MB at 1M
    messages) is not built just to be dropped, and a weight still blends it in."""
    from docloop.stages import cluster as cluster_module

    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((4, 8)).astype(np.float32)
    offset = cluster_module._domain_offset(vectors, 5.0)
    problems = _problems(TEXTS)
    blended = cluster_module._clustering_space(problems, vectors, offset, 0.3)
    np.testing.assert_array_equal(
        blended.dense(),
        joint_space(cluster_module._centre(vectors, offset), lexical_vectors(problems), 0.3))

    def refuse(*_: object) -> np.ndarray:
        raise AssertionError("lexical vectors built with weight 0")

    monkeypatch.setattr(cluster_module, "lexical_rows", refuse)
    np.testing.assert_array_equal(
        cluster_module._clustering_space(problems, vectors, offset, 0.0).dense(),
        cluster_module._centre(vectors, offset))


def test_the_joint_space_filled_in_place_is_the_scaled_halves_side_by_side() -> None:
    """Filled in place to spare memory at scale, it must equal the plain formula."""
    import math

    import numpy as np

    from docloop.stages.lexical import joint_space

    rng = np.random.default_rng(3)
    embedded = rng.standard_normal((5, 4)).astype(np.float32)
    lexical = rng.standard_normal((5, 6)).astype(np.float32)
    expected = np.hstack([embedded * math.sqrt(0.7), lexical * math.sqrt(0.3)])
    joint = joint_space(embedded, lexical, 0.3)
    assert joint.dtype == np.float32 and np.array_equal(joint, expected.astype(np.float32))
    assert joint_space(embedded, lexical, 0.0) is embedded
