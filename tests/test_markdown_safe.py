"""Rendering untrusted text: cleaned characters, inert HTML, links that cannot break out."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from markdown_it import MarkdownIt

from docloop.markdown_safe import block, inline, link, safe_url
from docloop.models import DocMatch, Insight, Message, Quote, RunReport, Suggestion
from docloop.report import render_markdown
from docloop.sanitize import clean_message, clean_text, plausible_time
from docloop.ticket_text import render_ticket

HTML = MarkdownIt("commonmark")  # passes raw HTML through, as many viewers do
XSS = '<img src=x onerror="alert(1)">'


def _hostile_insight() -> Insight:
    return Insight(
        id="abc", title=f"title {XSS}\u202e", summary=f"summary {XSS}", category=f"q {XSS}",
        doc=DocMatch(path="guide/a (b)<x>.md", url="https://docs.example/guide/a (b)<x>/",
                     heading=f"Heading {XSS}", verdict="covered", score=0.8),
        suggestion=Suggestion(kind="edit", text=f"Where: page\n{XSS}\n`{XSS}` stays code",
                              patch=f"--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+{XSS}\x00\n"),
        error=f"boom {XSS}",
    )


@pytest.mark.parametrize("render", [
    lambda i: render_ticket(i),
    lambda i: render_markdown(RunReport(run_id="r", started_at=datetime.now(UTC), insights=[i],
                                        warnings=[f"warn {XSS}"], errors=[f"err {XSS}"])),
])
def test_reports_and_tickets_show_html_as_text(render) -> None:  # type: ignore[no-untyped-def]
    text = render(_hostile_insight())
    html = HTML.render(text)
    assert "<img" not in html
    assert "\x00" not in text and "\u202e" not in text
    assert "https://docs.example/guide/a%20%28b%29%3Cx%3E/" in text


def test_block_keeps_structure_and_code_but_not_tags() -> None:
    text = block(f"- item {XSS}\n> quote\n```\n{XSS}\n```")
    html = HTML.render(text)
    assert "<li>" in html and "<blockquote>" in html
    assert "&lt;img" in html and "<img" not in html


def test_links_only_for_http_and_relative_urls() -> None:
    assert safe_url("javascript:alert(1)") is None
    assert link("x", "data:text/html,hi") == "x"
    assert link("a]b", "https://e.x/p)q") == r"[a\]b](https://e.x/p%29q)"
    assert safe_url("guide/page.md#anchor") == "guide/page.md#anchor"


def test_inline_folds_lines_and_escapes_markup() -> None:
    assert inline("# head\n<b>x</b>") == r"\# head \<b\>x\</b\>"


@pytest.mark.parametrize("said", ["1. run `yarn build`", "12) then it fails", "- a dash"])
def test_a_quote_that_starts_like_a_list_shows_as_typed(said: str) -> None:
    """A real quote began `1. run yarn`; escaped as `\\1.` it showed its backslash, since
    CommonMark escapes punctuation only."""
    html = HTML.render(f"> {inline(said)}\n")
    assert "<ol" not in html and "<ul" not in html and "\\" not in html
    assert said.split()[0] in html


def test_clean_text_removes_controls_bidi_and_zero_width_but_keeps_emoji() -> None:
    family = "\U0001F468\u200d\U0001F469\u200d\U0001F467"
    dirty = f"a\x00b\u202ec\u2066d\u200be\ufefff\r\ng\x1b[31m {family} x\u200dy \ud800"
    assert clean_text(dirty) == f"abcdef\ng[31m {family} xy \ufffd"


def test_clean_message_cleans_every_text_field() -> None:
    message = Message(id="1", channel_id="2", channel_name="he\u202elp", thread_name="t\x00\nx",
                      author_id="3", author_name="bo\u200bb", content="hi\x07",
                      timestamp=datetime.now(UTC), reactions={"\u202e": 2})
    clean = clean_message(message)
    assert (clean.channel_name, clean.thread_name, clean.author_name, clean.content) == (
        "help", "t x", "bob", "hi")
    assert clean.reactions == {"?": 2}


@pytest.mark.parametrize(("when", "ok"), [
    (datetime(2014, 12, 31, tzinfo=UTC), False),
    (datetime(2015, 1, 2, tzinfo=UTC), True),
    (datetime(2026, 12, 5, 12, tzinfo=UTC), True),
    (datetime(2026, 12, 6, 1, tzinfo=UTC), False),
    (datetime(2020, 1, 1), True),
])
def test_plausible_time_between_discord_epoch_and_a_day_ahead(when: datetime, ok: bool) -> None:
    assert plausible_time(when, datetime(2026, 12, 5, tzinfo=UTC)) is ok


def test_terminal_tables_show_rich_markup_in_chat_text_literally(
        capsys: pytest.CaptureFixture[str]) -> None:
    from docloop.report import print_summary

    title = "[red]x[/red] [link=https://evil.example]click[/link]"
    print_summary(RunReport(run_id="r", started_at=datetime.now(UTC),
                            insights=[Insight(id="a", title=title, summary="s")],
                            warnings=["[bold]w[/bold]"]))
    shown = capsys.readouterr().out
    assert "[red]x[/red]" in shown and "[link=https://evil.example]" in shown
    assert "[bold]w[/bold]" in shown


def test_a_long_title_is_cut_at_a_word_and_marked_in_the_run_table(
        capsys: pytest.CaptureFixture[str]) -> None:
    """A real title showed as "…(`nuxi build`), i see this wa": cut mid-word, unmarked."""
    from docloop.report import print_summary

    title = ("Everytime, i build it using `yarn build` (`nuxi build`), i see this warning in "
             "the console — Why does it show it?")
    print_summary(RunReport(run_id="r", started_at=datetime.now(UTC),
                            insights=[Insight(id="a", title=title, summary="s")]))
    shown = " ".join(capsys.readouterr().out.replace("│", " ").split())
    assert "i see this…" in shown and "this wa " not in shown


def test_ticket_and_source_tables_show_rich_markup_literally(
        capsys: pytest.CaptureFixture[str]) -> None:
    from docloop.backends.sources.base import ChannelCount
    from docloop.models import TicketRecord
    from docloop.render import render_check, render_tickets

    now = datetime.now(UTC)
    render_tickets([TicketRecord(id="DL-1", tracker="local", insight_id="a",
                                 title="[red]t[/red]", created_at=now, updated_at=now)], False)
    render_check([("spec", [ChannelCount(id="1", name="[bold]c[/bold]", kind="text")])], False)
    shown = capsys.readouterr().out
    assert "[red]t[/red]" in shown and "[bold]c[/bold]" in shown


def test_a_quote_keeps_the_code_it_pasted_as_a_block_and_its_prose_inert() -> None:
    """A real FastAPI quote read "```python app.add_middleware( CORSMiddleware,
    allow_origins=[ …" on one line: the pasted code flattened into the sentence."""
    said = (f"I enabled CORS {XSS} like below:\n```python\napp.add_middleware(\n"
            f"    CORSMiddleware, allow_origins=['*'],  # {XSS}\n)\n```\n"
            "Then `fetch` fails [here](javascript:alert(1)).\n````\n``` nested\n")
    item = _hostile_insight().model_copy(update={"quotes": [Quote(
        message_id="m1", author="ann", text=said)]})
    text = render_ticket(item)
    html = HTML.render(text)
    assert "<img" not in html and 'href="javascript' not in html
    assert "<pre><code class=\"language-python\">app.add_middleware(\n    CORSMiddleware" in html
    assert "# &lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html  # code, as written
    assert "<code>``` nested\n</code>" in html  # an unclosed block closes with the quote
    assert html.count("<blockquote>") == 1


def test_a_quote_reads_fences_as_discord_renders_them() -> None:
    """A review found "```npm install --save foo``` fails for me" rendered as an empty code
    block (the user's words gone), and "```py\\nprint(1)```\\nthen …" turning the prose
    after it into code."""
    said = "```npm install --save foo``` fails for me\n```py\nprint(1)```\nthen it breaks"
    item = _hostile_insight().model_copy(update={"quotes": [Quote(
        message_id="m1", author="ann", text=said)]})
    html = HTML.render(render_ticket(item))
    assert "npm install --save foo" in html and "fails for me" in html
    assert '<pre><code class="language-py">print(1)\n</code></pre>' in html
    assert "<p>then it breaks" in html
