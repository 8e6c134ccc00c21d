""".env is read as python-dotenv reads it; every mistake in docloop.toml or .env is one
line naming the file and key, exit 2, never a traceback (checked by a seeded fuzz)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from docloop.cli import main
from docloop.config import ENV_NAMES, SECRET_NAMES, Settings, load_settings
from docloop.errors import ConfigError


def _load(tmp_path: Path, dotenv: str | bytes, environ: dict[str, str] | None = None) -> Settings:
    path = tmp_path / ".env"
    if isinstance(dotenv, bytes):
        path.write_bytes(dotenv)
    else:
        path.write_text(dotenv, encoding="utf-8")
    return load_settings(environ=environ or {}, cwd=tmp_path)


def _key(settings: Settings) -> str:
    assert settings.linear_api_key is not None
    return settings.linear_api_key.get_secret_value()


@pytest.mark.parametrize(("line", "value"), [
    ("LINEAR_API_KEY=lin_api_x   # rotate in March", "lin_api_x"),
    ("LINEAR_API_KEY='lin_api_x # not a comment'", "lin_api_x # not a comment"),
    ('export LINEAR_API_KEY="lin_api_x"', "lin_api_x"),
    ("LINEAR_API_KEY = lin_api_x", "lin_api_x"),
    ('LINEAR_API_KEY="line one\nline two"', "line one\nline two"),
    ('LINEAR_API_KEY="say \\"hi\\""', 'say "hi"'),
])
def test_dotenv_values_are_read_as_python_dotenv_reads_them(
        tmp_path: Path, line: str, value: str) -> None:
    assert _key(_load(tmp_path, f"# keys\n\n{line}\n")) == value


def test_dotenv_may_hold_any_setting_and_the_environment_beats_it(tmp_path: Path) -> None:
    settings = _load(tmp_path, "LINEAR_TEAM_ID=team-1  # ours\nDOCLOOP_MAX_INSIGHTS=3\n"
                               "LINEAR_API_KEY=from-file\n",
                     environ={"LINEAR_API_KEY": "from-env", "DOCLOOP_MAX_INSIGHTS": "7"})
    assert settings.linear_team_id == "team-1"
    assert settings.max_insights == 7 and _key(settings) == "from-env"


def test_dotenv_beats_docloop_toml(tmp_path: Path) -> None:
    (tmp_path / "docloop.toml").write_text('tracker = "none"\n', encoding="utf-8")
    assert _load(tmp_path, "DOCLOOP_TRACKER=local\n").tracker == "local"


def test_non_utf8_dotenv_is_a_one_line_error_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\.env: not UTF-8 text") as info:
        _load(tmp_path, b"LINEAR_API_KEY=caf\xe9\n")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("text", ['home = "a\\u0000b"\n', 'llm_model = "x\\u0000"\n'])
def test_a_nul_character_in_a_setting_is_a_config_error(tmp_path: Path, text: str) -> None:
    (tmp_path / "docloop.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"docloop\.toml: .*contains a NUL character"):
        load_settings(environ={}, cwd=tmp_path)


def test_a_nul_character_in_dotenv_names_the_variable_and_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"from DOCLOOP_HOME in .*\.env: .*NUL character"):
        _load(tmp_path, "DOCLOOP_HOME=a\x00b\n")


def test_a_byte_order_mark_does_not_hide_the_first_key(tmp_path: Path) -> None:
    assert _key(_load(tmp_path, "\ufeffLINEAR_API_KEY=lin_api_x\n".encode())) == "lin_api_x"
    (tmp_path / "docloop.toml").write_bytes("\ufeffmax_insights = 3\n".encode())
    assert load_settings(environ={}, cwd=tmp_path).max_insights == 3


def test_unparseable_dotenv_line_names_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\.env:2: not a KEY=VALUE line") as info:
        _load(tmp_path, "A=1\nLINEAR_API_KEY lin_api_secret\n")
    assert "lin_api_secret" not in str(info.value)


@pytest.mark.parametrize(("text", "message"), [
    ('docloop = "x"\n', "'docloop' must be the [docloop] table of settings, not str"),
    ("docloop = 5\n", "'docloop' must be the [docloop] table of settings, not int"),
    ('tracker = "local"\n[docloop]\nanalyzer = "llm"\n', "'tracker' is outside the [docloop]"),
    ("max_insights = \"ten\"\n", "invalid setting 'max_insights'"),
    ("sources = \"discord-export:x\"\n", "invalid setting 'sources'"),
    ("linear_labels = [1, 2]\n", "invalid setting 'linear_labels.0'"),
    ("[docloop.extra]\nx = 1\n", "unknown setting 'extra'"),
])
def test_wrong_toml_shapes_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "docloop.toml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["tickets", "--json"])
    assert result.exit_code == 2
    assert message in result.stderr and str(path) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""


KEYS = [*ENV_NAMES, "docloop", "sources", "colour", *SECRET_NAMES]
SCALARS = st.one_of(st.integers(-5, 10**6), st.booleans(), st.floats(allow_nan=True),
                    st.text(max_size=12), st.sampled_from(["llm", "local", "linear", "none"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.sampled_from(KEYS),
                                                                       inner, max_size=3)),
                      max_leaves=6)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if value != value else repr(value)
    if isinstance(value, str):  # JSON string escapes are TOML basic-string escapes
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return str(value)


TOML_FILES = st.one_of(
    st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=4).map(
        lambda table: "".join(f"{k} = {_toml_value(v)}\n" for k, v in table.items())),
    st.text(max_size=60),
)
ENV_LINE_NAMES = st.sampled_from([*ENV_NAMES.values(), *SECRET_NAMES.values(), "OTHER"])
ENV_FILES = st.one_of(
    st.lists(st.tuples(st.sampled_from(["", "export "]), ENV_LINE_NAMES,
                       st.text(alphabet=st.characters(codec="utf-8"), max_size=20)),
             max_size=4).map(lambda rows: "".join(f"{e}{k}={v}\n" for e, k, v in rows)),
    st.binary(max_size=40),
)


@seed(20261204)
@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(toml=TOML_FILES, dotenv=ENV_FILES)
def test_fuzzed_config_files_exit_0_or_2_with_one_line(toml: str, dotenv: str | bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "docloop.toml").write_text(toml, encoding="utf-8")
        env_path = root / ".env"
        env_path.write_bytes(dotenv if isinstance(dotenv, bytes) else dotenv.encode())
        result = CliRunner(env={"DOCLOOP_HOME": str(root / "home")}).invoke(
            main, ["tickets", "list", "--json", "--config", str(root / "docloop.toml")])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
