"""Re-ranking the hybrid search's candidate pages on a maintainer's evidence."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from docloop import db
from docloop.backends.docs_index.hubs import page_hubness
from docloop.backends.docs_index.rerank import (
    FEATURES,
    HYBRID_ORDER,
    QueryTerms,
    RankSettings,
    candidate_rarity,
)
from docloop.backends.docs_index.sqlite import SQLiteDocsIndex
from docloop.backends.docs_index.terms import PageTerms, atoms, query_names, stem
from docloop.docs.loader import load_pages
from tests.docs_helpers import HashingEmbedder, write_docs

#: a release announcement that shares the question's generic words in one passage, and
#: the reference page that holds the pasted option name and error in several sections
DOCS = {
    "blog/announcing-v6.md": (
        "# Announcing v6\n\nThe dev server config changed: request host checks, server "
        "options, blocked request handling, how to set config in the dev server host.\n\n"
        "## Other news\n\nPlugins, templates, community, sponsors and a new logo.\n\n"
        "## Thanks\n\nThanks to every contributor and sponsor.\n"),
    "config/server-options.md": (
        "# Server Options\n\n## server.host\n\nWhich IP addresses the dev server listens on.\n\n"
        "## server.allowedHosts\n\nThe hostnames Vite may respond to. A request for any "
        "other host gets `Blocked request. This host is not allowed.`\n\n"
        "## server.allowedHosts and proxies\n\nBehind a proxy add the public hostname to "
        "`server.allowedHosts`.\n"),
    "guide/assets.md": "# Static assets\n\nImport images and fonts from `src/`.\n",
}
QUESTION = ('Blocked request. This host ("box.example") is not allowed. How do I set '
            "server.allowedHosts in the dev server config?")


def _index(root: Path, rank: RankSettings | None = None) -> SQLiteDocsIndex:
    index = SQLiteDocsIndex(db.memory(), HashingEmbedder(), rank=rank)
    write_docs(root, DOCS)
    index.sync(load_pages(root, "https://d.dev"))
    return index


def _feature_rows(root: Path) -> dict[str, dict[str, float]]:
    """The QUESTION's three candidate pages with their features by name."""
    index = _index(root)
    vector = index.embedder.embed([QUESTION])[0]
    pool = index.candidates(QUESTION, vector, 3)
    return {p: dict(zip(FEATURES, pool.features[i].tolist(), strict=True))
            for i, p in enumerate(pool.paths)}


def test_the_page_holding_the_users_option_and_error_outranks_a_generic_match(
        tmp_path: Path) -> None:
    hybrid = _index(tmp_path / "a", HYBRID_ORDER).search(QUESTION, 3)
    reranked = _index(tmp_path / "b").search(QUESTION, 3)
    assert hybrid[0].path == "blog/announcing-v6.md"  # what the hybrid score alone picks
    assert reranked[0].path == "config/server-options.md"
    assert [h.score for h in reranked] == sorted((h.score for h in reranked), reverse=True)


def test_candidates_carry_one_feature_row_per_page(tmp_path: Path) -> None:
    index = _index(tmp_path)
    vector = index.embedder.embed([QUESTION])[0]
    pool = index.candidates(QUESTION, vector, 2)
    assert len(pool.paths) == 2 and pool.features.shape == (2, len(FEATURES))
    row = dict(zip(FEATURES, pool.features[pool.paths.index("config/server-options.md")],
                   strict=True))
    assert row["names"] == pytest.approx(1.0)  # every name the user wrote is on the page
    assert 0.0 < row["words"] <= 1.0 and row["topic"] > 0.0


def test_search_returns_top_k_even_beyond_the_candidate_count(tmp_path: Path) -> None:
    index = _index(tmp_path, RankSettings(candidates=1))
    assert len(index.search(QUESTION, 3)) == 3


def test_query_names_are_the_pasted_code_and_errors() -> None:
    names = query_names("TypeError in `model_rebuild()` after import.meta.glob, app and str")
    assert "typeerror" in names and "model_rebuild()" in names and "import.meta.glob" in names
    assert "app" not in names and "str" not in names


def test_words_fold_plurals_and_rare_words_weigh_more() -> None:
    assert stem("validators") == "validator" and stem("headings") == "heading"
    assert stem("class") == "class" and stem("proxies") == "proxy"
    assert atoms("Validators and aliases") == {"validator", stem("aliases")}
    terms = PageTerms.build([
        ("a.md", "A", ["Validators"], "validator docs everywhere"),
        ("b.md", "B", [], "validator and alias"),
    ])
    assert terms.word_idf(stem("alias")) > terms.word_idf("validator") > 0.0
    assert terms.word_idf("pyinstaller") == 0.0  # no page uses it: it cannot rank pages
    assert terms.pages["a.md"].heading_words == {"validator"}
    assert terms.breadth("b.md") < terms.breadth("a.md") == 1.0  # a.md uses more words


def test_bm25_discounts_a_long_page_that_mentions_the_words_once() -> None:
    filler = " ".join(f"topic{i} words{i}" for i in range(200))
    terms = PageTerms.build([
        ("migration.md", "Migration", ["Everything changed"], f"preprocessor once. {filler}"),
        ("css.md", "CSS", ["Preprocessor options"], "preprocessor options: the preprocessor "
         "api for sass. set the preprocessor api."),
        ("other.md", "Other", [], "nothing relevant here"),
    ])
    words = {"preprocessor", "api"}
    assert terms.bm25("css.md", words) > terms.bm25("migration.md", words) > 0.0
    assert terms.bm25("other.md", words) == 0.0 and terms.bm25("unknown.md", words) == 0.0


def test_section_match_is_how_fully_the_query_names_a_heading() -> None:
    terms = PageTerms.build([
        ("models.md", "Models", ["Private model attributes"], "text"),
        ("alias.md", "Alias", [], "text"),
        *[(f"page{i}.md", f"Page {i}", ["Usage"], "text") for i in range(6)],
    ])
    query = {stem("private"): 1.0, stem("attributes"): 1.0, "usage": 1.0}
    assert terms.section_match("models.md", query) > 0.5  # two of its three words
    # a one-word heading of a word several pages use is no section name
    assert terms.section_match("page0.md", query) < terms.section_match("models.md", query)
    assert terms.section_match("alias.md", query) == 0.0


def test_hubness_finds_the_page_close_to_every_other_page() -> None:
    rng = np.random.default_rng(7)
    topics = rng.normal(size=(4, 16))
    vectors, paths = [], []
    for t, topic in enumerate(topics):  # four topic pages, three chunks each
        for _ in range(3):
            vectors.append(topic + 0.1 * rng.normal(size=16))
            paths.append(f"topic{t}.md")
    for topic in topics:  # a catch-all page: one chunk on every topic
        vectors.append(topic + 0.3 * rng.normal(size=16))
        paths.append("migration.md")
    matrix = np.array(vectors)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    hubs = page_hubness(matrix, paths, neighbours=1)
    assert hubs["migration.md"] == 1.0
    assert all(hubs[f"topic{t}.md"] < 0.5 for t in range(4))
    assert page_hubness(matrix[:0], []) == {}


def test_candidates_carry_hub_and_page_bm25_features(tmp_path: Path) -> None:
    rows = _feature_rows(tmp_path)
    assert all(0.0 <= r["hub"] <= 1.0 for r in rows.values())
    assert rows["config/server-options.md"]["bm25"] == pytest.approx(1.0)  # best page
    assert rows["guide/assets.md"]["bm25"] < rows["blog/announcing-v6.md"]["bm25"]


def test_title_match_is_how_fully_the_query_names_the_page_and_its_path() -> None:
    terms = PageTerms.build([
        ("config/server-options.md", "Server Options", ["server.host"], "listen address"),
        ("concepts/fields.md", "Fields", ["Default values"], "field defaults"),
        ("guide/features.md", "Features", ["CSS", "JSON"], "server fields options css"),
        *[(f"guide/page{i}.md", f"Page {i}", [], "guide text") for i in range(6)],
    ])
    query = {w: 1.0 for w in atoms("which server options does the dev server read?")}
    assert terms.title_match("config/server-options.md", query) == pytest.approx(1.0)
    assert terms.title_match("guide/features.md", query) == 0.0  # mentions, is not named so
    fields = {w: 1.0 for w in atoms("a computed field is missing")}
    assert terms.title_match("concepts/fields.md", fields) > 0.5  # named by its path and title
    assert terms.title_match("unknown.md", query) == 0.0


def test_defines_counts_names_filed_in_a_heading_or_defined_in_code_not_mentioned() -> None:
    terms = PageTerms.build([
        ("config/server-options.md", "Server Options", ["server.allowedHosts"],
         "The hostnames the dev server may respond to."),
        ("concepts/validators.md", "Validators", ["Model validators"],
         "```py\nfrom pydantic import model_validator\n\ndef model_validator(mode): ...\n```"),
        ("migration.md", "Migration", ["Everything changed"],
         "Use `server.allowedHosts`, `model_validator` and `field_serializer` now."),
    ])
    names = {"server.allowedhosts": 2.0, "model_validator": 1.0}
    assert terms.defines("config/server-options.md", names) == pytest.approx(2 / 3)
    assert terms.defines("concepts/validators.md", names) == pytest.approx(1 / 3)
    assert terms.defines("migration.md", names) == 0.0  # mentions both, files neither
    assert terms.defines("migration.md", {}) == 0.0


def test_candidates_carry_title_and_defines_features(tmp_path: Path) -> None:
    rows = _feature_rows(tmp_path)
    assert rows["config/server-options.md"]["defines"] > 0.0  # `## server.allowedHosts`
    assert rows["blog/announcing-v6.md"]["defines"] == 0.0
    assert rows["config/server-options.md"]["title"] > rows["guide/assets.md"]["title"]


def test_bm25f_counts_a_word_in_the_headings_more_than_in_the_text() -> None:
    terms = PageTerms.build([
        ("concepts/serialization.md", "Serialization", ["Custom serializers"],
         "Dump a model to a dict."),
        ("migration.md", "Migration", ["Changes"], "Serializers changed; dump a model."),
        *[(f"guide/page{i}.md", f"Page {i}", [], "guide text") for i in range(4)],
    ])
    words = atoms("custom serializer")
    plain = [terms.bm25(p, words) for p in ("concepts/serialization.md", "migration.md")]
    boosted = [terms.bm25(p, words, 3.0) for p in ("concepts/serialization.md", "migration.md")]
    assert boosted[0] > plain[0] and boosted[1] == pytest.approx(plain[1])
    assert boosted[0] / boosted[1] > plain[0] / plain[1]


#: a catch-all page that says the users' words once each, in different sections, and the
#: reference page with one section about exactly them
SCATTERED = [
    ("guide/troubleshooting.md", "Troubleshooting", ["Docker"], "docker images and caches."),
    ("guide/troubleshooting.md", "Troubleshooting", ["WSL"], "wsl paths on windows."),
    ("guide/troubleshooting.md", "Troubleshooting", ["Watching"], "watcher restarts and hmr."),
    ("config/server-options.md", "Server Options", ["server.host"], "listen address."),
    ("config/server-options.md", "Server Options", ["server.watch"],
     "file watcher options. on wsl or in docker, file system events are missed: the watcher "
     "needs polling for hmr."),
    *[(f"guide/page{i}.md", f"Page {i}", ["Usage"], "guide text about other things")
      for i in range(6)],
]


def test_section_bm25_prefers_one_dedicated_section_to_scattered_mentions() -> None:
    terms = PageTerms.build(SCATTERED)
    query = {w: terms.word_idf(w) for w in atoms("HMR misses changes in docker on wsl")}
    dedicated = terms.section_bm25("config/server-options.md", query)
    scattered = terms.section_bm25("guide/troubleshooting.md", query)
    assert dedicated > scattered > 0.0
    assert terms.section_bm25("guide/page0.md", query) == 0.0
    assert terms.section_bm25("unknown.md", query) == 0.0
    # the section scores what the sections hold: two of the words in one section beat
    # one word per section, while the whole page's BM25 sees both pages hold all three
    whole = [terms.bm25(p, query) for p in ("config/server-options.md",
                                            "guide/troubleshooting.md")]
    assert dedicated / scattered > whole[0] / whole[1]


def test_query_terms_weigh_a_repeated_word_up_by_its_log_count() -> None:
    terms = PageTerms.build(SCATTERED)
    query = QueryTerms.of("docker docker docker wsl", terms)
    assert query.words["docker"] == pytest.approx(terms.word_idf("docker"))
    assert query.repeated["docker"] == pytest.approx(
        terms.word_idf("docker") * (1 + math.log(3)))
    assert query.repeated["wsl"] == pytest.approx(query.words["wsl"])


def test_candidate_rarity_is_decided_by_terms_few_candidates_carry() -> None:
    terms = PageTerms.build([
        ("config/server-options.md", "Server Options", ["server.watch"],
         "dev server hmr watcher: use `usePolling` in docker."),
        ("guide/troubleshooting.md", "Troubleshooting", ["HMR"], "dev server hmr problems."),
        ("guide/features.md", "Features", ["HMR"], "dev server hmr for every framework."),
        *[(f"guide/page{i}.md", f"Page {i}", [], "unrelated words") for i in range(6)],
    ])
    paths = ["guide/troubleshooting.md", "guide/features.md", "config/server-options.md"]
    query = QueryTerms.of("dev server hmr broken, do I need `usePolling`?", terms)
    rarity = candidate_rarity(query, terms, paths)
    # "dev", "server", "hmr" are on every candidate: only `usePolling` decides
    assert rarity[2] == pytest.approx(1.0) and rarity[0] == rarity[1] == 0.0
    # a term no candidate carries (or an empty pool) weighs nothing
    assert candidate_rarity(query, terms, ["guide/page0.md"]).tolist() == [0.0]
    assert candidate_rarity(query, terms, []).shape == (0,)


def test_candidates_carry_section_bm25_relative_to_the_best(tmp_path: Path) -> None:
    rows = _feature_rows(tmp_path)
    assert max(r["section_bm25"] for r in rows.values()) == pytest.approx(1.0)
    assert rows["config/server-options.md"]["section_bm25"] > rows["guide/assets.md"][
        "section_bm25"] >= 0.0
    assert rows["config/server-options.md"]["rarity"] > rows["guide/assets.md"]["rarity"]


def test_the_best_section_picks_the_dedicated_page_where_the_whole_page_does_not(
        tmp_path: Path) -> None:
    docs: dict[str, str] = {}
    for path, title, headings, text in SCATTERED:
        docs[path] = docs.get(path) or f"# {title}\n\n"
        docs[path] += f"## {headings[0]}\n\n{text}\n\n"
    question = "HMR misses changes in docker on wsl"
    first = {}
    for feature in ("bm25", "section_bm25"):  # each alone, over the hybrid score
        rank = RankSettings(**{**_zero_weights(), feature: 5.0})
        index = SQLiteDocsIndex(db.memory(), HashingEmbedder(), rank=rank)
        write_docs(tmp_path / feature, docs)
        index.sync(load_pages(tmp_path / feature, "https://d.dev"))
        first[feature] = index.search(question, 3)[0].path
    assert first == {"bm25": "guide/troubleshooting.md",
                     "section_bm25": "config/server-options.md"}


def _zero_weights() -> dict[str, float]:
    """Every re-ranking weight but the hybrid score's at 0."""
    return {name: 0.0 for name in FEATURES if name != "fused"}
