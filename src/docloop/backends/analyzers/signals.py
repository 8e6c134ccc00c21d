"""Rule-based message signals: is this a question, an error, a docs complaint, or noise?

Each rule is a named pattern, so the offline analyzer can say *why* it took a
message as a problem ("question", "error:ValidationError", "docs-complaint")
or dropped it ("noise:thanks"). Rules are ordered from the most to the least
specific; the first noise rule that matches a message with no problem signal
wins.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from docloop.quality import SHIPPED, QualitySettings
from docloop.text import (
    content_words,
    error_strings,
    identifiers,
    sentences,
    strip_code,
    without_urls,
)

_QUESTION_START = re.compile(
    r"^(?:how|why|what|what's|whats|where|when|which|who|is there|are there|is it|"
    r"can(?!'t)|could|should|shall|does|do|did|would|will|any(?:one|body)?|has anyone|"
    r"is|are|am i|wondering|idk how|not sure (?:how|why|if|whether))\b",
    re.I,
)
_PROBLEM_WORDS = re.compile(
    r"\b(?:error|errors|exception|traceback|fails?|failing|failed|failure|broken|breaks|"
    r"crash(?:es|ed|ing)?|doesn'?t work|does not work|not working|won'?t|"
    r"(?:can'?t|cannot)(?! wait\b)|"
    r"unable|stuck|issue|problem|bug|keeps|returns? (?:a )?[45]\d\d|timeout|timed out|"
    r"hangs?|undefined|null|empty|missing|wrong|weird|strange|confus\w*|"
    r"no idea|ignored|ignores|isn'?t (?:working|applied|picked up)|never (?:gets?|runs?|fires?)|"
    r"even though|resets?|wipes?|overwrit\w*|loses|lost|disappear\w*|blocked|denied|refused|"
    r"unauthori[sz]ed|forbidden|not authenticated|doesn'?t (?:pass|match|show|save|load|return)|"
    r"instead of|only works|works (?:from|with|in|on) \w+,? but|"
    r"(?:isn'?t|doesn'?t|is not|does not) do(?:ing)? anything|does nothing|nothing happens|"
    r"(?:has|had|have) no effect|skips?|(?:i|we) (?:want|need|expected?) .{3,80}\bbut)\b",
    re.I,
)
#: how issue-style reports state a problem without a question or an error name:
#: "X is deprecated", "the warning ...", "Y is not respected", "fields are treated as
#: required", "there's no option to ...", "should be available", "I need an option"
_REPORT_WORDS = re.compile(
    r"\b(?:deprecat\w*|warn(?:s|ing|ings)?|not (?:respected|supported|included|allowed|"
    r"available|accessible|possible|defined|found|persisted|applied|picked up|triggering|resolved)|"
    r"(?:doesn'?t|does not|don'?t|do not|isn'?t|is not|aren'?t|are not|won'?t|will not) "
    r"(?:include|includes|pick|allow|respect|support|get|appear|show|work|apply|trigger|"
    r"resolve|recogni[sz]e|consider|accept|serialize|validate|parse|load|reload|update|"
    r"exist|inherit|honou?r)\w*|"
    r"(?:is|are) treated|no longer|no option|no way to|there should be|should (?:be|have|allow|"
    r"support|not)|(?:i|we) (?:need|needed|would like|want) (?:an? )?(?:option|way|to)|"
    r"used to (?:work|have|be)|worked (?:in|with|before)|workaround|annoying|unexpected\w*|"
    r"regression|incompatib\w*|(?:4\d\d|5\d\d)s?\b|"
    r"(?:isn'?t|is not|aren'?t|are not|not) compatible|not longer|"
    r"(?:does not|doesn'?t|do not|don'?t) seem to (?:work|support|apply|pick)|never \w+ed|"
    r"(?:have|had|has|need|needs|requires? (?:us|me|you)) to manually|"
    r"flags? (?:this|it|that) as an? (?:error|warning)|trips? up|"
    r"(?:haven'?t|have not|didn'?t|did not) (?:seen|find|found) (?:this|it|that) "
    r"(?:mentioned|documented)|"
    r"could(?: not|n'?t) (?:provide|give) (?:me )?an answer|"
    r"(?:reloads?|refresh(?:es)?|restarts?|rebuilds?)\b.{0,30}\bevery time|"
    r"(?:accessible|available|visible) only (?:during|in|when|at|for))",
    re.I,
)
_DOCS_COMPLAINT = re.compile(
    r"\b(?:docs?|documentation|guide|tutorial|readme|reference)\b.{0,60}"
    r"\b(?:confus\w*|unclear|missing|outdated|out of date|wrong|doesn'?t (?:say|mention|explain)|"
    r"no mention|nothing about|couldn'?t find|can'?t find|hard to find|not clear)\b|"
    r"\b(?:couldn'?t|can'?t|cannot) find\b.{0,40}\b(?:docs?|documentation|anywhere)\b",
    re.I,
)
_NOISE_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("plus-one", re.compile(r"^\s*(?:\+1|same|same here|this|me too|\^+|bump)\W*$", re.I)),
    ("thanks", re.compile(
        r"^\W*(?:thanks?|thank you|thx|ty|tysm|cheers|appreciated?|awesome|perfect|great|nice|"
        r"cool|got it|that worked|works now|it works|solved|fixed it)\b[^?]{0,80}$", re.I)),
    ("greeting", re.compile(
        r"^\W*(?:hi|hey|hello|yo|gm|good (?:morning|evening|night)|welcome|o/|"
        r"hi all|hey all|hello everyone)\b[^?]{0,60}$", re.I)),
    ("announcement", re.compile(
        r"@everyone|@here|\b(?:we(?:'re| are) (?:happy|excited|thrilled) to|just released|"
        r"is (?:now )?out\b|now available|release notes|changelog|new release|"
        r"announc\w+|shipped|livestream|office hours)\b", re.I)),
    ("small-talk", re.compile(
        r"^\W*(?:how(?:'s| is) it going|how are (?:you|things|you all)|what'?s up|sup)\W*$",
        re.I)),
    ("acknowledgement", re.compile(
        r"\b(?:works like a charm|works (?:great|perfectly|flawlessly)|"
        r"(?:thanks?|thank you)(?: (?:so|very) much| a lot)?)\W*$", re.I)),
    ("roadmap", re.compile(
        r"\b(?:to the (?:todo|to-do|roadmap|wish ?list)(?: list)?|feature request|"
        r"would be a (?:real |nice |great |big )?improvement|a real improvement)\b", re.I)),
    ("design-question", re.compile(
        r"\b(?:out of curiosity|(?:what is|what's|what was) the (?:reasoning|rationale|motivation|"
        r"thinking) (?:for|behind)|"
        r"why (?:was it|did you|did the team) (?:decided?|chose|choose))\b",
        re.I)),
    # asking the maintainers to publish or release: their work to do, no page to fix
    ("maintainer-request", re.compile(
        r"\b(?:(?:can|could|would) (?:you|someone|somebody|anyone)(?: please)?|please) "
        r"(?:publish|release|cut a (?:new )?release|bump)\b", re.I)),
    ("social", re.compile(
        r"\b(?:(?:friday|weekly|weekend|quick|fun) (?:poll|thread|question)|house rules|"
        r"off[- ]topic|not \w+[- ]related|or (?:is it )?just me\W*$)|"
        r"^\W*(?:is it just me|unrelated,? but)\b|"
        r"^\W*(?:has )?any(?:one|body)(?: here)? (?:tried|played with|used)\b[^?]{0,60}\byet\b",
        re.I)),
    ("laughter", re.compile(r"^\W*(?:lol|lmao|haha\w*|rofl|xd|😂|🤣)+\W*$", re.I)),
)
#: follow-ups that point at an existing report or ask about its schedule, not at a problem:
#: "any progress on this?", "same issue here", "when will v2 support land?", "waiting on this",
#: "any estimate on when this'll release?", "are there any workarounds for this?", or a
#: pull request's progress ("I see that this PR is not active, were there any obstacles?")
_FOLLOW_UP = re.compile(
    r"\b(?:any (?:progress|update|updates|news|eta|estimate|idea when)|"
    r"is there an? (?:eta|update|estimate|tracking issue)|tracking issue|"
    r"(?:meet|facing|face|faced with|have|having|had|got|get|"
    r"seeing|hit|hitting) (?:the )?same (?:problem|issue|error|question|thing|bug)|"
    r"^\W*same\b|same (?:problem|issue|here|for me|thing)|me too|"
    r"(?:found|have|has|is there) an? (?:fix|workaround|solution) for (?:this|it|that)|"
    r"^\W*(?:is|are) there (?:an?|any) (?:fix|fixes|workarounds?|solutions?) for (?:this|it|that)|"
    r"when (?:will|would|do you|can we|is|are|(?:this|it|that)(?:'ll| will))\b.{0,60}"
    r"\b(?:land|lands|release|released|merge|"
    r"merged|support|supported|available|ship|shipped|out|ready)|"
    r"(?:get|be|being|been|is) merged|looking forward to|waiting (?:on|for) (?:this|it|that)|"
    r"closed this issue|(?:wait|waiting) for (?:a|the) (?:stable )?release|"
    r"(?:this|that|the|your) (?:pr|pull request))\b",
    re.I,
)
#: wishes for a feature or a port, not a report that something users need fails
_WISH = re.compile(
    r"^\W*(?:yes,? )?(?:please (?:add|support|consider)|(?:this|the) proposal|"
    r"it would be (?:nice|great|cool)|i'?d like to add|feature request)\b|"
    r"\b(?:please support|add support for)\b",
    re.I,
)
_ME_TOO = re.compile(
    r"^\W*(?:\+1|same|same here|me too|i have the same|same (?:issue|problem|error|thing)|"
    r"also (?:seeing|getting|having)|having the same|seeing the same|any update|"
    r"did you (?:ever )?(?:fix|solve)|ran into (?:this|the same))\b",
    re.I,
)


@dataclass
class MessageSignals:
    """What the rules found in one message."""

    question: bool = False
    error: bool = False
    docs_complaint: bool = False
    problem_words: bool = False
    noise: str | None = None
    me_too: bool = False
    errors: list[str] = field(default_factory=list)
    question_sentences: list[str] = field(default_factory=list)

    @property
    def is_problem(self) -> bool:
        if self.noise in OVERRIDING_NOISE:
            return False
        if self.noise and not (self.question or self.error):
            return False
        return self.says_a_problem

    @property
    def says_a_problem(self) -> bool:
        """Whether any rule took the message as a problem (without one, `is_problem` is
        False whatever its noise)."""
        return self.question or self.error or self.docs_complaint or self.problem_words

    def labels(self) -> list[str]:
        found = [name for name, on in (("question", self.question), ("error", self.error),
                                        ("docs-complaint", self.docs_complaint)) if on]
        found += [f"error:{e}" for e in self.errors[:3]]
        return found


#: reactions that mean "that was funny" (unicode, and common custom emoji names)
LAUGHTER = frozenset({"😂", "🤣", "😆", "😹", "💀", "kekw", "lul", "omegalul", "pepelaugh",
                      "lmao", "rofl", "joy"})
JOKE_REACTIONS = 3


def is_joke(reactions: dict[str, int], signals: MessageSignals) -> bool:
    """Laughter under a message that asks nothing: a joke, even when it quotes an error.

    `ImportError: cannot import name FastAPI ... flashbacks` with nine 😂 is banter; a
    real error report gets 👀 or "same here", not a crowd laughing.
    """
    if signals.question:
        return False
    laughs = sum(n for emoji, n in reactions.items() if emoji.lower() in LAUGHTER)
    return laughs >= JOKE_REACTIONS and laughs * 2 >= sum(reactions.values())


#: typographic apostrophes and quotes, as the rules spell them
_STRAIGHT_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'",
                                  "\u00b4": "'", "\u201c": '"', "\u201d": '"'})


def plain_text(text: str) -> str:
    """`text` as the rules read it: straight apostrophes and quotes, and the compatibility
    forms of characters as their plain ones (NFKC: a full-width `？`, a non-breaking space).

    Phones and macOS type `doesn’t` and `can’t`, and the rules spell `doesn't`: without
    this, "the variable doesn’t show up in the build" reads as no problem at all.
    """
    # quotes first: NFKC would make `´` a space and a combining accent
    return unicodedata.normalize("NFKC", text.translate(_STRAIGHT_QUOTES))


def analyse_message(text: str, quality: QualitySettings = SHIPPED,
                    name_noise: bool = True) -> MessageSignals:
    """Apply every rule to one message's text (read as `plain_text`; the question
    sentences are kept as written, for quotes that must match the message).

    `name_noise=False` leaves `noise` None when no rule found a problem signal (no
    question, error, docs complaint or problem words): `is_problem` is False then
    whatever the noise, and the noise rules are a third of the cost of a message (most
    chat says no problem), so a caller that asks only `is_problem` skips them.
    """
    signals, text = _said(text, quality)
    if signals.noise == "empty":
        return signals
    signals.docs_complaint = bool(_DOCS_COMPLAINT.search(text))
    prose = strip_code(text)
    # the word count first: it is remembered, the two patterns are the costliest here
    signals.problem_words = len(content_words(text)) >= 4 and bool(
        _PROBLEM_WORDS.search(prose) or _REPORT_WORDS.search(prose))
    if name_noise or signals.says_a_problem:
        signals.noise = _noise_kind(text, signals, quality.min_content_words,
                                    quality.follow_up_words)
    return signals


def reply_signals(text: str, quality: QualitySettings = SHIPPED) -> MessageSignals:
    """What the offline analyzer reads of a reply by someone other than the asker: its
    question, errors and "me too" as `analyse_message` finds them, and `is_problem` where
    it names an error without asking (then the noise kind decides it, and is named).

    The docs-complaint and problem-word rules only make the asker's own messages a
    problem; they are the costliest rules and most messages are replies, so they are not
    run here (`docs_complaint` and `problem_words` stay False; `is_problem` is
    `analyse_message`'s wherever errors are named and nothing is asked).
    """
    signals, text = _said(text, quality)
    if signals.errors and not signals.question:
        signals.noise = _noise_kind(text, signals, quality.min_content_words,
                                    quality.follow_up_words)
    return signals


def _said(text: str, quality: QualitySettings) -> tuple[MessageSignals, str]:
    """The signals every reader of a message needs (question, errors, error, me-too, or
    the `empty` noise), and the text as the rules read it (`plain_text`)."""
    signals = MessageSignals()
    if not text.strip():
        signals.noise = "empty"
        return signals, text
    parts = sentences(text)
    signals.question_sentences = [s for s in parts if _is_question(plain_text(s))]
    signals.question = bool(signals.question_sentences)
    signals.errors = error_strings(text)
    text = plain_text(text)
    signals.error = bool(signals.errors) or (
        "```" in text and bool(_PROBLEM_WORDS.search(text)))
    signals.me_too = (bool(_ME_TOO.search(text))
                      and len(content_words(text)) <= quality.follow_up_words)
    return signals, text


def _is_question(sentence: str) -> bool:
    """A sentence ending in '?', or opening like one ("how do I ...", "any way to ...")."""
    stripped = sentence.strip()
    if stripped.endswith("?"):
        return len(content_words(stripped)) >= 1 and len(stripped.split()) >= 3
    # the anchored opening first: few sentences open like a question, and counting a
    # sentence's words splits (and remembers) a text met only here
    return bool(_QUESTION_START.match(stripped)) and len(content_words(stripped)) >= 2


#: noise kinds that win over a question mark ("any progress on this?")
OVERRIDING_NOISE = frozenset({"announcement", "follow-up", "wish", "small-talk",
                              "design-question", "maintainer-request", "social"})


def _noise_kind(text: str, signals: MessageSignals, min_words: int,
                follow_up_words: int) -> str | None:
    prose = strip_code(text).strip()
    if _says_nothing_new(text, prose, signals, follow_up_words):
        return "follow-up" if _FOLLOW_UP.search(prose) else "wish"
    problem_like = signals.question or signals.error
    for name, pattern in _NOISE_RULES:
        # a rule that could not win is not searched (a question is no "thanks")
        if (name in OVERRIDING_NOISE or not problem_like) and pattern.search(prose):
            return name
    if len(content_words(prose)) < min_words and not (signals.question or signals.error):
        return "too-short"
    return None


def _says_nothing_new(text: str, prose: str, signals: MessageSignals, max_words: int) -> bool:
    """A short follow-up or wish that names no error, no code and asks nothing of its own.

    "Any progress on this issue?", "@maintainer when will v2 support land?", "I'm facing
    the same issue", "Yes, please support vite 6" carry no problem a page could answer;
    people post them under real reports, and several of them look alike, so they would
    form an insight of their own. A message with an error or code is kept: "same issue:
    `ImportError: cannot import name X`" describes the problem again; a link is not code
    ("Same issue here. I tracked the commit that introduced the bug: https://github.com/…"
    names no problem of its own).
    """
    if signals.error or "`" in text or identifiers(without_urls(prose)) \
            or len(content_words(prose)) > max_words:
        return False
    return bool(_FOLLOW_UP.search(prose) or _WISH.search(prose))
