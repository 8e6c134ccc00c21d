"""A long message is quoted by the part that says what went wrong, in the user's words.

The messages are shaped like real Vite and Pydantic reports (../shared/realsets): a lead-in
("I recently got the error:") before a pasted error, a question that leans on the message
before it ("How can I resolve it?")."""

from __future__ import annotations

import re

import pytest

from docloop.backends.analyzers import quoting
from docloop.backends.analyzers.offline import OfflineAnalyzer
from docloop.backends.analyzers.quoting import QUOTE_LIMIT, excerpt, pasted_error
from docloop.backends.analyzers.signals import analyse_message
from tests.helpers import conv, msg

PADDING = "We run it behind a reverse proxy on a small VPS that we rebuild every week. " * 3

BLOCKQUOTED = (
    "I tried to rebuild/update my local docker instance of chatgpt-web.\n"
    "Now I get the following error:\n"
    '> Blocked request. This host ("xxx.net") is not allowed.\n'
    '> To allow this host, add "xxx.net" to `server.allowedHosts` in vite.config.js.\n\n'
    f"How can I resolve it?\n{PADDING}")

FENCED = (
    "Pydantic cannot generate JSON Schema for ObjectIdField object. It seems that changes in "
    "2.4 broke this object, and when you use it with FastAPI, it throws the following "
    "exception:\n```\npydantic.errors.PydanticInvalidForJsonSchema: \n"
    "Cannot generate a JsonSchema for core_schema.PlainValidatorFunctionSchema\n```\n" + PADDING)


def quoted(text: str) -> str:
    return excerpt(text, analyse_message(text).question_sentences)


def test_a_message_is_quoted_by_the_error_its_lead_in_introduces() -> None:
    assert len(BLOCKQUOTED) > QUOTE_LIMIT
    assert quoted(BLOCKQUOTED) == 'Blocked request. This host ("xxx.net") is not allowed.'



def test_a_question_leaning_on_the_message_before_it_is_not_the_quote() -> None:
    """Before: "How can I resolve it?", the message's only question, was the whole quote."""
    assert "How can I resolve it?" in analyse_message(BLOCKQUOTED).question_sentences
    assert quoted(BLOCKQUOTED) != "How can I resolve it?"


def test_a_question_that_stands_alone_is_still_the_quote() -> None:
    text = (f"{PADDING}\nBlocked request. This host is not allowed.\n"
            "How do I grant access to all hosts of our staging domain?")
    assert quoted(text) == "How do I grant access to all hosts of our staging domain?"


def test_an_error_that_only_names_itself_is_quoted_with_its_message() -> None:
    assert quoted(FENCED) == (
        "pydantic.errors.PydanticInvalidForJsonSchema: \nCannot generate a JsonSchema for "
        "core_schema.PlainValidatorFunctionSchema")


def test_every_quote_is_verbatim_from_its_message() -> None:
    """DESIGN §5: `quotes[].text` is verbatim from the stored message."""
    long_line = "error: " + "the build failed again " * 20
    for text in (BLOCKQUOTED, FENCED, f"It broke today after the upgrade:\n{long_line}"):
        assert quoted(text) in text
    assert len(quoted(f"It broke today after the upgrade:\n{long_line}")) <= QUOTE_LIMIT


def test_a_sentence_naming_things_in_triple_backticks_is_quoted_as_written() -> None:
    """A real Vite report (realsets/vite) writes names in one-line fences mid-sentence.
    `sentences` reads them as inline code, so the sentence was not found in the message
    and the quote fell to its last line, "In Nuxt 2 it was possible.", which says nothing."""
    text = ("Theres' no option in the Nuxt 3 documentation to set the ```localIdentName``` "
            "for css modules in ```.module.css``` files and vue component styles. To modify "
            "css class/id names and shorten them from ```.this-long-class-name``` to "
            "```.m5_Uw``` to reduce build size. In Nuxt 2 it was possible.")
    assert len(text) > QUOTE_LIMIT
    assert quoted(text) == (
        "Theres' no option in the Nuxt 3 documentation to set the ```localIdentName``` for "
        "css modules in ```.module.css``` files and vue component styles.")


def test_a_sentence_is_found_as_written_or_not_at_all() -> None:
    text = "Set the ```base```   option,\tthen run `vite build` again."
    assert quoting.verbatim("Set the `base` option, then run `vite build` again.", text) == text
    assert quoting.verbatim("Set the `base` option (.*) again.", text) is None


def test_a_lead_in_to_code_is_passed_over_for_a_sentence_that_says_something() -> None:
    """"like this:" and the first line of a config say less than the user's own sentence."""
    text = ("Using create_model with `__root__` like this:\n```python\nresp = create_model(\n"
            "    'Resp', __root__=(list[int], ...))\n```\n"
            "The generated schema loses the list type of the root field entirely. " + PADDING)
    assert pasted_error(text) is None
    assert quoted(text) == "The generated schema loses the list type of the root field entirely."


def test_a_lead_in_inside_a_code_block_leads_into_nothing() -> None:
    text = f"```\nerror output:\nError: boom happened here\n```\n{PADDING}"
    assert pasted_error(text) is None


def test_a_short_message_is_quoted_whole() -> None:
    text = "How can I resolve it?"
    assert quoted(text) == text


def test_the_analyzer_quotes_a_long_report_by_its_error_in_users_own_words() -> None:
    [problem] = OfflineAnalyzer().extract([conv("500", msg("500", "a", BLOCKQUOTED))])
    [quote] = problem.quotes
    assert quote.text in BLOCKQUOTED and "not allowed" in quote.text


def test_a_sentence_naming_the_error_raised_beats_the_opening() -> None:
    """A real Pydantic report: its opening describes code; the error is two sentences on."""
    text = ("The current implementation in decorators.py uses param_value.model_dump() "
            "without specifying the serialization mode for the request body. This causes "
            "TypeError: Object of type UUID is not JSON serializable when making HTTP requests "
            "with models containing UUID fields. " + PADDING)
    assert quoted(text).startswith("This causes TypeError: Object of type UUID")


def test_a_real_question_beats_a_statement_the_analyzer_took_for_one() -> None:
    text = ("When I'm running it in Vite Preview or in Vite Develop Mode, my application works "
            "properly. " + PADDING + " How do I make the static server serve index.html for "
            "every route?")
    assert quoted(text) == "How do I make the static server serve index.html for every route?"


def test_a_sentence_opening_on_the_one_before_is_passed_over() -> None:
    """A real Vite report: "And both requests are issued to the dev server" was the quote."""
    text = ("It seems like proxies are not working.\nMy config `vite.config.js` looks like this "
            "(copied from the docs):\n```\nproxy: {\n  '/foo': 'http://localhost:44305/api',\n"
            "}\n```\nAnd I'm testing it with following calls:\n```\nfetch('/foo');\n"
            "fetch('/api/test/get')\n```\nAnd both requests are issued to the dev server, "
            "`http://localhost:3000/` in my case.")
    assert len(text) > QUOTE_LIMIT
    assert quoted(text) == "It seems like proxies are not working."


class CountingPattern:
    """A compiled pattern that counts the times it reads a line."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern, self.reads = pattern, 0

    def search(self, text: str) -> re.Match[str] | None:
        self.reads += 1
        return self.pattern.search(text)

    def match(self, text: str) -> re.Match[str] | None:
        self.reads += 1
        return self.pattern.match(text)

    def sub(self, replacement: str, text: str) -> str:
        self.reads += 1
        return self.pattern.sub(replacement, text)


@pytest.mark.parametrize("hostile", ["x:\n" * 20_000, "a:\n```\nfoo\n" * 5_000,
                                     "> q:\n" * 20_000, "a:\n> b\n" * 10_000])
def test_a_hostile_message_of_lead_ins_reads_each_line_a_few_times(
        monkeypatch: pytest.MonkeyPatch, hostile: str) -> None:
    """Each lead-in's paste was read to the message's end: 100 KB of `> q:` lines took
    minutes. The patterns now read each line a bounded number of times."""
    patterns = {name: CountingPattern(getattr(quoting, name))
                for name in ("ERROR_WORDS", "_FENCE", "_QUOTE_MARK")}
    for name, counting in patterns.items():
        monkeypatch.setattr(quoting, name, counting)
    assert quoting.pasted_error(hostile) is None
    assert sum(p.reads for p in patterns.values()) <= 5 * len(hostile.splitlines())


def test_a_name_fenced_with_spaces_inside_is_still_found() -> None:
    text = "Set the ``` base ``` option, then run `vite build` again."
    assert quoting.verbatim("Set the `base` option, then run `vite build` again.", text) == text


def test_a_lead_in_without_a_colon_introduces_its_paste() -> None:
    """"I have the following error" and "… but the following error occurs." point at the
    paste below as a colon does; quoted alone, they say nothing."""
    text = (PADDING + "I have the following error\n```\n  3:7  error  'Size' is defined but "
            "never used  no-unused-vars\n```")
    assert pasted_error(text) == "3:7  error  'Size' is defined but never used  no-unused-vars"


def test_a_form_heading_over_a_users_line_leads_to_the_paste_under_that_line() -> None:
    """Under "**What happened?**" the user wrote their own lead-in; the heading does not
    make that line the error, the paste under it is."""
    text = (PADDING + "**What happened?**\nI have the following error\n```\n"
            "  3:7  error  'Size' is defined but never used  no-unused-vars\n```")
    assert excerpt(text, []) == "3:7  error  'Size' is defined but never used  no-unused-vars"
    plain = PADDING + "**Error:**\nThe build fails with an error about a missing plugin export"
    assert pasted_error(plain) is None  # the line under a form heading is the user's


def test_a_line_pointing_at_this_output_leads_into_the_paste_below_it() -> None:
    """A real Vite report: "When I run `yarn run dev` I get this output" above the
    pasted TypeError was quoted, and titled its insight; the error is what users hit. The
    same words with nothing pasted below lead into nothing."""
    text = (PADDING + "When I run `yarn run dev` I get this output\n```\nTypeError: Cannot "
            "read properties of undefined (reading 'VITE_HOST')\n```")
    assert excerpt(text, []) == ("TypeError: Cannot read properties of undefined "
                                 "(reading 'VITE_HOST')")
    told = PADDING + "It is not clear where this error\ncomes from, the build still passes."
    assert pasted_error(told) is None


def test_an_alert_marker_or_a_prompt_line_is_not_the_pasted_error() -> None:
    """Real typescript-eslint tickets quoted `[!WARNING]` (a GitHub alert over the pasted
    error) and `# NODE_OPTIONS=--trace-deprecation yarn lint` (the command typed at the
    prompt) as the error their lead-in introduced."""
    alert = ("After installing the config an unexpected error is displayed.\n\n"
             "**error message:**\n\n> [!WARNING]\n> Parsing error: DeprecationError: "
             "`kindOf` has been deprecated since v5.0.0 and can no longer be used.")
    assert pasted_error(alert) == ("Parsing error: DeprecationError: `kindOf` has been "
                                   "deprecated since v5.0.0 and can no longer be used.")
    prompt = ("I got the following warnings when running the linter:\n\n```\n"
              "# NODE_OPTIONS=--trace-deprecation yarn lint\n(node:236) DeprecationWarning: "
              "The 'typeParameters' property is deprecated on CallExpression nodes.\n```")
    assert pasted_error(prompt) == ("(node:236) DeprecationWarning: The 'typeParameters' "
                                    "property is deprecated on CallExpression nodes.")
    shell = "I get this error:\n\n```\n$ vite build --failOnWarn\nError: Invalid glob\n```"
    assert pasted_error(shell) == "Error: Invalid glob"
