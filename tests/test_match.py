"""Page choice and verdicts of the match stage, against a scripted index."""

from __future__ import annotations

import numpy as np

from docloop.backends.docs_index.terms import PageTerms
from docloop.models import DocChunk, Insight, PageHit, Quote
from docloop.stages.match import (
    COVERED,
    MISSING,
    VOTE_K,
    fuse_pages,
    group_query,
    match_insight,
    vote_pages,
)
from docloop.stages.verdict import VerdictSettings

CENTROID = np.array([1.0, 0.0], dtype=np.float32)


def hit(path: str, score: float, similarity: float = 0.6, heading: str = "Intro") -> PageHit:
    return PageHit(path=path, url=f"https://docs.example/{path}", heading=heading,
                   anchor=heading.lower(), score=score, similarity=similarity,
                   text=f"{path} {heading} text")


class ScriptedIndex:
    """Returns scripted hits per query text; page similarity and chunks per path."""

    def __init__(self, results: dict[str, list[PageHit]], similarity: dict[str, float],
                 page_text: str = "cors origins credentials") -> None:
        self.results = results
        self.similarity = similarity
        self.page_text = page_text
        self.queries: list[str] = []

    def search_vector(self, text: str, vector: np.ndarray, top_k: int) -> list[PageHit]:
        self.queries.append(text)
        for key, hits in self.results.items():
            if key in text:
                return hits[:top_k]
        return []

    def page_chunks(self, path: str) -> list[DocChunk]:
        return [DocChunk(id=f"{path}#0", path=path, url=f"https://docs.example/{path}",
                         title=path, heading="Intro", text=self.page_text)]

    def page_similarity(self, path: str, vector: np.ndarray) -> float:
        return self.similarity.get(path, 0.0)

    def best_similarities(self, vectors: np.ndarray) -> np.ndarray:
        """The best page similarity: the scripted hits' best (as a real index's best chunk)."""
        best = max((h.similarity for hits in self.results.values() for h in hits), default=0.0)
        return np.full(len(vectors), max(best, *self.similarity.values(), 0.0))

    def page_terms(self) -> PageTerms:
        """Every scripted page's words, as the index builds them from its chunks."""
        return PageTerms.build([(path, path, ["Intro"], self.page_text)
                                for path in self.similarity])


def an_insight() -> Insight:
    return Insight(id="ins_a", title="combined question", summary="",
                   questions=["combined question"])


def test_without_members_the_combined_query_picks_the_page() -> None:
    index = ScriptedIndex({"combined": [hit("a.md", 0.9), hit("b.md", 0.8)]},
                          {"a.md": 0.7, "b.md": 0.6})
    match, chunks = match_insight(an_insight(), CENTROID, index)
    assert match.path == "a.md"
    assert [h.path for h in match.alternatives] == ["b.md"]
    assert chunks and chunks[0].path == "a.md"


def test_members_that_agree_outvote_the_combined_query() -> None:
    index = ScriptedIndex({
        "combined": [hit("drift.md", 0.95), hit("right.md", 0.7)],
        "member one": [hit("right.md", 0.9, heading="Bearer"), hit("drift.md", 0.5)],
        "member two": [hit("right.md", 0.8, heading="Expiry"), hit("other.md", 0.7)],
    }, {"right.md": 0.7, "drift.md": 0.8})
    evidence = [("member one", CENTROID), ("member two", CENTROID)]
    match, _ = match_insight(an_insight(), CENTROID, index, evidence)
    assert match.path == "right.md"
    assert match.heading == "Bearer"  # the section that scored best for any member
    assert match.score == 0.7  # the centroid's similarity to the chosen page, not drift.md's
    # both are one member's second page: equal votes, in path order
    assert [h.path for h in match.alternatives] == ["drift.md", "other.md"]


def test_pages_rank_by_summed_member_scores_and_keep_their_best_section() -> None:
    index = ScriptedIndex({
        "one": [hit("x.md", 0.5, heading="Low"), hit("y.md", 0.6)],
        "two": [hit("x.md", 0.9, heading="High")],
        "three": [hit("y.md", 0.7, heading="Top"), hit("z.md", 0.5)],
    }, {})
    ranked = vote_pages([("one", CENTROID), ("two", CENTROID), ("three", CENTROID)], index)
    assert [(h.path, h.score, h.heading) for h in ranked] == [
        ("x.md", 0.9, "High"), ("y.md", 0.7, "Top"), ("z.md", 0.5, "Intro")]


def test_two_members_that_agree_outvote_one_confident_member() -> None:
    index = ScriptedIndex({
        "one": [hit("a.md", 9.0), hit("b.md", 1.0)],
        "two": [hit("b.md", 0.9), hit("a.md", 0.8)],
        "three": [hit("b.md", 0.9), hit("a.md", 0.85)],
    }, {})
    evidence = [("one", CENTROID), ("two", CENTROID), ("three", CENTROID)]
    assert vote_pages(evidence, index)[0].path == "b.md"  # votes by rank: 2.5 against 2.0
    assert vote_pages(evidence, index, vote_k=0.0)[0].path == "a.md"  # summed score margins


def test_missing_is_decided_on_the_whole_insight_before_any_vote() -> None:
    index = ScriptedIndex({"combined": [hit("a.md", 0.9, similarity=MISSING - 0.01)],
                           "member": [hit("a.md", 0.9, similarity=MISSING - 0.01)]}, {})
    match, chunks = match_insight(an_insight(), CENTROID, index, [("member", CENTROID)])
    assert match.verdict == "missing" and match.path is None and chunks == []
    assert [h.path for h in match.alternatives] == ["a.md"]
    assert index.queries == ["combined question"]  # members never searched


def test_verdict_uses_the_centroid_similarity_of_the_chosen_page() -> None:
    results = {"combined": [hit("a.md", 0.9)], "member": [hit("a.md", 0.9)]}
    close = ScriptedIndex(results, {"a.md": COVERED + 0.01}, page_text="combined question")
    far = ScriptedIndex(results, {"a.md": COVERED - 0.01}, page_text="combined question")
    assert match_insight(an_insight(), CENTROID, close, [("member", CENTROID)])[0].verdict \
        == "covered"
    assert match_insight(an_insight(), CENTROID, far, [("member", CENTROID)])[0].verdict \
        == "partial"


def test_close_page_that_lacks_the_users_terms_is_partial() -> None:
    asked = an_insight()
    asked.quotes = [Quote(message_id="1", author="u",
                          text="`allow_credentials` with `CORSMiddleware`")]
    results = {"combined": [hit("a.md", 0.9)]}
    lacking = ScriptedIndex(results, {"a.md": 0.9}, page_text="nothing relevant here")
    having = ScriptedIndex(results, {"a.md": 0.9}, page_text="allow_credentials CORSMiddleware")
    assert match_insight(asked, CENTROID, lacking)[0].verdict == "partial"
    assert match_insight(asked, CENTROID, having)[0].verdict == "covered"


def test_a_page_every_member_lists_low_does_not_outvote_the_page_they_put_first() -> None:
    fillers = [hit(f"f{i}.md", 0.55 - i * 0.01) for i in range(7)]
    floor = hit("last.md", 0.5)
    index = ScriptedIndex({
        "one": [hit("right.md", 0.95), hit("broad.md", 0.62), *fillers, floor],
        "two": [hit("right.md", 0.9), hit("broad.md", 0.62), *fillers, floor],
        "three": [hit("other.md", 0.9), hit("broad.md", 0.62), *fillers, floor],
    }, {})
    assert all(len(hits) == VOTE_K for hits in index.results.values())
    ranked = vote_pages([("one", CENTROID), ("two", CENTROID), ("three", CENTROID)], index)
    assert ranked[0].path == "right.md"  # summed raw scores would pick broad.md (1.86 > 1.85)


def test_group_query_joins_distinct_member_texts_one_per_line() -> None:
    assert group_query(["  why 422? ", "", "why 422?", "CORS blocked"]) == "why 422?\nCORS blocked"


def test_group_query_votes_as_a_share_of_the_members() -> None:
    # three members: migration.md first for two, models.md first for one
    votes = {"migration.md": 1 + 1 + 1 / 2, "models.md": 1 / 2 + 1 / 2 + 1, "fields.md": 1 / 3}
    sections = {p: hit(p, 0.5) for p in votes}
    group = [hit("models.md", 3.0, heading="Extra"), hit("migration.md", 2.0),
             hit("new.md", 1.5, heading="Setup")]
    # weighed as half the members (1.5 votes by rank): models.md 2 + 1.5, migration.md
    # 2.5 + 0.75, new.md 0.5
    fused = fuse_pages(votes, sections, group, weight=0.5, voters=3)
    assert [h.path for h in fused] == ["models.md", "migration.md", "new.md", "fields.md"]
    assert fused[0].heading == "Intro"  # the members' section is kept
    assert fused[2].heading == "Setup" and fused[2].score == 1.5  # a page only the group found
    # a smaller share does not overturn the members' margin
    assert fuse_pages(votes, sections, group, weight=0.25, voters=3)[0].path == "migration.md"
    alone = fuse_pages(votes, sections, group, weight=0.0, voters=3)
    assert [h.path for h in alone] == ["migration.md", "models.md", "fields.md"]


def test_match_insight_weighs_the_group_hits_against_the_votes() -> None:
    index = ScriptedIndex({
        "combined": [hit("a.md", 0.9)],
        "member one": [hit("a.md", 0.9), hit("b.md", 0.8), hit("c.md", 0.1)],
    }, {"a.md": 0.6, "b.md": 0.6})
    group = [hit("b.md", 2.0), hit("a.md", 1.0)]
    votes_only, _ = match_insight(an_insight(), CENTROID, index, [("member one", CENTROID)])
    fused, _ = match_insight(an_insight(), CENTROID, index, [("member one", CENTROID)],
                             settings=VerdictSettings(group_weight=2.0), group=group)
    assert votes_only.path == "a.md" and fused.path == "b.md"


def test_a_catch_all_page_needs_more_members_to_win() -> None:
    index = ScriptedIndex({
        "combined": [hit("migration.md", 0.9)],
        "member one": [hit("migration.md", 0.9), hit("models.md", 0.8)],
        "member two": [hit("migration.md", 0.9), hit("models.md", 0.8)],
        "member three": [hit("models.md", 0.9), hit("migration.md", 0.8)],
    }, {"migration.md": 0.6, "models.md": 0.6})
    members = [("member one", CENTROID), ("member two", CENTROID), ("member three", CENTROID)]
    plain = VerdictSettings(group_weight=0.0, hub_discount=0.0)
    discounted = VerdictSettings(group_weight=0.0, hub_discount=0.5)
    hubs = {"migration.md": 1.0, "models.md": 0.1}
    # votes: migration.md 2.5, models.md 2.0; discounted: 1.25 against 1.9
    assert match_insight(an_insight(), CENTROID, index, members, settings=plain,
                         hubs=hubs)[0].path == "migration.md"
    assert match_insight(an_insight(), CENTROID, index, members, settings=discounted,
                         hubs=hubs)[0].path == "models.md"
    assert match_insight(an_insight(), CENTROID, index, members,
                         settings=discounted)[0].path == "migration.md"  # no hub scores


class HeadedIndex(ScriptedIndex):
    """A scripted index whose pages have headings of their own."""

    def __init__(self, results: dict[str, list[PageHit]], similarity: dict[str, float],
                 headings: dict[str, list[str]]) -> None:
        super().__init__(results, similarity)
        self.headings = headings

    def page_terms(self) -> PageTerms:
        return PageTerms.build([(path, path, [heading], self.page_text)
                                for path in self.similarity
                                for heading in self.headings.get(path, ["Intro"])])


PASTED = ('Parsing error: "parserOptions.project" has been set for the parser. The file '
          "does not match your project config: {file}. The file must be included in at "
          "least one of the projects provided.")


def test_a_heading_that_quotes_the_members_error_outvotes_a_closer_faq() -> None:
    """A real typescript-eslint insight: three users pasting the error that a troubleshooting
    page titles a section with went to a framework FAQ, the troubleshooting page being a
    catch-all whose votes are discounted."""
    texts = [PASTED.format(file=f) for f in ("jest.config.js", "vite.config.ts", ".eslintrc.js")]
    index = HeadedIndex({
        "combined": [hit("faq.md", 0.9)],
        texts[0]: [hit("faq.md", 0.9), hit("troubleshooting.md", 0.8)],
        texts[1]: [hit("faq.md", 0.9), hit("troubleshooting.md", 0.8)],
        texts[2]: [hit("troubleshooting.md", 0.9), hit("faq.md", 0.8)],
    }, {"faq.md": 0.6, "troubleshooting.md": 0.6}, {
        "faq.md": ["I use a framework that requires custom file extensions"],
        "troubleshooting.md": ['I get errors telling me "The file must be included in at '
                               'least one of the projects provided"']})
    members = [(text, CENTROID) for text in texts]
    hubs = {"troubleshooting.md": 1.0, "faq.md": 0.1}
    # votes discounted: faq.md 2.375, troubleshooting.md 1.0; each quoted member adds 1
    quoted = VerdictSettings(group_weight=0.0)
    assert match_insight(an_insight(), CENTROID, index, members, settings=quoted,
                         hubs=hubs)[0].path == "troubleshooting.md"
    off = VerdictSettings(group_weight=0.0, heading_quote=0.0)
    assert match_insight(an_insight(), CENTROID, index, members, settings=off,
                         hubs=hubs)[0].path == "faq.md"


def test_a_heading_quotes_a_member_only_with_five_of_their_words_in_a_row() -> None:
    terms = PageTerms.build([
        ("troubleshooting.md", "Troubleshooting",
         ['I get errors telling me "The file must be included in at least one of the '
          'projects provided"'], "text"),
        ("faq.md", "FAQ", ["Vite CJS Node API deprecated"], "text")])
    assert terms.quoting_pages("the FILE must be included, in at least one project") == {
        "troubleshooting.md"}
    assert terms.quoting_pages("the file must be in at least one project") == set()
    # four words in a row, and the same words out of order, quote nothing
    assert terms.quoting_pages("WARN: vite cjs node api is deprecated") == set()
    assert terms.quoting_pages("deprecated: the node api of vite, cjs build") == set()
    assert terms.quoting_pages("") == set()
