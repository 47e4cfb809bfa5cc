"""The ``directive-release-ci`` command line: help with examples, one-line usage errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from ci_support import SENTINEL, assert_no_secret, run_ci


@pytest.mark.parametrize("command", ["gate", "published", "tag"])
def test_each_command_explains_itself_with_an_example(command: str) -> None:
    result = run_ci(command, "--help")
    assert result.returncode == 0
    assert f"usage: directive-release-ci {command}" in result.stdout
    assert "Example" in result.stdout and f"directive-release-ci {command}" in result.stdout.split("Example", 1)[1]


def test_top_level_help_lists_the_commands() -> None:
    result = run_ci("--help")
    assert result.returncode == 0
    for command in ("gate", "published", "tag"):
        assert command in result.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [(("bogus",), "invalid choice"), ((), "required"), (("published", "--nope"), "unrecognized arguments")],
)
def test_usage_errors_are_one_line_exit_2(args: tuple[str, ...], needle: str) -> None:
    result = run_ci(*args)
    assert result.returncode == 2
    assert result.stderr.startswith("directive-release-ci: ") and result.stderr.count("\n") == 1
    assert needle in result.stderr and "--help" in result.stderr


def test_gate_outside_actions_says_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "w"\nversion = "1.0.0"\n')
    result = run_ci("gate", cwd=tmp_path, env={"GITHUB_TOKEN": SENTINEL})
    assert result.returncode == 2
    assert "GITHUB_EVENT_PATH" in result.stderr and "Traceback" not in result.stderr
    assert_no_secret(result.stdout, result.stderr)


def test_dynamic_version_is_refused_with_the_file_named(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "w"\ndynamic = ["version"]\n')
    result = run_ci("--project", str(tmp_path), "published")
    assert result.returncode == 1
    assert "pyproject.toml" in result.stderr and "dynamic" in result.stderr
