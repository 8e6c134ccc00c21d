"""An insight's title is the members' own sentence that best names what they share."""

from __future__ import annotations

from datetime import UTC, datetime

from docloop.models import Problem, Quote
from docloop.stages.headline import _candidates, conversation_name, headline, link_name
from docloop.stages.insights import document_frequencies, member_words


def problem(n: int, title: str, *said: str, in_message: bool = False) -> Problem:
    text = " ".join([title, *said])
    return Problem(id=f"p{n}", conversation_id=f"c{n}", title=title, text=text,
                   quotes=[Quote(message_id=f"m{n}", author=f"u{n}", text=s) for s in said],
                   timestamp=datetime(2026, 12, 1, tzinfo=UTC), title_in_message=in_message)


def test_a_greeting_or_a_label_never_becomes_the_title() -> None:
    members = [
        problem(1, "Hi!", "Hi!", "Uncaught ReferenceError: process is not defined in my vite app"),
        problem(2, "webpack :", "webpack :", "process is not defined after moving from webpack"),
        problem(3, "Blank page", "The page is blank and the console says process is not "
                "defined, how do I read env variables?"),
    ]
    title = headline(members, document_frequencies(members), member_words(members))
    assert "process is not defined" in title
    assert title not in ("Hi!", "webpack :")


def test_the_sentence_naming_the_shared_problem_beats_the_representative_opening() -> None:
    members = [
        problem(1, "I am using Vite, which is used with Refine.",
                "I am using Vite, which is used with Refine.",
                "How do I set up the dev server proxy for my backend API?"),
        problem(2, "Proxy question", "The dev server proxy does not forward my API calls."),
        problem(3, "Help", "My API requests are not proxied by the dev server proxy."),
        problem(4, "Other", "Unrelated: how do I change the port of the preview server?"),
    ]
    title = headline(members, document_frequencies(members), member_words(members))
    assert title == "How do I set up the dev server proxy for my backend API?"


def test_a_me_too_sentence_is_not_a_title_and_a_lone_member_keeps_its_own() -> None:
    members = [
        problem(1, "I see the same issue as well.", "I see the same issue as well.",
                "Optional fields are treated as required after upgrading to v2."),
        problem(2, "Optional fields required", "Why are Optional fields required in v2?"),
    ]
    title = headline(members, document_frequencies(members), member_words(members))
    assert "same issue" not in title and "Optional fields" in title
    single = [problem(1, "Fail to build pydantic_core on Termux Android")]
    assert headline(single, document_frequencies(single), member_words(single)) == (
        "Fail to build pydantic_core on Termux Android")


def test_a_me_too_title_gives_way_when_no_candidate_says_something() -> None:
    """A real Pydantic pair: every sentence the candidates read was too short to stand
    alone, and the first member's "I see the same issue as well." became the ticket's title."""
    members = [
        problem(1, "I see the same issue as well.",
                'I see the same issue as well. For now my hack is `.rstrip("/")`.'),
        problem(2, "Which is normal operation?",
                "If you try to rebuild the bar, `Foo` will be rebuilt as well.\n`LazyValue` is "
                "not defined.\n\nWhich is normal operation? Also, is this documented?\nThe "
                "above bug occurred when building complex objects with circular references."),
    ]
    title = headline(members, document_frequencies(members), member_words(members))
    assert title == ("The above bug occurred when building complex objects with circular "
                     "references.")
    pointers = [problem(1, "Same issue here.", "Same issue here."),
                problem(2, "Same problem.", "Same problem."), problem(3, "Any news?", "Any news?")]
    assert headline(pointers, document_frequencies(pointers), member_words(pointers)) == (
        "Any news?")


def test_a_conversation_link_names_what_was_asked_not_the_greeting() -> None:
    greeted = problem(1, "Hi!", "Hi!", "My build fails with a heap out of memory error")
    assert conversation_name(greeted, 80) == "My build fails with a heap out of memory error"
    assert conversation_name(problem(2, "Hi!"), 80) == "Hi!"  # nothing better to say


def test_a_conversation_that_only_pastes_its_error_is_named_by_it() -> None:
    """A real Vite message: a file name, code, "run error:" and the error in a block; its
    ticket bullet read "App.vue"."""
    said = ("App.vue\n```typescript\nconst dir = import.meta.glob('@/assets/*.svg')\n```\n"
            "run error:\n```\n[vite] Internal server error: Invalid glob: \"@/assets/*.svg\" "
            "(resolved: \"src/assets/*.svg\"). It must start with '/' or './'\n```")
    name = conversation_name(problem(1, "App.vue", said), 80)
    assert name.startswith("[vite] Internal server error: Invalid glob")


def test_a_link_named_past_a_lead_in_shows_the_pasted_error() -> None:
    """Real Pydantic and Vite ticket links read "running main.py will result in:" and
    "I recently got the error:"; the error they lead into says what happened."""
    said = ("running main.py will result in:\n```\nTraceback (most recent call last):\n"
            "10:38:19 > pydantic.errors.PydanticUndefinedAnnotation: name 'EventBusConfig' "
            "is not defined\n```")
    lead = problem(1, "running main.py with my models will result in:", said)
    assert link_name(lead, 80).startswith(
        "pydantic.errors.PydanticUndefinedAnnotation: name")
    # an insight's questions keep the reading the match stage was calibrated on
    assert conversation_name(lead, 80) == "running main.py with my models will result in:"
    told = problem(2, "I recently got the error:", "I recently got the error:",
                   "Blocked request. This host is not allowed in my docker setup.")
    assert link_name(told, 80) == (
        "This host is not allowed in my docker setup.")
    # a long message's quote is its lead-in sentence alone; the paste is in its body
    body = ("When I run `yarn run dev` on the staging box I get this output:\n```\n"
            "TypeError: Cannot read properties of undefined (reading 'VITE_HOST')\n```")
    quoted = problem(4, "When I run `yarn run dev` on the staging box I get this output:",
                     "When I run `yarn run dev` on the staging box I get this output:")
    quoted = quoted.model_copy(update={"body": body})
    assert link_name(quoted, 80).startswith(
        "TypeError: Cannot read properties")
    # a lead-in that says something beats a pasted log line that names no error
    gc_log = ("[2291:0x6e3c000] 412305 ms: Mark-Compact 4041.2 -> 4027.8 MB allocation "
              "failure; scavenge might not succeed")
    ci = problem(5, "full-repo lint in CI now dies halfway through:",
                 f"full-repo lint in CI now dies halfway through:\n```\n{gc_log}\n```")
    assert link_name(ci, 80) == (
        "full-repo lint in CI now dies halfway through:")
    alone = problem(3, "I recently got the error with my setup:")
    assert link_name(alone, 80) == (
        "I recently got the error with my setup:")


def test_a_thread_title_the_asker_wrote_is_preferred_over_any_sentence() -> None:
    members = [
        problem(1, "TP-401 on staging but key is set",
                "different key issue: local worker says TP-401 invalid API key but curl works"),
        problem(2, "Why does the worker say TP-401?", "Why does the worker say TP-401 with a "
                "valid API key?"),
    ]
    assert headline(members, document_frequencies(members), member_words(members)) == (
        "TP-401 on staging but key is set")


def test_a_lead_in_is_no_title_whichever_colon_ends_it() -> None:
    """A lead-in to a paste ends with ":" or, typed with a CJK input method, "：" ("webpack
    ："); the title penalised only the first."""
    for colon in (":", "："):
        members = [
            problem(1, "x", f"vite dev server crashes on startup{colon}"),
            problem(2, "y", "vite dev server crashes, help me please with this thing today"),
            problem(3, "z", "on startup my vite dev server crashes every single time I try it"),
        ]
        title = headline(members, document_frequencies(members), member_words(members))
        assert not title.endswith(colon), title


def test_a_sentence_leaning_on_the_one_before_is_not_the_title() -> None:
    """A real Vite ticket was titled "However I output a UMD module and an ES6 module, plus a
    separate bundle with a polyfill in it."."""
    members = [
        problem(1, "x", "However I output a UMD module and an ES6 module with library mode."),
        problem(2, "y", "Library mode fails to output a UMD module with code splitting."),
        problem(3, "z", "I need a UMD module from library mode for old browsers."),
    ]
    title = headline(members, document_frequencies(members), member_words(members))
    assert not title.startswith("However")


def test_code_blocks_are_their_insides_without_the_language_tag() -> None:
    from docloop.text import code_blocks

    said = ("run error:\n```shell\nFATAL ERROR: heap limit\n```\nand ```inline one``` then "
            "```\nopen")
    # a one-line fence around a name is inline code (text._inline_fence), not a block
    assert code_blocks(said) == ["FATAL ERROR: heap limit\n", "open"]


def test_a_name_in_a_one_line_fence_stays_in_the_sentence() -> None:
    from docloop.text import code_blocks, sentences, strip_code

    said = ("Theres' no option to set the ```localIdentName``` for css modules in "
            "```.module.css``` files. Then:\n```js\nmodules: {}\n```")
    assert sentences(said) == ["Theres' no option to set the `localIdentName` for css modules "
                               "in `.module.css` files.", "Then:"]
    assert "modules: {}" not in strip_code(said)
    # a fence on lines of its own is a block, however short
    assert code_blocks("thrown:\n```\nERR! ReferenceError: x\n```") == ["ERR! ReferenceError: x\n"]


def test_a_sentence_never_ends_inside_inline_code() -> None:
    from docloop.text import sentences

    said = ("It was fixed for Astro.glob. Error is `Error: Invalid glob: \"@dir/*.png\" "
            "(resolved: \"@dir/*.png\"). It must start with '/'` and I am stuck.")
    assert sentences(said) == [
        "It was fixed for Astro.glob.",
        "Error is `Error: Invalid glob: \"@dir/*.png\" (resolved: \"@dir/*.png\"). It must "
        "start with '/'` and I am stuck."]


def test_sentences_survive_text_that_imitates_their_placeholder() -> None:
    from docloop.text import sentences

    assert sentences("a \x007\x00 b. `x. y` c") == ["a 7 b.", "`x. y` c"]


def test_the_error_the_members_paste_can_be_the_title() -> None:
    """Real Vite titles were "`vite build` was failing due to `FATAL ERROR: Ineffective
    mark-compacts near heap limit Allocation failed - JavaScript…" (cut) and "According to
    https://vitejs.dev/config/, vite.config.js may use ES module syntax…"; what the members
    share is the error they pasted."""
    heap = "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory"
    long = ("`vite build` was failing due to a long reason that goes on and on about "
            "mark-compacts near the limit and more words than a title can hold")
    members = [
        problem(1, long, f"{long}\n```\n{heap}\n```"),
        problem(2, "I couldn't build the app on my very-low-resource VPS.",
                f"I couldn't build the app on my very-low-resource VPS.\n```\n{heap}\n```"),
        problem(3, "Observed when running the runner container in Docker Compose.",
                f"Observed when running the runner container in Docker Compose.\n```\n"
                f"b8d6ae3d 10:38:19 > {heap}\n```"),
    ]
    assert headline(members, document_frequencies(members), member_words(members)) == heap


def test_an_error_quoted_inline_is_a_title_without_the_sentence_around_it() -> None:
    glob = ("Error: Invalid glob: \"@dir/*.png\" (resolved: \"@dir/*.png\"). It must start "
            "with '/' or './'")
    members = [
        problem(1, "It was fixed for Astro.glob but not for import.meta.glob.",
                f"It was fixed for Astro.glob but not for import.meta.glob. Error is `{glob}`"),
        problem(2, "Invalid glob with an alias", f"run error: `[vite] {glob}`"),
    ]
    title = headline(members, document_frequencies(members), member_words(members))
    assert title.startswith("Error: Invalid glob") or title.startswith("[vite] Error: Invalid")


def test_the_error_two_users_pasted_word_for_word_is_the_title() -> None:
    """Real Vite reports (allowed-hosts): five users, one error, each with their own host.
    Before, the representative member's composed "opening — question" won outright."""
    members = [
        problem(1, "I tried to rebuild my local docker instance of chatgpt-web — How can I "
                "resolve it?", 'Blocked request. This host ("xxx.net") is not allowed.',
                in_message=True),
        problem(2, "Is there a way to specify the authorised hostnames?",
                "Is there a way to specify the authorised hostnames?"),
        problem(3, "I recently got the error:",
                'Blocked request. This host ("meet.127.0.0.1.nip.io") is not allowed.'),
    ]
    title = headline(members, document_frequencies(members), member_words(members))
    assert title == 'Blocked request. This host ("…") is not allowed.'


def test_a_shared_paste_keeps_what_every_copy_has() -> None:
    members = [
        problem(n, f"Report {n}", f"Error: Cannot find module '@vitejs/plugin-react' from "
                f"'{where}' at line 42")
        for n, where in ((1, "/home/ann/app"), (2, "C:/work/site"))
    ]
    title = headline(members, document_frequencies(members), member_words(members))
    assert title == "Error: Cannot find module '@vitejs/plugin-react' from '…' at line 42"


def test_one_users_paste_does_not_override_the_shared_sentence() -> None:
    members = [
        problem(1, "Why does the dev server proxy not forward my API calls?",
                "Why does the dev server proxy not forward my API calls?"),
        problem(2, "I see this:", "I see this:\nError: connect ECONNREFUSED 127.0.0.1:8000"),
        problem(3, "Proxy", "The dev server proxy does not forward API calls to my backend."),
    ]
    title = headline(members, document_frequencies(members), member_words(members))
    assert title == "Why does the dev server proxy not forward my API calls?"


def test_a_lead_in_is_never_the_title_when_its_paste_is_quoted() -> None:
    """A real Pydantic report: the message's "question" is the lead-in "When I use mypy
    plugin for pydantic the error changes to:", absent from the quote (the error another
    lead-in introduces), so it passed for a title someone wrote."""
    members = [
        problem(1, "When I use mypy plugin for pydantic the error changes to:",
                'sample.py:10: error: Unexpected keyword argument "foo" for "Sample"'),
        problem(2, "Mypy says unexpected keyword argument for a field alias",
                "Mypy says unexpected keyword argument for a field alias in my model."),
    ]
    title = headline(members, document_frequencies(members), member_words(members))
    assert not title.endswith(":")
    assert "Unexpected keyword argument" in title or "unexpected keyword argument" in title


def test_a_thread_title_still_beats_a_shared_paste() -> None:
    """A thread title (or a model's) is someone's summary; only the analyzer's own
    composed titles and the members' sentences give way to the shared error."""
    members = [
        problem(1, "Vite 6 blocks my custom domain", "I recently got the error:\nBlocked "
                'request. This host ("a.dev") is not allowed.'),
        problem(2, "Preview server refuses the staging host", "Now I get this:\nBlocked "
                'request. This host ("b.dev") is not allowed.'),
    ]
    title = headline(members, document_frequencies(members), member_words(members))
    assert title in ("Vite 6 blocks my custom domain", "Preview server refuses the staging host")


def test_a_first_sentence_missing_from_the_quote_is_not_taken_for_a_written_title() -> None:
    """A real Vite report: the title is the message's first sentence, the quote the heap
    error its lead-in introduces; the sentence passed for a thread title and beat the error
    the other members pasted."""
    members = [
        problem(1, "When I run the command rake assets:precompile RAILS_ENV=production",
                "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of "
                "memory", in_message=True),
        problem(2, "I couldn't build the app on my VPS.", "I couldn't build the app on my "
                "VPS.\n```\nFATAL ERROR: Ineffective mark-compacts near heap limit Allocation "
                "failed - JavaScript heap out of memory\n```", in_message=True),
    ]
    title = headline(members, document_frequencies(members), member_words(members))
    assert title.startswith("FATAL ERROR:")


def test_a_sentence_leading_into_code_is_a_candidate_only_when_nothing_else_says_something(
) -> None:
    """A real Vite ticket was titled "In vite 5, I am able to use dynamic import in the
    following way:": a CUT penalty was not enough against the words it shares."""
    lead_in = "In vite 5, I am able to use dynamic import of images in the following way:"
    members = [problem(1, lead_in, lead_in, in_message=True),
               problem(2, "Images are undefined after the build",
                       "Images with import.meta.url are undefined after the build.",
                       in_message=True)]
    assert lead_in not in _candidates(members, [None, None])
    assert _candidates(members[:1], [None]) == [lead_in]


def test_the_tail_of_a_sentence_pasted_code_cut_is_not_the_title() -> None:
    """A real Vite ticket was titled "when trying to use a proxy configuration (basically
    like in the docs) I know my cert is legit.": the rest of "I am facing a similar issue
    ```…```" after the code block. A writer who never capitalises keeps their question."""
    cut = ("I am facing a similar issue ```[vite] http proxy error:\n Error: self signed "
           "certificate in certificate chain```\n when trying to use a proxy configuration "
           "(basically like in the docs) I know my cert is legit. It works fine in my "
           "vue-cli project.")
    first = problem(1, "when trying to use a proxy configuration (basically like in the docs) "
                       "I know my cert is legit.", cut, in_message=True)
    members = [
        first,
        problem(2, "x", "The proxy configuration from the docs does not work for me."),
        problem(3, "y", "My requests ignore the proxy configuration like in the docs."),
        problem(4, "z", "I use a self signed cert and the proxy fails."),
    ]
    title = headline(members, document_frequencies(members), member_words(members))
    assert title == "I use a self signed cert and the proxy fails."
    said = "my proxy configuration like in the docs is ignored with a self signed cert."
    lower = [problem(1, said, said, in_message=True), *members[1:]]
    assert headline(lower, document_frequencies(lower), member_words(lower)) == said


def test_a_sentence_opening_with_a_lower_case_name_is_a_sentence() -> None:
    """Only a sentence right after a code block is a tail; one that opens with a tool's
    name ("npm", "pip", "iOS") is whole, whoever wrote it."""
    said = "npm install -g fails with EACCES permission denied."
    members = [
        problem(1, said, "Hi all.", said, in_message=True),
        problem(2, "x", "Does anyone know a fix? It fails with EACCES for me as well on my "
                        "laptop today."),
        problem(3, "y", "Same here with npm install and EACCES, very annoying problem for "
                        "all of us."),
    ]
    assert headline(members, document_frequencies(members), member_words(members)) == said


def test_a_hedge_or_a_label_gives_way_even_when_the_members_share_no_word() -> None:
    """A real Vite ticket was titled "Not 100% sure, but I think this is a casualty of
    having started the project with…": its two members shared no word, so every candidate
    scored nothing and the first member's opening won over the other's pasted error."""
    members = [
        problem(1, "Not 100% sure, but I think this is a casualty of having started the "
                "project with shadcn-svelte", "Not 100% sure, but I think this is a casualty "
                "of having started the project with shadcn-svelte which added a lot of code."),
        problem(2, "Build warning", "I tried to build the app, but I somehow get this error: "
                "Some chunks are larger than 500kb after modification."),
    ]
    title = headline(members, document_frequencies(members), member_words(members))
    assert "Not 100% sure" not in title and "larger than 500kb" in title
    labelled = [problem(1, "example: (using images in the public directory with absolute "
                        "paths)", "example: (using images in the public directory with "
                        "absolute paths)"),
                problem(2, "Images", "Why do images in the public directory break after "
                        "the build with absolute paths?")]
    title = headline(labelled, document_frequencies(labelled), member_words(labelled))
    assert title.startswith("Why do images")


def test_a_hedged_question_and_a_word_that_opens_like_a_hedge_are_no_asides() -> None:
    members = [
        problem(1, "Docs", "Not sure why my env variables are undefined in vite.config.js?"),
        problem(2, "Env", "Maybelline here: env variables are undefined in vite.config.js "
                "after the upgrade, every one of them."),
    ]
    title = headline(members, document_frequencies(members), member_words(members))
    assert title == "Not sure why my env variables are undefined in vite.config.js?"


def test_a_loggers_fields_and_an_editors_source_are_not_the_title() -> None:
    """Real titles: "2024-10-25 11:56:21,216 - fastapi - ERROR - Form data requires …"
    (Python's logging format, fields in either order) and "Parsing error: Cannot read file
    '…'.eslint" (VS Code's problem list appends the source when copied)."""
    form = 'Form data requires "python-multipart" to be installed.'
    members = [
        problem(1, "Clone and run it, getting error:",
                f"Clone and run it, getting error:\n```\n2024-10-25 11:56:21,216 - fastapi "
                f"- ERROR - {form}\n```"),
        problem(2, "Ran on a clean system.",
                f"Ran on a clean system.\n```\nfastapi - 2024-02-29 09:48:04,289 - ERROR - "
                f"{form}\n```"),
    ]
    assert headline(members, document_frequencies(members), member_words(members)) == form
    read = "Parsing error: Cannot read file '{}/tsconfig.json'."
    members = [problem(n, f"I get `{read.format(path)}eslint` in every file",
                       f"I get `{read.format(path)}eslint` in every file")
               for n, path in ((1, "/a"), (2, "/b/c"))]
    title = headline(members, document_frequencies(members), member_words(members))
    assert title.startswith("Parsing error: Cannot read file") and "eslint" not in title


def test_a_linters_line_column_and_severity_leave_a_pasted_line() -> None:
    """ESLint's report line ("5:3  error  'USER' is defined but never used  no-unused-vars")
    titled a typescript-eslint ticket with its position and severity first."""
    from docloop.stages.pastes import shown

    line = "5:3  error  'USER' is defined but never used  no-unused-vars"
    assert shown(line) == "'USER' is defined but never used  no-unused-vars"
    assert shown("12:04 warning Unexpected any") == "Unexpected any"
    assert shown("b8d6ae3d 10:38:19 > Error: boom") == "Error: boom"
    # Node's process id before a warning (a real typescript-eslint paste)
    assert shown("(node:236) DeprecationWarning: The 'x' property is deprecated.") == (
        "DeprecationWarning: The 'x' property is deprecated.")


def test_a_pasted_report_line_titles_an_insight_without_its_position() -> None:
    """Three typescript-eslint users pasted ESLint's report lines; the title showed
    "2:3 error 'START' is assigned a value but never used no-unused-vars"."""
    lines = ["2:3  error  'START' is assigned a value but never used  no-unused-vars",
             "5:3  error  'USER' is defined but never used  no-unused-vars",
             "3:7  error  'A' is defined but never used  no-unused-vars"]
    members = [problem(n, line, line) for n, line in enumerate(lines, start=1)]
    title = headline(members, document_frequencies(members), member_words(members))
    assert "never used" in title and not title[0].isdigit()


def test_a_title_does_not_open_with_its_messages_greeting() -> None:
    """Real typescript-eslint titles read "Hey, i get this warning after updated my
    typescript version …" and "So basically, I wondering now if the warning is incorrect"."""
    said = "Hey, i get this warning after updating the typescript version to 4.8"
    members = [problem(1, said, said, in_message=True),
               problem(2, "the typescript version warning", "the typescript version warning",
                       in_message=True)]
    title = headline(members, document_frequencies(members), member_words(members))
    assert title == "I get this warning after updating the typescript version to 4.8"
    alone = [problem(1, "So basically, the version warning is wrong",
                     "So basically, the version warning is wrong", in_message=True)]
    assert headline(alone, document_frequencies(alone), member_words(alone)) == (
        "The version warning is wrong")
