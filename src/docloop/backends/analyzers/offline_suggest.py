"""Evidence-grounded suggestions without a model.

The offline suggestion never invents facts: it says where the change goes
(page and section), what users asked in their own words, which of their
terms and error strings the page never mentions, quotes the closest existing
passage, and — for local Markdown — proposes a patch that adds a findable,
clearly-marked section for a writer to fill in right after that passage.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from docloop.backends.analyzers.quoting import COMPOSED_DASH, leans_back
from docloop.docs.machinery import fence_places
from docloop.docs.markdown import AUTOREF, section_end
from docloop.models import DocChunk, Insight, Suggestion, SuggestionKind, page_text
from docloop.patching import apply_patch, make_patch
from docloop.redact import without_placeholders
from docloop.text import (
    ERROR_WORDS,
    INLINE_CODE,
    NOT_TERMS,
    SAYS_IT_FAILS,
    SPEAKER,
    STOPWORDS,
    chat_parts,
    content_words,
    error_strings,
    escape_inline,
    escape_markdown,
    identifiers,
    is_aside,
    leads_in,
    mentions,
    name_spellings,
    reports_error,
    truncate,
    without_chat_opening,
    without_urls,
)

MAX_TERMS = 8
#: an HTML line break, read as the space it shows
_LINE_BREAK = re.compile(r"<br\s*/?>", re.I)
#: a link (`[text][ref]`, `[text](url)`, `[text][]`; brackets not nested, so linear)
_LINK = re.compile(r"\[[^\[\]\n]*\](?:\[[^\[\]\n]*\]|\([^()\n]*\))")
#: an admonition's label as the index writes it (`Api: API Documentation`, `Tip:`)
_LABEL_LINE = re.compile(r"^[A-Z][\w ]{0,20}:(?: [^:]{1,40})?$")
#: a plain word counts as the users' term when this many quotes/questions use it
MIN_TERM_TEXTS = 3
#: ... of which this many outside the errors they pasted (two users' own word)
MIN_PROSE_TEXTS = 2
MAX_TERM_LENGTH = 40
#: a pasted error listed as a term is cut here (a stack of them reads as a log)
MAX_PASTED_TERM = 200
#: a pasted error's parts around its variables, at most (more is no error's shape)
MAX_SHAPE_PARTS = 12
#: what a page may hold where a pasted error has a variable, at most (characters)
SHAPE_GAP = 80
#: plain words that only say that something went wrong, never what: no term to list
SNIPPET_CHARS = frozenset(" =()[]{},;'\"")
#: a name the user made in the code they pasted (`class RegisterInfoBody(BaseModel):`, `def
#: check_user(`) or their own file a traceback points into (`sample_v1.py:10:`): theirs, not
#: a word the docs should use
_OWN_NAME = re.compile(
    r"\bclass\s+([A-Za-z_]\w*)\s*(?:[(:{]|extends\b)|\bdef\s+([A-Za-z_]\w*)\s*\("
    r"|\b([\w-]+(?:\.[\w-]+)*?)\.(?:py|js|mjs|cjs|ts|tsx|jsx|vue|svelte|rb|go|rs|java|kt)"
    r":\d+")
#: a file of a user's own project: an asset, or source or config named by them (not
#: `.json`, `.html` or `.log`, which end API names too: `response.json`, `console.log`)
_OWN_FILE = re.compile(r"\.(?:png|jpe?g|gif|svg|webp|ico|tsx?|jsx?|mjs|cjs|vue|svelte|ya?ml|"
                       r"toml|css|scss|sass|less|mdx?|py|txt|csv)$", re.I)
#: an exception, error, warning or deprecation class (`OSError`, `PydanticUserError`,
#: `PydanticDeprecatedSince20`) or an error code (`EADDRINUSE`, `ERR_REQUIRE_ESM`): whoever
#: pasted it, it is what users search for
_ERROR_CLASS = re.compile(r"\w(?:Error|Exception|Warning|Deprecat\w*)$|^E[A-Z]{3,}$"
                          r"|^ERR_[A-Z0-9_]+$")
#: a line as a program prints a problem, after any quote marks and a tool's tag: an
#: exception or warning class (`DeprecationError: …`, `Uncaught TypeError: …`), `Error:`,
#: `Parsing error: …`, `FATAL ERROR: …`, `[vite] Internal server error: …`, `✘ [ERROR] …`,
#: a linter's position and severity (`1:21  error  'x' is not defined`)
_PRINTED_PROBLEM = re.compile(
    r"^\s*(?:>\s*)*(?:\d+:\d+\s+)?(?:\[[\w -]{1,20}\]\s*|✘\s*|Uncaught\s+)*"
    r"(?:[\w.]*(?:Error|Exception|Warning)\b|(?i:(?:parsing |fatal |internal server )?error"
    r"|warn(?:ing)?)\b|\[(?i:error|warn(?:ing)?|fatal)\])")
#: a success status a server's access log printed (`200 OK`, `201 Created`): no error
_SUCCESS_STATUS = re.compile(r"2\d\d\b")
#: what two users' copies of one error differ in: quoted names, dotted numbers (`5.0.1` is
#: one version), a cut (`…`). Not text.PASTE_VARIABLES: a ticket's title already holds `'…'`
#: where copies differed, and the quotes around it go with the variable, not the fixed words
_ERROR_VARIABLES = re.compile(r"\"[^\"]*\"|'[^']*'|`[^`]*`|\d+(?:\.\d+)*|…")
#: a plain lower-case word, not a name
_PLAIN_WORD = re.compile(r"[a-z]+$")
#: a snake_case or camelCase name ending in a plural `s` (`computed_fields`, `BaseModels`)
_PLURAL_NAME = re.compile(r"^(?=[A-Za-z_]*(?:[a-z]_[a-z]|[a-z][A-Z]))[A-Za-z_]{2,}[a-rt-z]s$")
#: a framework's own file name (`vite.config.ts`, `.eslintrc.js`, Django's `settings.py`,
#: pip's `requirements.txt`), every user's word
_SHARED_FILE = re.compile(
    r"(?:^|[/\\])(?:\.[a-z]|[\w.-]*\bconfig\b|(?:pyproject\.toml|(?:docker-)?compose\.ya?ml|"
    r"manage\.py|conftest\.py|__init__\.py|setup\.py|settings\.py|urls\.py|main\.py|"
    r"requirements(?:-\w+)?\.txt|robots\.txt|next-env\.d\.ts|readme\.md|changelog\.md)$)",
    re.I)
#: a path in a user's project: relative or aliased, or with Windows separators (an
#: absolute `/docs` is as often the framework's route)
_OWN_PATH = re.compile(r"^(?:\.{1,2}/|[@~]/)|\\")
#: a host name: a reserved or private ending, or a public one with a name before it
_OWN_HOST = re.compile(r"^[\w-]+(?:\.[\w-]+)*\.(?:local|localhost|test|example|internal|"
                       r"lan|home|com|net|org)$", re.I)
#: characters a user's question may not bring into a docs heading (links, HTML, markup)
_UNSAFE_IN_HEADING = re.compile(r"[<>\[\]`*#|@!{}\\]")
#: an inline code span (one a cut title left open runs to its end), a run of other
#: characters, or a stray backtick
_HEADING_TOKEN = re.compile(r"`[^`\n]+(?:`|$)|[^\s`]+|`")
#: a bare path, glob or dotted name users wrote without backticks (`"@dir/*.png"`,
#: `src/**/*.ts`, `@app.get`, an aliased `@/lib/utils`, a Windows
#: `src\components\Navbar.tsx`): its marks are the name, so it becomes code, not stripped
_BARE_NAME = re.compile(
    r"(?P<lead>[\"'(]*)(?P<name>(?:[@~]/)?[\w@*~-]*[\w*][./\\][\w@*./:~\\-]*?)"
    r"(?P<trail>[\"'),;:.!?]*)")
#: a bare assignment or call users wrote without backticks (`allow_origins=["*"]`,
#: `Field(default=[])`, a decorator `@app.on_event("startup")`): stripping its marks changes
#: what it says (`allow_origins=""`)
_BARE_CODE = re.compile(
    r"(?P<lead>[\"'(]*)(?P<name>@?[A-Za-z_][\w.]*(?:=|\(|\[)[^\s<>]*?)(?P<trail>[,;:.!?]*)")
#: an HTML or JSX tag, or tags written together (`<script setup lang="ts"></script>`,
#: `<Suspense>`), or a generic type (`Promise<void>`) that users wrote without backticks:
#: code, whose brackets say what it is
_BARE_TAGS = re.compile(r"(?:[\w.$]+(?=<[A-Za-z]))?(?:</?[A-Za-z][\w.:-]*(?:\s[^<>`\n]*?)?/?>)+")
#: a lone lower-case letter between capitals (`HyH`): a hash's mixed case, not a name's
_HASH_CASE = re.compile(r"(?=[A-Z][a-z][A-Z])")
#: four lower-case letters in a row: a name's word (`identifierToKeywordKind` has a
#: two-letter word between capitals too), which a short hash's mixed case lacks
_NAME_WORD = re.compile(r"[a-z]{4}")
#: what a hash has and a name of short words (`useInView`) does not: a digit, or two
#: capitals in a row after a lower-case letter (`cuzPrR2B`, `xlxBCwMm`, `sABYHyHG`); or
#: else that lone letter twice (`DkEjHaQz`)
_HASH_MARK = re.compile(r"\d|[a-z][A-Z]{2}")
#: a dash between clauses, as a heading unit
_DASHES = frozenset({"—", "–", "-", "--"})
#: a proposed heading is at most this long (characters users read)
HEADING_LIMIT = 100
#: a heading cut at a clause keeps at least this much (half of it), else it is cut at a word
MIN_CLAUSE = 50
#: words that open a clause: a heading cut by length ends before the last of them rather
#: than on it ("… rules like `no-floating-promises` that require" ends before "that")
CLAUSE_OPENERS = frozenset((
    "that", "which", "who", "whose", "when", "where", "while", "whereas", "because", "since",
    "as", "so", "if", "unless", "although", "though", "but", "and", "or", "without", "after",
    "before", "until"))
#: words a cut heading does not end on beyond STOPWORDS: prepositions that need their object
_DANGLING = frozenset(("per", "via", "within", "without", "onto", "upon", "across", "toward",
                       "towards", "inside", "outside", "besides", "despite", "vs"))


def offline_suggestion(
    insight: Insight, chunks: Sequence[DocChunk], source: str | None,
    docs_share: Callable[[str], float] | None = None,
) -> Suggestion:
    """Build the suggestion for one insight from its evidence and matched page
    (`docs_share`: the share of the docs set's pages that mention a name, listed_terms)."""
    doc = insight.doc
    verdict = doc.verdict if doc else "missing"
    kinds: dict[str, SuggestionKind] = {"covered": "edit", "partial": "new-section"}
    kind: SuggestionKind = kinds.get(verdict, "new-page")
    text_of_page = page_text(chunks) if chunks else (source or "")
    missing_terms = _missing_terms(insight, text_of_page, docs_share)
    if kind == "new-page":
        missing_terms = _beyond_the_product(missing_terms, docs_share)
    passage = _closest_passage(insight, chunks)
    text = _render(insight, kind, missing_terms, passage)
    patch = None
    if source is not None and doc and doc.path and kind != "new-page":
        patch = _section_patch(doc.path, source, doc.heading, insight, missing_terms)
    return Suggestion(kind=kind, text=text, patch=patch, anchor=doc.heading if doc else None)


def user_terms(insight: Insight) -> list[str]:
    """Error strings, code identifiers and frequent words users wrote (not the
    redaction placeholders docloop put in their place): what the match stage's query and
    the verdict's term coverage read, as they were calibrated. A plain word is frequent when
    MIN_TERM_TEXTS of the quotes and questions use it."""
    texts = [without_placeholders(t) for t in [q.text for q in insight.quotes]
             + insight.questions]
    return _terms(texts, NOT_TERMS)


def listed_terms(insight: Insight,
                 docs_share: Callable[[str], float] | None = None) -> list[str]:
    """`user_terms` as a ticket lists them: a question that repeats a quote is not counted
    again (`_unquoted_questions`), and words that only say that something failed (`error`,
    `failed`) are left out, since the error strings and names say what. (Read once per
    message in the match stage too, the verdict's choices moved: FastAPI's `missing`
    2/2 → 1/2 chosen without the set, benchmarks/RESULTS.md, session 11.) With
    `docs_share` (the share of the docs set's pages that mention a name), a name one user
    wrote that no page mentions is left out too (`_one_users_name`). A plain word counts
    only where users wrote it themselves, not inside the error they pasted
    (`_only_in_errors`), and a success status (`200 OK` of a pasted access log) is no
    error to list."""
    quotes = [without_placeholders(q.text) for q in insight.quotes]
    said = quotes + _unquoted_questions(insight, quotes)
    authored = [(q.author, text) for q, text in zip(insight.quotes, quotes, strict=True)]
    own = {name.lower() for text in said for found in _OWN_NAME.finditer(text)
           for name in found.groups() if name}
    listed: dict[str, str] = {}
    voices = authored + [(f"question {n}", text) for n, text in enumerate(said[len(quotes):])]
    split = [_split_errors(text) for text in said]  # quotes first, then the questions
    prose = [set(content_words(kept)) for kept, _ in split]
    unlinked = [without_urls(text).lower() for text in said]
    for term in _terms(said, NOT_TERMS | SAYS_IT_FAILS):
        if (_own_machine(term) or term.lower() in own or _one_users_thing(term, authored)
                or _only_in_links(term, unlinked) or _one_users_name(term, voices, docs_share)
                or _only_in_errors(term, prose) or _SUCCESS_STATUS.match(term)):
            continue
        listed.setdefault(term.lower().rstrip("/"), term)
    pasted = _pasted_title(insight, [error for _, errors in split[:len(quotes)]
                                     for error in errors])
    terms = ([pasted] if pasted else []) + [t for t in listed.values() if t != pasted]
    return [t for t in terms if not _inside_a_listed_error(t, terms)]


def _inside_a_listed_error(term: str, terms: Sequence[str]) -> bool:
    """A name or word that a listed error message already holds: a real Vite ticket asked
    the page to mention "`Uncaught ReferenceError: __dirname is not defined`,
    `ReferenceError`, `__dirname`, `dirname`", the error and then its parts. The error,
    listed whole, is what a page should carry; its parts said again only push other terms
    past MAX_TERMS. (An error message is a listed term with a space in it: a name has
    none.)"""
    inside = re.compile(rf"(?<![a-z0-9]){re.escape(term.lower())}(?![a-z0-9])")
    return " " not in term and any(
        " " in other and inside.search(other.lower()) for other in terms if other != term)


def _parts_in_order(text: str, parts: Sequence[str], gap: int | None = None
                    ) -> tuple[int, int] | None:
    """Where `parts` occur in `text` in order (the span from the first's start to the last's
    end), each at most `gap` characters after the one before (None: any gap), or None.
    Plain string searches: each start of the first part, then each next part at its first
    place after the last, which is the earliest any match could put it. A title or an
    error is a user's text, and as a regex (`a.*?a.*?a…`) it backtracked for minutes on
    a crafted one."""
    if not parts or len(parts) > MAX_SHAPE_PARTS:
        return None
    start = text.find(parts[0])
    while start >= 0:
        end = start + len(parts[0])
        for part in parts[1:]:
            limit = None if gap is None else end + gap + len(part)
            found = text.find(part, end, limit)
            if found < 0:
                break
            end = found + len(part)
        else:
            return start, end
        if gap is None:
            return None  # a later start only ends later
        start = text.find(parts[0], start + 1)
    return None


def _only_in_links(term: str, unlinked: Sequence[str]) -> bool:
    """A term users wrote only inside links (`unlinked`: their texts lower-cased, links
    blanked): a real Vite ticket listed `mdn.github.io`, the host of the user's deployed
    site, as a term the page should mention. A term that is a link itself (an API's URL
    written as code) is judged as one by the other rules."""
    lower = term.lower()
    if lower.startswith(("http://", "https://")):
        return False
    return not any(lower in text for text in unlinked)


def _only_in_errors(term: str, prose: Sequence[set[str]]) -> bool:
    """A plain word fewer than MIN_PROSE_TEXTS users write outside the errors they pasted
    (`prose`: each text's content words outside them, `_split_errors`). Three users pasting
    "Definition for rule '…' was not found" made `definition` and `found` the users'
    terms, and "… has been deprecated since v5.0.0 and can no longer be used" made
    `longer` one: the pasted error is the term a page should carry (the quotes and the
    title show it whole), its ordinary words are not."""
    return bool(_PLAIN_WORD.match(term)) and sum(term in words for words in prose
                                                  ) < MIN_PROSE_TEXTS


def _split_errors(text: str) -> tuple[str, list[str]]:
    """`text` without the errors pasted in it, and those errors, their spacing collapsed: a
    line of fenced code that reports an error, a line a program printed (`_printed`), and
    an inline code span that reports an error (`Definition for rule 'x' was not found`)."""
    kept: list[str] = []
    errors: list[str] = []

    def unless_error(span: re.Match[str]) -> str:
        if reports_error(span.group(1)):
            errors.append(span.group(1))
            return ""
        return span.group(0)

    for part, code in chat_parts(text):
        for line in part.split("\n"):
            if (code and reports_error(line)) or (not code and _printed(line)):
                errors.append(line)
                continue
            kept.append(line if code else INLINE_CODE.sub(unless_error, line))
    return "\n".join(kept), [" ".join(error.split()) for error in errors]


def _printed(line: str) -> bool:
    """A line as a program prints a problem (`_PRINTED_PROBLEM`), not a user's sentence
    that opens with the word ("Error handling with my own handlers: how do I…?")."""
    return (bool(_PRINTED_PROBLEM.match(line)) and not line.rstrip().endswith("?")
            and not SPEAKER.search(line))


def _pasted_title(insight: Insight, pasted: Sequence[str]) -> str | None:
    """The insight's title when it is an error the quotes show `pasted` (the headline
    prefers the error two members pasted, its differing parts shown as `…`): the term a
    page should carry so that users who paste it find the page, listed whole where its
    ordinary words are not (`_only_in_errors`). Only the quotes, as users wrote them: a
    question can be docloop's (an error and the question after it, joined by a dash)."""
    title = insight.title.strip()
    if not title or not ERROR_WORDS.search(title):
        return None
    parts = [part for part in title.rstrip("…").split("…") if part]
    cut = title.endswith("…") and len(parts) == 1  # the headline's limit, no variables
    for error in pasted:
        span = _parts_in_order(error, parts)
        # a cut title is the error's start (from where the title starts: no log prefix
        # the title left out); a whole one is most of it (not a short title that happens
        # to occur inside a long error)
        if span is not None and (cut or 2 * (span[1] - span[0]) >= len(error)):
            return truncate(error[span[0]:], MAX_PASTED_TERM) if cut else title
    return None


def _one_users_thing(term: str, authored: Sequence[tuple[str, str]]) -> bool:
    """A file, path or host of one user's own project, named by one user only
    (`headphone-1.jpg`, `./src/util.ts`, `test.local`): a page that answers everyone has no
    reason to mention it. Two users naming it make it the users' word again; a package
    (`@vitejs/plugin-react`, `next/image`) or a framework's file (`vite.config.ts`) is
    never one user's. A URL is left to `_own_machine`, which knows which are private.
    `authored` holds each quote's author and text; a term only a question names (its
    author unknown) counts as one user's."""
    if "://" in term or not _own_thing(term):
        return False
    return _authors_naming(term, authored) < 2


def _one_users_name(term: str, voices: Sequence[tuple[str, str]],
                    docs_share: Callable[[str], float] | None) -> bool:
    """A name of one user's own code or setup that no page of the docs set mentions: their
    model (`RootConfig`, `EventBusConfig` of a pasted error), variable (`param_value`,
    `bar_validator`), component (`PublicPage`), package (`imod_coupler`) or shell prompt's
    folder (`MyProject`). A page that answers everyone has no reason to name it. Kept: a
    name two users write (the community's word), one the docs use somewhere (the product's
    own: `min_length`, `InstanceOf`), an exception or warning class (`ReferenceError`: what
    users search for) and an error line (it has spaces). Without an index nothing is
    known, so nothing is left out; a plain word (`heap`, `yarn`) is the language's, not a
    name. `voices` are the quotes' (author, text) and each question no quote repeats, as a
    voice of its own (its author is unknown)."""
    if (docs_share is None or _PLAIN_WORD.match(term) or any(c.isspace() for c in term)
            or _ERROR_CLASS.search(term)):
        return False
    if _authors_naming(term, voices) >= 2:
        return False
    return not any(docs_share(form) > 0 for form in _forms(term))


def _authors_naming(term: str, authored: Sequence[tuple[str, str]]) -> int:
    """How many of the (author, text) voices write `term` as a whole name."""
    named = re.compile(rf"(?<![\w.@/\\-]){re.escape(term)}(?![\w-])", re.I)
    return len({author for author, text in authored if named.search(text)})


def _forms(term: str) -> list[str]:
    """The term and, for a code name written as a plural (`computed_fields`, `BaseModels`),
    its singular: a page that mentions `computed_field` mentions what the users asked
    about. Only a snake_case or camelCase name, never a dotted one or a word (`Redis`,
    `Headers`, `server.https`), whose last `s` is no plural."""
    if _PLURAL_NAME.match(term):
        return [term, term[:-1]]
    return [term]


def _page_mentions(lower_page: str, term: str) -> bool:
    """Whether a lower-cased page mentions the term, or as a whole name its singular, or,
    for a pasted error, its words around what users' copies differ in: a page headed
    "Definition for rule ... was not found" mentions the "Definition for rule
    '@typescript-eslint/x' was not found" users pasted."""
    forms = _forms(term)
    return mentions(lower_page, term) or (len(forms) > 1 and re.search(
        rf"(?<![\w.]){re.escape(forms[1].lower())}(?![\w])", lower_page) is not None) or (
        _shape_on(lower_page, term))


def _shape_on(lower_page: str, error: str) -> bool:
    """Whether the page holds a pasted error's words with anything short where its quoted
    names, numbers and `…` are (another user's rule, path or version); an error of fewer
    than three words besides those is never found this way."""
    if " " not in error:
        return False  # one word: a name, never an error's shape
    parts = (" ".join(part.split()) for part in _ERROR_VARIABLES.split(error.lower()))
    fixed = [part for part in parts if part]
    if len(content_words(" ".join(fixed))) < 3:
        return False
    return _parts_in_order(lower_page, fixed, SHAPE_GAP) is not None


def _own_thing(term: str) -> bool:
    """Whether `term` reads as a file, path or host of a user's own project."""
    if _OWN_FILE.search(term):
        return not _SHARED_FILE.search(term)
    return bool(_OWN_PATH.search(term) or _OWN_HOST.match(term))


def _own_machine(term: str) -> bool:
    """A URL or address of the user's own machine or network (`http://localhost:3000/`,
    `127.0.0.1:8000`, `http://192.168.1.20:5173`): what their setup uses, never a word for
    the docs to mention (the docs' own examples pick their ports)."""
    address = term if "//" in term else f"//{term}"
    try:
        host = urlsplit(address).hostname or ""
    except ValueError:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_private or ip.is_unspecified


def _terms(texts: list[str], left_out: frozenset[str]) -> list[str]:
    """Error strings, names and the words MIN_TERM_TEXTS of `texts` use, but not `left_out`."""
    evidence = " \n".join(texts)
    terms = error_strings(evidence) + [t for t in identifiers(evidence, whole_names=True)
                                       if _term_like(t)]
    counts: dict[str, int] = {}
    for text in texts:
        for word in set(content_words(text)):
            counts[word] = counts.get(word, 0) + 1
    spelled = name_spellings(evidence)
    frequent = [spelled.get(w, w) for w, n in sorted(counts.items(),
                                                      key=lambda kv: (-kv[1], kv[0]))
                if n >= MIN_TERM_TEXTS and w not in left_out]
    seen: dict[str, str] = {}
    for term in terms + frequent:
        seen.setdefault(term.lower(), term)
    return list(seen.values())


def _unquoted_questions(insight: Insight, quotes: Sequence[str]) -> list[str]:
    """The questions that are not one of the insight's `quotes` again (a question is often
    its conversation's quoted sentence: counted twice, one user's word — "regarding",
    "usage" — passed for a word three users use)."""
    flat = [" ".join(q.split()) for q in quotes]
    return [without_placeholders(q) for q in insight.questions
            if not any(" ".join(q.removesuffix("…").split()) in f for f in flat)]


def _term_like(identifier: str) -> bool:
    """A name, not a pasted snippet: `def search(tag: list[str])` or `max_attempts=1` is
    code whose names (`search`, `max_attempts`) are found on their own; a page never
    holds the snippet."""
    return (not SNIPPET_CHARS.intersection(identifier) and len(identifier) <= MAX_TERM_LENGTH
            and identifier.lower() not in NOT_TERMS
            and not identifier.lower().startswith("www.") and not _placeholder_like(identifier))


def _placeholder_like(name: str) -> bool:
    """A build hash read as a camelCase name (`sABYHyHG` of `index-sABYHyHG.js`: mixed case
    without a word in it) or an address written as a pattern (`x.x.x.x`): no page could
    mention it."""
    if "." in name and all(len(part) <= 1 for part in name.split(".")):
        return True
    return (name.isalnum() and bool(_HASH_CASE.search(name))
            and sum(c.isupper() for c in name) >= 3 and not _NAME_WORD.search(name)
            and (bool(_HASH_MARK.search(name)) or len(_HASH_CASE.findall(name)) >= 2))


#: a term at least this share of the docs' pages mention is the product's own vocabulary
PRODUCT_SHARE = 0.5


def _beyond_the_product(terms: list[str], docs_share: Callable[[str], float] | None
                        ) -> list[str]:
    """`terms` without those most pages of the docs already use (`PRODUCT_SHARE`): a FastAPI
    ticket asked a new page to answer users "in their words: `FastAPI`", a Vite one listed
    `vite`. Every page of the product says its name; the users' words that are not the
    product's are what the new page has to add."""
    if docs_share is None:
        return terms
    return [t for t in terms if docs_share(t) < PRODUCT_SHARE]


def _missing_terms(insight: Insight, text_of_page: str,
                   docs_share: Callable[[str], float] | None = None) -> list[str]:
    """The listed terms the page mentions in no form (`_forms`), at most MAX_TERMS."""
    lower = text_of_page.lower()
    return [t for t in listed_terms(insight, docs_share)
            if not _page_mentions(lower, t)][:MAX_TERMS]


def _closest_passage(insight: Insight, chunks: Sequence[DocChunk]) -> str:
    doc = insight.doc
    if not chunks or doc is None:
        return ""
    best = next((c for c in chunks if doc.anchor and c.anchor == doc.anchor), None)
    best = best or next((c for c in chunks if c.heading == doc.heading), chunks[0])
    return _excerpt(_readable(best.text), 400)


def _readable(text: str) -> str:
    """A passage as a writer reads it: without the anchors (`[](){#model_dump}`) and line
    breaks (`<br>`) the site's markup leaves in the indexed text, and without an opening
    block that only links elsewhere (Pydantic opens 27 sections with an "API
    Documentation" box holding one link: the ticket showed it as the closest passage)."""
    lines = _without_markup(text.splitlines())
    start = 0
    while start < len(lines) and (_only_links(lines[start]) or (
            _LABEL_LINE.match(lines[start]) and start + 1 < len(lines)
            and _only_links(lines[start + 1]) and lines[start + 1].strip())):
        start += 1
    return "\n".join(lines[start:]) if start < len(lines) else text


def _without_markup(lines: list[str]) -> list[str]:
    """`lines` without attribute anchors (`AUTOREF`; a line of nothing else goes) and with
    `<br>` read as a space, outside fenced code only."""
    kept: list[str] = []
    for line, place in fence_places(lines):
        if place == "text":
            bare = _LINE_BREAK.sub(" ", AUTOREF.sub("", line)).rstrip()
            if line.strip() and not bare.strip():
                continue
            line = bare
        kept.append(line)
    return kept


def _only_links(line: str) -> bool:
    """A blank line, or one holding links and nothing else but separators."""
    return not line.strip() or (bool(_LINK.search(line))
                                and not _LINK.sub("", line).strip(" \t,;|"))


def _excerpt(text: str, limit: int) -> str:
    """The start of a passage with its line breaks kept (tables and lists stay readable)."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit("\n", 1)[0] if "\n" in text[:limit] else text[:limit]
    return cut.rstrip() + "\n…"


def _render(insight: Insight, kind: SuggestionKind, terms: list[str], passage: str) -> str:
    doc = insight.doc
    lines: list[str] = []
    if doc and doc.path:
        where = f"`{doc.path}`" + (f", section \"{doc.heading}\"" if doc.heading else "")
        lines.append(f"Where: {where} ({doc.url or 'local page'}), verdict: {doc.verdict}.")
    else:
        nearest = doc.alternatives[0].path if doc and doc.alternatives else None
        lines.append("Where: no existing page covers this; write a new page"
                     + (f" and link it from `{nearest}`." if nearest else "."))
    lines.append(f"What users asked ({insight.users} users, "
                 f"{len(insight.conversation_ids)} conversations):")
    lines += [f"- \"{escape_inline(truncate(q, 200))}\"" for q in _asked(insight.questions)]
    if terms:
        said = ("Terms and errors users use, for the new page to answer in their words: "
                if kind == "new-page" else
                "Terms and errors users use that the page never mentions: ")
        lines.append(said + ", ".join(f"`{t.replace('`', '')}`" for t in terms))
    if passage:
        lines.append("Closest existing passage:")
        lines.append("> " + passage.replace("\n", "\n> "))
    lines.append("Proposed change: " + _proposal(kind, insight, doc.heading if doc else None))
    return "\n".join(lines)


def _asked(questions: Sequence[str], shown: int = 3) -> list[str]:
    """The questions a ticket shows: those that say something, not those that only lead
    into a paste ("I recently got the error:") unless no other is left, and a hedge or a
    label ("Not 100% sure, but I think…", `is_aside`) after the others."""
    told = [q for q in questions if not leads_in(q)] or list(questions)
    return sorted(told, key=is_aside)[:shown]


def _proposal(kind: SuggestionKind, insight: Insight, heading: str | None) -> str:
    """The change in one sentence, naming the topic as the proposed heading reads it: the
    title without its "…" cut or a question that only leans on its opening."""
    topic = _heading(insight.title) or escape_inline(insight.title)
    if kind == "new-page":
        return (f"add a page that answers \"{topic}\", using the users' own wording and "
                "error strings above so search finds it.")
    if kind == "new-section":
        return (f"add a section answering \"{topic}\" after \"{heading}\"; the page touches the "
                "topic but does not answer what users asked.")
    return (f"the page covers this, but users do not find or understand it: add a short "
            f"\"{topic}\" note after \"{heading}\" that answers it in the users' words, and "
            "mention the terms above.")


def _heading(title: str) -> str:
    """The insight's title as the new section's heading, in the users' words: a question
    keeps its question mark, a statement ("RateLimitError kills nightly import") stays
    one rather than becoming a question it never was. The names users wrote as code stay
    code (`` `Invalid glob: "@dir/*.png"` ``: dropping the marks left `dir/.png`), and a
    long title ends at a clause or a word, never mid-name and never with "…", which a
    docs page would show as it is."""
    title = without_chat_opening(_subject(title))
    shortened = title.rstrip().endswith("…")  # cut before a word longer than the rest
    units = _heading_units(_tags_as_code(title.rstrip().removesuffix("…")))
    kept, cut = _fit(units, HEADING_LIMIT)
    cut = cut or shortened
    text = "".join(f"{' ' if spaced and i else ''}{shown}"
                   for i, (_, shown, spaced) in enumerate(kept))
    text = text.rstrip("?.!:;,-—/ ")  # "… to fail / behave …" cut after its slash
    asked = not cut and title.rstrip().endswith("?")
    return text + ("?" if asked else "")


def _subject(title: str) -> str:
    """What a title composed as "opening — question" is about: the opening, when the
    question only points back at it ("Subclass of generic model validate failed — Is this
    by design or a bug?"); a docs section is titled by its subject, not by the user's
    "is this a bug?"."""
    opening, dash, question = title.rpartition(COMPOSED_DASH)
    if dash and opening.strip() and leans_back(question):
        return opening.rstrip()
    return title


def _tags_as_code(title: str) -> str:
    """`title` with the HTML and JSX tags written outside code spans made code spans: the
    heading's markup filter would take their brackets out, leaving `script setup
    lang="ts"/script`."""
    parts, start = [], 0
    for span in INLINE_CODE.finditer(title):
        parts += [_BARE_TAGS.sub(r"`\g<0>`", title[start:span.start()]), span.group(0)]
        start = span.end()
    return "".join([*parts, _BARE_TAGS.sub(r"`\g<0>`", title[start:])])


#: a heading's unit: (its length as users read it, as written in Markdown, whether a
#: space comes before it)
HeadingUnit = tuple[int, str, bool]


def _heading_units(title: str) -> list[HeadingUnit]:
    """The title's inline code spans and words, in order, each made safe for a page: code
    kept as code, markup and link or HTML characters taken out of the words, the rest
    escaped (`enqueue_many` stays the name users wrote)."""
    units: list[HeadingUnit] = []
    spaced = False
    for found in _HEADING_TOKEN.finditer(title):
        token = found.group(0)
        # a space before it, or before a token dropped right before it
        spaced = spaced or (found.start() > 0 and title[found.start() - 1].isspace())
        if token.startswith("`") and len(token) > 2:
            name = " ".join(token.strip("`").removesuffix("…").split())
            units.append((len(name), f"`{name}`", spaced))
        elif _UNSAFE_IN_HEADING.search(token) and (
                bare := _BARE_NAME.fullmatch(token) or _BARE_CODE.fullmatch(token)):
            units.append((len(token), f"{bare['lead']}`{bare['name']}`{bare['trail']}", spaced))
        elif word := _UNSAFE_IN_HEADING.sub("", token):
            escape = escape_inline if units else escape_markdown
            units.append((len(word), escape(word), spaced))
        else:
            continue
        spaced = False
    return units


def _fit(units: list[HeadingUnit], limit: int) -> tuple[list[HeadingUnit], bool]:
    """The units that fit in `limit` characters (whether any were left out): up to the last
    clause end (`,` `;` `:` or a dash) when that leaves MIN_CLAUSE characters, else up to
    the last whole unit."""
    size, clause, clause_size = 0, 0, 0
    for i, (length, shown, spaced) in enumerate(units):
        before = size
        size += length + (1 if spaced and i else 0)
        if size > limit:
            if clause_size >= MIN_CLAUSE:
                return units[:clause], True
            return units[:_word_cut(units, i)], True
        if shown in _DASHES:
            clause, clause_size = i, before
        elif shown.endswith((",", ";", ":")):
            clause, clause_size = i + 1, size
    return units, False


def _word_cut(units: list[HeadingUnit], over: int) -> int:
    """How many units a heading keeps when the unit at `over` passes the limit and no
    clause end is late enough: up to the last word that opens a clause, when that keeps
    MIN_CLAUSE characters, and never ending on a word that needs the rest ("… which",
    "… as per")."""
    size, opener = 0, 0
    for i, (length, shown, spaced) in enumerate(units[:over]):
        if i and shown.lower() in CLAUSE_OPENERS and size >= MIN_CLAUSE:
            opener = i
        size += length + (1 if spaced and i else 0)
    keep = opener or over
    while keep > 1 and units[keep - 1][1].lower() in STOPWORDS | _DANGLING:
        keep -= 1  # "… refers to each other" cut as "… which": end at a word that says
    return max(keep, 1)


def _jsx_comments(source: str, mdx: bool) -> bool:
    """Whether a note for the writer, which the built page does not show, is a JSX comment
    (`{/* */}`) rather than an HTML one: MDX 2 and later (Docusaurus 3) reject `<!-- -->`;
    an MDX page that already writes HTML comments and no JSX ones (an older MDX site)
    keeps its own kind; comments shown in its code examples are not its own."""
    prose = _outside_fences(source) if mdx else ""
    return mdx and ("{/*" in prose or "<!--" not in prose)


def _comment(text: str, jsx: bool) -> str:
    """`text` as a comment of that kind, unable to end early."""
    if jsx:
        return "{/* " + text.replace("*/", "* /") + " */}"
    return "<!-- " + text.replace("--", "") + " -->"


def _outside_fences(source: str) -> str:
    """A page's lines outside fenced code."""
    return "\n".join(line for line, place in fence_places(source.splitlines())
                     if place == "text")


def _section_patch(
    path: str, source: str, heading: str | None, insight: Insight, terms: list[str]
) -> str | None:
    """Insert a marked section for a writer at the end of the matched section."""
    lines = source.splitlines()
    mdx = path.endswith(".mdx")
    jsx = _jsx_comments(source, mdx)
    at, level = section_end(source, heading, mdx)
    title = _heading(insight.title)
    block = ["", f"{'#' * min(level + 1, 6)} {title}", "",
             _comment(f"docloop {insight.id}: {insight.users} users asked this. Answer it "
                      "here.", jsx)]
    if terms:
        block.append(_comment(f"Mention the words users use: {', '.join(terms)}", jsx))
    new_lines = lines[:at] + block + ([""] if at < len(lines) and lines[at].strip() else [])
    after = "\n".join(new_lines + lines[at:]) + "\n"
    patch = make_patch(path, source, after)
    apply_patch(source, patch)  # proves the patch applies; raises StageError otherwise
    return patch
