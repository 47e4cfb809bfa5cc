"""The stat loop: which entries it clears, which it leaves to the judge, and that it
needs nothing but ``lstat`` (no fork, no threads, no /proc)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from directive_release.git import scan as scan_mod
from directive_release.git.index import IndexFile
from directive_release.git.repo import discover

from .conftest import Oracle, run_git, write

def positions(found: scan_mod.Scan) -> tuple[list[int], list[int], list[int]]:
    return found.suspects, found.intent_to_add, found.unmerged


def load(path: Path) -> tuple[IndexFile, bytes]:
    repo = discover(path)
    index = IndexFile.read(repo.index_path, hash_hex_length=repo.hash_hex_length)
    return index, os.fsencode(repo.worktree) + b"/"


@pytest.fixture
def busy_repo(tmp_path: Path) -> Path:
    """300 committed files in 12 folders, then a change of every kind the loop sorts,
    spread over the whole index so every slice has some."""
    repo = tmp_path / "busy"
    repo.mkdir()
    run_git(repo, "init", "-q", "-b", "main")
    for number in range(300):
        write(repo / f"d{number % 12:02d}" / f"f{number:03d}.txt", f"{number}\n")
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-q", "-m", "initial")
    old = time.time() - 3600
    for path in repo.rglob("*.txt"):
        os.utime(path, (old, old))
    run_git(repo, "update-index", "--refresh")
    write(repo / "d00/f000.txt", "changed size\n")
    write(repo / "d05/f017.txt", "17\n")  # same bytes, new mtime: a suspect, not a change
    (repo / "d07/f103.txt").unlink()
    (repo / "d11/f299.txt").chmod(0o755)
    run_git(repo, "update-index", "--assume-unchanged", "d03/f015.txt")
    write(repo / "d03/f015.txt", "hidden by assume-unchanged\n")
    run_git(repo, "update-index", "--skip-worktree", "d09/f021.txt")
    (repo / "d09/f021.txt").unlink()
    (repo / "d04").rename(repo / "real04")  # the same files, now behind a symlinked directory
    os.symlink("real04", repo / "d04")
    write(repo / "d10/new.txt", "intent\n")
    run_git(repo, "add", "-N", "d10/new.txt")
    blob = run_git(repo, "hash-object", "-w", "--stdin", input=b"theirs\n").strip()
    conflict = f"0 {'0' * 40}\td06/f006.txt\n100644 {blob} 2\td06/f006.txt\n100644 {blob} 3\td06/f006.txt\n"
    run_git(repo, "update-index", "--index-info", input=conflict.encode())
    return repo


def paths_at(index: IndexFile, found: list[int]) -> list[str]:
    return [index.paths[position].decode() for position in found]


def test_every_kind_of_entry_is_sorted(busy_repo: Path) -> None:
    index, root = load(busy_repo)
    found = scan_mod.scan(index, root)
    suspects = paths_at(index, found.suspects)
    assert suspects == sorted(suspects)  # index order
    assert {"d00/f000.txt", "d05/f017.txt", "d07/f103.txt", "d11/f299.txt"} <= set(suspects)
    behind_symlink = {path for path in suspects if path.startswith("d04/")}
    assert behind_symlink == {p.decode() for p in index.paths if p.startswith(b"d04/")}
    assert "d03/f015.txt" not in suspects  # assume-unchanged: git never looks
    assert "d09/f021.txt" not in suspects  # skip-worktree: git never looks ...
    assert paths_at(index, found.skip_worktree) == ["d09/f021.txt"]  # ... unless a sparse checkout says so
    assert paths_at(index, found.intent_to_add) == ["d10/new.txt"]
    assert paths_at(index, found.unmerged) == ["d06/f006.txt", "d06/f006.txt"]
    untouched = set(suspects) - {"d00/f000.txt", "d05/f017.txt", "d07/f103.txt", "d11/f299.txt"} - behind_symlink
    assert untouched == set()  # nothing else: every other entry's stat data matches


def test_without_directory_fds(busy_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where lstat() takes no dir_fd (Windows), whole paths give the same answer."""
    index, root = load(busy_repo)
    expected = positions(scan_mod.scan(index, root))
    monkeypatch.setattr(os, "supports_dir_fd", set())
    assert positions(scan_mod.scan(index, root)) == expected


def test_no_fork_no_threads_no_signal_masks(busy_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a platform without fork() or pthread_sigmask (Windows) has is enough."""
    import signal
    import threading

    index, root = load(busy_repo)
    expected = positions(scan_mod.scan(index, root))
    for name in ("fork", "sched_getaffinity", "register_at_fork"):
        monkeypatch.delattr(os, name, raising=False)
    monkeypatch.delattr(signal, "pthread_sigmask", raising=False)
    threads = threading.active_count()
    modules = set(sys.modules)
    assert positions(scan_mod.scan(index, root)) == expected
    assert threading.active_count() == threads
    assert not {"mmap", "multiprocessing", "concurrent.futures"} & (set(sys.modules) - modules)


def test_one_entry(tmp_path: Path) -> None:
    repo = tmp_path / "tiny"
    repo.mkdir()
    run_git(repo, "init", "-q")
    write(repo / "only.txt", "x\n")
    run_git(repo, "add", "-A")
    write(repo / "only.txt", "changed\n")
    index, root = load(repo)
    assert scan_mod.scan(index, root).suspects == [0]


def test_empty_index(tmp_path: Path) -> None:
    repo = tmp_path / "empty"
    repo.mkdir()
    run_git(repo, "init", "-q")
    index, root = load(repo)
    assert positions(scan_mod.scan(index, root)) == ([], [], [])
    assert scan_mod.scan(index, root).skip_worktree == []


def test_verdict_equals_git(busy_repo: Path, oracle: Oracle) -> None:
    lines = oracle.compare(busy_repo)
    assert " M d00/f000.txt" in lines and " D d07/f103.txt" in lines and " M d11/f299.txt" in lines
    assert "AA d06/f006.txt" in lines
    assert " D d04/f004.txt" in lines  # behind a symlink: gone, as far as git is concerned
    assert not any("d05/f017.txt" in line for line in lines)  # a suspect, but the same bytes
