"""`is_aside`: a sentence that opens with a hedge or a label and says no problem."""

from __future__ import annotations

import pytest

from docloop.text import is_aside


@pytest.mark.parametrize(("sentence", "aside"), [
    ("Not 100% sure, but I think this is a casualty of the template I started with.", True),
    ("example: (using images in the public directory and referenced via absolute paths)",
     True),
    ("Maybe it is the cache again, I cleared it twice.", True),
    ("Not sure why my env variables are undefined in production", False),
    ("Not sure if this is a bug, but `vite build` crashes with ENOMEM", False),
    ("I think the docs are wrong about server.proxy", False),
    ("Maybe the docs should say that allowedHosts is required since 6.0.9", False),
    ("Update: still fails with 5.1, Error: Cannot find module 'x'", False),
    ("Maybelline wrote the config and it breaks the build", False),
    ("Not 100% sure, but I think the cut sentence asked something…", False),
])
def test_an_aside_is_a_hedge_or_label_that_says_no_problem(sentence: str, aside: bool) -> None:
    """A review found problem statements read as asides ("Maybe the docs should say…",
    "Not sure why…", an error after "Update:")."""
    assert is_aside(sentence) is aside
