"""Fixtures for the index and clean-check tests: git as the oracle for our verdict."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from directive_release.git.repo import discover, read_ref
from directive_release.git.status import tracked_changes

_RENAME = re.compile(r'^(.)(.) (".*?(?<!\\)"|.*?) -> (.*)$')


def run_git(cwd: Path, *args: str, env: dict[str, str] | None = None, input: bytes | None = None,
            check: bool = True) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, env={**os.environ, **(env or {})}, input=input
    )
    if check and result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {result.stderr.decode(errors='replace')}")
    return result.stdout.decode("utf-8", "surrogateescape")


def git_porcelain(path: Path) -> list[str]:
    """``git status --porcelain -uno`` without refreshing the index on disk."""
    out = run_git(path, "--no-optional-locks", "status", "--porcelain", "--untracked-files=no")
    lines: list[str] = []
    for line in out.splitlines():
        renamed = _RENAME.match(line)
        if renamed and "R" in renamed.group(1) + renamed.group(2):
            # We report a rename (staged "R ", or " R" via an intent-to-add) as the
            # deletion/addition pair it is made of.
            x, y, old, new = renamed.groups()
            lines.append(("D" if x == "R" else " ") + ("D" if y == "R" else " ") + f" {old}")
            lines.append(("A" if x == "R" else x) + ("A" if y == "R" else y) + f" {new}")
        else:
            lines.append(line)
    return sorted(lines, key=_line_path)


def _line_path(line: str) -> bytes:
    path = line[3:]
    if path.startswith('"'):
        path = path[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
        return path.encode("latin-1", "surrogateescape")
    return path.encode("utf-8", "surrogateescape")


def our_porcelain(path: Path) -> list[str]:
    repo = discover(path)
    head = read_ref(repo, "HEAD")
    assert head is not None
    return tracked_changes(repo, head, limit=None)


@dataclass
class Oracle:
    """Our verdict next to git's for the same working tree."""

    ours: Callable[[Path], list[str]] = our_porcelain
    theirs: Callable[[Path], list[str]] = git_porcelain

    def compare(self, path: Path) -> list[str]:
        """Assert same lines as git (renames split) and return them."""
        ours = self.ours(path)
        theirs = self.theirs(path)
        assert ours == theirs, f"ours {ours} != git {theirs}"
        return ours


@pytest.fixture
def oracle() -> Oracle:
    return Oracle()


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


@pytest.fixture
def base_repo(tmp_path: Path) -> Path:
    """A committed repository with nested folders, an executable, a symlink, an empty
    and a binary file, names with spaces and non-ASCII characters."""
    repo = tmp_path / "repo"
    repo.mkdir()
    run_git(repo, "init", "-q", "-b", "main")
    write(repo / "README.md", "# demo\n")
    write(repo / "pyproject.toml", '[project]\nname = "demo"\nversion = "0.4.1"\n')
    write(repo / "src/pkg/__init__.py", "")
    write(repo / "src/pkg/core.py", "def f():\n    return 1\n")
    write(repo / "src/pkg/data/blob.bin", bytes(range(256)) * 4)
    write(repo / "docs/a b.txt", "spaced\n")
    write(repo / "docs/caf\u00e9.txt", "accent\n")
    write(repo / "run.sh", "#!/bin/sh\necho hi\n").chmod(0o755)
    os.symlink("README.md", repo / "link")
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-q", "-m", "initial")
    return repo
