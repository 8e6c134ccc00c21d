"""A listwise logistic ranker over the re-ranking features, fitted with strong L2.

A grid over ten weights chosen on ~25 group queries a set picks whichever corner
happens to suit the training sets (RESULTS.md: leave one community out, the real
sets lost). This fits the same linear score by maximum likelihood instead: for every
query, the softmax over its candidate pages of `features @ w` should put its mass on
the labelled page (the listwise, multinomial-logit form of "the right page first"),
each query weighted so that every set, and within a set group and message queries,
count as the objective counts them. Features are scaled by their spread across each
query's candidates on the training data (weights compare), then L2 pulls every
weight towards 0, i.e. towards ranking by nothing but the hybrid score, which is
kept at a fixed weight 1 as the offset: only evidence that helps on every training
set earns weight. Newton's method; 13 features, a few thousand queries: instant.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

NEWTON_STEPS = 30


@dataclass
class Pools:
    """Queries as padded candidate pools: features, pool sizes, labelled page position."""

    kind: np.ndarray  # "message" or "group", per query
    features: np.ndarray  # (queries, pool, features); rows beyond a pool's size are zero
    size: np.ndarray  # candidates per query
    gold: np.ndarray  # position of the labelled page in the pool, -1 when absent


def query_weights(pools: Pools, set_weight: float) -> np.ndarray:
    """Each query's weight: half of `set_weight` to group queries, half to message
    queries, split evenly among the queries of each kind whose pool holds the page."""
    weights = np.zeros(len(pools.gold))
    usable = pools.gold >= 0
    for kind in ("group", "message"):
        mine = usable & (pools.kind == kind)
        if mine.any():
            weights[mine] = set_weight / 2 / mine.sum()
    return weights


def fit(training: Sequence[Pools], set_weights: Sequence[float], offset: int,
        l2: float) -> np.ndarray:
    """Weights (original feature units) maximising the weighted listwise log-likelihood
    minus `l2` times the squared norm of the scaled weights; the feature at `offset`
    (the hybrid score) is fixed at weight 1."""
    feats = np.concatenate([p.features for p in training])
    size = np.concatenate([p.size for p in training])
    gold = np.concatenate([p.gold for p in training])
    weight = np.concatenate([query_weights(p, w) for p, w in zip(training, set_weights,
                                                                  strict=True)])
    keep = (gold >= 0) & (weight > 0)
    feats, size, gold, weight = feats[keep], size[keep], gold[keep], weight[keep]
    weight = weight / weight.sum()
    valid = np.arange(feats.shape[1])[None, :] < size[:, None]
    scale = _spread(feats, valid)
    scaled = feats / scale
    base = scaled[:, :, offset] * scale[offset]  # the hybrid score at weight 1, unscaled
    free = [i for i in range(feats.shape[2]) if i != offset]
    x = scaled[:, :, free]
    w = np.zeros(len(free))
    rows = np.arange(len(gold))
    for _ in range(NEWTON_STEPS):
        prob = _softmax(base + x @ w, valid)
        mean = np.einsum("qp,qpf->qf", prob, x)
        grad = weight @ (mean - x[rows, gold]) + 2 * l2 * w
        centred = x - mean[:, None, :]
        hess = np.einsum("q,qp,qpf,qpg->fg", weight, prob, centred, centred)
        step = np.linalg.solve(hess + 2 * l2 * np.eye(len(free)), grad)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    full = np.zeros(feats.shape[2])
    full[free] = w / scale[free]
    full[offset] = 1.0
    return full


def _spread(feats: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Each feature's root-mean-square deviation from its query's mean over valid
    candidates (1 where a feature never varies)."""
    count = valid.sum(axis=1, keepdims=True)
    mean = (feats * valid[:, :, None]).sum(axis=1, keepdims=True) / np.maximum(count, 1)[
        :, :, None]
    dev = ((feats - mean) ** 2 * valid[:, :, None]).sum(axis=(0, 1)) / max(1, int(valid.sum()))
    spread = np.sqrt(dev)
    return np.where(spread > 1e-12, spread, 1.0)


def _softmax(scores: np.ndarray, valid: np.ndarray) -> np.ndarray:
    masked = np.where(valid, scores, -np.inf)
    top = masked.max(axis=1, keepdims=True)
    exp = np.where(valid, np.exp(masked - top), 0.0)
    return exp / exp.sum(axis=1, keepdims=True)


@dataclass
class InnerFits:
    """One L2 strength's leave-one-set-out fits within the training sets."""

    l2: float
    fits: dict[str, np.ndarray]  # held-out set -> weights fitted on the other sets
    scores: dict[str, float]  # held-out set -> its objective under those weights


#: how the inner leave-one-set-out scores of an L2 strength are summarised: their weighted
#: mean; the mean minus the spread of the gains over the hybrid order (an L2 that helps one
#: set a lot and costs another loses to one that helps both a little); the worst set's gain
RULES = ("mean", "spread", "worst")


def inner_fits(training: Mapping[str, Pools], set_weights: Mapping[str, float], offset: int,
               l2: float, score: Callable[[Pools, np.ndarray], float]) -> InnerFits:
    """Fit on all training sets but one, score on that one, for each set in turn."""
    fits, scores = {}, {}
    for left in training:
        rest = [n for n in training if n != left]
        fits[left] = fit([training[n] for n in rest], [set_weights[n] for n in rest],
                         offset, l2)
        scores[left] = score(training[left], fits[left])
    return InnerFits(l2, fits, scores)


def summary(fits: InnerFits, baseline: Mapping[str, float], set_weights: Mapping[str, float],
            rule: str) -> float:
    """`rule`'s summary of the held-out gains over `baseline` (each set's own score under
    the hybrid order alone), sets weighted as `set_weights` says."""
    names = list(fits.scores)
    gains = np.array([fits.scores[n] - baseline[n] for n in names])
    weights = np.array([set_weights[n] for n in names])
    mean = float(weights @ gains / weights.sum())
    if rule == "mean":
        return mean
    if rule == "spread":
        return mean - float(np.sqrt(weights @ (gains - mean) ** 2 / weights.sum()))
    if rule == "worst":
        return float(gains.min())
    raise ValueError(f"unknown L2 rule {rule!r}: use one of {', '.join(RULES)}")


def choose_fits(training: Mapping[str, Pools], set_weights: Mapping[str, float], offset: int,
                options: Sequence[float], score: Callable[[Pools, np.ndarray], float],
                rule: str = "mean") -> InnerFits:
    """The inner leave-one-set-out fits of the L2 strength `rule` summarises best (ties go
    to the stronger L2: options are tried strongest first). Needs two training sets."""
    hybrid = np.zeros(next(iter(training.values())).features.shape[2])
    hybrid[offset] = 1.0
    baseline = {n: score(p, hybrid) for n, p in training.items()}
    best, best_value = None, -np.inf
    for l2 in sorted(options, reverse=True):
        trial = inner_fits(training, set_weights, offset, l2, score)
        value = summary(trial, baseline, set_weights, rule)
        if value > best_value + 1e-9:
            best, best_value = trial, value
    assert best is not None, "no L2 option given"
    return best


def bagged(fits: InnerFits, set_weights: Mapping[str, float]) -> np.ndarray:
    """The inner fits averaged (each weighted as the set it left out): every training set
    is missing from one member, so no single set's quirks pull the average far."""
    names = list(fits.fits)
    weights = np.array([set_weights[n] for n in names])
    return np.asarray(weights @ np.array([fits.fits[n] for n in names]) / weights.sum())


def choose_l2(training: Mapping[str, Pools], set_weights: Mapping[str, float], offset: int,
              options: Sequence[float], score: Callable[[Pools, np.ndarray], float]) -> float:
    """The L2 strength whose fits score best on average leave-one-set-out *within*
    `training` (the strongest when there is nothing to hold out)."""
    if len(training) < 2:  # nothing to hold out: the strongest pull towards the hybrid order
        return max(options)
    return choose_fits(training, set_weights, offset, options, score).l2
