"""Small, deterministic text helpers shared by the offline analyzer and matcher.

Chat text is messy: code fences, pasted tracebacks, emoji, mentions. These
helpers find sentences, questions, error lines and salient terms without any
model, so every decision the offline analyzer makes can be explained.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from http import HTTPStatus
from typing import TYPE_CHECKING, TypeVar

#: what is left of a contraction once words are split at the apostrophe (`didn't` ->
#: `didn`, `t`; `we've` -> `we`, `ve`): the apostrophe forms never come out of `words`, and
#: `didn` is no term to show in a ticket. Left out of what tickets show (key terms, the
#: users' terms), not of STOPWORDS: clustering, ranking and the verdict were calibrated
#: with them, and as stopwords they moved which `missing` settings the other sets choose
#: (benchmarks/RESULTS.md, session 10)
CONTRACTION_PARTS = frozenset(
    """aren couldn didn doesn don hadn hasn haven isn mustn shan shouldn wasn weren won
    wouldn ll ve re""".split()
)
#: texts whose content words are remembered (`_content_words`): the 10k-message run's
#: distinct texts fit, and a text is a message's (already in memory) plus its words
CONTENT_WORDS_KEPT = 32_768
#: texts whose sentences are remembered (`_sentences`): a block of conversations' worth;
#: keeping a whole run's (as `_content_words` does) would add megabytes for little
SENTENCES_KEPT = 1_024
#: the longest text remembered: most chat messages (Discord allows 4,000), never a page
CONTENT_WORDS_LONGEST = 2_000
#: Latin abbreviations the word pattern reads as dotted names (`e.g.` -> `e.g`)
ABBREVIATIONS = frozenset({"e.g", "i.e", "etc", "vs", "cf", "a.k.a", "n.b"})
#: words that are never a term a ticket shows: abbreviations and what is left of a contraction
NOT_TERMS = ABBREVIATIONS | CONTRACTION_PARTS
#: words that only say that something went wrong: the error strings and names say what
SAYS_IT_FAILS = frozenset(
    "error errors fail fails failed failing failure fatal issue issues problem problems bug "
    "bugs broken wrong crash crashes".split())
STOPWORDS = frozenset(
    """a about above after again against all am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't down during each few for from further get gets got had hadn't has hasn't
    have haven't having he her here hers herself him himself his how i i'd i'll i'm i've if in
    into is isn't it it's its itself just let's me might more most mustn't my myself need no nor
    not now of off on once only or other ought our ours ourselves out over own same shan't she
    should shouldn't so some such than that that's the their theirs them themselves then there
    there's these they they'd they'll they're they've this those through to too under until up
    use using used very was wasn't we we'd we'll we're we've were weren't what what's when where
    which while who whom why will with won't would wouldn't you you'd you'll you're you've your
    yours yourself yourselves also anyone someone something anything thing things way ways really
    please thanks thank hi hey hello guys help know want trying try tried like just still even
    one two make made work works working doesnt dont cant im ive ok okay yeah yes lol pls plz
    able every else much many getting seems seem again back new good right well sometimes
    always never maybe actually already literally basically probably somehow anymore min mins
    sec secs""".split()
)

#: capitalised English words that look like errno codes (ENOENT) but are shouting
SHOUTED_WORDS = frozenset(
    """EVERY EVERYTHING EVERYONE EVERYWHERE ERROR ERRORS EVEN EVER ELSE EACH EXACTLY EXCEPT
    EITHER ENOUGH EDIT EXAMPLE EASY EMPTY ENTIRE EXTRA""".split()
)
#: a title longer than this is cut (problem and insight titles alike)
TITLE_LIMIT = 120
_CODE_FENCE = re.compile(r"```.*?(?:```|$)", re.S)
#: a one-line fence holding at most this much is inline code (`_inline_fence`)
INLINE_FENCE_LIMIT = 60
_HIDDEN = re.compile(r"\x00(\d+)\x00")
#: an inline code span
INLINE_CODE = re.compile(r"`([^`\n]+)`")
_URL = re.compile(r"https?://\S+")
#: a sentence ends at `.` `!` `?` and a space, after a run of full-width `。` `！` `？` that
#: no closing mark follows (no space follows those; `。」` keeps a quotation's end inside
#: its sentence), or at a line end
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])(?![。！？」』）】”’)\]])\s*|\n+")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]*[A-Za-z0-9]|[A-Za-z]")
#: HTTP reason phrases, longest first, so "405 Method Not Allowed and then ..." stops there
_REASONS = "|".join(sorted({re.escape(h.phrase) for h in HTTPStatus}, key=len, reverse=True))
_ERROR_LINE = re.compile(
    r"\b([A-Z][A-Za-z]+(?:Error|Exception|Warning)|Traceback|"
    rf"[1-5]\d\d (?i:{_REASONS})|[1-5]\d\d [A-Z][a-z]+(?: [a-z]+)?|ERR_[A-Z_]+|E[A-Z0-9]{{3,}})\b"
)
_CODE_NAMES = (r"[A-Z][a-z]+(?:-[A-Z][a-z]+)+|[a-z]+_[a-z0-9_]+|[a-z]+[A-Z][A-Za-z0-9]+|"
               r"[A-Z][a-z]+[A-Z][A-Za-z0-9]+|[A-Z][A-Z0-9]*_[A-Z0-9_]+|--[a-z][a-z-]+|")
_IDENTIFIER = re.compile(rf"\b(?:{_CODE_NAMES}[a-z]+\.[a-z_]+(?:\.[a-z_]+)*)\b")
#: the same, but a dotted name starts a word: `docker-compose-local.yaml` is one file name,
#: never `local.yaml` (what a ticket shows as the users' term; the analysis and the ranking
#: were calibrated on the word-part reading above)
_WHOLE_IDENTIFIER = re.compile(
    rf"\b(?:{_CODE_NAMES}(?<![\w.-])[a-z][a-z0-9]*(?:-[a-z0-9]+)*\.[a-z_]+(?:\.[a-z_]+)*)\b")


def inline_code(text: str) -> list[str]:
    """The insides of the inline code spans of `text`'s prose (fenced blocks left out)."""
    return [found.group(1).strip() for found in INLINE_CODE.finditer(strip_code(text))]


def without_inline_code(text: str) -> str:
    """Text without `inline code` spans (a pasted `"dev": "vite --host"` names things but
    says nothing about them)."""
    return INLINE_CODE.sub(" ", text)


def _inline_fence(fence: str) -> str | None:
    """The name inside a closed one-line fence (```localIdentName```, ```.module.css```),
    else None: users write names that way mid-sentence ("set the ```localIdentName``` for
    css modules"), and CommonMark reads a fence that does not open a line as a code span,
    so it is inline code, not a block to drop (that left "set the for css modules")."""
    inside = fence[3:]
    if not inside.endswith("```") or len(inside) < 4 or "\n" in inside:
        return None
    name = inside[:-3].strip()
    if not name or "`" in name or len(name) > INLINE_FENCE_LIMIT:
        return None
    return name


def _fence_as_prose(found: re.Match[str]) -> str:
    name = _inline_fence(found.group(0))
    return f"`{name}`" if name is not None else " "


def strip_code(text: str) -> str:
    """Text without fenced code blocks (pasted code is evidence, not prose); a one-line
    fence around a name stays, as inline code (`_inline_fence`)."""
    return _CODE_FENCE.sub(_fence_as_prose, text)


def code_blocks(text: str) -> list[str]:
    """The insides of the fenced code blocks of `text` (a fence's language tag dropped):
    where users paste the error that their prose only calls "run error:"."""
    return [part for part, code in chat_parts(text) if code]


def chat_parts(text: str) -> list[tuple[str, bool]]:
    """`text` cut into prose and fenced code as a chat renders it, in order, `(part, code)`:
    a block runs from three backticks to the next three, wherever they are, or to the end
    (`_CODE_FENCE`), its first line a language tag when more follow; a one-line fence around
    a name is inline code, so prose (`_inline_fence`). Not the docs' Markdown reading
    (docs.machinery), where a fence closes only on a line of its own."""
    parts: list[tuple[str, bool]] = []
    start = 0
    for fence in _CODE_FENCE.finditer(text):
        if _inline_fence(fence.group(0)) is not None:
            continue
        parts.append((text[start:fence.start()], False))
        inside = fence.group(0)[3:].removesuffix("```")
        parts.append((inside.split("\n", 1)[1] if "\n" in inside else inside, True))
        start = fence.end()
    parts.append((text[start:], False))
    return [(part, code) for part, code in parts if part or code]


if TYPE_CHECKING:
    from functools import _lru_cache_wrapper

_Kept = TypeVar("_Kept")


def _remembered(reader: _lru_cache_wrapper[_Kept], text: str) -> _Kept:
    """`reader(text)` through its cache, but a text longer than CONTENT_WORDS_LONGEST is
    read without it: a long text (a pasted log, a docs page) is asked rarely, and keeping
    it would hold megabytes. Callers copy the (immutable) result they hand out."""
    if len(text) > CONTENT_WORDS_LONGEST:
        return reader.__wrapped__(text)
    return reader(text)


def sentences(text: str) -> list[str]:
    """Sentences and lines of prose, code fences removed, empty parts and an issue form's
    headings (`form_heading`) dropped; a sentence never ends inside inline code (`Invalid
    glob: "@dir/*.png". It must start with '/'` is one pasted message, not two halves with
    a stray backtick each)."""
    return list(_remembered(_sentences, text))


@lru_cache(maxsize=SENTENCES_KEPT)
def _sentences(text: str) -> tuple[str, ...]:
    """`sentences`, remembered for the last few conversations (callers get a copy): the
    offline analyzer splits a message when it reads its signals and again, right after,
    for the problem's title and text (3,800 of the 10k run's 18,700 calls)."""
    spans: list[str] = []

    def hide(found: re.Match[str]) -> str:
        spans.append(found.group(0))
        return f"\x00{len(spans) - 1}\x00"

    hidden = INLINE_CODE.sub(hide, strip_code(text).replace("\x00", ""))
    parts = [s.strip() for s in _SENTENCE_END.split(hidden) if s and s.strip()]
    return tuple(_HIDDEN.sub(lambda found: spans[int(found.group(1))], s) for s in parts
                 if not form_heading(s))


#: a line that is all heading: `## …` (closing `#`s trimmed apart: a lazy match before
#: them backtracked quadratically on a long line of spaces), or wholly bold (`**…**`,
#: `__…__`, a colon after)
_HEADING_LINE = re.compile(r"^(?:#{1,6}\s+(.+)|\*\*([^*]+)\*\*:?|__([^_]+)__:?)$")
#: the words of the section headings an issue form or template asks users to fill in
#: ("**What did you expect to happen?**", "### Steps to reproduce", "**Error:**")
FORM_HEADING_WORDS = frozenset(
    "what did do does you we expect expected expecting to happen happened happens actually "
    "actual instead result results behavior behaviour outcome steps step reproduce "
    "reproduction repro reproducible describe description the a an of and or bug issue "
    "problem summary additional context other information info details error errors "
    "message messages output logs log stack trace traceback environment system version "
    "versions suggested solution proposed alternative alternatives considered current "
    "minimal example code sample screenshots screenshot validations relevant affected "
    "package packages manager used configuration config motivation use case checklist "
    "link links notes".split())


def form_heading(line: str) -> bool:
    """Whether `line` is the heading of an issue form's section, not something the user
    said: a heading or wholly bold line in the words such forms use ("**What did you expect
    to happen?**", "### Actual Behavior"). Users paste reports written in these forms, and
    read as the user's own question the heading titled and quoted tickets, and became the
    problem text, of unrelated reports alike. A heading that says more ("# How do I parse
    JSON into a list?") is the user's."""
    return form_heading_words(line) is not None


def form_heading_words(line: str) -> set[str] | None:
    """The words of `line` when it is an issue form's heading (`form_heading`), else None:
    what a reader of the form asks next is which section it heads."""
    found = _HEADING_LINE.match(line.strip())
    if found is None:
        return None
    heading = next(g for g in found.groups() if g is not None).rstrip().rstrip("#")
    said = set(re.findall(r"[a-z]+", heading.lower()))
    return said if said and said <= FORM_HEADING_WORDS else None


def _spelled_words(text: str) -> list[str]:
    """Word tokens as written (identifiers with dots/underscores kept whole, URLs left out)."""
    return _WORD.findall(without_urls(text))


def words(text: str) -> list[str]:
    """Lower-cased word tokens (identifiers with dots/underscores kept whole)."""
    return [w.lower() for w in _spelled_words(text)]


def name_spellings(text: str) -> dict[str, str]:
    """Each dotted or underscored word of `text`, lower-cased, to how the text first spells
    it: `words` lower-cases `pydantic.errors.PydanticImportError`, and a ticket should show
    the name as users pasted it."""
    found: dict[str, str] = {}
    for word in _spelled_words(text):
        if "." in word or "_" in word:
            found.setdefault(word.lower(), word)
    return found


def content_words(text: str) -> list[str]:
    """Words that carry meaning: no stopwords, no single letters or pure numbers."""
    return list(_remembered(_content_words, text))


@lru_cache(maxsize=CONTENT_WORDS_KEPT)
def _content_words(text: str) -> tuple[str, ...]:
    """`content_words`, remembered: a run asks it of each message's text about four times
    (extracting, clustering, titling, matching its insight; 74,000 calls for 19,000 texts on
    the 10k-message benchmark), and splitting dominated the offline analysis."""
    return tuple(w for w in words(text)
                 if w not in STOPWORDS and len(w) > 1 and not w.isdigit())


def error_strings(text: str) -> list[str]:
    """Error names and status lines users paste (`ValidationError`, `422 Unprocessable ...`)."""
    found = [m.group(1).strip() for m in _ERROR_LINE.finditer(text)]
    return _unique(f for f in found if f not in SHOUTED_WORDS)


#: what a chat message opens with that a title or a docs heading does not say: a greeting
#: ("Hey,", "Hi all!") and a word that leans on what came before ("And", "So basically,")
_CHAT_OPENING = re.compile(
    r"^(?:(?:hey|hi|hello|yo)(?: (?:all|everyone|guys|folks|there|team))?\s*[,!.:]*\s+|"
    r"(?:and|but|also|so|well|ok|okay|basically|actually|anyway|btw|however|plus)\b,?\s+)+",
    re.I)
_FIRST_PERSON = frozenset(("i", "i'm", "i've", "i'd", "i'll"))


def without_chat_opening(sentence: str) -> str:
    """A user's sentence without the greeting or leaning word it opened with ("Hey, i get
    this warning …" titles a ticket and heads a section as "I get this warning …"), its
    first word capitalised as a sentence's; as it is when too little would be left."""
    rest = _CHAT_OPENING.sub("", sentence, count=1)
    if len(content_words(rest)) < 2:
        return sentence
    first = rest.split(" ", 1)[0]
    if first in _FIRST_PERSON or (rest != sentence and first.isalpha() and first.islower()):
        return rest[0].upper() + rest[1:]
    return rest


def without_urls(text: str) -> str:
    """`text` with its links blanked: a link's host and path (`github.com`, a commit hash)
    are where the user points, not code or words of their own."""
    return _URL.sub(" ", text)


def identifiers(text: str, whole_names: bool = False) -> list[str]:
    """Code-like terms: snake_case, camelCase, CONSTANT_CASE, --flags, dotted.names, `code`
    (`whole_names`: a hyphenated file name whole, as users wrote it, not its dotted tail)."""
    pattern = _WHOLE_IDENTIFIER if whole_names else _IDENTIFIER
    found = [m.group(0) for m in pattern.finditer(text)]
    found += [m.group(1).strip() for m in INLINE_CODE.finditer(text) if len(m.group(1)) < 60]
    return _unique(found)


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")
#: what opens a block at the start of a line: a heading, quote or list mark, or a number and
#: its `.` or `)` (escaped after the digits: CommonMark escapes only punctuation, so `\1.`
#: would show its backslash)
_LINE_START = re.compile(r"^(\d+(?=[.)])|)([#>+=.)-])")


def escape_markdown(text: str) -> str:
    """Untrusted chat text made inert in Markdown: one line, no markup, links, HTML or mentions.

    Newlines are folded (so nothing can start a heading, list or fence), inline markup
    characters are escaped, what could open a block at the start is escaped, and `@` gets a
    zero-width joiner so mentions do not ping anyone.
    """
    return _LINE_START.sub(_escape_block_mark, escape_inline(text))


def escape_inline(text: str) -> str:
    """`escape_markdown` for text that does not start a line (a word inside a heading:
    `2.0.0` there opens nothing, and `2\\.0.0` would show its backslash in a raw page)."""
    flat = " ".join(text.split()).replace("@", "@\u200b")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", flat)


def _escape_block_mark(found: re.Match[str]) -> str:
    digits, mark = found.groups()
    if not digits and mark in ".)":
        return found.group(0)  # a bare `.` or `)` opens nothing
    return f"{digits}\\{mark}"


#: words by which a pasted line says that something went wrong ("Blocked request. This
#: host is not allowed.", "The legacy JS API is deprecated", "Failed to resolve import")
ERROR_WORDS = re.compile(r"error|exception|fail|fatal|cannot|unable|not allowed|denied|invalid|"
                         r"deprecat|not found|not defined|refused|warn", re.I)
#: words by which a person speaks: no program's error message uses them
SPEAKER = re.compile(r"\b(?:I|I'm|I've|me|my|we|our|us|you|your)\b", re.I)
#: a pasted line needs this many content words to say what went wrong
NAMED_WORDS = 4


def reports_error(line: str) -> bool:
    """A pasted line that says in words what went wrong (not a bare `Error` or a path)."""
    return bool(ERROR_WORDS.search(line)) and len(content_words(line)) >= NAMED_WORDS


#: what two users' copies of one error differ in: quoted names, paths, numbers
PASTE_VARIABLES = re.compile(r"\"[^\"]*\"|'[^']*'|`[^`]*`|\d+")
_BACKTICK_RUN = re.compile(r"`+")


def mentions(page_text: str, term: str) -> bool:
    """Whether a lower-cased page mentions a term: literally, or every part of a
    dotted/called name (`app.on_event` is covered by a page that says `on_event`)."""
    return any_mentions([page_text], term)


def any_mentions(page_texts: Iterable[str], term: str) -> bool:
    """Whether any of the lower-cased pages mentions a term (`mentions`), the term's parts
    split once for all of them: what a ticket's terms, the ranking's names and the
    verdict's coverage all ask of the docs."""
    return any(_mentioning(page_texts, term))


def mention_share(page_texts: Sequence[str], term: str) -> float:
    """The share of the lower-cased pages that mention a term (`any_mentions`' reading;
    0.0 without pages): a name most pages use is the product's own vocabulary."""
    return sum(_mentioning(page_texts, term)) / len(page_texts) if page_texts else 0.0


def _mentioning(page_texts: Iterable[str], term: str) -> Iterator[bool]:
    """For each lower-cased page, whether it mentions `term` (its parts split once)."""
    lower, parts = term.lower(), code_terms(term)
    return (lower in text or (bool(parts) and all(part in text for part in parts))
            for text in page_texts)


def code_fence(body: str) -> str:
    """The backtick fence that holds `body` as code: three at least, and longer than any
    backtick run inside, so nothing in it can end the block."""
    return "`" * max(3, 1 + max((len(run) for run in _BACKTICK_RUN.findall(body)), default=0))


#: how a sentence that leads into a paste ends (a full-width colon too: "webpack ：")
LEAD_IN_MARKS = (":", "：")


#: how a sentence points at a paste below it without a colon ("I have the following
#: error", "the output is as follows", "see the log below")
_POINTS_AHEAD = re.compile(r"\b(?:the following|as follows|below)(?:\s+[\w-]+){0,2}\s*[.…]*$",
                           re.I)


def leads_in(text: str) -> bool:
    """A sentence that only introduces what the user pasted next ("running main.py will
    result in:", "I recently got the error:", "I have the following error"): the paste
    says what happened."""
    stripped = text.rstrip()
    return stripped.endswith(LEAD_IN_MARKS) or bool(_POINTS_AHEAD.search(stripped))


#: a sentence that opens with a hedge ("Not 100% sure, but I think this is a casualty of…",
#: "Maybe it is…") or a label ("example: (using images…)", "Edit:"); "not sure why / if /
#: how" asks instead
_ASIDE = re.compile(r"^\W*(?:(?:not\s+(?:\d+\s*%\s*|entirely\s+|completely\s+|quite\s+|really\s+)?"
                    r"sure(?!\s+(?:why|if|how|what|whether|where|when)\b)"
                    r"|i\s+(?:think|guess|suspect|believe)|maybe|perhaps|probably)\b"
                    r"|(?:for\s+)?example\s*:|e\.g\.\s*:|edit\s*:|update\s*:|note\s*:)", re.I)
#: what makes a sentence say the problem whatever it opens with: the docs named
_NAMES_THE_DOCS = re.compile(r"\bdoc(?:s|umentation|umented)?\b", re.I)


def is_aside(text: str) -> bool:
    """A sentence that says what the user guesses or shows next, not the problem: it opens
    with a hedge or a label, and asks nothing ("Not sure why…", "…?"), names no error or
    failure ("Update: still fails…") and does not speak of the docs ("Maybe the docs
    should say…" is the finding). A cut sentence ("…") may have asked, so it is none."""
    text = text.rstrip()
    return (bool(_ASIDE.search(text)) and not text.endswith(("?", "…"))
            and not error_strings(text) and not ERROR_WORDS.search(text)
            and not _NAMES_THE_DOCS.search(text))


def truncate(text: str, limit: int) -> str:
    """Cut at a word boundary and mark the cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"


def _unique(items: Iterable[str]) -> list[str]:
    """`items` in order, each kept once, case aside (the first spelling wins); empty ones
    dropped. The lower-cased spellings kept are held in a set, not re-lowered per item."""
    kept: list[str] = []
    lowered: set[str] = set()
    for item in items:
        if item and (folded := item.lower()) not in lowered:
            kept.append(item)
            lowered.add(folded)
    return kept


#: parts of code that say nothing about the problem (keywords, builtins, `app`)
CODE_NOISE = frozenset(
    """app def str int float bool list dict set tuple none true false self cls import from
    return async await yield class lambda print http https main json data request response
    the and for not with""".split()
)
_CODE_PART = re.compile(r"[^A-Za-z0-9_]+")


def code_terms(text: str) -> set[str]:
    """Lower-cased parts of the identifiers and inline code in `text`."""
    return set(_remembered(_code_terms, text))


@lru_cache(maxsize=CONTENT_WORDS_KEPT)
def _code_terms(text: str) -> frozenset[str]:
    """`code_terms`, remembered as `_content_words` is: clustering asks it of each
    problem's text three times (its lexical row twice, its shared terms once), and the
    verdict of each term a ticket weighs, once per page."""
    parts = {p.lower() for ident in identifiers(text) for p in _CODE_PART.split(ident)}
    return frozenset(p for p in parts if len(p) >= 3 and p not in CODE_NOISE
                     and not p.isdigit())
