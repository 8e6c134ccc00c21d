"""What a docs maintainer looks for on a page: the users' words, names and errors.

Hybrid search finds the right page among its first few candidates on real
communities, but often not first: a page that shares many generic words with
a question (or sits close in embedding space) outranks the page that holds the
exact API name or error string the user pasted. `PageTerms` keeps, per page,
the words of its text and of its title and headings, and how many pages use
each word, so a candidate page can be scored on the rare evidence it shares
with the query (`model_rebuild`, `server.allowedHosts`, "Blocked request").
Built once per index from the stored chunks; nothing is added at index time.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from docloop.text import CODE_NOISE, STOPWORDS, error_strings, identifiers, mentions

_ATOM = re.compile(r"[a-z][a-z0-9]+")
#: a name a code block defines: `def model_validator`, `class RootModel`, `function defineConfig`,
#: `interface UserConfig`, `const x =`, `type Plugin =`
_DEFINITION = re.compile(
    r"\b(?:def|class|function|interface|type|const|let|var)\s+([a-z_$][\w$]*)")
MAX_NAME_LENGTH = 60
#: a heading quotes a user when it holds this many of their words in a row (`quoting_pages`)
QUOTE_WORDS = 5
_QUOTE_TOKEN = re.compile(r"[a-z0-9]+")
BM25_K1 = 1.2  # term-frequency saturation of the page-level BM25
BM25_B = 0.75  # how much a long page's matches are discounted for its length


def stem(word: str) -> str:
    """A crude plural fold (validators → validator, proxies → proxy), enough to match a
    user's word with a heading's without a stemmer dependency (both sides fold alike)."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "shes", "ches", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def atoms(text: str) -> set[str]:
    """Stemmed lower-case words of `text` (identifiers split into their parts)."""
    return set(atom_list(text))


def atom_list(text: str) -> list[str]:
    """Every stemmed lower-case word of `text` in order, repeats kept."""
    return [stem(w) for w in _ATOM.findall(text.lower()) if w not in STOPWORDS]


def path_words(path: str) -> set[str]:
    """The words of a page's path without its extension (`config/server-options.md` ->
    config, server, option): docs sites name their files after the topic."""
    return atoms(path.rsplit(".", 1)[0])


def page_texts(rows: Iterable[tuple[str, str, list[str], str]]) -> dict[str, str]:
    """Each page's lower-cased title, headings and text, its chunks in order, from (path,
    title, heading path, text) chunk rows: what a page's names are looked for in (the
    ranking's page terms, and the docs-wide mention check of a ticket's terms)."""
    parts: dict[str, list[str]] = {}
    for path, title, heading_path, text in rows:
        parts.setdefault(path, []).append(" ".join([title, *heading_path, text]))
    return {path: "\n".join(chunks).lower() for path, chunks in parts.items()}


def query_names(text: str) -> list[str]:
    """The code names and error strings a user wrote, lower-cased, most specific first."""
    found = error_strings(text) + identifiers(text)
    names: dict[str, None] = {}
    for name in found:
        lower = name.strip().lower()
        if 3 <= len(lower) <= MAX_NAME_LENGTH and lower not in CODE_NOISE:
            names.setdefault(lower, None)
    return list(names)


@dataclass
class Page:
    """One page's searchable evidence."""

    text: str  # lower-cased title, headings and body
    words: set[str]
    heading_words: set[str]
    headings: list[frozenset[str]] = field(default_factory=list)  # each heading's own words
    counts: Counter[str] = field(default_factory=Counter)  # word -> occurrences on the page
    title_words: frozenset[str] = frozenset()  # words of the title and of the page's path
    heading_text: str = ""  # lower-cased title and headings, one per line
    defined: frozenset[str] = frozenset()  # names the page's code defines (lower-cased)
    heading_counts: Counter[str] = field(default_factory=Counter)  # words of title, headings
    #: each section's word counts (a section: the chunks under one heading path)
    sections: list[Counter[str]] = field(default_factory=list)


@dataclass
class PageTerms:
    """Per-page words and names, with document frequencies over the docs set."""

    pages: dict[str, Page]
    _word_df: dict[str, int] = field(default_factory=dict)
    _name_df: dict[str, int] = field(default_factory=dict)
    _mean_length: float | None = None
    _mean_section: float | None = None
    _heading_runs: dict[tuple[str, ...], set[str]] | None = None

    @classmethod
    def build(cls, rows: Iterable[tuple[str, str, list[str], str]]) -> PageTerms:
        """From (path, title, heading path, text) chunk rows, in any order."""
        rows = list(rows)
        titles: dict[str, str] = {}
        headings: dict[str, dict[str, None]] = {}
        sections: dict[str, dict[tuple[str, ...], Counter[str]]] = {}
        for path, title, heading_path, text in rows:
            section = sections.setdefault(path, {}).setdefault(tuple(heading_path), Counter())
            section.update(atom_list(" ".join([*heading_path, text])))
            titles.setdefault(path, title)
            headings.setdefault(path, {}).update(dict.fromkeys([title, *heading_path]))
        pages = {}
        for path, joined in page_texts(rows).items():
            counts = Counter(atom_list(joined))
            named = list(headings[path])
            pages[path] = Page(
                joined, set(counts), atoms(" ".join(named)),
                sorted({frozenset(atoms(h)) for h in named if atoms(h)}, key=sorted), counts,
                title_words=frozenset(atoms(titles[path]) | path_words(path)),
                heading_text="\n".join(named).lower(),
                defined=frozenset(m.group(1) for m in _DEFINITION.finditer(joined)),
                heading_counts=Counter(atom_list(" ".join(named)) + list(path_words(path))),
                sections=list(sections[path].values()))
        terms = cls(pages)
        for page in pages.values():
            for word in page.words:
                terms._word_df[word] = terms._word_df.get(word, 0) + 1
        return terms

    def breadth(self, path: str) -> float:
        """log(distinct words on the page) / log(most on any page): 0..1."""
        most = max((len(p.words) for p in self.pages.values()), default=0)
        page = self.pages.get(path)
        if page is None or most < 2 or not page.words:
            return 0.0
        return math.log(len(page.words)) / math.log(most)

    def section_match(self, path: str, words: dict[str, float]) -> float:
        """How fully the query names one of the page's headings: for the best heading,
        the rarity-weighted share of its words the query holds (0..1). A maintainer
        files a topic under a heading; a question that says a heading's rare words
        ("allowedHosts", "Private model attributes") asks about that section. A heading
        of common words ("Usage") weighs at least as much as one rare word, so saying
        "usage" is not naming a section."""
        page = self.pages.get(path)
        if page is None or not words:
            return 0.0
        return max((self._named_share(h, words) for h in page.headings), default=0.0)

    def title_match(self, path: str, words: dict[str, float]) -> float:
        """How fully the query names the page itself: the rarity-weighted share of the words
        of its title and its path (`config/server-options.md`, `concepts/fields.md`) the
        query holds. Users name the topic ("allowedHosts", "computed field"); the
        maintainer named the page after it."""
        page = self.pages.get(path)
        if page is None or not words:
            return 0.0
        return self._named_share(page.title_words, words)

    def defines(self, path: str, names: dict[str, float]) -> float:
        """Rarity-weighted share of the query's code names and error strings the page
        *files*: in a heading (`## server.allowedHosts`, "Unrecognized `field_serializer`
        signature") or as a name its code defines (`def model_validator`), not only
        mentioned in passing, as catch-all pages mention every API once."""
        page = self.pages.get(path)
        total = sum(names.values())
        if page is None or total <= 0:
            return 0.0
        filed = sum(weight for name, weight in names.items()
                    if name in page.defined or mentions(page.heading_text, name))
        return filed / total

    def _named_share(self, named: Iterable[str], words: dict[str, float]) -> float:
        """Rarity-weighted share of `named`'s words found in `words`; words common to
        every page weigh at least as much as one word found on two pages, so a heading of
        common words ("Usage") is not named by saying "usage"."""
        floor = math.log(1 + len(self.pages) / 2)
        idf = [(w, self.word_idf(w)) for w in named]
        weight = max(floor, sum(v for _, v in idf))
        return sum(v for w, v in idf if w in words) / weight

    def bm25(self, path: str, words: Iterable[str], heading_boost: float = 0.0) -> float:
        """Okapi BM25 of the whole page for the query's words: repeated mentions count
        with saturation and a long page's matches are discounted for its length, so a
        page about the topic outscores a catch-all page that mentions it once among
        everything else (chunk scores cannot see the page's length). With a
        `heading_boost` it is BM25F: a word in the page's title, path or headings counts
        that many extra times (where the maintainer filed the topic)."""
        page = self.pages.get(path)
        if page is None:
            return 0.0
        if self._mean_length is None:
            self._mean_length = sum(p.counts.total() for p in self.pages.values()) / max(
                1, len(self.pages))

        def tf(word: str) -> float:
            return page.counts.get(word, 0) + heading_boost * page.heading_counts.get(word, 0)

        idf = {w: self.word_idf(w) for w in words}
        return _bm25(tf, page.counts.total(), idf, self._mean_length or 1.0)

    def section_bm25(self, path: str, weights: dict[str, float]) -> float:
        """Okapi BM25 of the page's best section (the chunks under one heading path) for
        the query's words weighted by `weights` (their rarity, times how often the query
        says them), each section's length normalised by the docs set's mean section: a
        page with one section dedicated to the users' words (`server.watch`: WSL, Docker,
        file system events) outscores a catch-all page that mentions the same words
        scattered across many sections, which the whole page's BM25 cannot tell apart."""
        page = self.pages.get(path)
        if page is None or not page.sections:
            return 0.0
        if self._mean_section is None:
            lengths = [s.total() for p in self.pages.values() for s in p.sections]
            self._mean_section = sum(lengths) / max(1, len(lengths))
        return max(_bm25(section.__getitem__, section.total(), weights,
                         self._mean_section or 1.0)
                   for section in page.sections)

    def quoting_pages(self, text: str) -> set[str]:
        """The pages with a heading that holds QUOTE_WORDS or more of `text`'s words in a row
        (any case and punctuation). Maintainers title FAQ and troubleshooting sections with
        the error users hit ('I get errors telling me "The file must be included in at
        least one of the projects provided"', "Vite CJS Node API deprecated"), so a
        heading that quotes the user is where their answer is: of the six labelled sets'
        messages a heading quotes this way, 14 of 15 are labelled with that heading's page
        (the other, a reply naming two comment directives a rule page is titled by;
        benchmarks/heading_quotes.py)."""
        if self._heading_runs is None:
            self._heading_runs = {}
            for path, page in self.pages.items():
                for line in page.heading_text.splitlines():
                    for run in _runs(_QUOTE_TOKEN.findall(line)):
                        self._heading_runs.setdefault(run, set()).add(path)
        found: set[str] = set()
        for run in _runs(_QUOTE_TOKEN.findall(text.lower())):
            found |= self._heading_runs.get(run, set())
        return found

    def word_idf(self, word: str) -> float:
        """Inverse page frequency; 0 for words no page uses (they cannot rank pages)."""
        df = self._word_df.get(word, 0)
        return math.log(1 + len(self.pages) / df) if df else 0.0

    def name_df(self, name: str) -> int:
        """How many pages mention a code name or error string (cached)."""
        if name not in self._name_df:
            self._name_df[name] = sum(1 for p in self.pages.values() if mentions(p.text, name))
        return self._name_df[name]

    def name_idf(self, name: str) -> float:
        df = self.name_df(name)
        return math.log(1 + len(self.pages) / df) if df else 0.0


def _runs(words: list[str]) -> Iterable[tuple[str, ...]]:
    """Every QUOTE_WORDS words in a row of `words`."""
    return (tuple(words[i:i + QUOTE_WORDS]) for i in range(len(words) - QUOTE_WORDS + 1))


def _bm25(tf: Callable[[str], float], length: int, weights: dict[str, float],
          mean_length: float) -> float:
    """Okapi BM25 of one text (`tf`: a word's count in it, `length`: its word count) for
    the query's words, each weighted by `weights` (its idf, or more)."""
    norm = BM25_K1 * (1 - BM25_B + BM25_B * length / mean_length)
    score = 0.0
    for word, weight in weights.items():
        count = tf(word)
        if count:
            score += weight * count * (BM25_K1 + 1) / (count + norm)
    return score
