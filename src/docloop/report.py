"""Render a run report: JSON (the contract), a terminal summary and a Markdown file."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from rich.markup import escape as rich_escape
from rich.table import Table

from docloop.files import write_atomic
from docloop.markdown_safe import block, code, inline, link
from docloop.models import Insight, InsightImpact, ReviewCounts, ReviewStats, RunReport
from docloop.render import plain, sized_console
from docloop.text import truncate

#: insight fields kept out of the JSON report (internal or personal)
_PRIVATE = {"author_ids", "problem_ids"}


def report_dict(report: RunReport) -> dict[str, Any]:
    """The run report as the JSON contract of DESIGN §5."""
    data = report.model_dump(mode="json")
    data["insights"] = [
        {k: v for k, v in insight.items() if k not in _PRIVATE} for insight in data["insights"]
    ]
    return data


def write_json_report(report: RunReport, path: Path) -> None:
    """Write the JSON report to a file (atomically) or to stdout for '-'."""
    text = json.dumps(report_dict(report), ensure_ascii=False, indent=2) + "\n"
    if str(path) == "-":
        sys.stdout.write(text)
        return
    write_atomic(path, text)


def save_markdown_report(report: RunReport, reports_dir: Path) -> Path:
    """Keep a readable copy of the run under DOCLOOP_HOME/reports/."""
    path = reports_dir / f"{report.run_id}.md"
    write_atomic(path, render_markdown(report))
    return path


def render_markdown(report: RunReport) -> str:
    """Insights by score with page, verdict and ticket action."""
    stats = report.stats
    lines = [f"# docloop run {report.run_id}", "",
             f"{stats.messages} new messages, {stats.window_messages} in the window, "
             f"{stats.conversations} conversations, {stats.problems} problems, "
             f"{stats.insights} insights.", ""]
    if stats.analysis_reused:
        lines += [f"Analysis reused: {inline(stats.analysis_reused)}.", ""]
    if stats.review is not None:
        lines += _review_markdown(stats.review)
    if report.impact:
        lines += _impact_markdown(report.impact)
    for number, insight in enumerate(report.insights, start=1):
        lines += _insight_markdown(number, insight)
    if report.warnings:
        lines += ["## Warnings", ""] + [f"- {inline(w)}" for w in report.warnings] + [""]
    if report.errors:
        lines += ["## Errors", ""] + [f"- {inline(e)}" for e in report.errors] + [""]
    return "\n".join(lines)


def _insight_markdown(number: int, insight: Insight) -> list[str]:
    """One insight's section; every piece of text in it is untrusted (chat, docs, model)."""
    doc = insight.doc
    page = link(doc.path, doc.url or None) if doc and doc.path else "no page"
    ticket = (f"{code(insight.ticket.id)} ({insight.ticket.action})" if insight.ticket
              else _not_filed(insight))
    reasons = insight.significance.reasons if insight.significance else []
    lines = [f"## {number}. {inline(insight.title)}", "",
             f"- score {insight.score:.2f}: " + "; ".join(inline(r) for r in reasons),
             f"- page: {page}, verdict: {doc.verdict if doc else 'n/a'}",
             f"- ticket: {ticket}", ""]
    if insight.suggestion:
        lines += [block(insight.suggestion.text), ""]
    if insight.error:
        lines += [f"**Error:** {inline(insight.error)}", ""]
    return lines


def _not_filed(insight: Insight) -> str:
    """Why an insight has no ticket: its review state (with review on), or not filed."""
    if insight.review is None:
        return "not filed"
    note = f" ({inline(insight.review_note)})" if insight.review_note else ""
    return f"not filed, review: {insight.review}{note}"


def _review_markdown(review: ReviewStats) -> list[str]:
    """Review counts overall, per category and per verdict, with acceptance rates."""
    lines = ["## Review", "",
             f"{review.proposed_now} proposed by this run, {review.suppressed} rejected "
             "earlier and still suppressed.", "",
             "| group | proposed | accepted | rejected | acceptance rate |",
             "| --- | --- | --- | --- | --- |", _counts_row("all", review)]
    lines += [_counts_row(f"category {inline(name)}", counts)
              for name, counts in sorted(review.by_category.items())]
    lines += [_counts_row(f"verdict {inline(name)}", counts)
              for name, counts in sorted(review.by_verdict.items())]
    return [*lines, ""]


def _counts_row(label: str, counts: ReviewCounts) -> str:
    rate = "-" if counts.acceptance_rate is None else f"{counts.acceptance_rate:.0%}"
    return (f"| {label} | {counts.proposed} | {counts.accepted} | {counts.rejected} | "
            f"{rate} |")


def _impact_markdown(impacts: list[InsightImpact]) -> list[str]:
    """Questions per week before and after each fix shipped (ticket done)."""
    lines = ["## Impact of shipped fixes", "",
             "| insight | done | questions/week before | after |", "| --- | --- | --- | --- |"]
    for impact in impacts:
        done = f"{impact.done_at:%Y-%m-%d}" if impact.done_at else "-"
        lines.append(f"| {code(impact.insight_id)} | {done} | "
                     f"{' '.join(map(str, impact.before))} | {' '.join(map(str, impact.after))} |")
    return [*lines, ""]


def print_summary(report: RunReport, to_stderr: bool = False) -> None:
    """A table of insights by score for the terminal."""
    console = sized_console(140, sys.stderr if to_stderr else sys.stdout)
    stats = report.stats
    console.print(f"[bold]docloop run {report.run_id}[/bold]: {stats.messages} new messages, "
                  f"{stats.window_messages} in window, {stats.conversations} conversations, "
                  f"{stats.problems} problems, {stats.insights} insights")
    if stats.analysis_reused:
        console.print(f"analysis reused: {rich_escape(stats.analysis_reused)}")
    table = Table(show_lines=False)
    for column in ("#", "score", "insight", "users", "convs", "page", "verdict", "ticket"):
        table.add_column(column, overflow="fold", no_wrap=column == "ticket")  # its id whole
    for number, insight in enumerate(report.insights, start=1):
        doc = insight.doc
        ticket = (f"{insight.ticket.id} {insight.ticket.action}" if insight.ticket
                  else insight.review or "-")
        table.add_row(*plain(str(number), f"{insight.score:.2f}", truncate(insight.title, 70),
                             str(insight.users), str(len(insight.conversation_ids)),
                             (doc.path or "-") if doc else "-",
                             doc.verdict if doc else "-", "error" if insight.error else ticket))
    console.print(table)
    if stats.review is not None:
        console.print(f"review: {stats.review.proposed} proposed, {stats.review.accepted} "
                      f"accepted, {stats.review.rejected} rejected "
                      f"({stats.review.proposed_now} proposed by this run); "
                      "see `docloop review list`")
    for line in report.warnings:
        console.print(f"[yellow]warning:[/yellow] {rich_escape(line)}")
    for line in report.errors:
        console.print(f"[red]error:[/red] {rich_escape(line)}")

