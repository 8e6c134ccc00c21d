"""Turning a chat message into search queries.

People paste tracebacks, logs and code into chat. File paths, line numbers,
memory addresses and FTS syntax only add noise (or syntax errors) to a
keyword query, and long stack frames drown the one line that matters (the
exception) in an embedding, so both queries are built from a cleaned text.
"""

from __future__ import annotations

import re

FRAME = re.compile(r'^\s*File "[^"]*", line \d+.*$', re.MULTILINE)
TRACEBACK_HEAD = re.compile(r"^\s*Traceback \(most recent call last\):\s*$", re.MULTILINE)
CARETS = re.compile(r"^\s*[\^~]+\s*$", re.MULTILINE)
ADDRESS = re.compile(r"\b0x[0-9a-fA-F]+\b")
PATHLIKE = re.compile(r"(?:[A-Za-z]:)?(?:[\\/][\w.-]+){2,}")
WORD = re.compile(r"[^\W_]+(?:_[^\W_]+)*", re.UNICODE)
MAX_TERMS = 32

STOPWORDS = frozenset(
    (
        "a", "about", "above", "after", "again", "all", "also", "am", "an", "and", "any",
        "are", "as", "at", "be", "because", "been", "before", "being", "below", "between",
        "both", "but", "by", "can", "cant", "could", "did", "didnt", "do", "does", "doesnt",
        "doing", "dont", "down", "during", "each", "else", "even", "ever", "every", "few",
        "for", "from", "further", "get", "gets", "getting", "got", "had", "has", "have",
        "having", "he", "her", "here", "hers", "him", "his", "how", "i", "id", "if", "im",
        "in", "into", "is", "isnt", "it", "its", "itself", "ive", "just", "keep", "keeps",
        "know", "like", "make", "me", "might", "more", "most", "much", "must", "my",
        "myself", "need", "needs", "no", "nor", "not", "now", "of", "off", "on", "once",
        "one", "only", "or", "other", "our", "out", "over", "own", "pls", "plz", "please",
        "same", "she", "should", "so", "some", "still", "such", "than", "thanks", "thank",
        "that", "thats", "the", "their", "them", "then", "there", "these", "they", "thing",
        "things", "this", "those", "through", "thx", "to", "too", "trying", "try", "u",
        "under", "until", "up", "us", "use", "using", "very", "want", "wanted", "was",
        "way", "we", "were", "what", "whats", "when", "where", "which", "while", "who",
        "why", "will", "with", "without", "wont", "would", "yes", "yet", "you", "your",
        "youre", "anyone", "someone", "help", "guys", "hey", "hi", "hello", "ok", "okay",
        "really", "something", "anything", "work", "works", "working",
    )
)


def clean_query(text: str) -> str:
    """The text without stack frames, carets, addresses and long file paths."""
    text = TRACEBACK_HEAD.sub(" ", text)
    text = FRAME.sub(" ", text)
    text = CARETS.sub(" ", text)
    text = ADDRESS.sub(" ", text)
    text = PATHLIKE.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip()


def keyword_terms(text: str) -> list[str]:
    """Distinct lower-case content words of `text`, in order (at most MAX_TERMS)."""
    terms: list[str] = []
    for match in WORD.finditer(clean_query(text).lower()):
        for word in match.group(0).split("_"):
            if len(word) > 1 and word not in STOPWORDS and not word.isdigit():
                terms.append(word)
    return list(dict.fromkeys(terms))[:MAX_TERMS]


def fts_query(text: str) -> str | None:
    """An FTS5 OR-query of quoted terms (no FTS syntax survives), or None if empty."""
    terms = keyword_terms(text)
    if not terms:
        return None
    return " OR ".join('"' + term.replace('"', "") + '"' for term in terms)


#: where one sentence of chat ends and the next begins (a capital, code or quote follows)
SENTENCE_END = re.compile(r"(?<=[.?!:])\s+(?=[A-Z`\"'(\[])")
MIN_PART_TERMS = 3  # a part with fewer content words says too little to be matched alone
MAX_PARTS = 12  # parts embedded per query (spread over the whole text beyond that)


def query_parts(text: str) -> list[str]:
    """The query's lines and sentences that each carry at least MIN_PART_TERMS content
    words, stack frames and addresses removed, at most MAX_PARTS spread over the text.

    A chat message (and a group's messages joined one per line) asks several things at
    once: the error line, the code, the "how do I ..." sentence. One embedding of the
    whole averages them; scoring a page on each part's closest passage (late interaction,
    rerank.py's `parts`) rewards the page that answers every part."""
    parts: dict[str, None] = {}
    for line in text.splitlines():
        for sentence in SENTENCE_END.split(clean_query(line)):
            if len(keyword_terms(sentence)) >= MIN_PART_TERMS:
                parts.setdefault(sentence, None)
    found = list(parts)
    if len(found) <= MAX_PARTS:
        return found
    step = len(found) / MAX_PARTS
    return [found[int(i * step)] for i in range(MAX_PARTS)]
