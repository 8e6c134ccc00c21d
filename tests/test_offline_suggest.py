"""Offline suggestions are grounded in evidence and their patches apply."""

from __future__ import annotations

import re

import pytest

from docloop.backends.analyzers.offline_suggest import (
    listed_terms,
    offline_suggestion,
    user_terms,
)
from docloop.models import DocChunk, Insight, Quote
from docloop.patching import apply_patch
from docloop.text import error_strings, mentions
from tests.helpers import insight

PAGE = """# CORS

Intro text.

## Allowed origins

Set `allow_origins` on the middleware.

```python
# not a heading
app.add_middleware(CORSMiddleware, allow_origins=["*"])
```

## Credentials

Cookies need `allow_credentials`.
"""


def _chunks() -> list[DocChunk]:
    return [DocChunk(id="c1", path="guide/cors.md", url="u", title="CORS",
                     heading="Allowed origins", anchor="allowed-origins",
                     text="Set `allow_origins` on the middleware.")]


def test_edit_patch_applies_and_lands_after_the_section() -> None:
    suggestion = offline_suggestion(insight(), _chunks(), PAGE)
    assert suggestion.kind == "edit"
    assert suggestion.patch is not None
    assert suggestion.patch.startswith("--- a/guide/cors.md\n+++ b/guide/cors.md\n")
    after = apply_patch(PAGE, suggestion.patch)
    assert after.index("How do I allow my frontend origin?") < after.index("## Credentials")
    assert after.index("How do I allow my frontend origin?") > after.index("# not a heading")


def test_terms_users_use_that_the_page_lacks_are_listed() -> None:
    suggestion = offline_suggestion(insight(), _chunks(), PAGE)
    assert "Access-Control-Allow-Origin" in suggestion.text
    assert "Closest existing passage" in suggestion.text


def test_missing_verdict_proposes_a_new_page_without_patch() -> None:
    suggestion = offline_suggestion(insight(verdict="missing", path=None, heading=None), [], None)
    assert suggestion.kind == "new-page"
    assert suggestion.patch is None
    assert "no existing page covers this" in suggestion.text


def test_partial_verdict_proposes_a_new_section() -> None:
    suggestion = offline_suggestion(insight(verdict="partial"), _chunks(), PAGE)
    assert suggestion.kind == "new-section"
    assert suggestion.patch is not None and apply_patch(PAGE, suggestion.patch)


def test_patch_finds_a_section_whose_heading_has_inline_code() -> None:
    page = "# Keys\n\n## How `tp` finds the key\n\nIn this order.\n\n## Rotating keys\n\nText.\n"
    item = insight(heading="How tp finds the key")  # the index stores headings without markup
    suggestion = offline_suggestion(item, _chunks(), page)
    assert suggestion.patch is not None
    after = apply_patch(page, suggestion.patch)
    assert after.index("In this order.") < after.index("How do I allow") < after.index(
        "## Rotating keys")


def test_status_lines_stop_at_the_reason_phrase() -> None:
    assert error_strings("got 405 Method Not Allowed and then a CORS error") == [
        "405 Method Not Allowed"]
    assert error_strings("429 too many requests, slow down") == ["429 too many requests"]
    assert error_strings("401 Not authenticated on /users/me") == ["401 Not authenticated"]


def test_shouted_words_are_not_errno_codes() -> None:
    assert error_strings("EVERY file gets one ERROR at 1:1, then ENOENT") == ["ENOENT"]


def test_pasted_snippets_are_not_terms_but_their_names_are() -> None:
    asked = insight(quotes=("swagger shows `def search(tag: list[str])` as a body, "
                            "and `app.include_router` ignores the prefix",))
    terms = user_terms(asked)
    assert "def search(tag: list[str])" not in terms
    assert "app.include_router" in terms


def test_a_hyphenated_file_name_is_one_term_not_its_tail() -> None:
    asked = insight(quotes=("With docker-compose-local.yaml on Windows, changes to "
                            "my-app.config.ts and vite.config.js are not picked up",))
    terms = user_terms(asked)
    assert {"docker-compose-local.yaml", "my-app.config.ts", "vite.config.js"} <= set(terms)
    assert "local.yaml" not in terms and "app.config.ts" not in terms


def test_a_pasted_name_keeps_its_spelling_and_a_contraction_is_no_term() -> None:
    """A ticket once listed `pydantic.errors.pydanticimporterror` and `didn` as words users
    use that the page never mentions."""
    line = ("pydantic.errors.PydanticImportError: BaseSettings has moved, I didn't know")
    asked = insight(messages=("1", "2", "3"), quotes=(line, line, line))
    terms = user_terms(asked)
    assert "pydantic.errors.PydanticImportError" in terms
    assert "pydantic.errors.pydanticimporterror" not in terms and "didn" not in terms


def test_abbreviations_and_bare_hosts_are_no_terms_and_a_new_page_has_no_page() -> None:
    """Real Vite tickets listed `e.g` and `www.shadcn` as terms, and a `missing` one said
    "the page never mentions" with no page at all."""
    line = "The 404 Not Found comes back on refresh, e.g. on www.shadcn-svelte.com routes, i.e. all"
    asked = insight(verdict="missing", path=None, heading=None, messages=("1", "2", "3"),
                    quotes=(line, line, line))
    terms = user_terms(asked)
    assert "404 Not Found" in terms and "refresh" in terms
    assert not {"e.g", "i.e", "www.shadcn"} & {t.lower() for t in terms}
    text = offline_suggestion(asked, [], None).text
    assert "for the new page" in text and "never mentions" not in text


def test_a_page_mentions_a_dotted_name_when_it_names_its_parts() -> None:
    page = "use the on_event handlers or lifespan".lower()
    assert mentions(page, "app.on_event")
    assert mentions(page, "lifespan")
    assert not mentions(page, "app.dependency_overrides")


def test_an_assignment_is_a_snippet_and_generic_words_are_not_terms() -> None:
    asked = insight(messages=("1", "2", "3"),
                    quotes=("is `max_attempts=1` supposed to stop it? sometimes runs twice",
                            "sometimes twice with max_attempts set, 20 min apart",
                            "twice again, sometimes, after 5 min"))
    terms = user_terms(asked)
    assert "max_attempts" in terms and "twice" in terms
    assert not {"max_attempts=1", "sometimes", "min"} & set(terms)


def test_patch_lands_after_a_setext_section_not_in_its_code() -> None:
    page = ("Setup\n-----\n\nInstall it:\n\n    # a shell comment, not a heading\n"
            "    pip install tp\n\nConfigure\n---------\n\nText.\n")
    suggestion = offline_suggestion(insight(heading="Setup"), _chunks(), page)
    assert suggestion.patch is not None
    after = apply_patch(page, suggestion.patch)
    assert after.index("pip install tp") < after.index("### How do I allow") < after.index(
        "Configure")


def test_the_new_heading_asks_only_what_users_asked() -> None:
    for title, heading in (("RateLimitError kills nightly import.",
                            "RateLimitError kills nightly import"),
                           ("How do I allow CORS for my SPA?", "How do I allow CORS for my SPA?"),
                           ("PayloadTooLargeError with enqueue_many",
                            "PayloadTooLargeError with enqueue\\_many")):
        asked = insight().model_copy(update={"title": title})
        suggestion = offline_suggestion(asked, _chunks(), PAGE)
        assert suggestion.patch is not None
        assert f"+### {heading}\n" in suggestion.patch


def _proposed_heading(title: str) -> str:
    asked = insight().model_copy(update={"title": title})
    suggestion = offline_suggestion(asked, _chunks(), PAGE)
    assert suggestion.patch is not None
    added = [line for line in suggestion.patch.splitlines() if line.startswith("+### ")]
    assert len(added) == 1
    return added[0].removeprefix("+### ")


def test_a_composed_title_is_headed_by_its_subject_not_by_the_question_leaning_on_it() -> None:
    # real Pydantic insight titles read as headings "… — Is this by design or a bug?"
    assert _proposed_heading("Subclass of generic model validate failed — Is this by design "
                             "or a bug?") == "Subclass of generic model validate failed"
    assert _proposed_heading("Installing on raspberry pi — what could be the problem?") == (
        "Installing on raspberry pi")
    # a dash inside the opening stays in it
    assert _proposed_heading("My build fails — only in CI — Is this a bug?") == (
        "My build fails — only in CI")
    # a question that says something of its own keeps the whole title
    assert _proposed_heading("Vite build — how do I inline CSS in library mode for consumers?"
                             ) == "Vite build — how do I inline CSS in library mode for consumers?"


@pytest.mark.parametrize(("title", "heading"), [
    # the marks used to be dropped: `Invalid glob: "dir/.png"`, `model_json_schema does ...`
    pytest.param('Error is `Invalid glob: "@dir/*.png"` in a glob import.',
                 'Error is `Invalid glob: "@dir/*.png"` in a glob import', id="code span"),
    pytest.param("Running `.model_json_schema()` skips computed fields.",
                 "Running `.model_json_schema()` skips computed fields", id="call in a span"),
    # a version inside the heading opens no list: no backslash shown in the page
    pytest.param("The legacy JS API will be removed in Dart Sass 2.0.0.",
                 "The legacy JS API will be removed in Dart Sass 2.0.0", id="version"),
    # a path or glob written without backticks keeps its marks as code (a real Vite title
    # lost them: `Invalid glob: "dir/.png"`); a mention or emphasis is still taken out
    pytest.param('Error: Invalid glob: "@dir/*.png" (resolved: "@dir/*.png").',
                 'Error: Invalid glob: "`@dir/*.png`" (resolved: "`@dir/*.png`")',
                 id="bare glob"),
    pytest.param("Lint src/**/*.ts with @everyone and **bold** only",
                 "Lint `src/**/*.ts` with everyone and bold only", id="mention and emphasis"),
    # a Windows path kept its words but lost its separators: "srccomponentsNavbar.tsx"
    pytest.param('Failed to resolve import "@ui/icons" from "src\\components\\Navbar.tsx". '
                 "Does the file exist?",
                 'Failed to resolve import "`@ui/icons`" from "`src\\components\\Navbar.tsx`". '
                 "Does the file exist?", id="windows path"),
    # an assignment written without backticks keeps its value: a real FastAPI heading read
    # `allow_origins=""` for `allow_origins=["*"]`
    pytest.param('allow_credentials with allow_origins=["*"] breaks CORS.',
                 'allow\\_credentials with `allow_origins=["*"]` breaks CORS', id="assignment"),
    pytest.param("Field(default=[]) is shared between instances",
                 "`Field(default=[])` is shared between instances", id="call"),
    # a decorator and an aliased import path keep their "@" (real FastAPI and Vite
    # headings read `app.on_event("startup")` and "/lib/utils")
    pytest.param('@app.on_event("startup") is deprecated in 0.111',
                 '`@app.on_event("startup")` is deprecated in 0.111', id="decorator"),
    pytest.param('Failed to resolve import "@/lib/utils" from the button',
                 'Failed to resolve import "`@/lib/utils`" from the button', id="aliased path"),
    # an HTML or JSX tag written without backticks stays a tag: a real typescript-eslint
    # heading read `script setup lang="ts"/script`
    pytest.param('In the vue3 file <script setup lang="ts"></script> the rule fails',
                 'In the vue3 file `<script setup lang="ts"></script>` the rule fails',
                 id="html tag"),
    pytest.param("<Suspense> never shows its fallback",
                 "`<Suspense>` never shows its fallback", id="component tag"),
    pytest.param("Promise<void> returned where a void return was expected",
                 "`Promise<void>` returned where a void return was expected", id="generic type"),
    # a comparison is not a tag
    pytest.param("Build time < 5s when x > 3", "Build time 5s when x 3", id="not a tag"),
    # a title cut inside its code span keeps the rest as code
    pytest.param('Error is `Error: Invalid glob: "@dir/*.png"…',
                 'Error is `Error: Invalid glob: "@dir/*.png"`', id="span cut"),
])
def test_the_new_heading_keeps_the_names_users_wrote_as_code(title: str, heading: str) -> None:
    assert _proposed_heading(title) == heading


def test_a_long_heading_ends_at_a_clause_or_a_word_never_with_an_ellipsis() -> None:
    clause = _proposed_heading(
        "Everytime, i build it using `yarn build` (`nuxi build`), i see this warning in the "
        "console — Why does it show it and what can I do about it?")
    assert clause == ("Everytime, i build it using `yarn build` (`nuxi build`), i see this "
                      "warning in the console")
    hyphen = _proposed_heading(
        "The dev server keeps reloading the whole page on every save in docker - what "
        "setting makes HMR work with polling inside the container?")
    assert hyphen == "The dev server keeps reloading the whole page on every save in docker"
    # a clause shorter than half the heading is not where it ends: cut at a word instead
    early = _proposed_heading(
        "According to the docs, vite.config.js may use ES module syntax and will replace the "
        "dirname variable for me in every config file I write")
    assert early.startswith("According to the docs, vite.config.js may use ES module syntax")
    word = _proposed_heading(
        "How to avoid circular imports when using models defined in different modules which "
        "refer to each other and to themselves?")
    assert not word.endswith(("…", "?", " to", " which", " and"))
    assert len(word) <= 100 and word.startswith("How to avoid circular imports")


def test_a_long_heading_cut_at_a_word_ends_before_the_clause_it_cannot_finish() -> None:
    # real typescript-eslint and Vite headings ended "… that require", "… as per"
    relative = _proposed_heading(
        "This is a problem with rules like `@acme/no-floating-promises` that require "
        "`parserServices` to be generated and the project option to be set")
    assert relative == "This is a problem with rules like `@acme/no-floating-promises`"
    dangling = _proposed_heading(
        "My requests are never proxied from `http://localhost:3000` to "
        "`http://localhost:8000` as per the example in the server options")
    assert dangling == ("My requests are never proxied from `http://localhost:3000` to "
                        "`http://localhost:8000`")
    # a cut right after a slash between two phrasings does not end on the slash
    slash = _proposed_heading(
        "CORSMiddleware with credentials and every origin allowed makes the credentialed "
        "CORS requests fail "
        "/ behave unexpectedly")
    assert slash.endswith("CORS requests fail")
    # an opener too early to keep half the heading is not where it ends
    early = _proposed_heading(
        "When I build, the generated chunk for the admin dashboard grows past the size limit "
        "every single time")
    assert early.startswith("When I build, the generated chunk for the admin dashboard grows")


def test_a_heading_does_not_open_with_the_greeting_or_the_word_its_message_opened_with(
        ) -> None:
    # real typescript-eslint and Vite titles: "Hey, i get this warning …", "So basically, …"
    assert _proposed_heading("Hey, i get this warning after updating the parser to 4.8") == (
        "I get this warning after updating the parser to 4.8")
    assert _proposed_heading("So basically, the warning and the docs disagree on the flag") == (
        "The warning and the docs disagree on the flag")
    assert _proposed_heading("And my requests are never proxied to the backend") == (
        "My requests are never proxied to the backend")
    assert _proposed_heading("Hi all! `vite build` drops the worker chunk") == (
        "`vite build` drops the worker chunk")
    # nothing left to head a section: the title stays as written
    assert _proposed_heading("Hey, thanks") == "Hey, thanks"
    # a word that is the subject, not an opener, stays
    assert _proposed_heading("Also-ran plugins are skipped in SSR builds") == (
        "Also-ran plugins are skipped in SSR builds")


def test_a_host_users_only_linked_to_is_not_a_term() -> None:
    """A real Vite ticket listed `mdn.github.io`, the host of the users' deployed sites."""
    deployed = insight(messages=("1", "2", "3"), quotes=(
        "404 https://acme.github.io/assets/index.js after deploying to a subfolder",
        "assets 404 on https://acme.github.io/todo/ with the default base",
        "the built index.html loads /assets/ from the domain root, not the subfolder"))
    terms = {t.lower() for t in listed_terms(deployed)}
    assert "acme.github.io" not in terms
    assert "index.html" in terms  # a name written outside a link stays
    written = insight(messages=("1", "2", "3"), quotes=(
        "acme.github.io serves the app from /todo/ and the assets 404",
        "assets 404 on https://acme.github.io/todo/", "same 404 on acme.github.io"))
    assert "acme.github.io" in {t.lower() for t in listed_terms(written)}


def test_the_new_heading_carries_no_markup_html_or_mention() -> None:
    heading = _proposed_heading("<script>x</script> [a](http://e) **b** @everyone `<b>` ok")
    # a tag is shown as code, which a page renders as text, never as HTML
    assert heading.startswith("`<script>`x`</script>`")
    outside_code = re.sub(r"`[^`]*`", "", heading)
    assert not set("<>[]*@`").intersection(outside_code)
    assert heading.endswith("`<b>` ok")


def test_a_listed_word_counts_once_per_message_and_says_what_not_that_it_failed() -> None:
    """A real Vite ticket listed `regarding` and `usage` as the users' terms: one user's
    sentence was both a quote and a question, so one message counted twice."""
    said = "A deprecation warning is displayed regarding the CJS build of Vite's Node API."
    asked = insight(messages=("1", "2", "3"),
                    quotes=(said, "I get a deprecation warning regarding CJS in dev",
                            "The CJS deprecation warning again"))
    asked = asked.model_copy(update={"questions": [said, "The CJS deprecation warning again"]})
    terms = {t.lower() for t in listed_terms(asked)}
    assert "deprecation" in terms and "warning" in terms
    assert "regarding" not in terms
    failing = insight(messages=("1", "2", "3"), quotes=(
        "FATAL ERROR: heap limit, the build failed", "build failed with a heap error",
        "heap error again, failed build"))
    failing_terms = {t.lower() for t in listed_terms(failing)}
    assert {"heap", "build"} <= failing_terms
    assert not {"error", "failed", "fatal"} & failing_terms
    assert "failed" in {t.lower() for t in user_terms(failing)}  # the verdict's reading
    listed = next(line for line in offline_suggestion(asked, _chunks(), PAGE).text.splitlines()
                  if line.startswith("Terms and errors"))
    assert "`deprecation`" in listed and "regarding" not in listed


def test_a_build_hash_and_an_address_pattern_are_no_terms() -> None:
    """Real tickets listed `sABYHyHG` (from `index-sABYHyHG.js`) and `x.x.x.x`."""
    line = "GET /assets/index-sABYHyHG.js 404 from x.x.x.x on my iPad, vite.svg too"
    terms = user_terms(insight(messages=("1",), quotes=(line,)))
    assert "sABYHyHG" not in terms and "x.x.x.x" not in terms
    assert "iPad" in terms and "vite.svg" in terms


def test_a_camel_case_name_with_a_short_word_in_it_is_a_name_not_a_hash() -> None:
    """A real typescript-eslint ticket listed `identifiertokeywordkind` for the
    `identifierToKeywordKind` three users pasted: its `ToK` read as a hash's mixed case."""
    line = ("Use 'identifierToKeywordKind(identifier)' instead, or `useInView` and "
            "`toBeInTheDocument`")
    terms = user_terms(insight(messages=("1",), quotes=(line,)))
    assert {"identifierToKeywordKind", "useInView", "toBeInTheDocument"} <= set(terms)
    assert "identifiertokeywordkind" not in terms


def test_what_users_asked_leaves_out_lead_ins_to_a_paste() -> None:
    """Real tickets listed "running main.py will result in:" among what users asked."""
    asked = insight().model_copy(update={"questions": [
        "running main.py will result in:", "Why is ModelB not defined after model_rebuild?",
        "I recently got the error:", "How do I avoid circular imports between models?"]})
    text = offline_suggestion(asked, _chunks(), PAGE).text
    bullets = [line for line in text.splitlines() if line.startswith("- ")]
    assert bullets == ['- "Why is ModelB not defined after model\\_rebuild?"',
                       '- "How do I avoid circular imports between models?"']
    only = insight().model_copy(update={"questions": ["I recently got the error:"]})
    assert '- "I recently got the error:"' in offline_suggestion(only, _chunks(), PAGE).text


def test_a_bullet_that_opens_with_a_version_shows_no_backslash() -> None:
    """A real Pydantic bullet read "2\\.10: question about needing model rebuild": the
    quote sits after `- "`, where "2." opens no list, so nothing needs escaping."""
    asked = insight().model_copy(update={"questions": [
        "2.10: question about needing model rebuild with circular types."]})
    text = offline_suggestion(asked, _chunks(), PAGE).text
    assert '- "2.10: question about needing model rebuild with circular types."' in text


def test_the_users_own_machine_is_no_term_for_the_docs() -> None:
    """A real Vite ticket listed `http://localhost:3000/`, `http://localhost:3000` and
    `http://localhost:8000` among the terms the page should mention."""
    quotes = ("And both requests are issued to the dev server, `http://localhost:3000/` here.",
              "My requests are never proxied from `http://localhost:3000` to "
              "`http://localhost:8000` and `pathRewrite` is ignored.",
              "The `rewrite` option of `server.proxy` is ignored for `http://192.168.1.20:5173` "
              "and `https://api.example.com/v1/`, also `https://api.example.com/v1`.")
    terms = listed_terms(insight(messages=("1", "2", "3"), quotes=quotes))
    assert not [t for t in terms if "localhost" in t or "192.168" in t]
    assert "pathRewrite" in terms and "server.proxy" in terms
    assert [t.rstrip("/") for t in terms].count("https://api.example.com/v1") == 1


def test_names_the_user_made_are_no_terms_for_the_docs() -> None:
    """Real Pydantic tickets listed `RegisterInfoBody` (the user's class) and `sample_v1`
    (the user's file, from `sample_v1.py:10: error: …`) among the terms the page never
    mentions."""
    quotes = ("like this: ```python\nclass RegisterInfoBody(BaseModel):\n    username: str = "
              "Field(..., min_length=7)\n```",
              'sample_v1.py:10: error: Unexpected keyword argument "foo" for "Sample"',
              "Is `min_length` ignored when `RegisterInfoBody` is built with an alias?")
    terms = listed_terms(insight(messages=("1", "2", "3"), quotes=quotes))
    assert "RegisterInfoBody" not in terms and "sample_v1" not in terms
    assert "min_length" in terms and "BaseModel" in terms


def test_a_dotted_file_name_in_a_trace_drops_only_itself() -> None:
    """`vite.config.js:12:5` is the user's file, but "config", the word, stays a term."""
    quotes = ("The config is ignored, see vite.config.js:12:5 in the trace.",
              "My config for `server.proxy` is ignored in dev.",
              "The config `server.proxy` never applies.")
    terms = listed_terms(insight(messages=("1", "2", "3"), quotes=quotes))
    assert "config" in terms and "server.proxy" in terms


def _said_by(*said: tuple[str, str]) -> Insight:
    """An insight whose quotes are (author, text) pairs."""
    base = insight(messages=tuple(str(n) for n in range(len(said))))
    return base.model_copy(update={"quotes": [
        Quote(message_id=str(n), author=author, text=text)
        for n, (author, text) in enumerate(said)]})


def test_one_users_files_paths_and_hosts_are_not_the_users_terms() -> None:
    """A real Vite ticket asked the writer to mention `headphone-1.jpg`, another `xxx.net`
    and `test.local`: one user's image, host and domain. The verdict's reading keeps them."""
    listed = _said_by(
        ("ann", "My `item.img` path '@/assets/headphone-1.jpg' breaks in build, see "
                "vite.config.ts and `src\\util\\img.ts`, like `@vitejs/plugin-react`"),
        ("bob", 'Blocked request. This host ("xxx.net") is not allowed, domain `test.local`'),
        ("cat", "vite.config.ts has base set; `./src/util.ts` builds the URL, `response.json` "
                "fails, `next/image` too, on mytest.local"),
        ("ann", "headphone-1.jpg again, from the same user"))
    terms = set(listed_terms(listed))
    assert not {"headphone-1.jpg", "xxx.net", "test.local", "./src/util.ts",
                "src\\util\\img.ts"} & terms  # one user each (ann twice is still one)
    assert {"vite.config.ts", "item.img", "response.json", "@vitejs/plugin-react",
            "next/image"} <= terms  # two users' file; names; packages
    assert "headphone-1.jpg" in user_terms(listed)  # the match stage reads every name


def test_the_proposed_change_names_the_topic_as_its_heading_reads() -> None:
    """A real Pydantic ticket proposed 'add a short "Given a Pydantic model declaration for
    which … in model config, Mypy…" note' and '"No more parse_raw_as in Pydantic v2 — Is
    there a function for this?" note'."""
    asked = insight().model_copy(update={
        "title": "No more parse_raw_as in Pydantic v2 — Is there a function for this?"})
    proposed = next(line for line in offline_suggestion(asked, _chunks(), PAGE).text
                    .splitlines() if line.startswith("Proposed change"))
    assert 'add a short "No more parse\\_raw\\_as in Pydantic v2" note' in proposed
    long = insight().model_copy(update={"title": "Given a Pydantic model declaration for "
                                        "which `allow_population_by_field_name` is set to "
                                        "`True` in model config, Mypy reports a missing "
                                        "named argument"[:119] + "…"})
    proposed = next(line for line in offline_suggestion(long, _chunks(), PAGE).text
                    .splitlines() if line.startswith("Proposed change"))
    assert "…" not in proposed


def test_a_title_cut_before_a_long_word_heads_without_its_ellipsis() -> None:
    assert _proposed_heading("Vite fails to resolve the import of…") == (
        "Vite fails to resolve the import of")
    asked = insight().model_copy(update={"title": "!!!"})
    proposed = next(line for line in offline_suggestion(asked, _chunks(), PAGE).text
                    .splitlines() if line.startswith("Proposed change"))
    assert '"!!!"' in proposed  # a title with no word left is named as written


def test_framework_files_and_routes_one_user_names_stay_listed() -> None:
    listed = set(listed_terms(_said_by(
        ("ann", "My pyproject.toml and docker-compose.yml, and /docs shows nothing"),
        ("bob", "arc.png is mine, and so is ./src/app.ts"),
        ("cy", "requirements.txt pins it, settings.py and urls.py load it, main.py runs it"),
        ("di", "setup.py, robots.txt and next-env.d.ts were generated"))))
    assert {"pyproject.toml", "docker-compose.yml", "requirements.txt", "settings.py",
            "urls.py", "main.py", "setup.py", "robots.txt", "next-env.d.ts"} <= listed
    assert not {"arc.png", "./src/app.ts"} & listed


def test_one_users_own_names_the_docs_never_use_are_not_listed() -> None:
    """Real Pydantic and Vite tickets asked the writer to mention `EventBusConfig` and
    `RootConfig` (names in one user's pasted error), `param_value`, `imod_coupler`,
    `MyProject` (a shell prompt's folder) and `redArrow`: one user's own code. Names the
    docs use, two users' names, exception and deprecation classes and error lines stay."""
    listed = _said_by(
        ("ann", "`RootConfig` is not fully defined; you should define `EventBusConfig`, "
                "then raise ValueError. ~/MyProject $ pip install, `min_length` too"),
        ("bob", "param_value.model_dump() drops `styles.redArrow` with `model_dump_json`, "
                "a PydanticDeprecatedSince20 from imod_coupler; ReferenceError: x"),
        ("cat", "`model_dump_json` again, and `localsConvention`"))
    docs = {"min_length", "localsconvention"}
    known = set(listed_terms(listed, lambda name: name.lower() in docs))
    assert not {"RootConfig", "EventBusConfig", "MyProject", "param_value", "imod_coupler",
                "styles.redArrow"} & known
    assert {"min_length", "model_dump_json", "PydanticDeprecatedSince20", "ReferenceError",
            "localsConvention"} <= known
    unknown = set(listed_terms(listed))  # no docs index: nothing is known to be theirs
    assert {"RootConfig", "EventBusConfig", "param_value"} <= unknown


def test_a_plural_of_a_name_the_page_mentions_is_mentioned() -> None:
    """A real ticket asked the page on `computed_field` to mention `computed_fields`."""
    asked = _said_by(("ann", "`computed_fields` are not in the schema"),
                     ("bob", "my `BaseModels` lose their `computed_fields`"))
    page = [DocChunk(id="c1", path="concepts/fields.md", url="u", title="Fields",
                     heading="Allowed origins", anchor="allowed-origins",
                     text="The `computed_field` decorator works on a `BaseModel`.")]
    text = offline_suggestion(asked, page, None).text
    assert "computed_fields" not in text.split("Closest existing passage")[0]
    assert "BaseModels" not in text


def test_a_section_added_at_the_page_end_goes_above_its_link_definitions() -> None:
    """A real Pydantic ticket's patch for the last section of `concepts/fields.md` added
    the new section below the page's `[Models]: models.md` definitions."""
    page = ("# Fields\n\n## Computed fields\n\nUse [`computed_field`][cf] with [Models].\n\n"
            "[cf]: api.md#computed_field\n[Models]: models.md \"Models\"\n"
            "*[JSON]: JavaScript Object Notation\n")
    item = insight(heading="Computed fields")
    after = apply_patch(page, offline_suggestion(item, _chunks(), page).patch or "")
    assert (after.index("with [Models].") < after.index("How do I allow")
            < after.index("[cf]: api.md"))
    assert after.endswith("*[JSON]: JavaScript Object Notation\n")
    footnote = "# Fields\n\n## Notes\n\nSee this.[^1]\n\n[^1]: The note's own text.\n"
    after = apply_patch(footnote, offline_suggestion(insight(heading="Notes"), _chunks(),
                                                     footnote).patch or "")
    assert after.index("The note's own text.") < after.index("How do I allow")


def test_the_closest_passage_skips_a_box_of_links_and_the_sites_anchor_markup() -> None:
    """Real Pydantic tickets quoted "Api: API Documentation / [`computed_field`][…]<br>"
    as the closest passage, and `[](){#modelmodel_dump}` inside one."""
    text = ("Api: API Documentation\n[`computed_field`][pydantic.fields.computed_field]<br>\n"
            "The [`computed_field`][pydantic.fields.computed_field] decorator includes "
            "properties.\n[](){#modelmodel_dump}\nUse `model_dump` for a dict.")
    chunk = DocChunk(id="c1", path="concepts/fields.md", url="u", title="Fields",
                     heading="Allowed origins", anchor="allowed-origins", text=text)
    shown = offline_suggestion(insight(), [chunk], None).text
    passage = shown.split("Closest existing passage:\n")[1].split("\nProposed change")[0]
    assert passage == ("> The [`computed_field`][pydantic.fields.computed_field] decorator "
                       "includes properties.\n> Use `model_dump` for a dict.")
    tip = DocChunk(id="c2", path="a.md", url="u", title="A", heading="Allowed origins",
                   anchor="allowed-origins", text="Tip:\nRead the [alias page](alias.md) too.")
    assert "> Tip:\n> Read the [alias page](alias.md) too." in offline_suggestion(
        insight(), [tip], None).text  # a box that says something stays


def test_a_word_ending_in_s_is_no_plural_and_error_classes_and_codes_stay() -> None:
    """A review found `Redis`, `Headers` and `req.params` counted as mentioned by a page
    saying "redirect", "header" and "parameter", and one user's `OSError`, `EADDRINUSE`
    and `ERR_REQUIRE_ESM` left out as their own names."""
    asked = _said_by(("ann", "`Redis` and `Headers` with `req.params`"),
                     ("bob", "`Redis` and `Headers` with `req.params`"),
                     ("cat", "OSError, then EADDRINUSE and ERR_REQUIRE_ESM, and HTTPError"))
    page = [DocChunk(id="c1", path="a.md", url="u", title="A", heading="Allowed origins",
                     anchor="allowed-origins", text="A redirect with `server.http`, a "
                     "header and a parameter.")]
    text = offline_suggestion(asked, page, None, lambda name: False).text
    listed = next(line for line in text.splitlines() if line.startswith("Terms and errors"))
    for term in ("Redis", "Headers", "req.params", "OSError", "EADDRINUSE",
                 "ERR_REQUIRE_ESM", "HTTPError"):
        assert f"`{term}`" in listed, term


def test_a_name_two_questions_use_is_the_users_word() -> None:
    """Questions no quote repeats are voices too: a name only questions use was left out
    as one user's when only the quotes' authors were counted."""
    asked = _said_by(("ann", "Jobs stop after three tries."), ("bob", "Retries give up."))
    asked = asked.model_copy(update={"questions": [
        "Is QueueWorker the setting to raise?", "Why does QueueWorker stay at 3?"]})
    assert "QueueWorker" in listed_terms(asked, lambda name: False)
    alone = asked.model_copy(update={"questions": ["Is QueueWorker the setting to raise?"]})
    assert "QueueWorker" not in listed_terms(alone, lambda name: False)


def test_the_passage_keeps_lists_of_names_code_and_list_links() -> None:
    """A review found a list of code names, an opening fence and a list item's link dropped
    as "only links", and `<br>` gluing two words."""
    for text in ("* `pydantic.ConstrainedBytes`\n* `ConstrainedStr`\nText",
                 "```\nMIT License\n```", "- [TypeScript documentation](u)\nShould be set",
                 "`json` returns strings<br>`python` too\n```html\na<br>b\n```"):
        chunk = DocChunk(id="c1", path="a.md", url="u", title="A", heading="Allowed origins",
                         anchor="allowed-origins", text=text)
        shown = offline_suggestion(insight(), [chunk], None).text
        passage = shown.split("Closest existing passage:\n")[1].split("\nProposed change")[0]
        expected = text.replace("strings<br>", "strings ")
        assert passage == "> " + expected.replace("\n", "\n> ")


def test_a_shorter_fence_inside_a_longer_one_is_code_in_the_passage() -> None:
    """A four-backtick fence that shows a three-backtick one (docs about Markdown) was
    taken as closed at the inner fence: the code after it was rewritten as prose and the
    prose after the real end kept as code."""
    text = "````md\nEnd a block with:\n```\na<br>b\n````\nAfter<br>this."
    chunk = DocChunk(id="c1", path="a.md", url="u", title="A", heading="Allowed origins",
                     anchor="allowed-origins", text=text)
    shown = offline_suggestion(insight(), [chunk], None).text
    passage = shown.split("Closest existing passage:\n")[1].split("\nProposed change")[0]
    assert "> a<br>b" in passage and "> After this." in passage


def test_a_section_goes_above_the_definitions_even_when_its_heading_is_gone() -> None:
    page = "# Fields\n\nText.\n\n[cf]: api.md\n"
    after = apply_patch(page, offline_suggestion(insight(heading="No such heading"),
                                                 _chunks(), page).patch or "")
    assert after.index("Text.") < after.index("How do I allow") < after.index("[cf]: api.md")
    prose = "# Fields\n\n## Notes\n\nText.\n\n[Note]: this matters a lot\n"
    after = apply_patch(prose, offline_suggestion(insight(heading="Notes"), _chunks(),
                                                  prose).patch or "")
    assert after.index("this matters a lot") < after.index("How do I allow")
    fenced = "# Fields\n\n## Notes\n\nText.\n\n```ini\n[section]: value\n"
    after = apply_patch(fenced, offline_suggestion(insight(heading="Notes"), _chunks(),
                                                   fenced).patch or "")
    assert after.index("[section]: value") < after.index("How do I allow")
    nested = "# Fields\n\n## Notes\n\n````md\n```\n````\n\n[cf]: api.md\n"
    after = apply_patch(nested, offline_suggestion(insight(heading="Notes"), _chunks(),
                                                   nested).patch or "")
    assert after.index("````\n\n### How do I allow") < after.index("[cf]: api.md")


def test_what_users_asked_shows_a_hedge_after_the_problems() -> None:
    """A real Vite ticket listed "Not 100% sure, but I think this is a casualty of…" first
    under "What users asked", above the error the other user hit."""
    asked = insight().model_copy(update={"questions": [
        "Not 100% sure, but I think this is a casualty of the template I started with.",
        "Some chunks are larger than 500kb after modification."]})
    lines = offline_suggestion(asked, _chunks(), PAGE).text.splitlines()
    shown = lines[lines.index(next(line for line in lines if line.startswith("What users")))
                  + 1:][:2]
    assert shown[0].startswith('- "Some chunks') and shown[1].startswith('- "Not 100%')


def test_the_error_users_pasted_is_listed_whole_and_its_ordinary_words_are_not() -> None:
    """A real typescript-eslint ticket asked the writer to mention `definition` and `found`,
    the ordinary words of the "Definition for rule … was not found" that three users
    pasted, and another `longer` and `since` of a DeprecationError."""
    asked = _said_by(
        ("ann", "1:1  error  Definition for rule '@typescript-eslint/no-foo' was not found"),
        ("bob", "`eslint` fails with `Definition for rule '@typescript-eslint/bar' was not found`"),
        ("cat", "> Parsing error: Definition for rule '@typescript-eslint/baz' was not found"),
        ("dan", "Definition for rule 'x' was not found after the upgrade, the upgrade broke it"),
    ).model_copy(update={"title": "Definition for rule '…' was not found"})
    listed = listed_terms(asked, lambda name: True)
    assert listed[0] == "Definition for rule '…' was not found"
    assert not {"definition", "found", "rule"} & {t.lower() for t in listed}
    spoken = _said_by(*[(who, "After the upgrade: `Definition for rule 'x' was not found`")
                        for who in ("ann", "bob", "cat")])
    assert "upgrade" in listed_terms(spoken, lambda name: True)  # their own word stays


def test_a_cut_title_lists_the_whole_pasted_error() -> None:
    """A review found an error over twice a cut title's length never listed."""
    error = ("DeprecationError: 'originalKeywordKind' has been deprecated since v5.0.0 and can "
             "no longer be used. Use 'identifierToKeywordKind(identifier)' instead. See "
             "https://typescript-eslint.io/blog for the details of what changed and why.")
    asked = _said_by(("ann", f"Lint:\n```\nb8d6ae3d 10:38:19 > {error}\n```"),
                     ("bob", f"With TS 5.2:\n`{error}`"), ("cat", error))
    cut = asked.model_copy(update={"title": error[:80] + "…"})
    listed = listed_terms(cut, lambda name: True)
    assert listed[0].startswith(error[:150]) and listed[0].endswith("…")
    assert len(listed[0]) <= 200 and "longer" not in listed and "since" not in listed
    said = asked.model_copy(update={"title": "How do I upgrade the parser?"})
    assert error not in listed_terms(said, lambda name: True)  # a title nobody pasted


def test_an_mdx_page_gets_jsx_comments_its_build_accepts() -> None:
    """A patch for a typescript-eslint (Docusaurus 3) page added `<!-- -->` notes, which
    MDX 2 and later reject: applying it broke the docs build."""
    page = "# Origins\n\n{/* prettier-ignore */}\n\n## Allowed origins\n\nSet them.\n"
    item = insight(path="guide/cors.mdx")
    after = apply_patch(page, offline_suggestion(item, _chunks(), page).patch or "")
    assert "<!--" not in after and "{/* docloop ins_a: 2 users asked this." in after
    assert "{/* Mention the words users use: " in after
    older = page.replace("{/* prettier-ignore */}", "<!-- prettier-ignore -->")
    after = apply_patch(older, offline_suggestion(item, _chunks(), older).patch or "")
    assert "<!-- docloop ins_a" in after and "{/*" not in after  # the page's own kind
    plain = apply_patch(page, offline_suggestion(insight(), _chunks(), page).patch or "")
    assert "<!-- docloop ins_a" in plain  # a Markdown page


def test_a_success_status_from_an_access_log_is_no_term() -> None:
    """A real FastAPI ticket asked the writer to mention `200 OK`, from a pasted uvicorn
    access log line beside the `404 Not Found` that was the problem."""
    log = ('INFO: 172.29.0.5:45328 - "GET /api/items HTTP/1.1" 200 OK\n'
           'INFO: 172.29.0.9:45668 - "GET /api/api/items HTTP/1.0" 404 Not Found')
    listed = listed_terms(_said_by(("ann", log), ("bob", "Behind the proxy I get 404 Not Found")),
                          lambda name: True)
    assert "404 Not Found" in listed and "200 OK" not in listed


def test_a_page_that_names_the_error_around_its_variables_mentions_it() -> None:
    """A real typescript-eslint ticket said its page never mentions "Definition for rule
    '@typescript-eslint/consistent-type-exports' was not found", on a page headed "Rules
    Not Found (Definition for rule ... was not found)"."""
    error = "Definition for rule '@typescript-eslint/consistent-type-exports' was not found"
    asked = _said_by(("ann", f"`{error}`"), ("bob", f"`{error}`")).model_copy(
        update={"title": error})
    page = [DocChunk(id="c1", path="a.md", url="u", title="A", heading="Allowed origins",
                     anchor="allowed-origins",
                     text="## Rules Not Found (Definition for rule ... was not found)")]
    assert error not in offline_suggestion(asked, page, None, lambda name: True).text
    other = [page[0].model_copy(update={"text": "## Rules are defined by plugins"})]
    assert error in offline_suggestion(asked, other, None, lambda name: True).text


def test_a_title_with_quoted_cuts_is_matched_around_them() -> None:
    """The title users' copies differ in reads `'…'` where the rule names were; a review
    found the quotes around the cut kept as words (and the text between two cuts read as one
    quoted string), so the page naming the error around its variables no longer counted."""
    title = "Definition for rule '…' was not found"
    said = ("`Definition for rule '@typescript-eslint/a' was not found`",
            "`Definition for rule '@typescript-eslint/b' was not found`")
    asked = _said_by(("ann", said[0]), ("bob", said[1])).model_copy(update={"title": title})
    page = [DocChunk(id="c1", path="a.md", url="u", title="A", heading="Rules", anchor="rules",
                     text="## Rules Not Found (Definition for rule ... was not found)")]
    assert listed_terms(asked, lambda name: True) == [title]
    never = "never mentions: `" + title
    assert never not in offline_suggestion(asked, page, None, lambda name: True).text
    elsewhere = [page[0].model_copy(update={"text": "Modules resolve from node_modules"})]
    assert never in offline_suggestion(asked, elsewhere, None, lambda name: True).text
    version = "Error: Vite 5.0.1 cannot resolve the entry module"
    asked = _said_by(("ann", f"`{version}`"), ("bob", "`Error: Vite 5.2.0 cannot resolve the "
                                                      "entry module`")).model_copy(
        update={"title": "Error: Vite … cannot resolve the entry module"})
    page = [page[0].model_copy(update={"text": "Error: Vite 6 cannot resolve the entry module"})]
    assert "never mentions" not in offline_suggestion(asked, page, None, lambda n: True).text


def test_a_crafted_title_or_error_is_matched_by_plain_searches() -> None:
    """A review found the title's `…` read as `.*?` backtracking for minutes on a crafted
    title (`a…a…a…`) and error, and a page checked the same way against a long text."""
    said = "Error hydrating the page " + "a" * 250
    asked = _said_by(("ann", said), ("bob", said)).model_copy(
        update={"title": "Error hydrating the page " + "a…" * 8 + " zq"})
    assert asked.title not in listed_terms(asked, lambda name: True)
    hostile = "Error hydrating " + "the e " * 12 + " not found xyzzy"
    page = [DocChunk(id="c1", path="a.md", url="u", title="A", heading="Allowed origins",
                     anchor="allowed-origins", text="the e " * 5000)]
    asked = asked.model_copy(update={"title": hostile})
    assert offline_suggestion(asked, page, None, lambda name: True).text


def test_an_error_pasted_in_a_code_block_or_after_a_tools_tag_is_an_error() -> None:
    """A review found `Uncaught TypeError: …` pasted in code blocks, `[vite] Internal server
    error: …` and `✘ [ERROR] …` not read as pasted errors, and a user's "Error handling
    with my own handlers: how do I…?" read as one."""
    error = "Uncaught TypeError: Cannot read properties of undefined (reading 'map')"
    asked = _said_by(*[(who, f"After build:\n```\n{error}\n    at main.js:1\n```")
                       for who in ("ann", "bob", "cat")]).model_copy(update={"title": error})
    listed = listed_terms(asked, lambda name: True)
    assert listed[0] == error and "properties" not in listed and "read" not in listed
    for line, title in (("[vite] Internal server error: Failed to resolve import 'x' from "
                         "'src/a.ts'", "Internal server error: Failed to resolve import"),
                        ("✘ [ERROR] Failed to resolve entry for package \"x\"", "Failed "
                         "to resolve entry for package \"x\"")):
        pasted = _said_by(("ann", line), ("bob", line)).model_copy(update={"title": title})
        assert listed_terms(pasted, lambda name: True)[0] == title, line
    own = "Error handling with custom handlers: how do I return my own body?"
    spoken = _said_by(("ann", own), ("bob", own)).model_copy(update={"title": own})
    assert own not in listed_terms(spoken, lambda name: True)


def test_a_code_block_ends_where_the_chat_closes_it() -> None:
    """A review found a block closed at the end of its code line (as Discord renders it) read
    by the docs' rules, open to the end: the users' next sentence became a pasted error and
    its words left the term list, while the block's language tag (`py`) was listed."""
    error = "ValueError: invalid literal for int() with base 10: 'abc'"
    text = f"```py\n{error}```\nafter that the server keeps failing on startup with my config"
    asked = _said_by(*[(who, text) for who in ("ann", "bob", "cat")]).model_copy(
        update={"title": error})
    listed = listed_terms(asked, lambda name: True)
    assert listed[0] == error and "startup" in listed and "py" not in listed


def test_a_hash_with_a_word_like_run_is_still_a_hash() -> None:
    """A review found `cuzPrR2B` and `xlxBCwMm` (random build hashes) passing as names once
    three lower-case letters made a name."""
    terms = user_terms(insight(messages=("1",), quotes=(
        "GET /assets/index-cuzPrR2B.js and index-xlxBCwMm.js 404, then DkEjHaQz.css",)))
    assert not {"cuzPrR2B", "xlxBCwMm", "DkEjHaQz"} & set(terms)


def test_an_html_comment_in_an_mdx_pages_code_example_is_not_the_pages_kind() -> None:
    page = ("# Origins\n\n```html\n<!-- allowed origins -->\n```\n\n## Allowed origins\n\n"
            "Set them.\n")
    after = apply_patch(page, offline_suggestion(insight(path="guide/cors.mdx"), _chunks(),
                                                 page).patch or "")
    assert "{/* docloop ins_a" in after and after.count("<!--") == 1


def test_a_word_the_page_says_only_in_a_heading_is_mentioned() -> None:
    """A FastAPI ticket listed `deprecated` as a term the page never mentions, on the page
    whose section is headed "Alternative Events (deprecated)": a chunk's text leaves its
    heading out, and the page was read from the chunks' texts alone."""
    line = "on_event is deprecated, the startup handler warns: DeprecationWarning"
    asked = insight(messages=("1", "2", "3"), quotes=(line, line, line))
    page = [DocChunk(id="c1", path="guide/cors.md", url="u", title="Events",
                     heading="Alternative Events (deprecated)",
                     heading_path=["Events", "Alternative Events (deprecated)"],
                     anchor="allowed-origins", text="Declare a handler for the startup event.")]
    text = offline_suggestion(asked, page, None).text
    listed = text.split("never mentions:", 1)[1].split("\n", 1)[0]
    assert "`deprecated`" not in listed
    assert "DeprecationWarning" in listed


def test_a_page_text_puts_each_section_under_its_heading_once() -> None:
    from docloop.models import page_text

    first = DocChunk(id="c1", path="a.md", url="u", title="A", heading="Setup",
                     heading_path=["A", "Setup"], text="part one")
    second = first.model_copy(update={"id": "c2", "text": "part two"})
    top = DocChunk(id="c0", path="a.md", url="u", title="A", heading="A", heading_path=["A"],
                   text="intro")
    assert page_text([top, first, second]) == "# A\n\nintro\n\n## Setup\n\npart one\n\npart two"


def test_a_new_page_is_not_asked_to_name_the_product() -> None:
    """A FastAPI `missing` ticket asked the new page to answer users "in their words:
    `FastAPI`": every page says the product's name, so a term most pages use is left out
    of a new page's list, while the users' own words stay."""
    line = "How do I rate-limit a Tidepool endpoint per IP with a token bucket?"
    asked = insight(verdict="missing", path=None, heading=None, messages=("1", "2", "3"),
                    quotes=(line, line, line))
    shares = {"tidepool": 0.9, "endpoint": 0.2}
    text = offline_suggestion(asked, [], None, lambda name: shares.get(name.lower(), 0.0)).text
    listed = text.split("in their words:", 1)[1].split("\n", 1)[0]
    assert "tidepool" not in listed.lower()
    assert "`token`" in listed and "`endpoint`" in listed


def test_a_name_inside_the_listed_error_is_not_listed_again() -> None:
    """A real Vite ticket asked the page to mention "`Uncaught ReferenceError: __dirname is
    not defined`, `ReferenceError`, …, `__dirname`": the error, then its own parts."""
    error = "Uncaught ReferenceError: __dirname is not defined"
    pasted = insight(messages=("1", "2", "3"), quotes=(
        f"{error}\nwhen vite.config.js calls path.resolve", f"after the upgrade:\n{error}",
        f"same here with `type: module`:\n{error}")).model_copy(update={"title": error})
    pasted = pasted.model_copy(update={"quotes": [
        q.model_copy(update={"author": f"user{n}"}) for n, q in enumerate(pasted.quotes)]})
    terms = listed_terms(pasted)
    assert terms[0] == error
    lowered = [t.lower() for t in terms[1:]]
    assert "referenceerror" not in lowered and "__dirname" not in lowered
    assert "dirname" not in lowered
    # a name the error does not hold is still listed
    assert "path.resolve" in lowered or "vite.config.js" in lowered
