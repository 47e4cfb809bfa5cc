"""End to end on the index formats real repositories use: a split index
(core.splitIndex) and a sparse index (cone mode, --sparse-index). The real command
in a real process; the git binary judges what it leaves: status, fsck --strict,
diff --cached, ls-files --debug, and the commit's content."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from support import Project, git, run_cli


def _with_folders(project: Project) -> Project:
    """Two folders besides the root files, so a cone can leave one out."""
    for path, text in {"src/pkg/core.py": "x = 1\n", "src/pkg/util.py": "y = 2\n",
                       "docs/guide/intro.md": "# intro\n", "docs/index.md": "# docs\n"}.items():
        target = project.path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    project.git("add", "-A")
    project.git("commit", "-q", "-m", "folders")
    return project


def _split(project: Project, how: str) -> None:
    if how == "update-index --split-index":
        project.git("config", "splitIndex.maxPercentChange", "100")
        project.git("update-index", "--split-index")
    else:  # core.splitIndex, with git writing a new shared index at every write
        project.git("config", "core.splitIndex", "true")
        project.git("config", "splitIndex.maxPercentChange", "0")
        project.git("status", "--porcelain")
    # An entry replaced in the split file too (new stat data), cache tree valid again.
    (project.path / "README.md").touch()
    project.git("add", "README.md")
    project.git("commit", "-q", "--allow-empty", "-m", "touch")
    assert b"link" in (project.path / ".git" / "index").read_bytes()


def _sparse(project: Project) -> None:
    project.git("sparse-checkout", "set", "--cone", "--sparse-index", "src")
    assert b"sdir" in (project.path / ".git" / "index").read_bytes()
    assert not (project.path / "docs").exists()


def _assert_git_accepts_the_release(project: Project) -> None:
    main = project.git("rev-parse", "main").strip()
    head = project.git("rev-parse", "HEAD").strip()
    assert project.git("symbolic-ref", "HEAD").strip() == "refs/heads/release/v0.4.2"
    assert project.git("rev-parse", "HEAD~1").strip() == main
    assert project.git("log", "--format=%s", "main..HEAD").splitlines() == ["chore(release): v0.4.2"]
    # The commit: main's tree with one line of pyproject.toml changed, nothing else.
    assert project.git("diff", "--numstat", main, head).split() == ["1", "1", "pyproject.toml"]
    assert project.git("show", f"{head}:pyproject.toml") == (project.path / "pyproject.toml").read_text()
    assert 'version = "0.4.2"' in project.git("show", f"{head}:pyproject.toml")
    assert project.git("ls-tree", "-r", f"{head}^{{tree}}").replace(
        project.git("rev-parse", f"{head}:pyproject.toml").strip(), "X") == project.git(
        "ls-tree", "-r", f"{main}^{{tree}}").replace(project.git("rev-parse", f"{main}:pyproject.toml").strip(), "X")
    # The index: what git reads, checks and compares as clean.
    assert project.git("--no-optional-locks", "status", "--porcelain") == ""
    assert subprocess.run(["git", "diff", "--cached", "--quiet"], cwd=project.path).returncode == 0
    assert subprocess.run(["git", "diff", "--quiet"], cwd=project.path).returncode == 0
    fsck = subprocess.run(["git", "fsck", "--strict"], cwd=project.path, capture_output=True, text=True)
    assert fsck.returncode == 0 and "error" not in fsck.stderr.lower(), fsck.stdout + fsck.stderr
    debug = project.git("ls-files", "--debug", "pyproject.toml")
    assert "pyproject.toml" in debug and "size: " in debug
    staged = project.git("ls-files", "-s", "pyproject.toml").split()[1]
    assert staged == project.git("rev-parse", f"{head}:pyproject.toml").strip()
    assert project.git("write-tree").strip() == project.git("rev-parse", f"{head}^{{tree}}").strip()


@pytest.mark.parametrize("how", ["update-index --split-index", "core.splitIndex"])
def test_release_on_a_split_index(project: Project, how: str) -> None:
    _with_folders(project)
    _split(project, how)
    result = run_cli("--part", "patch", "--yes", "--no-push", cwd=project.path)
    assert result.returncode == 0, result.stderr
    _assert_git_accepts_the_release(project)
    index = project.path / ".git" / "index"
    assert b"link" not in index.read_bytes()  # written whole ...
    if how == "core.splitIndex":  # ... and split again by git's next write
        (project.path / "README.md").touch()
        project.git("add", "README.md")
        assert b"link" in index.read_bytes()
        _assert_git_accepts_the_release(project)


def test_release_on_a_sparse_index(project: Project) -> None:
    _with_folders(project)
    _sparse(project)
    sparse_before = project.git("ls-files", "--sparse", "-s")
    result = run_cli("--part", "patch", "--yes", "--no-push", cwd=project.path)
    assert result.returncode == 0, result.stderr
    _assert_git_accepts_the_release(project)
    assert b"sdir" in (project.path / ".git" / "index").read_bytes()  # still sparse
    sparse_after = project.git("ls-files", "--sparse", "-s")
    assert "040000" in sparse_after and "\tdocs/\n" in sparse_after
    unchanged = [line for line in sparse_before.splitlines() if not line.endswith("\tpyproject.toml")]
    assert unchanged == [line for line in sparse_after.splitlines() if not line.endswith("\tpyproject.toml")]
    assert not (project.path / "docs").exists()  # the checkout stayed sparse


@pytest.mark.parametrize("fmt", ["split", "sparse"])
def test_a_change_is_refused_on_either_format(project: Project, fmt: str) -> None:
    _with_folders(project)
    if fmt == "split":
        _split(project, "core.splitIndex")
    else:
        _sparse(project)
    (project.path / "src/pkg/util.py").write_text("y = 3\n")
    assert project.git("status", "--porcelain", "-uno") == " M src/pkg/util.py\n"
    before = project.snapshot()
    result = run_cli("--part", "patch", "--yes", "--no-push", cwd=project.path)
    assert result.returncode == 1
    assert "src/pkg/util.py" in result.stderr
    assert project.snapshot() == before


def test_a_change_outside_the_cone_is_refused(project: Project) -> None:
    """A file put back where the sparse checkout left it out: git compares it (and so
    do we): the release is refused, nothing changes."""
    _with_folders(project)
    _sparse(project)
    (project.path / "docs").mkdir()
    (project.path / "docs/index.md").write_text("# edited outside the cone\n")
    assert project.git("--no-optional-locks", "status", "--porcelain", "-uno") == " M docs/index.md\n"
    before = project.snapshot()
    result = run_cli("--part", "patch", "--yes", "--no-push", cwd=project.path)
    assert result.returncode == 1
    assert "docs/index.md" in result.stderr
    assert project.snapshot() == before


def test_split_and_sparse_together_refused_in_one_line(project: Project) -> None:
    _with_folders(project)
    _sparse(project)
    project.git("config", "core.splitIndex", "true")
    assert subprocess.run(["git", "status"], cwd=project.path, capture_output=True).returncode != 0  # git too
    before = project.snapshot()
    result = run_cli("--part", "patch", "--yes", "--no-push", cwd=project.path)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and ".git/index" in lines[0] and "core.splitIndex" in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert project.snapshot() == before
    assert git(project.path, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"


@pytest.mark.parametrize("fmt", ["split", "sparse"])
def test_hooks_see_the_staged_index_and_a_refusal_restores_the_original(project: Project, fmt: str) -> None:
    """The pre-commit hook runs git on the index we staged (GIT_INDEX_FILE = the lock):
    git must read it. A hook that says no leaves the original index, byte for byte, and
    git still reads that one (the split index's shared file is untouched)."""
    _with_folders(project)
    if fmt == "split":
        _split(project, "core.splitIndex")
    else:
        _sparse(project)
    hook = project.path / ".git" / "hooks" / "pre-commit"
    saw = project.path.parent / "hook-saw.txt"
    hook.write_text(f"#!/bin/sh\ngit diff --cached --name-only > {saw}\ngit show :pyproject.toml"
                    f" | grep '^version' >> {saw}\ngit fsck --strict --no-dangling >> {saw} 2>&1 || echo fsck-failed >> {saw}\n"
                    "exit 1\n")
    hook.chmod(0o755)
    before = project.snapshot()
    result = run_cli("--part", "patch", "--yes", "--no-push", cwd=project.path)
    assert result.returncode != 0
    assert saw.read_text().splitlines() == ["pyproject.toml", 'version = "0.4.2"']
    assert project.snapshot() == before
    assert project.git("status", "--porcelain") == ""
    hook.unlink()
    result = run_cli("--part", "patch", "--yes", "--no-push", cwd=project.path)
    assert result.returncode == 0, result.stderr
    _assert_git_accepts_the_release(project)
