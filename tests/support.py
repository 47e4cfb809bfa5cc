"""Helpers shared by the tests: the git binary as oracle, demo projects, the CLI in a real process.

Imported as ``support`` (``tests`` is on pytest's pythonpath): a module named
``conftest`` cannot be imported reliably when several folders have one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "demo-pkg"
# the version directive-release bumps
version = "0.4.1"
description = "demo"
"""


def git(cwd: Path, *args: str, check: bool = True, env: dict[str, str] | None = None) -> str:
    """Run the git binary (oracle) and return stdout."""
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    if check and result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result.stdout


@dataclass
class Project:
    """A working repository with a pyproject.toml, optionally with a bare remote."""

    path: Path
    remote: Path | None = None
    extra: dict[str, object] = field(default_factory=dict)

    def git(self, *args: str, check: bool = True) -> str:
        return git(self.path, *args, check=check)

    def snapshot(self) -> dict[str, object]:
        """Everything a release may touch, to compare before/after byte for byte."""
        gitdir = self.path / ".git"
        refs = self.git("for-each-ref", "--format=%(refname) %(objectname)")
        state: dict[str, object] = {
            "HEAD": (gitdir / "HEAD").read_bytes(),
            "refs": refs,
            "index": (gitdir / "index").read_bytes(),
            "pyproject": (self.path / "pyproject.toml").read_bytes(),
            "pyproject_mode": (self.path / "pyproject.toml").stat().st_mode,
            "config": (gitdir / "config").read_bytes(),
            "locks": sorted(str(p.relative_to(gitdir)) for p in gitdir.rglob("*.lock")),
        }
        if self.remote is not None:
            state["remote_refs"] = git(self.remote, "for-each-ref", "--format=%(refname) %(objectname)")
        return state


def make_project(root: Path, *, pyproject: str = PYPROJECT, with_remote: bool = True) -> Project:
    work = root / "work"
    work.mkdir(parents=True)
    git(work, "init", "-q", "-b", "main")
    (work / "pyproject.toml").write_text(pyproject)
    (work / "README.md").write_text("# demo\n")
    git(work, "add", "pyproject.toml", "README.md")
    git(work, "commit", "-q", "-m", "initial")
    remote = None
    if with_remote:
        remote = root / "remote.git"
        git(root, "init", "-q", "--bare", "-b", "main", str(remote))
        git(work, "remote", "add", "origin", remote.as_uri())
        git(work, "push", "-q", "-u", "origin", "main")
    return Project(work, remote)


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            input: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``python -m directive_release`` as a user would, in a real process."""
    return subprocess.run(
        [sys.executable, "-m", "directive_release", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        input=input,
        timeout=timeout,
        stdin=None if input is not None else subprocess.DEVNULL,
    )


def git_binary_dir() -> Path:
    found = shutil.which("git")
    assert found, "the tests need the git binary as an oracle"
    return Path(found).parent


_FAST_CLOCK = iter(range(1_700_000_000, 2_000_000_000, 60))


def fast_commits(path: Path, messages: list[str] | tuple[str, ...], branch: str = "main",
                 clock: "Iterator[int] | None" = None) -> str:
    """Empty commits (the tree stays as it is) on top of ``branch`` through ``git fast-import``:
    thousands a second, dated by ``clock`` (default: a minute apart); the new tip."""
    clock = _FAST_CLOCK if clock is None else clock
    tip = git(path, "rev-parse", branch).strip()
    stream = []
    for number, message in enumerate(messages):
        stamp = next(clock)
        data = message.encode()
        stream.append(b"commit refs/heads/%s\n" % branch.encode())
        stream.append(b"author A <a@example.test> %d +0000\ncommitter C <c@example.test> %d +0000\n" % (stamp, stamp))
        stream.append(b"data %d\n%s\n" % (len(data), data))
        if number == 0:
            stream.append(b"from %s\n" % tip.encode())
        stream.append(b"\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=path, input=b"".join(stream), check=True)
    return git(path, "rev-parse", branch).strip()
