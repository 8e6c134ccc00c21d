"""The `docloop` command line: thin commands over the core.

Each command resolves settings once, calls one core function and renders its
result. JSON goes to stdout and nothing else does; logs and progress go to
stderr. Typed errors become exit codes: 2 for bad input or configuration, 1
for a failure part-way. Set DOCLOOP_RAISE_ERRORS=1 to see tracebacks.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from docloop.config import Settings, load_settings
from docloop.errors import DocloopError, InputError, UserError

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("docloop")


def _settings(ctx: click.Context, **overrides: Any) -> Settings:
    return load_settings(ctx.obj.get("config"), overrides)


def _lock_wait_s() -> float:
    """How long a run waits for another holding the home (DOCLOOP_LOCK_WAIT_S, seconds)."""
    from docloop.errors import ConfigError
    from docloop.lock import DEFAULT_WAIT_S

    raw = os.environ.get("DOCLOOP_LOCK_WAIT_S", "")
    try:
        return float(raw) if raw else DEFAULT_WAIT_S
    except ValueError:
        raise ConfigError(f"DOCLOOP_LOCK_WAIT_S must be a number of seconds, not {raw!r}") from None


def common(func: F) -> F:
    """Add --config/--verbose to a command and map docloop errors to exit codes."""

    @click.option("--config", "config", type=click.Path(dir_okay=False), default=None,
                  help="Settings file (default: docloop.toml in the working directory).")
    @click.option("-v", "--verbose", is_flag=True, help="Debug logging on stderr.")
    @click.pass_context
    @functools.wraps(func)
    def wrapper(ctx: click.Context, config: str | None, verbose: bool, **kwargs: Any) -> Any:
        ctx.ensure_object(dict)
        if config:
            ctx.obj["config"] = config
        _setup_logging(verbose)
        try:
            return ctx.invoke(func, **kwargs)
        except DocloopError as exc:
            if os.environ.get("DOCLOOP_RAISE_ERRORS"):
                raise
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2 if isinstance(exc, UserError) else 1)

    return wrapper  # type: ignore[return-value]


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    for noisy in ("httpx", "httpcore", "openai", "pinecone"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def emit_json(data: Any) -> None:
    """Write JSON to stdout (the only thing that ever goes there)."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@click.group()
@click.version_option(package_name="docloop")
@click.pass_context
def main(ctx: click.Context) -> None:
    """docloop: turn recurring community questions into documentation fixes."""
    ctx.ensure_object(dict)


index_option = click.option(
    "--index", "docs_index", type=click.Choice(["sqlite", "pinecone"]), default=None,
    help="Where the docs index lives (default: docs_index setting, else sqlite).")


@main.command("index-docs")
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
@click.option("--base-url", default=None, help="Public URL of the docs root.")
@click.option("--exclude", "excludes", multiple=True, help="Glob of pages to skip (repeatable).")
@click.option("--no-default-excludes", is_flag=True,
              help="Also index changelogs, release notes and generated API stubs.")
@click.option("--generator", type=click.Choice(["mkdocs", "docusaurus", "vitepress", "hugo"]),
              default=None, help="Site generator (URLs, anchors); detected when omitted.")
@click.option("--mount", "mounts", multiple=True, metavar="PREFIX=FOLDER",
              help="Also index FOLDER, a second root of the same site, its pages under "
              "PREFIX/ (e.g. rules=packages/eslint-plugin/docs/rules; repeatable; a re-index "
              "of the same folder keeps the last one's mounts: SQLite index).")
@click.option("--unmount", "unmounts", multiple=True, metavar="PREFIX",
              help="Leave out the folder the last index-docs mounted at PREFIX/, or the "
              "site config's docs instance published there (its pages leave the index; "
              "repeatable).")
@index_option
@common
def index_docs_cmd(path: Path, base_url: str | None, excludes: tuple[str, ...],
                   no_default_excludes: bool, generator: str | None,
                   mounts: tuple[str, ...], unmounts: tuple[str, ...],
                   docs_index: str | None) -> None:
    """Index a Markdown/MDX docs folder (incremental)."""
    from docloop.docs.loader import parse_mount, parse_prefix
    from docloop.markdown_safe import is_web_url
    from docloop.render import progress_bar
    from docloop.stages.index_docs import index_docs

    mounted = [parse_mount(spec) for spec in mounts]
    left_out = [parse_prefix(prefix, f"--unmount {prefix!r}") for prefix in unmounts]
    settings = _settings(click.get_current_context(), docs_base_url=base_url,
                         docs_index=docs_index)
    stats = index_docs(settings, path, list(excludes), default_excludes=not no_default_excludes,
                       generator=generator, progress=progress_bar, mounts=mounted,
                       unmounts=left_out)
    click.echo(stats.summary(), err=True)
    if not is_web_url(stats.base_url):
        given = f"--base-url {stats.base_url} is not an http(s) URL" \
            if stats.base_url else "no --base-url"
        click.echo(f"warning: {given}: tickets and the review desk name pages by path, "
                   "without links; give the docs site's public URL (--base-url, "
                   "DOCLOOP_DOCS_BASE_URL, or the site's address in its config: mkdocs "
                   "site_url, Docusaurus url and baseUrl, VitePress sitemap hostname, Hugo "
                   "baseURL) and "
                   "index again to link them", err=True)


@main.group("docs")
def docs_group() -> None:
    """Work with the docs index."""


@docs_group.command("search")
@click.argument("query", required=False)
@click.option("--queries", "queries_file", type=click.Path(dir_okay=False, path_type=Path),
              help="JSONL file of {\"id\", \"text\"} lines (- for standard input).")
@click.option("--top", "top_k", default=5, show_default=True, type=click.IntRange(1, 100))
@click.option("--json", "as_json", is_flag=True, help="JSON (Lines with --queries) on stdout.")
@index_option
@common
def docs_search_cmd(query: str | None, queries_file: Path | None, top_k: int,
                    as_json: bool, docs_index: str | None) -> None:
    """Search the docs index."""
    from docloop.render import render_search_results
    from docloop.stages.search import run_search

    settings = _settings(click.get_current_context(), docs_index=docs_index)
    results = run_search(settings, query, queries_file, top_k)
    render_search_results(results, as_json=as_json, batch=queries_file is not None)


@main.command("run")
@click.option("--source", "sources", multiple=True, help="discord-export:PATH, discord:IDS, "
              "discord-guild:ID (repeatable).")
@click.option("--since", default=None, help="Days to look back, or 'all'.")
@click.option("--min-conversations", type=click.IntRange(1), default=None)
@click.option("--max-insights", type=click.IntRange(0), default=None,
              help="Tickets filed per run at most (0 = no cap).")
@click.option("--tracker", type=click.Choice(["local", "linear", "none"]), default=None)
@click.option("--analyzer", type=click.Choice(["offline", "llm"]), default=None)
@click.option("--dry-run", is_flag=True, help="Analyse and report; write nothing anywhere.")
@click.option("--retry-failed", is_flag=True, help="Ask the model again for cached failures.")
@click.option("--review/--no-review", "review", default=None,
              help="Propose insights for review instead of filing them (setting `review`).")
@click.option("--json", "json_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the run report as JSON to this file ('-' for stdout).")
@index_option
@common
def run_cmd(sources: tuple[str, ...], since: str | None, min_conversations: int | None,
            max_insights: int | None, tracker: str | None, analyzer: str | None,
            dry_run: bool, retry_failed: bool, review: bool | None,
            json_file: Path | None, docs_index: str | None) -> None:
    """Ingest, analyse, match, suggest and file tickets."""
    from docloop.pipeline import RunOptions, run_pipeline
    from docloop.report import print_summary, save_markdown_report, write_json_report

    ctx = click.get_current_context()
    settings = _settings(ctx, min_conversations=min_conversations, max_insights=max_insights,
                         tracker=tracker, analyzer=analyzer, review=review,
                         sources=list(sources) or None, docs_index=docs_index)
    if since is None and settings.since_days:
        since = str(settings.since_days)
    options = RunOptions.build(since=since, dry_run=dry_run, retry_failed=retry_failed,
                               lock_wait_s=_lock_wait_s())
    report = run_pipeline(settings, options)
    if json_file is not None:
        write_json_report(report, json_file)
    if not dry_run:
        save_markdown_report(report, settings.reports_dir)
    print_summary(report, to_stderr=json_file == Path("-"))
    if report.errors:
        ctx.exit(1)


@main.command("eval")
@click.argument("labels", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--docs", "docs", required=True, type=click.Path(path_type=Path),
              help="The docs folder the labels' pages are in, or the site's project "
              "folder (read as index-docs reads it).")
@click.option("--doc-prefix", "doc_prefix", multiple=True,
              help="Prefix to remove from the labels' doc_path (e.g. docs/); repeat it for "
              "docs with several roots (the longest that matches is removed).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
@click.option("--keep-home", type=click.Path(path_type=Path), default=None,
              help="Run in this new (or empty) folder and keep it, tickets in its outbox, "
              "instead of a scratch home.")
@click.option("--source", "sources", multiple=True,
              help="Measure on these messages (discord-export:PATH, discord:IDS, "
              "discord-guild:ID; repeatable), labelled by id, instead of a chat built from "
              "the labels' texts.")
@click.option("--since", default=None, help="With --source: days to look back, or 'all' "
              "(default).")
@click.option("--mount", "mounts", multiple=True, metavar="PREFIX=FOLDER",
              help="A further folder of the same docs site, indexed under PREFIX/ "
              "(as index-docs --mount; repeatable).")
@click.option("--cache", type=click.Path(path_type=Path), default=None, metavar="FILE",
              help="Reuse the embeddings an earlier eval kept in FILE and keep this one's "
              "there (a new file, or a docloop database): the docs are not embedded again.")
@common
def eval_cmd(labels: Path, docs: Path, doc_prefix: tuple[str, ...], as_json: bool,
             keep_home: Path | None, sources: tuple[str, ...], since: str | None,
             mounts: tuple[str, ...], cache: Path | None) -> None:
    """Measure the loop on labelled messages (LABELS: a JSONL file, or - for standard
    input), in a scratch home."""
    from docloop.docs.loader import parse_mount
    from docloop.evaluation.render import render_table
    from docloop.evaluation.runner import EvalRequest, evaluate_labels

    if since is not None and not sources:
        raise click.UsageError("--since applies to --source; the chat built from the labels "
                               "always covers the last six days")
    settings = _settings(click.get_current_context())
    mounted = tuple(parse_mount(spec) for spec in mounts)
    result = evaluate_labels(settings, EvalRequest(labels, docs, doc_prefix, keep_home,
                                                   sources, since, mounted, cache))
    if as_json:
        emit_json(result)
    else:
        render_table(result)


@main.group("tickets", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="JSON array on stdout.")
@click.pass_context
def tickets_group(ctx: click.Context, as_json: bool) -> None:
    """Tickets docloop filed, with status."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(tickets_list_cmd, as_json=as_json)


@tickets_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSON array on stdout.")
@common
def tickets_list_cmd(as_json: bool) -> None:
    """List tickets."""
    from docloop.render import render_tickets
    from docloop.stages.track import list_tickets

    settings = _settings(click.get_current_context())
    render_tickets(list_tickets(settings), as_json=as_json)


@tickets_group.command("set-status")
@click.argument("ticket_id")
@click.argument("status", type=click.Choice(["open", "in_progress", "done", "canceled",
                                             "regressed"]))
@common
def tickets_set_status_cmd(ticket_id: str, status: str) -> None:
    """Change a local ticket's status."""
    from docloop.stages.track import set_status

    settings = _settings(click.get_current_context())
    click.echo(set_status(settings, ticket_id, status, _lock_wait_s()), err=True)


@tickets_group.command("sync")
@common
def tickets_sync_cmd() -> None:
    """Pull the current state of open tracker tickets."""
    from docloop.stages.track import sync_tickets

    settings = _settings(click.get_current_context())
    click.echo(sync_tickets(settings, _lock_wait_s()), err=True)


@main.group("review")
def review_group() -> None:
    """Review insights before their tickets are filed (setting `review`)."""


@review_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSON array on stdout.")
@common
def review_list_cmd(as_json: bool) -> None:
    """Insights by score with their review state and ticket."""
    from docloop import registry
    from docloop.render import render_review_items
    from docloop.review import review_items

    settings = _settings(click.get_current_context())
    with registry.open_stores(settings) as stores:
        render_review_items(review_items(settings, stores), as_json=as_json)


@review_group.command("accept")
@click.argument("insight_id")
@common
def review_accept_cmd(insight_id: str) -> None:
    """File the insight's ticket (with any edits)."""
    from docloop.review import accept

    _decide(lambda settings, stores, now: accept(settings, stores, insight_id, _CLI, now,
                                                 lock_wait_s=_lock_wait_s()))


@review_group.command("reject")
@click.argument("insight_id")
@click.option("--reason", default="", help="Why (shown on the insight page).")
@common
def review_reject_cmd(insight_id: str, reason: str) -> None:
    """Reject the insight; it comes back only if it grows."""
    from docloop.review import reject

    _decide(lambda settings, stores, now: reject(settings, stores, insight_id, _CLI, now,
                                                 reason, lock_wait_s=_lock_wait_s()))


@review_group.command("edit")
@click.argument("insight_id")
@click.option("--title", default=None, help="The ticket's title.")
@click.option("--suggestion-file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="A UTF-8 file holding the suggestion text.")
@click.option("--page", default=None,
              help="Move it to one of its candidate pages (`candidate_pages` in `docloop "
                   "review list --json`) or another page of the local docs index, or "
                   "`none`: no page covers it.")
@common
def review_edit_cmd(insight_id: str, title: str | None, suggestion_file: Path | None,
                    page: str | None) -> None:
    """Change the title, suggestion and/or page the ticket will carry."""
    from docloop.review import edit

    suggestion = _read_text(suggestion_file) if suggestion_file else None
    _decide(lambda settings, stores, now: edit(settings, stores, insight_id, _CLI, now,
                                               title=title, suggestion=suggestion, page=page,
                                               lock_wait_s=_lock_wait_s()))


@review_group.command("merge")
@click.argument("keep_id")
@click.argument("other_id")
@common
def review_merge_cmd(keep_id: str, other_id: str) -> None:
    """Merge OTHER_ID into KEEP_ID (members, evidence; later runs keep them together)."""
    from docloop.review import merge

    _decide(lambda settings, stores, now: merge(settings, stores, keep_id, other_id, _CLI, now,
                                                lock_wait_s=_lock_wait_s()))


_CLI = "cli"


def _decide(action: Callable[..., Any]) -> None:
    """Run one review decision on the home's stores and say the outcome on stderr."""
    from datetime import UTC, datetime

    from docloop import registry
    from docloop.render import review_line

    settings = _settings(click.get_current_context())
    with registry.open_stores(settings) as stores:
        item = action(settings, stores, datetime.now(UTC))
    click.echo(review_line(item), err=True)


def _read_text(path: Path) -> str:
    """A UTF-8 text file given on the command line; InputError naming it otherwise."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file (check --suggestion-file)") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None


@main.group("sources")
def sources_group() -> None:
    """Check what docloop can read."""


@sources_group.command("check")
@click.option("--source", "sources", multiple=True, help="Source spec (repeatable).")
@click.option("--json", "as_json", is_flag=True)
@common
def sources_check_cmd(sources: tuple[str, ...], as_json: bool) -> None:
    """What a token or export can read, with counts."""
    from docloop.render import render_check
    from docloop.stages.ingest import check_sources

    settings = _settings(click.get_current_context(), sources=list(sources) or None)
    render_check(check_sources(settings), as_json=as_json)


@sources_group.command("labels")
@click.option("--source", "sources", multiple=True, help="Source spec (repeatable).")
@click.option("--since", default=None, help="Days to look back, or 'all' (default).")
@click.option("--output", "output", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Write to this new file instead of stdout.")
@common
def sources_labels_cmd(sources: tuple[str, ...], since: str | None,
                       output: Path | None) -> None:
    """A labels template for `docloop eval --source`: one JSON line per message."""
    from docloop.evaluation.template import label_template
    from docloop.files import write_new

    taken = InputError(f"{output}: the file exists and may hold labels; give a new file "
                       "name (nothing was written)")
    if output is not None and output.exists():
        raise taken  # before reading the sources, which may take a while
    settings = _settings(click.get_current_context())
    lines = label_template(settings, sources, since)
    text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        write_new(output, text)
    except FileExistsError:
        raise taken from None  # made while the sources were read
    click.echo(f"{len(lines)} messages written to {output}; fill in group and doc_path",
               err=True)


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@common
def serve_cmd(host: str, port: int) -> None:
    """Serve POST /webhooks/linear, GET /healthz and the dashboard."""
    from docloop.web.app import serve

    settings = _settings(click.get_current_context())
    serve(settings, host, port)


if __name__ == "__main__":  # pragma: no cover
    main()
