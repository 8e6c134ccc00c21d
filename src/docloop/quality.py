"""The quality knobs of the offline loop, in one frozen value passed through.

Every threshold and weight that decides what is a problem, what clusters
together and what is reported lives here, so `benchmarks/calibrate.py` can
choose them by leave-one-community-out and the shipped values are the ones it
chose on every labelled set. Nothing patches module constants at run time:
stages take a `QualitySettings` (the defaults are the shipped values).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QualitySettings:
    """Clustering, significance and noise knobs (defaults = shipped values)."""

    #: centred cosine a problem needs to join a cluster (stages/cluster.py)
    cluster_threshold: float = 0.30
    #: score a new one-problem cluster needs to join its best other cluster after the
    #: refinement (stages/fragments.py); None: singletons stay where they are
    attach_threshold: float | None = 0.32
    #: a small cluster joins its mutually nearest cluster when their score reaches this
    #: quantile of the run's nearest-cluster scores (stages/mutual_fragments.py); None: off
    fragment_quantile: float | None = None
    #: the most problems the smaller side of such a pair may hold
    fragment_size: int = 2
    #: centred cosine above which two new clusters are one
    merge_threshold: float = 0.80
    #: bonus for the rarest code term a problem shares with a cluster's member
    shared_weight: float = 0.10
    #: shrinkage of the community mean subtracted before comparing (None: raw cosines)
    center_shrink: float | None = 10.0
    #: share of the similarity that comes from shared words (TF-IDF, stages/lexical.py)
    lexical_weight: float = 0.3
    #: share of the local-scaling (CSLS) correction: a problem close to many others
    #: needs more similarity to join (stages/hubness.py); 0 turns it off
    hub_weight: float = 1.0
    #: neighbours that measure how crowded a problem's neighbourhood is
    hub_k: int = 5
    #: whether a problem far from every other gets a lower bar too (hubness.py); off,
    #: only hubs are held back and an outlier (chit-chat) is not pulled into a cluster
    lift_isolated: bool = True
    #: distinct users an insight needs (at most min_conversations)
    min_users: int = 2
    #: a "same here / any progress?" follow-up longer than this many content words
    #: is read for its own content instead of as a me-too
    follow_up_words: int = 12
    #: fewer content words than this, with no question or error, is chit-chat
    min_content_words: int = 3


SHIPPED = QualitySettings()
