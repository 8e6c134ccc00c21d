"""`docloop eval --source`: the figures measured on a community's own export, labelled by id."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from docloop.backends.sources.base import Batch
from docloop.backends.sources.dce import ExportSource
from docloop.cli import main
from docloop.errors import InputError
from docloop.evaluation import runner, template
from docloop.evaluation.labels import Gold, read_labels, template_warning
from docloop.evaluation.metrics import score_insights
from docloop.evaluation.render import render_table
from tests import dce_helpers as dce
from tests.docs_helpers import write_docs
from tests.redaction_samples import secret_samples
from tests.test_eval_cli import DOCS, GROUPS, NOISE

HELPER = dce.author("199", "helper")


def community(tmp_path: Path) -> tuple[Path, list[dict[str, Any]]]:
    """An export of #help: the groups' questions, each answered in a reply by a helper who
    is never labelled, a bot post, and the noise; with labels naming only ids."""
    messages: list[dict[str, Any]] = []
    labels: list[dict[str, Any]] = []
    minute = 0
    for group, (page, texts) in GROUPS.items():
        for text in texts:
            minute += 1
            asked = str(1000 + minute)
            messages.append(dce.message(asked, text, minute=minute,
                                        user=dce.author(str(100 + minute), f"user{minute}")))
            messages.append(dce.message(str(2000 + minute), "see the docs page about this",
                                        minute=minute, user=HELPER, reply_to=asked))
            labels.append({"id": asked, "group": group, "doc_path": page})
    for text in NOISE:
        minute += 1
        messages.append(dce.message(str(1000 + minute), text, minute=minute,
                                    user=dce.author(str(100 + minute), f"user{minute}")))
        labels.append({"id": int(1000 + minute), "group": "noise", "doc_path": None})
    messages.append(dce.message("3000", "Deploy finished.", minute=59,
                                user=dce.author("900", "ci-bot", bot=True)))
    export = dce.write(tmp_path / "export" / "help.json", dce.export(messages))
    return export, labels


def write_labels(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def eval_args(tmp_path: Path, labels: Path, export: Path, *extra: str) -> list[str]:
    write_docs(tmp_path / "docs", DOCS)
    return ["eval", str(labels), "--docs", str(tmp_path / "docs"), "--doc-prefix", "docs/",
            "--source", f"discord-export:{export}", *extra]


@pytest.mark.usefixtures("minilm")
def test_eval_measures_the_export_itself_labelled_by_message_id(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    export, lines = community(tmp_path)
    reads = count_export_reads(monkeypatch)
    labels = write_labels(tmp_path / "labels.jsonl", lines)
    kept = tmp_path / "kept"
    result = CliRunner().invoke(main, [*eval_args(tmp_path, labels, export, "--json"),
                                       "--keep-home", str(kept)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["sources"] == [f"discord-export:{export}"]
    assert data["messages_analysed"] == 15  # 6 questions, 6 answers, 3 noise; no bot
    assert data["groups"] == 2 and data["groups_recovered"] == 2 and data["right_page"] == 2
    assert data["bcubed_f1"] == 1.0 and data["noise_leak"] == 0.0
    # the helper's unlabelled answers ride in the questions' insights; nothing is unscored
    assert data["unlabelled_insights"] == 0
    assert all(r["predicted_page"] == r["expected_page"] for r in data["per_group"])
    queries = [json.loads(line)["text"]
               for line in (kept / "queries.jsonl").read_text(encoding="utf-8").splitlines()]
    assert GROUPS["retries"][1][0] in queries  # the export's text is what is searched
    assert reads == [f"discord-export:{export}"]  # parsed once: to check the labels


def count_export_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The specs of the exports parsed from now on, one entry per parse."""
    reads: list[str] = []
    batches = ExportSource.batches

    def counted(self: ExportSource, *args: Any) -> Iterator[Batch]:
        reads.append(self.spec)
        return batches(self, *args)

    monkeypatch.setattr(ExportSource, "batches", counted)
    return reads


@pytest.mark.usefixtures("minilm")
def test_an_insight_of_unlabelled_messages_is_counted_apart_not_scored(tmp_path: Path) -> None:
    export, lines = community(tmp_path)
    auth = [line for line in lines if line["group"] == "auth-401"]
    labels = write_labels(tmp_path / "labels.jsonl",
                          [line for line in lines if line["group"] != "auth-401"])
    result = CliRunner().invoke(main, eval_args(tmp_path, labels, export, "--json"))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert len(auth) == 3
    assert data["groups"] == 1 and data["right_page"] == 1
    assert data["unlabelled_insights"] == 1  # the 401 problem, found but not labelled
    assert data["insights"] == 1 and data["missing_precision"] is None


@pytest.mark.usefixtures("minilm")
def test_a_label_naming_no_message_of_the_export_stops_before_the_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    export, lines = community(tmp_path)
    indexed: list[Path] = []
    original = runner.index_docs
    monkeypatch.setattr(runner, "index_docs",
                        lambda settings, docs, *args, **kw: indexed.append(docs) or original(
                            settings, docs, *args, **kw))
    lines[0]["id"] = "424242"
    lines.append({"id": "3000", "group": "noise", "doc_path": None})  # the bot's post
    labels = write_labels(tmp_path / "labels.jsonl", lines)
    kept = tmp_path / "kept"
    result = CliRunner().invoke(main, [*eval_args(tmp_path, labels, export),
                                       "--keep-home", str(kept)])
    assert result.exit_code == 2, result.output
    assert (f"{labels}: 2 of 10 labelled messages are not among the messages docloop reads "
            "from the sources: '424242', '3000'. Label each") in result.output
    assert "bots' and system messages are not read" in result.output
    assert indexed == []  # found before the docs were indexed, let alone the loop run
    assert list(kept.iterdir()) == []  # left empty: the corrected command can use it
    lines[0]["id"] = "1001"
    write_labels(labels, lines[:-1])
    again = CliRunner().invoke(main, [*eval_args(tmp_path, labels, export),
                                      "--keep-home", str(kept)])
    assert again.exit_code == 0, again.output


def test_labels_of_an_export_need_no_text_but_the_chat_does(tmp_path: Path) -> None:
    export, lines = community(tmp_path)
    labels = write_labels(tmp_path / "labels.jsonl", lines)
    (tmp_path / "docs").mkdir()
    result = CliRunner().invoke(main, ["eval", str(labels), "--docs", str(tmp_path / "docs")])
    assert result.exit_code == 2
    assert f"{labels}:1: field 'author' must be a non-empty string" in result.output
    lines[0]["text"] = 7
    write_labels(labels, lines)
    result = CliRunner().invoke(main, eval_args(tmp_path, labels, export))
    assert result.exit_code == 2
    assert (f"{labels}:1: field 'text' must be a string, or left out (the source gives it)"
            in result.output)


@pytest.mark.parametrize(("extra", "expected"), [
    (["--since", "0"], "invalid --since '0'"),
    (["--since", "soon"], "invalid --since 'soon'"),
])
def test_a_bad_since_is_refused_before_any_work(tmp_path: Path, extra: list[str],
                                                expected: str) -> None:
    export, lines = community(tmp_path)
    labels = write_labels(tmp_path / "labels.jsonl", lines)
    kept = tmp_path / "kept"
    result = CliRunner().invoke(main, [*eval_args(tmp_path, labels, export, *extra),
                                       "--keep-home", str(kept)])
    assert result.exit_code == 2
    assert expected in result.output
    assert not kept.exists()


def test_since_without_a_source_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    labels = tmp_path / "labels.jsonl"
    labels.write_text("", encoding="utf-8")
    result = CliRunner().invoke(main, ["eval", str(labels), "--docs", str(tmp_path / "docs"),
                                       "--since", "7"])
    assert result.exit_code == 2
    assert "--since applies to --source" in result.output


@pytest.mark.usefixtures("minilm")
def test_since_leaves_older_labelled_messages_out_with_a_clear_error(tmp_path: Path) -> None:
    export, lines = community(tmp_path)  # stamped 2024-03-01
    labels = write_labels(tmp_path / "labels.jsonl", lines)
    result = CliRunner().invoke(main, eval_args(tmp_path, labels, export, "--since", "30"))
    assert result.exit_code == 2
    assert "labelled messages are not among the messages docloop reads from the sources of " \
           "the last 30 days" in result.output
    assert "--since leaves older ones out" in result.output


@pytest.mark.usefixtures("minilm")
def test_eval_on_the_bundled_example_export_with_its_threads_and_replies() -> None:
    """The README's command: the example community's own export, labelled by id
    (examples/tidepool/labels.jsonl, written by examples/build_export.py)."""
    example = Path(__file__).resolve().parent.parent / "examples" / "tidepool"
    result = CliRunner().invoke(main, [
        "eval", str(example / "labels.jsonl"), "--docs", str(example / "docs"),
        "--source", f"discord-export:{example / 'discord'}", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    labelled = (example / "labels.jsonl").read_text(encoding="utf-8").splitlines()
    assert data["messages_analysed"] >= len(labelled)
    assert (data["groups"], data["groups_recovered"], data["right_page"]) == (7, 7, 7)
    assert data["missing_found"] == data["missing_groups"] == 1
    assert data["bcubed_f1"] > 0.9 and data["noise_leak"] <= 0.1


def test_the_labels_template_lists_what_docloop_reads_in_context(tmp_path: Path) -> None:
    export, _ = community(tmp_path)
    family, secret_text, planted = next(secret_samples(seed=5, per_family=1))
    data = json.loads(export.read_text(encoding="utf-8"))
    data["messages"].append(dce.message("4000", f"my config: {secret_text}", minute=58,
                                        user=dce.author("150", "leaky")))
    dce.write(export, data)
    result = CliRunner().invoke(main, ["sources", "labels", "--source",
                                       f"discord-export:{export}"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 16 and "3000" not in {line["id"] for line in lines}  # no bot post
    first_answer = next(line for line in lines if line["id"] == "2001")
    assert first_answer == {"id": "2001", "channel": "help", "reply_to": "1001",
                            "author": "199", "text": "see the docs page about this",
                            "group": None, "doc_path": None}
    leaky = next(line for line in lines if line["id"] == "4000")
    assert not any(secret in leaky["text"] for secret in planted), family  # redacted
    assert not (tmp_path / "home").exists()


@pytest.mark.usefixtures("minilm")
def test_a_partly_filled_template_is_measured_as_it_is(tmp_path: Path) -> None:
    export, lines = community(tmp_path)
    labels = tmp_path / "labels.jsonl"
    made = CliRunner().invoke(main, ["sources", "labels", "--source",
                                     f"discord-export:{export}", "--output", str(labels)])
    assert made.exit_code == 0, made.output
    assert f"15 messages written to {labels}" in made.stderr
    given = {str(line["id"]): line for line in lines}
    filled = []
    for line in map(json.loads, labels.read_text(encoding="utf-8").splitlines()):
        if line["id"] in given and given[line["id"]]["group"] != "noise":
            line.update(group=given[line["id"]]["group"], doc_path=given[line["id"]]["doc_path"])
        filled.append(line)
    write_labels(labels, filled)  # the answers and the noise left unlabelled (null)
    result = CliRunner().invoke(main, eval_args(tmp_path, labels, export, "--json"))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["groups"] == 2 and data["right_page"] == 2 and data["bcubed_f1"] == 1.0
    assert sum(r["size"] for r in data["per_group"]) == 6  # only the labelled lines count


def test_the_template_never_overwrites_a_file(tmp_path: Path) -> None:
    export, _ = community(tmp_path)
    labels = tmp_path / "labels.jsonl"
    labels.write_text('{"id": "1001", "group": "retries", "doc_path": "x.md"}\n',
                      encoding="utf-8")
    result = CliRunner().invoke(main, ["sources", "labels", "--source",
                                       f"discord-export:{export}", "--output", str(labels)])
    assert result.exit_code == 2
    assert f"{labels}: the file exists and may hold labels" in result.output
    assert labels.read_text(encoding="utf-8").startswith('{"id": "1001", "group": "retries"')


def test_the_template_never_replaces_a_file_made_while_the_sources_were_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    export, _ = community(tmp_path)
    labels = tmp_path / "labels.jsonl"
    real_template = template.label_template

    def template_while_the_user_saves(*args: Any) -> list[dict[str, Any]]:
        lines = real_template(*args)
        labels.write_text("my labels so far\n", encoding="utf-8")
        return lines

    monkeypatch.setattr(template, "label_template", template_while_the_user_saves)
    result = CliRunner().invoke(main, ["sources", "labels", "--source",
                                       f"discord-export:{export}", "--output", str(labels)])
    assert result.exit_code == 2
    assert f"{labels}: the file exists and may hold labels" in result.output
    assert labels.read_text(encoding="utf-8") == "my labels so far\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")] == []


def test_a_template_measured_without_its_source_is_named(tmp_path: Path) -> None:
    """A review forgot --source: the unlabelled template's null group read as a bad field,
    and the labelled one measured as chat (0/7 against 7/7) without a word."""
    lines = [{"id": "1", "channel": "help", "author": "u1", "text": "retry?", "group": None,
              "doc_path": None},
             {"id": "2", "channel": "help", "author": "u2", "text": "401?", "group": "auth",
              "doc_path": None}]
    labels = write_labels(tmp_path / "labels.jsonl", lines)
    with pytest.raises(InputError, match=r"labels\.jsonl:1: field 'group' is null: a `docloop "
                                         r"sources labels` line not labelled yet"):
        read_labels(labels)
    assert [m.id for m in read_labels(labels, from_source=True)] == ["2"]
    warning = template_warning(labels, read_labels(labels, from_source=True))
    assert warning is not None and "(channel)" in warning and "add the --source" in warning
    plain = write_labels(tmp_path / "plain.jsonl", [{k: v for k, v in line.items()
                                                     if k != "channel"} for line in lines])
    assert template_warning(plain, read_labels(plain, from_source=True)) is None


LABELLED = {"id": "1", "group": "start", "doc_path": None}


@pytest.mark.parametrize(("lines", "said"), [
    ([{"id": "1", "label": "start", "doc_path": None}], "no line has a 'group' field"),
    ([LABELLED, {"id": "2", "group": "start", "doc_path": "docs/index.md"}],
     r"l\.jsonl:2: field 'doc_path' is 'docs/index\.md' but line 1 gives group 'start' the "
     r"page null;"),
    # a review filled in a template's doc_path and forgot the group (skipped without a
    # word), and gave a noise line a page (accepted)
    ([LABELLED, {"id": "2", "group": None, "doc_path": "docs/index.md"}],
     r"l\.jsonl:2: field 'doc_path' is set but 'group' is not"),
    ([LABELLED, {"id": "2", "group": "noise", "doc_path": "docs/index.md"}],
     r"l\.jsonl:2: field 'doc_path' is 'docs/index\.md' on a 'noise' message"),
])
def test_a_labelling_slip_in_a_template_is_named_with_its_line(
        tmp_path: Path, lines: list[dict[str, Any]], said: str) -> None:
    labels = write_labels(tmp_path / "l.jsonl", lines)
    with pytest.raises(InputError, match=said):
        read_labels(labels, from_source=True)


def test_noise_leak_is_undefined_when_nothing_is_labelled_noise() -> None:
    gold = Gold(groups={"g": None}, messages={"a": "g", "b": "g"})
    result = score_insights(gold, [])
    assert result["noise_leak"] is None
    shown = io.StringIO()
    render_table({**result, "search": dict.fromkeys(
        ("group_hit1", "group_hit3", "message_hit1", "message_hit3"), 0.0)}, file=shown)
    assert re.search(r"noise leak\s*│?\s*-\s", shown.getvalue())


@pytest.mark.usefixtures("minilm")
def test_labels_of_another_export_say_none_of_their_ids_is_read(tmp_path: Path) -> None:
    export, lines = community(tmp_path)
    labels = write_labels(tmp_path / "labels.jsonl",
                          [{**line, "id": f"9{line['id']}"} for line in lines])
    result = CliRunner().invoke(main, eval_args(tmp_path, labels, export))
    assert result.exit_code == 2
    assert "None of them is: are these labels of another export or channel?" in result.output
