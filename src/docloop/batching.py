"""Split a sequence into requests within a service's per-request limits."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def limited_batches(items: Iterable[T], max_items: int, max_weight: float,
                    weight: Callable[[T], float]) -> Iterator[list[T]]:
    """Consecutive groups of at most `max_items` whose weights (tokens, bytes) sum to at most
    `max_weight`; an item heavier than `max_weight` on its own is a group of one."""
    batch: list[T] = []
    total = 0.0
    for item in items:
        cost = weight(item)
        if batch and (len(batch) >= max_items or total + cost > max_weight):
            yield batch
            batch, total = [], 0.0
        batch.append(item)
        total += cost
    if batch:
        yield batch
