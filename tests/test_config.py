"""Settings resolve flag > environment > docloop.toml > default, with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from docloop.cli import main
from docloop.config import load_settings
from docloop.errors import ConfigError


def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "docloop.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults() -> None:
    settings = load_settings(environ={}, cwd=Path("/nonexistent"))
    assert settings.analyzer == "offline" and settings.tracker == "local"
    assert settings.home == Path(".docloop") and settings.max_insights == 10


def test_precedence_flag_env_toml_default(tmp_path: Path) -> None:
    _toml(tmp_path, 'max_insights = 3\nmin_conversations = 4\ntracker = "none"\n')
    env = {"DOCLOOP_MAX_INSIGHTS": "5", "DOCLOOP_TRACKER": "linear"}
    settings = load_settings(overrides={"tracker": "local"}, environ=env, cwd=tmp_path)
    assert settings.tracker == "local"  # flag beats env
    assert settings.max_insights == 5  # env beats toml
    assert settings.min_conversations == 4  # toml beats default
    assert settings.llm_model == "gpt-4o-mini"  # default


def test_docloop_table_and_lists(tmp_path: Path) -> None:
    _toml(tmp_path, '[docloop]\nlinear_labels = ["docs", "community"]\n')
    settings = load_settings(environ={"DOCLOOP_HOME": str(tmp_path / "h")}, cwd=tmp_path)
    assert settings.linear_labels == ["docs", "community"]
    assert settings.db_path == tmp_path / "h" / "docloop.db"
    env = load_settings(environ={"DOCLOOP_LINEAR_LABELS": "a, b"}, cwd=tmp_path)
    assert env.linear_labels == ["a", "b"]


def test_secrets_come_from_env_or_dotenv_never_toml(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("export LINEAR_API_KEY='lin_api_x'\n# comment\n",
                                   encoding="utf-8")
    settings = load_settings(environ={"OPENAI_API_KEY": "sk-env"}, cwd=tmp_path)
    assert settings.linear_api_key is not None
    assert settings.linear_api_key.get_secret_value() == "lin_api_x"
    assert settings.openai_api_key is not None and "sk-env" not in repr(settings)
    _toml(tmp_path, 'linear_api_key = "oops"\n')
    with pytest.raises(ConfigError, match="'linear_api_key' is a secret; set LINEAR_API_KEY"):
        load_settings(environ={}, cwd=tmp_path)


@pytest.mark.parametrize(("text", "message"), [
    ('tracker = "jira"\n', "invalid setting 'tracker'"),
    ("max_insights = -1\n", "invalid setting 'max_insights'"),
    ("colour = 1\n", "unknown setting 'colour'"),
    ("tracker = \n", "not valid TOML"),
])
def test_bad_toml_values_name_the_key_and_file(tmp_path: Path, text: str, message: str) -> None:
    path = _toml(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as info:
        load_settings(environ={}, cwd=tmp_path)
    assert str(path) in str(info.value) or "TOML" not in message


def test_bad_env_value_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="DOCLOOP_ANALYZER"):
        load_settings(environ={"DOCLOOP_ANALYZER": "magic"}, cwd=Path("/nonexistent"))


def test_cli_reports_config_errors_with_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["tickets", "list", "--config", str(tmp_path / "x.toml")])
    assert result.exit_code == 2
    assert "config file not found" in result.output
    _toml(tmp_path, 'analyzer = "magic"\n')
    result = CliRunner().invoke(main, ["run", "--source", "discord-export:x"])
    assert result.exit_code == 2 and "invalid setting 'analyzer'" in result.output


def test_since_days_beyond_the_longest_window_names_the_variable() -> None:
    """DOCLOOP_SINCE_DAYS past 100 years is the setting's error, not a later '--since' one."""
    with pytest.raises(ConfigError, match="DOCLOOP_SINCE_DAYS"):
        load_settings(environ={"DOCLOOP_SINCE_DAYS": "99999"}, cwd=Path("/nonexistent"))
