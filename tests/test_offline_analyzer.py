"""The offline analyzer takes questions, errors and docs complaints, and drops noise."""

from __future__ import annotations

import pytest

from docloop.backends.analyzers.offline import OfflineAnalyzer
from docloop.backends.analyzers.signals import analyse_message, reply_signals
from docloop.models import Conversation
from docloop.stages.conversations import build_conversations
from docloop.text import CONTENT_WORDS_LONGEST, _sentences, sentences
from tests.helpers import conv, msg


@pytest.mark.parametrize("text", [
    "how do I set the allowed origins for CORS?",
    "Getting `ValidationError: field required` when I post JSON",
    "the docs on background tasks are really confusing, nothing about shutdown",
    "uvicorn keeps crashing on startup with exit code 3 and I have no idea why",
    "any way to run the worker on windows",
    "set_cookie isn't doing anything, there's no Set-Cookie header in the response",
    "I want 201 when it creates and 200 when it updates, but the status_code is fixed",
    "adding the middleware has no effect on the preflight requests from the browser",
])
def test_problem_messages_are_recognised(text: str) -> None:
    assert analyse_message(text).is_problem


@pytest.mark.parametrize(("text", "kind"), [
    ("thanks a lot, that fixed it!", "thanks"),
    ("+1", "plus-one"),
    ("hey everyone", "greeting"),
    ("lol", "laughter"),
    ("@everyone v2.4 is out with a new dashboard, check it out?", "announcement"),
    ("nice", "thanks"),
])
def test_noise_messages_are_dropped(text: str, kind: str) -> None:
    signals = analyse_message(text)
    assert not signals.is_problem
    assert signals.noise == kind


@pytest.mark.parametrize("text", [
    "thanks a lot, that fixed it!", "+1", "hey everyone", "lol", "nice", "",
    "@everyone v2.4 is out with a new dashboard, check it out?",
    "any progress on this?", "Yes, please support vite 6", "same issue here",
    "thanks! but the worker still fails with TimeoutError", "how do I set the region?",
    "the docs are confusing about retries", "I need an option to disable the cache",
    "ok", "we shipped the fix in 2.1, release notes are up",
])
def test_unnamed_noise_changes_nothing_but_the_noise_of_non_problems(text: str) -> None:
    """`name_noise=False` (the offline analyzer's reading) skips the noise rules only where
    no rule found a problem: every other signal, and `is_problem`, are as they were."""
    named, unnamed = analyse_message(text), analyse_message(text, name_noise=False)
    assert unnamed.is_problem == named.is_problem
    assert unnamed.noise in (None, named.noise)
    unnamed.noise = named.noise
    assert unnamed == named


@pytest.mark.parametrize("text", [
    "same here", "+1, me too", "thanks!", "", "how do I set the region?",
    "I get `ValidationError` too", "same: ImportError: cannot import name X",
    "@everyone 2.1 is out: fixes the TimeoutError", "TimeoutError after 30s, any progress?",
    "the docs are confusing, I also get KeyError: 'id' when retrying",
    "it fails with 422 Unprocessable Entity", "any update? still RuntimeError here",
])
def test_a_reply_reads_as_analyse_message_reads_it_where_the_analyzer_looks(text: str) -> None:
    """`reply_signals` skips the asker-only rules: what the offline analyzer reads of a
    reply (question, errors, "me too", and whether it names an error as a problem without
    asking) is `analyse_message`'s."""
    full, reply = analyse_message(text), reply_signals(text)
    assert (reply.question_sentences, reply.errors, reply.me_too) == (
        full.question_sentences, full.errors, full.me_too)
    assert bool(reply.is_problem and reply.errors and not reply.question) == bool(
        full.is_problem and full.errors and not full.question)


def test_problem_from_conversation_has_verbatim_quotes_and_all_message_ids() -> None:
    conversation = conv(
        "100",
        msg("100", "a", "hi all"),
        msg("101", "a", "How do I configure CORS for my React app? I get a 400 Bad Request", 1),
        msg("102", "b", "set allow_origins in CORSMiddleware", 2, reply_to="101"),
        msg("103", "c", "same here", 3),
        msg("104", "a", "thanks!", 4),
    )
    [problem] = OfflineAnalyzer().extract([conversation])
    assert problem.conversation_id == "100"
    assert problem.message_ids == ["100", "101", "102", "103", "104"]
    assert set(problem.author_ids) == {"a", "c"}  # the asker and the "same here" user
    assert problem.title == "How do I configure CORS for my React app?"
    for quote in problem.quotes:
        source = {m.id: m.content for m in conversation.messages}[quote.message_id]
        assert quote.text in source
    assert "question" in problem.signals


def test_noise_conversation_yields_no_problem() -> None:
    conversation = conv("200", msg("200", "a", "good morning!"), msg("201", "b", "gm", 1))
    assert OfflineAnalyzer().extract([conversation]) == []


def test_helper_questions_do_not_make_a_problem() -> None:
    conversation = conv("300", msg("300", "a", "I shipped my app today, feels great"),
                        msg("301", "b", "what did you build it with?", 1))
    assert OfflineAnalyzer().extract([conversation]) == []


def test_long_message_is_quoted_by_its_question_sentence() -> None:
    long_text = ("I have been reading the deployment page for an hour. " * 6
                 + "Why does the worker ignore TIDEPOOL_CONCURRENCY when I run it in docker?")
    [problem] = OfflineAnalyzer().extract([conv("400", msg("400", "a", long_text))])
    assert problem.quotes[0].text.startswith("Why does the worker ignore")
    assert problem.quotes[0].text in long_text


def test_thread_title_becomes_the_problem_title() -> None:
    conversation = conv("500", msg("500", "a", "see title, what am I missing?"),
                        thread="Webhook signature never validates")
    [problem] = OfflineAnalyzer().extract([conversation])
    assert problem.title == "Webhook signature never validates"
    assert problem.text.startswith("Webhook signature never validates")
    assert not problem.title_in_message  # someone wrote it as a title (stages/headline.py)


def test_a_title_taken_from_the_message_says_so() -> None:
    """headline.py weighs such a title with the members' sentences, never as a written one."""
    for thread in (None, "help"):  # a thread name of fewer than three words says nothing
        conversation = conv("505", msg("505", "a", "Why does the worker ignore the queue?"),
                            thread=thread)
        [problem] = OfflineAnalyzer().extract([conversation])
        assert problem.title == "Why does the worker ignore the queue?"
        assert problem.title_in_message


def test_a_question_that_points_back_is_led_by_the_opening_sentence() -> None:
    text = "my GET /users/1 returns the hashed_password field. how do I stop leaking that?"
    [problem] = OfflineAnalyzer().extract([conv("510", msg("510", "a", text))])
    assert problem.title == ("my GET /users/1 returns the hashed_password field — "
                             "how do I stop leaking that?")


def test_a_question_opening_with_but_is_led_by_the_opening_sentence() -> None:
    text = "crashes on startup: Form data needs python-multipart. but I did pip install multipart?"
    [problem] = OfflineAnalyzer().extract([conv("515", msg("515", "a", text))])
    assert problem.title.startswith("crashes on startup")
    assert problem.title.endswith("but I did pip install multipart?")


def test_a_self_contained_question_is_the_title_alone() -> None:
    text = "new to fastapi. how do I set the allowed origins for CORS?"
    [problem] = OfflineAnalyzer().extract([conv("520", msg("520", "a", text))])
    assert problem.title == "how do I set the allowed origins for CORS?"


def test_long_titles_are_cut_at_a_word_with_a_mark() -> None:
    text = ("our video transcode jobs of about twenty minutes each sometimes produce two "
            "output files in the bucket. how can that happen if it only succeeded once?")
    [problem] = OfflineAnalyzer().extract([conv("530", msg("530", "a", text))])
    assert problem.title.startswith("our video transcode jobs")
    assert problem.title.endswith("…") and len(problem.title) <= 120


def test_posts_in_broadcast_channels_are_not_problems() -> None:
    conversation = conv("600", msg("600", "a", "Welcome! Where do I ask questions? Read #rules."))
    conversation.channel_name = "announcements"
    assert OfflineAnalyzer().extract([conversation]) == []


def _in_channel(name: str, conversation: Conversation) -> Conversation:
    conversation.channel_id, conversation.channel_name = f"ch-{name}", name
    return conversation


def test_a_broadcast_named_channel_where_people_talk_is_a_help_channel() -> None:
    threads = [_in_channel("rules", conv(
        str(800 + i), msg(str(800 + i), "a", f"why does no-unused-vars flag my type param {i}?"),
        msg(str(900 + i), "b", "the base rule doesn't know TS, use the ts version", 5)))
        for i in range(3)]
    assert len(OfflineAnalyzer().extract(threads)) == 3


def test_one_reply_under_an_announcement_keeps_the_channel_broadcast() -> None:
    posts = [_in_channel("announcements", conv(
        str(810 + i), msg(str(810 + i), "a", f"v2.{i} is out, why not upgrade today?")))
        for i in range(4)]
    posts[0].messages.append(msg("950", "b", "congrats! does it fix the worker crash?", 3))
    assert OfflineAnalyzer().extract(posts) == []


def test_the_first_substantial_answer_is_kept_as_context() -> None:
    conversation = conv(
        "700",
        msg("700", "a", "where do I open my database pool so it closes on shutdown?"),
        msg("701", "b", "ok", 1),
        msg("702", "c", "use the lifespan handler: open the pool before yield, close it after", 2),
    )
    [problem] = OfflineAnalyzer().extract([conversation])
    assert problem.context.startswith("use the lifespan handler")
    assert "lifespan" not in problem.text  # the answer places the problem; it is not the problem


def test_only_a_pinging_answer_loses_its_opening_at_words() -> None:
    question = msg("900", "a", "how do I register a validator on a dataclass field?")
    pinged = msg("901", "b", "@usera, @userc: put the field_validator decorator on the "
                             "checking method", 1, mentions=["a", "c"])
    code = msg("902", "b", "@dataclass decorates the class, @field_validator('x') decorates "
                           "the checking method", 1)
    one = msg("903", "b", "@usera @dataclass decorates the class, @field_validator('x') "
                          "decorates the checking method", 1, mentions=["a"])
    names = msg("904", "b", "@usera @userc @userd @usere @userf thanks everyone", 1,
                mentions=["a", "c", "d", "e", "f"])
    [with_ping] = OfflineAnalyzer().extract([conv("900", question, pinged)])
    [with_code] = OfflineAnalyzer().extract([conv("900", question, code)])
    [one_ping] = OfflineAnalyzer().extract([conv("900", question, one)])
    [only_names] = OfflineAnalyzer().extract([conv("900", question, names)])
    assert with_ping.context == "put the field_validator decorator on the checking method"
    assert with_code.context.startswith("@dataclass decorates")
    assert one_ping.context.startswith("@dataclass decorates")  # one ping, one name off
    assert only_names.context == ""  # five names and a thanks say nothing


def test_an_answer_that_pings_the_asker_is_kept_as_the_answer() -> None:
    """A busy channel, answered by "@asker ..." instead of Discord's reply: the answer
    still reaches the question it answers (stages/conversations.py)."""
    messages = [
        msg("800", "a", "my React app on localhost:3000 gets blocked by CORS policy, why?"),
        msg("801", "d", "anyone tried the new release candidate yet? curious about speed", 2),
        msg("802", "b", "@usera add CORSMiddleware with allow_origins set to your frontend", 5,
            mentions=["a"]),
    ]
    problems = OfflineAnalyzer().extract(build_conversations(messages))
    (cors,) = [p for p in problems if p.conversation_id == "800"]
    assert cors.context.startswith("add CORSMiddleware")  # the ping addresses, says nothing
    assert "802" in cors.message_ids and not any(p.conversation_id == "802" for p in problems)


@pytest.mark.parametrize(("text", "kind"), [
    ("Any progress on this one?", "follow-up"),
    ("@maintainer when do you expect v3 support to land?", "follow-up"),
    ("is there a tracking issue for the stable release?", "follow-up"),
    ("I'm seeing the same problem. Sad that nobody answered yet.", "follow-up"),
    ("Same here :( has anyone found a workaround for this?", "follow-up"),
    ("Looking forward to this getting merged", "follow-up"),
    ("Any estimate on when this'll ship? Keen to move to the new major.", "follow-up"),
    ("Are there any workarounds for this?", "follow-up"),
    ("Hi @maintainer, this PR looks stalled, is anything blocking it besides time?",
     "follow-up"),
    ("Same issue here. I tracked the commit that introduced the bug: "
     "https://github.com/acme/widget-config/commit/9fe41c2", "follow-up"),
    ("Yes, please support the new major version.", "wish"),
    ("how is it going?", "small-talk"),
])
def test_follow_ups_wishes_and_small_talk_are_noise_even_with_a_question_mark(
        text: str, kind: str) -> None:
    signals = analyse_message(text)
    assert signals.noise == kind
    assert not signals.is_problem


@pytest.mark.parametrize("text", [
    "same issue: `ImportError: cannot import name 'Settings'` after upgrading",
    "Same here, build_config.output_dir is ignored when I pass --watch",
    "same here, see https://example.com/issue/4 — widget.render_all() drops every slot",
    "any progress? the worker still crashes with MemoryError on every large upload and the "
    "retry queue fills up until the whole cluster stops answering requests at all",
])
def test_a_follow_up_that_restates_the_problem_is_kept(text: str) -> None:
    assert analyse_message(text).is_problem


def test_cant_wait_is_praise_not_a_question_or_a_problem() -> None:
    """"Can't wait to …" opens no question ("can" + "'t" met the question opener's word
    boundary) and reports nothing that fails; "can't connect" still does."""
    praise = analyse_message("Lovely library, thanks for all the work. Can't wait for v2 😄")
    assert not praise.question and not praise.is_problem
    assert analyse_message("I can't connect to the dev server from my phone").is_problem
    assert analyse_message("Can I set the port from an env variable?").question


def test_a_problem_that_asks_for_a_workaround_at_its_end_is_kept() -> None:
    """Only a message that opens by asking for a workaround says nothing new; one that
    describes its setup first is a problem asking for one."""
    text = ("On my laptop I run the app inside a VM. Is it possible to open it from my "
            "phone? Is there any workaround for this?")
    assert analyse_message(text).is_problem


def test_a_problem_that_names_a_pull_request_is_kept() -> None:
    text = "This PR sets `rootDir` in the shared config to fix the monorepo parse error"
    assert analyse_message(text).is_problem


@pytest.mark.parametrize("text", [
    "Optional fields are treated as required after the upgrade to the new major version.",
    "The `rewrite` option in the proxy config is not respected by the dev server.",
    "`json_encoders` is deprecated, what replaces it for datetime fields",
    "Variables from my env file are not available inside the config file at all.",
    "This used to work before the upgrade: nested settings merged with the defaults.",
])
def test_issue_style_statements_are_problems(text: str) -> None:
    assert analyse_message(text).is_problem


@pytest.mark.parametrize("text", [
    "After the upgrade our stored records aren't compatible with the new schema classes.",
    "Custom root types are not longer supported, so every saved document needs rewriting.",
    "The plugin does not seem to support kebab-case class names in stylesheets yet.",
    "My websocket requests are never forwarded from the dev port to the backend port.",
    "After every install I have to manually delete the cache folder before starting.",
    "It compiles fine, but the editor flags this as an error on every import line.",
    "Naive timestamps get a timezone attached silently, which trips up our exporter.",
    "Optional arguments became mandatory and I haven't seen this mentioned in the upgrade notes.",
    "Searching the docs could not provide an answer to whether validators see sibling values.",
    "The dev server reloads the whole page every time it starts because of the optimizer.",
    "Secrets from the env file are accessible only during the build, not in the config file.",
])
def test_problem_statements_without_a_question_mark_are_problems(text: str) -> None:
    assert analyse_message(text).is_problem


@pytest.mark.parametrize(("text", "kind"), [
    ("One leftover warning about the strict flag, otherwise 3.1 works like a charm with "
     "the new adapter. thank you!", "acknowledgement"),
    ("The deprecation warning is gone after your patch, thanks a lot", "acknowledgement"),
    ("I'd like to add the nested aliases ticket to the TODO; mixing `extra` keys with "
     "declared fields would be a real improvement.", "roadmap"),
    ("Our team keeps a wishlist; adding `sort_keys` to the schema writer would be a nice "
     "improvement for the generated output diffs.", "roadmap"),
    ("Just out of curiosity, the dump helper can skip unset values, what is the reasoning "
     "for not offering the same for empty lists?", "design-question"),
    ("Why did you decide to drop the plugin hooks from the core package?", "design-question"),
    ("`widget-parser` is deprecated in favour of `@widget/parser`, but `@widget/parser` is "
     "not on the registry. Can you please publish `@widget/parser`?", "maintainer-request"),
    ("Could you please bump the parser to 4.x? The 3.x one still crashes on start.",
     "maintainer-request"),
    ("does anyone else read 'build' as 'bread' before lunch or just me", "social"),
    ("quick poll: semicolons or not? (the formatter decides for me anyway)", "social"),
    ("weekend thread! what are you building that is NOT bundler related?", "social"),
    ("anyone played with the new rust-based checker yet? wondering how fast it is", "social"),
    ("is it just me or does every project now ship three config formats?", "social"),
    ("unrelated but which terminal theme is that in your screenshot?", "social"),
    ("house rules: install errors go to #help, config questions go to #config", "social"),
])
def test_acknowledgements_roadmap_notes_and_design_questions_are_noise(
        text: str, kind: str) -> None:
    signals = analyse_message(text)
    assert signals.noise == kind
    assert not signals.is_problem


def test_a_thank_you_that_still_reports_an_error_is_kept() -> None:
    text = "thanks, but now I get `TypeError: unhashable type: 'dict'` from the loader. thank you"
    assert analyse_message(text).is_problem


def test_the_follow_up_length_is_a_quality_knob() -> None:
    from docloop.quality import QualitySettings

    text = "facing the same issue with the nightly build on windows and on macos too"
    assert analyse_message(text).noise == "follow-up"
    assert analyse_message(text, QualitySettings(follow_up_words=4)).noise != "follow-up"


def test_the_embedding_reads_pasted_code_the_problem_text_drops() -> None:
    report = ("Upgrading to v2 breaks my custom type. How do I port it?\n"
              "```python\nclass Money:\n    def __get_pydantic_core_schema__(cls, source, handler):"
              "\n        ...\n```\nIt raises PydanticSchemaGenerationError.")
    [problem] = OfflineAnalyzer().extract([conv("200", msg("200", "a", report))])
    assert "__get_pydantic_core_schema__" not in problem.text  # prose only, for tickets
    assert problem.body == report
    assert problem.embedding_text.startswith(report)


def test_a_short_prose_problem_is_embedded_as_its_text_with_no_second_copy() -> None:
    [problem] = OfflineAnalyzer().extract([conv(
        "300", msg("300", "a", "How do I set the allowed origins for CORS?"),
        msg("301", "b", "set allow_origins on the CORSMiddleware, it takes a list", 1))])
    assert problem.body == ""
    assert problem.embedding_text == problem.with_answer


@pytest.mark.parametrize("text", [
    "My env variable doesn’t show up in the client build",
    "I can’t get HMR to reload inside docker",
    "The base path for a subfolder deploy？",
    "My env variable doesn´t show up in the client build",
])
def test_typographic_apostrophes_and_full_width_marks_read_as_plain_ones(text: str) -> None:
    """Phones type `doesn’t`; the rules spell `doesn't`, and the message is a problem."""
    assert analyse_message(text).is_problem


def test_typographic_noise_is_still_noise_and_a_question_is_quoted_as_written() -> None:
    assert analyse_message("Thanks! That’s it").noise == "thanks"
    assert analyse_message("I’m facing the same issue").noise == "follow-up"
    problems = OfflineAnalyzer().extract([conv("1", msg(
        "1", "a", "What’s the way to proxy websockets? Mine close at once"))])
    assert problems[0].quotes[0].text.startswith("What’s the way to proxy websockets?")


def test_a_full_width_question_mark_ends_a_sentence() -> None:
    """"…in the build？ I set it in .env …" was one question sentence: a title and quote
    twice as long as the question."""
    text = "Why doesn’t the variable show up in the build？ I set it in .env and it is ignored"
    assert analyse_message(text).question_sentences == [
        "Why doesn’t the variable show up in the build？"]


def test_a_run_of_full_width_marks_and_a_closing_quote_stay_in_their_sentence() -> None:
    assert sentences("为什么？？不行") == ["为什么？？", "不行"]
    assert sentences("Error！！！ what?! ok") == ["Error！！！", "what?!", "ok"]
    assert sentences("「動かない。」と言われた") == ["「動かない。」と言われた"]


def test_a_replys_own_ping_is_not_a_name_to_strip() -> None:
    """A Discord reply lists the author it answers in `mentions` without writing `@name`
    (the recorded type-19 payload): its leading `@dataclass` is code, and stays."""
    from docloop.backends.analyzers.offline import _unpinged

    reply = msg("2", "helper", "@dataclass works here, then call model_rebuild() on it",
                reply_to="1", mentions=["asker"])
    assert _unpinged(reply).startswith("@dataclass works")
    pinged = msg("3", "helper", "@Thomas @dataclass works here", mentions=["thomas"])
    assert _unpinged(pinged) == "@dataclass works here"


FORM_REPORT = (
    "```ts\nexport enum Color {\n  Red = 'red',\n  Green = 'green',\n  Blue = 'blue',\n}\n"
    "console.log(Color.Red, Color.Green, Color.Blue)\n```\n\n"
    "**What did you expect to happen?**\nNo lint errors, the enum is used.\n\n"
    "**What actually happened?**\n```\n  2:3  error  'Red' is assigned a value but never "
    "used  no-unused-vars\n```")


def test_an_issue_forms_headings_are_not_the_users_question() -> None:
    """A report pasted in an issue form's shape: its "**What did you expect to happen?**"
    is the form's, not the user's, so it neither titles, nor is quoted from a long message,
    nor leads the problem text (unrelated reports would share it)."""
    [problem] = OfflineAnalyzer().extract([conv("700", msg("700", "a", FORM_REPORT))])
    assert len(FORM_REPORT) > 280  # quoted by an excerpt, not whole
    assert problem.title == "No lint errors, the enum is used."
    # "**What actually happened?**" leads into the paste: its error line is the quote
    assert [quote.text for quote in problem.quotes] == [
        "2:3  error  'Red' is assigned a value but never used  no-unused-vars"]
    assert "expect to happen" not in problem.text


@pytest.mark.parametrize(("line", "heading"), [
    ("**What did you expect to happen?**", True),
    ("### Steps to reproduce", True),
    ("**Error:**", True),
    ("__Actual behaviour__", True),
    ("# How do I parse JSON into a list of events?", False),  # a heading that asks
    ("**Note**: the build fails on Windows", False),
    ("**it crashes every time**", False),
])
def test_form_headings_are_dropped_from_sentences(line: str, heading: bool) -> None:
    assert (sentences(f"{line}\nThe build fails on CI.") == ["The build fails on CI."]) == heading


def test_a_hostile_heading_line_is_read_in_one_pass() -> None:
    """A `#` line of 200,000 spaces before its last word: the heading pattern once matched
    lazily before optional closing `#`s and backtracked quadratically (1.3 s at 8,000
    spaces, minutes here); its closing `#`s are trimmed apart now."""
    from docloop.text import form_heading

    assert not form_heading("# a" + " " * 200_000 + "b")
    assert form_heading("### Steps to reproduce ###")


def test_remembered_sentences_are_the_computed_ones_and_a_fresh_list_each_time() -> None:
    """`sentences` is remembered per text (`_sentences`): a text split again gives what
    splitting it gives, as a list of its own; a long text is split, not kept."""
    text = "How do I set `a.b`? It fails.\n```\ncode\n```\nSee `x. y` too"
    first = sentences(text)
    first.append("changed")
    assert sentences(text) == list(_sentences.__wrapped__(text)) == first[:-1]
    long = text + " word" * CONTENT_WORDS_LONGEST
    hits = _sentences.cache_info().hits
    assert sentences(long) == sentences(long) == list(_sentences.__wrapped__(long))
    assert _sentences.cache_info().hits == hits
