"""`index-docs --mount PREFIX=FOLDER`: one site built from several folders is one index.

typescript-eslint's site is built from `docs/` and, as a second Docusaurus docs instance
served under `/rules/`, from `packages/eslint-plugin/docs/rules/`. Indexed one folder at a
time, each run removed the other's pages (a page gone from the folder is gone from the
docs), so the rule pages and the guides could never be searched together. A re-index of
the same folder that gives no `--mount` keeps the last one's mounts (`--unmount` leaves one
out): a cron line that forgot one used to drop every rule page.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner

from docloop.cli import main
from docloop.docs.loader import load_pages, parse_mount
from docloop.errors import InputError
from tests.docs_helpers import search_json, write_docs

GUIDES = {
    "getting-started/Quickstart.mdx": "# Quickstart\n\nInstall typescript-eslint and add the "
                                      "recommended config to eslint.config.mjs.\n",
    "troubleshooting/faqs/ESLint.mdx": "# ESLint FAQ\n\n## Base rule reports types\n\nTurn "
                                       "off the base no-unused-vars rule.\n",
}
RULES = {
    "no-shadow.mdx": "---\ndescription: 'Disallow variable declarations from shadowing "
                     "variables declared in the outer scope.'\n---\n\n# no-shadow\n\nThis rule "
                     "reports a variable that shadows one of an outer scope, such as an enum "
                     "member named like a variable.\n",
    "no-floating-promises.mdx": "# no-floating-promises\n\nRequire Promise-like statements to "
                                "be handled with await, .catch or void.\n",
}


@pytest.fixture
def site(tmp_path: Path) -> tuple[Path, Path]:
    write_docs(tmp_path / "docs", GUIDES)
    write_docs(tmp_path / "packages" / "eslint-plugin" / "docs" / "rules", RULES)
    return tmp_path / "docs", tmp_path / "packages" / "eslint-plugin" / "docs" / "rules"


@pytest.mark.parametrize(("spec", "expected"), [
    ("rules=some/folder", ("rules", Path("some/folder"))),
    ("api/v2=../api", ("api/v2", Path("../api"))),
])
def test_a_mount_is_a_prefix_and_a_folder(spec: str, expected: tuple[str, Path]) -> None:
    assert parse_mount(spec) == expected


@pytest.mark.parametrize(("spec", "message"), [
    ("rules", "give PREFIX=FOLDER"),
    ("rules=", "give PREFIX=FOLDER"),
    ("=folder", "the prefix must be a relative path"),
    ("/rules=folder", "the prefix must be a relative path"),
    ("rules/=folder", "the prefix must be a relative path"),
    ("../up=folder", "the prefix must be a relative path"),
    ("a\\b=folder", "the prefix must be a relative path"),
])
def test_a_bad_mount_is_one_clear_error(spec: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_mount(spec)


def test_mounted_pages_carry_the_prefix_in_path_and_url(site: tuple[Path, Path]) -> None:
    _, rules = site
    pages = {p.path: p for p in load_pages(rules, "https://typescript-eslint.io/",
                                           mount="rules")}
    assert sorted(pages) == ["rules/no-floating-promises.mdx", "rules/no-shadow.mdx"]
    assert pages["rules/no-shadow.mdx"].url == "https://typescript-eslint.io/rules/no-shadow"
    routes = {p.path: p.url for p in load_pages(rules, None, mount="rules")}
    assert routes["rules/no-shadow.mdx"] == "rules/no-shadow"
    kept = load_pages(rules, None, ["no-shadow.mdx"], mount="rules")  # excludes: inside
    assert [p.path for p in kept] == ["rules/no-floating-promises.mdx"]


@pytest.fixture
def runner(model_runner: CliRunner) -> CliRunner:
    return model_runner


def search(runner: CliRunner, query: str) -> list[dict[str, str]]:
    return search_json(runner, query, 4)


def test_a_site_of_two_folders_is_searched_as_one(runner: CliRunner,
                                                  site: tuple[Path, Path]) -> None:
    docs, rules = site
    both = runner.invoke(main, ["index-docs", str(docs), "--base-url",
                                "https://typescript-eslint.io/", "--mount", f"rules={rules}"])
    assert both.exit_code == 0, both.output
    assert "indexed 4 pages: 4 added" in both.stderr
    hits = search(runner, "no-shadow reports my enum member")
    assert hits[0]["path"] == "rules/no-shadow.mdx"
    assert hits[0]["url"].startswith("https://typescript-eslint.io/rules/no-shadow")
    assert "troubleshooting/faqs/ESLint.mdx" in [h["path"] for h in hits]
    again = runner.invoke(main, ["index-docs", str(docs), "--mount", f"rules={rules}",
                                 "--base-url", "https://typescript-eslint.io/"])
    assert "4 unchanged" in again.stderr
    # a re-index that gives only the folder (a cron line) used to drop the rule pages
    alone = runner.invoke(main, ["index-docs", str(docs)])
    assert alone.exit_code == 0, alone.output
    assert "0 removed, 4 unchanged" in alone.stderr
    assert (f"mounting {rules.resolve()} at rules/, as the last index-docs of this folder "
            "did; --unmount rules leaves it out") in alone.stderr
    hits = search(runner, "no-shadow reports my enum member")
    assert hits[0]["url"].startswith("https://typescript-eslint.io/rules/no-shadow")
    dropped = runner.invoke(main, ["index-docs", str(docs), "--unmount", "rules"])
    assert "2 removed" in dropped.stderr  # left out on purpose, and said so
    assert f"--unmount rules: the 2 pages mounted from {rules.resolve()} leave the index" \
        in dropped.stderr and "warning" not in dropped.stderr
    quiet = runner.invoke(main, ["index-docs", str(docs)])
    assert "mount" not in quiet.stderr  # forgotten: nothing is mounted again, nothing leaves
    assert "rules/no-shadow.mdx" not in [h["path"] for h in search(runner, "no-shadow")]


def _indexed_with_rules(runner: CliRunner, site: tuple[Path, Path]) -> tuple[Path, Path]:
    """The site indexed once with its rule pages mounted at rules/."""
    docs, rules = site
    assert runner.invoke(main, ["index-docs", str(docs), "--mount", f"rules={rules}"]
                         ).exit_code == 0
    return docs, rules


def test_a_remembered_mount_that_moved_or_a_contradiction_is_a_clear_error(
        runner: CliRunner, site: tuple[Path, Path], tmp_path: Path) -> None:
    docs, rules = _indexed_with_rules(runner, site)
    moved = tmp_path / "rules-moved"
    rules.rename(moved)
    gone = runner.invoke(main, ["index-docs", str(docs)])
    assert gone.exit_code == 2
    assert (f"the last index-docs of this folder mounted {rules.resolve()} at rules/, which "
            "is gone: give --mount rules=FOLDER for its new place, or --unmount rules"
            ) in gone.stderr
    assert "rules/no-shadow.mdx" in [h["path"] for h in search(runner, "no-shadow")]  # kept
    again = runner.invoke(main, ["index-docs", str(docs), "--mount", f"rules={moved}"])
    assert "0 removed, 4 unchanged" in again.stderr and "mounting" not in again.stderr
    both = runner.invoke(main, ["index-docs", str(docs), "--mount", f"rules={moved}",
                                "--unmount", "rules"])
    assert both.exit_code == 2 and "--mount and --unmount both name rules/" in both.stderr
    bad = runner.invoke(main, ["index-docs", str(docs), "--unmount", "/rules"])
    assert bad.exit_code == 2 and "--unmount '/rules': the prefix must be a relative path" \
        in bad.stderr
    unknown = runner.invoke(main, ["index-docs", str(docs), "--unmount", "blog"])
    assert unknown.exit_code == 0
    assert "--unmount blog: the last index-docs of this folder mounted nothing at blog/" \
        in unknown.stderr and "4 unchanged" in unknown.stderr


def test_another_folder_inherits_no_mount_and_says_which_pages_leave(
        runner: CliRunner, site: tuple[Path, Path], tmp_path: Path) -> None:
    _, rules = _indexed_with_rules(runner, site)
    other = tmp_path / "other"
    write_docs(other, {"index.md": "# Other\n\nA different product's docs page.\n"})
    moved = runner.invoke(main, ["index-docs", str(other)])
    assert moved.exit_code == 0, moved.output
    assert "mounting" not in moved.stderr and "4 removed" in moved.stderr
    assert (f"the last index-docs mounted {rules.resolve()} at rules/; without --mount "
            f"rules={rules.resolve()} its 2 pages leave the index") in moved.stderr


def test_a_mount_that_collides_with_the_root_writes_nothing(runner: CliRunner,
                                                            site: tuple[Path, Path],
                                                            tmp_path: Path) -> None:
    docs, rules = site
    write_docs(docs / "rules", {"no-shadow.mdx": "# an old copy\n\nShadowing.\n"})
    result = runner.invoke(main, ["index-docs", str(docs), "--mount", f"rules={rules}"])
    assert result.exit_code == 2
    assert f"rules/no-shadow.mdx: both {docs} and {rules} give this page" in result.stderr
    twice = runner.invoke(main, ["index-docs", str(tmp_path / "packages"),
                                 "--mount", f"rules={rules}", "--mount", f"rules={rules}"])
    assert twice.exit_code == 2  # two mounts at one prefix: named as the two folders
    assert f"rules/no-floating-promises.mdx: both {rules} and {rules} give this page" \
        in twice.stderr
    missing = runner.invoke(main, ["index-docs", str(docs), "--mount",
                                   f"rules={tmp_path / 'nowhere'}"])
    assert missing.exit_code == 2 and "docs folder not found" in missing.stderr
    bad = runner.invoke(main, ["index-docs", str(docs), "--mount", "rules"])
    assert bad.exit_code == 2 and "give PREFIX=FOLDER" in bad.stderr
    assert not any((tmp_path / "home").glob("*.db"))


@pytest.mark.usefixtures("minilm")
def test_eval_measures_a_two_folder_site_with_labels_written_against_the_repository(
        site: tuple[Path, Path], tmp_path: Path) -> None:
    docs, rules = site
    groups = {
        "packages/eslint-plugin/docs/rules/no-shadow.mdx": [
            "no-shadow reports my enum member as shadowing a variable",
            "why does no-shadow flag an enum member named like an outer variable?",
            "no-shadow error on enum members, is this a bug?"],
        "packages/eslint-plugin/docs/rules/no-floating-promises.mdx": [
            "no-floating-promises wants me to await or void every promise",
            "how do I mark a promise as handled for no-floating-promises, void or catch?",
            "no-floating-promises error on a fire-and-forget promise statement"]}
    lines = [{"id": f"{g}{n}", "author": f"u{g}{n}", "text": text,
              "group": page.rsplit("/", 1)[1], "doc_path": page}
             for g, (page, texts) in enumerate(groups.items()) for n, text in enumerate(texts)]
    labels = tmp_path / "labels.jsonl"
    labels.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    result = CliRunner().invoke(main, [
        "eval", str(labels), "--docs", str(docs), "--mount", f"rules={rules}", "--json",
        "--doc-prefix", "docs/", "--doc-prefix", "packages/eslint-plugin/docs/"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["warnings"] == []  # every labelled page is a page of the index
    assert data["groups_recovered"] == data["right_page"] == 2


def test_an_index_from_before_the_given_folder_was_kept_still_remembers(
        runner: CliRunner, site: tuple[Path, Path], tmp_path: Path) -> None:
    """An index made before `given_root` was stored is matched by its pages folder; stored
    mounts this version cannot read are said, and the run indexes what it was given."""
    docs, _ = _indexed_with_rules(runner, site)
    database = tmp_path / "home" / "docloop.db"
    with closing(sqlite3.connect(database)) as conn, conn:
        conn.execute("DELETE FROM docs_meta WHERE key = 'given_root'")
    older = runner.invoke(main, ["index-docs", str(docs)])
    assert "0 removed, 4 unchanged" in older.stderr and "mounting" in older.stderr
    with closing(sqlite3.connect(database)) as conn, conn:
        conn.execute("UPDATE docs_meta SET value = '{\"not\": \"pairs\"' WHERE key = 'mounts'")
    unreadable = runner.invoke(main, ["index-docs", str(docs)])
    assert unreadable.exit_code == 0, unreadable.output
    assert "the last index-docs' mounts could not be read" in unreadable.stderr
    assert "2 removed" in unreadable.stderr  # indexed as given: the rule pages leave
