"""Rare code terms that link problems the embedding keeps apart.

Two users rarely describe one problem in the same words, and the answers they
get name the API that solves it: "load the model once at startup" and "flush
my metrics buffer on shutdown" sit at cosine 0.34, yet both threads mention
`app.on_event`; "reject negative ids" and "cap ?limit at 100" both get a
`Query(...)`/`Path(...)` answer. A term pasted in code by few problems of the
run is strong evidence of the same problem; one that most problems share
(`Depends`, `BaseModel`) is not. So clustering adds a bonus for the rarest
code term a problem shares with a cluster: `weight x idf(term) / log(N)`.

Only code-like tokens count (identifiers and inline code, split into parts),
never prose words, which MiniLM already weighs.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

from docloop.models import Problem
from docloop.text import code_terms


class SharedTerms:
    """Per-problem code terms, their rarity in this run, and which clusters hold them."""

    def __init__(self, problems: Sequence[Problem], weight: float) -> None:
        self.weight = weight
        self.terms = [code_terms(p.embedding_text) for p in problems]
        counts = Counter(t for terms in self.terms for t in terms)
        scale = math.log(len(problems)) if len(problems) > 1 else 1.0
        self.rarity = {t: math.log(len(problems) / n) / scale for t, n in counts.items()}
        self._holders: defaultdict[str, set[int]] = defaultdict(set)

    def index(self, memberships: Iterable[tuple[int, Iterable[int]]]) -> None:
        """Rebuild which clusters (by position) hold each term from their members."""
        self._holders.clear()
        for position, members in memberships:
            for member in members:
                self.add(position, member)

    def add(self, position: int, member: int) -> None:
        """Problem `member` joined the cluster at `position`."""
        for term in self.terms[member]:
            self._holders[term].add(position)

    def bonus(self, problem: int, clusters: int) -> np.ndarray:
        """Per-cluster bonus for `problem`: weight x rarity of the rarest term they share."""
        out = np.zeros(clusters, dtype=np.float32)
        if not self.weight:
            return out
        for position, rarity in self.rarest_shared(problem).items():
            out[position] = rarity
        return out * np.float32(self.weight)

    def rarest_shared(self, problem: int, within: np.ndarray | None = None,
                      max_holders: int | None = None) -> dict[int, float]:
        """The clusters (by position) sharing a term with `problem`: the rarest one's rarity.

        Sparse, so a caller scoring a few candidate clusters never builds a
        per-cluster array; the values are float32, as `bonus` holds them. With
        `within` (the candidates a large run scores) a term held by more than
        `max_holders` clusters is looked up among `within` only: walking every
        holder of a common term (`BaseModel` in a tenth of a million problems) for
        every problem would make clustering quadratic again, and such a term's small
        bonus cannot lift a cluster from a far bucket anyway. Rarer terms still
        name every holder, so a far cluster sharing one is scored.
        """
        out: dict[int, float] = {}
        if not self.weight:
            return out
        candidates: set[int] | None = None  # `within` as a set, built only if a term needs it
        for term in self.terms[problem]:
            rarity = float(np.float32(self.rarity[term]))
            holders = self._holders.get(term, set())
            if within is not None and max_holders is not None and len(holders) > max_holders:
                if candidates is None:
                    candidates = set(within.tolist())
                holders = holders & candidates  # C-level, over the smaller set
            for position in holders:
                if rarity > out.get(position, 0.0):
                    out[position] = rarity
        return out
