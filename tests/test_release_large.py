"""A release on a repository of 5,001 tracked files (:mod:`directive_release.git.scan`
stats them all in one loop): the same verdicts, end to end, wherever the change is."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from support import Project, git, make_project, run_cli

FILES = 5001


@pytest.fixture(scope="module")
def large_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once: a local clone is far cheaper than making the files per test."""
    project = make_project(tmp_path_factory.mktemp("large"), with_remote=False)
    for number in range(FILES):
        folder = project.path / "pkg" / f"m{number % 40:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{number:05d}.py").write_text(f"value = {number}\n")
    git(project.path, "config", "gc.auto", "0")  # no background gc packing while a test copies
    git(project.path, "add", "-A")
    git(project.path, "commit", "-q", "-m", "many files")
    return project.path


@pytest.fixture
def large(large_template: Path, tmp_path: Path) -> Project:
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(large_template), str(work))
    old = time.time() - 3600  # no racily clean entries: the loop alone decides
    for folder, _, names in os.walk(work / "pkg"):
        for name in names:
            os.utime(os.path.join(folder, name), (old, old))
    git(work, "update-index", "--refresh")
    return Project(work)


def test_release_on_a_large_repository(large: Project) -> None:
    result = run_cli("--part", "patch", "--yes", "--no-push", cwd=large.path)
    assert result.returncode == 0, result.stderr
    assert large.git("rev-parse", "--abbrev-ref", "HEAD").strip() == "release/v0.4.2"
    assert large.git("status", "--porcelain", "--untracked-files=no") == ""
    assert large.git("show", "--stat", "--format=%s", "HEAD").splitlines()[0] == "chore(release): v0.4.2"
    large.git("fsck", "--strict")


@pytest.mark.parametrize("where", [0.1, 0.9])  # near either end of the index
def test_a_change_anywhere_in_the_index_is_refused(large: Project, where: float) -> None:
    names = large.git("ls-files", "pkg").split()
    victim = large.path / names[int(len(names) * where)]
    victim.write_text("edited\n")
    before = large.snapshot()
    result = run_cli("--part", "patch", "--yes", "--no-push", cwd=large.path)
    assert result.returncode == 1
    assert victim.relative_to(large.path).as_posix() in result.stderr
    assert large.snapshot() == before
