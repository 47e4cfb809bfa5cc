"""The one atomic-write helper (git's lock-file protocol) and the config edits made through it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from directive_release.errors import LockError
from directive_release.git.config_edit import add_keys, remove_keys
from directive_release.git.lockfile import LockFile, write_file
from support import git


def test_write_file_keeps_the_mode_and_leaves_nothing_beside(tmp_path: Path) -> None:
    target = tmp_path / "pyproject.toml"
    target.write_bytes(b"old")
    os.chmod(target, 0o755)
    write_file(target, b"new", mode=0o755)
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o755
    assert [p.name for p in tmp_path.iterdir()] == ["pyproject.toml"]


def test_a_held_lock_is_refused_and_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "config"
    target.write_bytes(b"mine")
    (tmp_path / "config.lock").write_bytes(b"someone else's")
    with pytest.raises(LockError, match="config.lock exists"):
        write_file(target, b"new")
    assert target.read_bytes() == b"mine" and (tmp_path / "config.lock").read_bytes() == b"someone else's"


def test_rollback_removes_the_lock_and_the_folders_it_made(tmp_path: Path) -> None:
    lock = LockFile(tmp_path / "refs" / "heads" / "release" / "v1").acquire()
    assert (tmp_path / "refs" / "heads" / "release" / "v1.lock").exists()
    lock.rollback()
    assert not (tmp_path / "refs").exists()


def _config(repo: Path) -> Path:
    return repo / ".git" / "config"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q", "-b", "main", "r")
    return tmp_path / "r"


def test_added_keys_read_back_with_git_and_come_out_byte_for_byte(repo: Path) -> None:
    before = _config(repo).read_bytes()
    keys = [("remote", "my origin"), ("merge", "refs/heads/release/v1.0.0")]
    add_keys(_config(repo), "branch", "release/v1.0.0", keys)
    assert git(repo, "config", "branch.release/v1.0.0.remote").strip() == "my origin"
    assert git(repo, "config", "branch.release/v1.0.0.merge").strip() == "refs/heads/release/v1.0.0"
    assert remove_keys(_config(repo), "branch", "release/v1.0.0", keys) == []
    assert _config(repo).read_bytes() == before


def test_a_key_the_user_changed_is_kept_and_named(repo: Path) -> None:
    keys = [("remote", "origin"), ("merge", "refs/heads/release/v1.0.0")]
    add_keys(_config(repo), "branch", "release/v1.0.0", keys)
    git(repo, "config", "branch.release/v1.0.0.remote", "upstream")
    git(repo, "config", "branch.release/v1.0.0.description", "mine")
    assert remove_keys(_config(repo), "branch", "release/v1.0.0", keys) == ["remote"]
    assert git(repo, "config", "branch.release/v1.0.0.remote").strip() == "upstream"
    assert git(repo, "config", "branch.release/v1.0.0.description").strip() == "mine"
    assert git(repo, "config", "branch.release/v1.0.0.merge", check=False).strip() == ""


def test_nothing_to_remove_takes_no_lock(repo: Path) -> None:
    (repo / ".git" / "config.lock").write_bytes(b"held")
    assert remove_keys(_config(repo), "branch", "release/v1.0.0", [("remote", "origin")]) == []
    assert (repo / ".git" / "config.lock").read_bytes() == b"held"
