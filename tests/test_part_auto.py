"""``--part auto``: the suggested part, or a one-line refusal that changes nothing; --json carries the suggestion."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support import Project, fast_commits, git, run_cli

def add_commits(project: Project, *messages: str, branch: str = "main") -> str:
    """Empty commits (the tree stays as it is) on ``branch``, through ``git fast-import``."""
    return fast_commits(project.path, messages, branch)


def every_byte(root: Path) -> dict[str, tuple[int, bytes | None]]:
    """Each file and directory under ``root`` (.git included): mode and content."""
    found: dict[str, tuple[int, bytes | None]] = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs:
            path = Path(directory, name)
            found[str(path.relative_to(root))] = (path.lstat().st_mode, None)
        for name in files:
            path = Path(directory, name)
            found[str(path.relative_to(root))] = (path.lstat().st_mode, path.read_bytes())
    return found


def released(project: Project, version: str) -> bool:
    return project.git("rev-parse", "--verify", "-q", f"refs/heads/release/v{version}", check=False).strip() != ""


def test_auto_releases_the_suggested_part(project: Project) -> None:
    project.git("tag", "v0.4.1")
    add_commits(project, "fix: a", "feat: b", "docs: c")
    result = run_cli("--part", "auto", "--yes", "--no-push", cwd=project.path)
    assert result.returncode == 0, result.stderr
    assert "Suggestion: 3 commits since v0.4.1: 1 feat, 1 fix, 1 other" in result.stdout
    assert released(project, "0.5.0")
    assert project.git("log", "-1", "--format=%s", "release/v0.5.0").strip() == "chore(release): v0.5.0"
    assert 'version = "0.5.0"' in project.git("show", "release/v0.5.0:pyproject.toml")


def test_auto_json_carries_the_suggestion(project: Project) -> None:
    project.git("tag", "v0.4.1")
    add_commits(project, "fix: a", "feat!: b")
    result = run_cli("--part", "auto", "--dry-run", "--no-push", "--json", cwd=project.path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["suggested_part"] == "minor" and summary["new_version"] == "0.5.0"
    assert summary["suggestion"] == ("2 commits since v0.4.1: 1 breaking, 1 fix \u2192 minor"
                                     " (breaking below 1.0.0 bumps minor; choose major for 1.0.0)")
    assert f"Suggestion: {summary['suggestion']}" in result.stderr  # the human line, on stderr under --json
    result = run_cli("--part", "auto", "--yes", "--json", cwd=project.path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["suggested_part"] == "minor" and summary["pushed"] is True
    commit = project.git("rev-parse", "release/v0.5.0").strip()
    assert git(project.remote, "rev-parse", "refs/heads/release/v0.5.0").strip() == commit  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("messages", "line"),
    [
        (("docs: a", "ci: b", "docs: c"), "nothing to release since v0.4.1: 3 commits, all docs/ci"),
        ((), "nothing to release since v0.4.1: no commits"),
        (("chore: a", "Test: b", "build: c", "style: d"), "nothing to release since v0.4.1: 4 commits, all build/chore/style/test"),
        (("Update the readme",), "cannot choose the part: 1 commit since v0.4.1, none in Conventional Commits form"),
    ],
    ids=["docs-ci", "no-commits", "chores", "unconventional"],
)
@pytest.mark.parametrize("json_mode", [False, True], ids=["text", "json"])
def test_auto_refuses_in_one_line_and_changes_nothing(project: Project, messages: tuple[str, ...], line: str,
                                                       json_mode: bool) -> None:
    project.git("tag", "v0.4.1")
    if messages:
        add_commits(project, *messages)
    project.git("status", "--porcelain")  # let git refresh the index first, as any checkout has it
    before = every_byte(project.path)
    remote_before = every_byte(project.remote)  # type: ignore[arg-type]
    result = run_cli("--part", "auto", "--yes", *(["--json"] if json_mode else []), cwd=project.path)
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [text for text in result.stderr.splitlines() if text.startswith("directive-release:")]
    assert len(errors) == 1 and errors[0].startswith(f"directive-release: {line}"), result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == "" if json_mode else "Suggestion:" in result.stdout
    assert every_byte(project.path) == before
    assert every_byte(project.remote) == remote_before  # type: ignore[arg-type]


def test_auto_without_a_terminal_needs_yes(project: Project) -> None:
    project.git("tag", "v0.4.1")
    add_commits(project, "feat: a")
    before = every_byte(project.path)
    result = run_cli("--part", "auto", cwd=project.path)
    assert result.returncode == 2
    assert "add --yes (directive-release --part auto --yes)" in result.stderr
    assert every_byte(project.path) == before


def test_auto_counts_only_after_a_merged_release_pr(project: Project) -> None:
    # The release PR of 0.4.1 merged (pyproject at 0.4.1) but not tagged: only later commits count.
    project.git("tag", "v0.4.0", "HEAD")
    add_commits(project, "feat: shipped in 0.4.1", "chore(release): v0.4.1 (#12)", "fix: after the release")
    result = run_cli("--part", "auto", "--dry-run", "--no-push", "--json", cwd=project.path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["suggested_part"] == "patch" and summary["new_version"] == "0.4.2"
    assert summary["suggestion"].startswith('1 commit since "chore(release): v0.4.1 (#12)"')


def test_auto_imports_neither_the_prompt_library_nor_dulwich(project: Project) -> None:
    project.git("tag", "v0.4.1")
    add_commits(project, "fix: a")
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "directive_release", "--part", "auto",
                             "--dry-run", "--no-push"], cwd=project.path, capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, timeout=120)
    assert result.returncode == 0, result.stderr
    imported = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")]
    assert "directive_release.git.history" in imported  # the probe really saw the suggestion's path
    assert not [name for name in imported if name.split(".")[0] in ("questionary", "prompt_toolkit", "dulwich")]


def test_auto_refuses_another_branch_than_the_named_base_before_reading_history(project: Project) -> None:
    project.git("tag", "v0.4.1")
    add_commits(project, "feat: a")
    before = every_byte(project.path)
    result = run_cli("--part", "auto", "--yes", "--no-push", "--base-branch", "1.x", cwd=project.path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "HEAD is on main, not on the base branch 1.x" in lines[0], result.stderr
    assert "Suggestion" not in result.stdout + result.stderr  # refused before the history was read
    assert every_byte(project.path) == before
