"""The stat loop split across forked processes gives the serial loop's answer, whatever
the children do: fail, die, get signals, or outlive an interrupted parent."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from directive_release.git import scan as scan_mod
from directive_release.git.index import IndexFile
from directive_release.git.repo import discover

from .conftest import Oracle, run_git, write

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the split needs fork()")


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


@pytest.mark.parametrize("processes", [2, 3, 5, 8])
def test_split_equals_serial(busy_repo: Path, processes: int) -> None:
    index, root = load(busy_repo)
    serial = scan_mod.scan(index, root, processes=1)
    assert serial.suspects and serial.intent_to_add and serial.unmerged  # the fixture covers every kind
    assert positions(scan_mod.scan(index, root, processes=processes)) == positions(serial)


def test_without_directory_fds(busy_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where lstat() takes no dir_fd, whole paths give the same answer."""
    index, root = load(busy_repo)
    expected = positions(scan_mod.scan(index, root, processes=1))
    monkeypatch.setattr(os, "supports_dir_fd", set())
    assert positions(scan_mod.scan(index, root, processes=1)) == expected
    assert positions(scan_mod.scan(index, root, processes=3)) == expected


def test_more_processes_than_entries(tmp_path: Path) -> None:
    repo = tmp_path / "tiny"
    repo.mkdir()
    run_git(repo, "init", "-q")
    write(repo / "only.txt", "x\n")
    run_git(repo, "add", "-A")
    write(repo / "only.txt", "changed\n")
    index, root = load(repo)
    assert scan_mod.scan(index, root, processes=4).suspects == [0]


def recording_forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every child forked by the scan (its pid), whichever way the work is split."""
    pids: list[int] = []
    real = scan_mod._fork

    def remember(work: object) -> scan_mod._Child | None:
        child = real(work)  # type: ignore[arg-type]
        if child is not None:
            pids.append(child.pid)
        return child

    monkeypatch.setattr(scan_mod, "_fork", remember)
    return pids


def test_default_split_follows_index_size(busy_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    forks = recording_forks(monkeypatch)
    monkeypatch.setattr(scan_mod, "_usable_cpus", lambda: 2)
    index, root = load(busy_repo)
    expected = positions(scan_mod.scan(index, root))
    assert forks == []  # 302 entries: one process
    monkeypatch.setattr(scan_mod, "ENTRIES_PER_PROCESS", 100)
    assert positions(scan_mod.scan(index, root)) == expected
    assert len(forks) == 1  # capped by the CPUs: two processes


@pytest.mark.parametrize("processes", [2, 3])
@pytest.mark.parametrize("failure", ["raise", "sigkill", "exit-0-silently"])
def test_failing_or_dying_child_leaves_the_answer_unchanged(busy_repo: Path, monkeypatch: pytest.MonkeyPatch,
                                                            processes: int, failure: str) -> None:
    index, root = load(busy_repo)
    expected = positions(scan_mod.scan(index, root, processes=1))
    parent = os.getpid()
    real = scan_mod._scan_range

    def misbehaving(*args: object) -> scan_mod.Scan:
        if os.getpid() != parent:
            if failure == "raise":
                raise OSError("EMFILE in the child")
            if failure == "sigkill":
                os.kill(os.getpid(), signal.SIGKILL)
            os._exit(0)  # no answer written: a truncated reply must not read as "clean"
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(scan_mod, "_scan_range", misbehaving)
    assert positions(scan_mod.scan(index, root, processes=processes)) == expected


@pytest.mark.parametrize("processes", [2, 3])
def test_fork_failing_leaves_the_answer_unchanged(busy_repo: Path, monkeypatch: pytest.MonkeyPatch,
                                                  processes: int) -> None:
    index, root = load(busy_repo)
    expected = positions(scan_mod.scan(index, root, processes=1))

    def no_fork() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")  # EAGAIN: too many processes

    monkeypatch.setattr(os, "fork", no_fork)
    assert positions(scan_mod.scan(index, root, processes=processes)) == expected


@pytest.mark.parametrize("slow", ["child", "parent"])
def test_two_ends_meet_wherever_the_speeds_put_them(busy_repo: Path, monkeypatch: pytest.MonkeyPatch,
                                                    slow: str) -> None:
    """Two processes claim chunks from either end: a slow side leaves more to the other."""
    monkeypatch.setattr(scan_mod, "CHUNK", 16)
    index, root = load(busy_repo)
    expected = positions(scan_mod.scan(index, root, processes=1))
    parent = os.getpid()
    real = scan_mod._scan_range
    statted: list[tuple[int, int]] = []

    def timed(index: IndexFile, root: bytes, low: int, high: int, *rest: object) -> scan_mod.Scan:
        in_child = os.getpid() != parent
        if (slow == "child") == in_child:
            time.sleep(0.02)
        if not in_child:
            statted.append((low, high))
        return real(index, root, low, high, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(scan_mod, "_scan_range", timed)
    assert positions(scan_mod.scan(index, root, processes=2)) == expected
    by_parent = sum(high - low for low, high in statted)
    total = len(index.paths)
    assert (by_parent > total * 3 // 4) if slow == "child" else (by_parent < total // 4), by_parent


def test_both_ends_statting_the_same_chunk_keep_one_answer(busy_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A parent that never sees the child's claims stats everything; the overlap is the
    child's, and nothing is counted twice."""
    index, root = load(busy_repo)
    expected = positions(scan_mod.scan(index, root, processes=1))
    parent = os.getpid()
    real = scan_mod._PROGRESS

    class Blind:
        size = real.size

        def pack_into(self, *args: object) -> None:
            real.pack_into(*args)  # type: ignore[arg-type]

        def unpack_from(self, buffer: object) -> tuple[int, int]:
            child_low, parent_end = real.unpack_from(buffer)  # type: ignore[arg-type]
            return (len(index.paths), parent_end) if os.getpid() == parent else (child_low, parent_end)

    real_range = scan_mod._scan_range

    def unhurried_parent(*args: object) -> scan_mod.Scan:
        if os.getpid() == parent:
            time.sleep(0.002)  # the child surely claims chunks the parent will stat too
        return real_range(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(scan_mod, "_PROGRESS", Blind())
    monkeypatch.setattr(scan_mod, "_scan_range", unhurried_parent)
    monkeypatch.setattr(scan_mod, "CHUNK", 8)
    assert positions(scan_mod.scan(index, root, processes=2)) == expected


@pytest.mark.parametrize("processes", [2, 3])
def test_signals_sent_to_a_child_do_not_run_python_code_there(busy_repo: Path, monkeypatch: pytest.MonkeyPatch,
                                                              processes: int) -> None:
    """Ctrl-C reaches the whole process group. A child must not raise KeyboardInterrupt
    into the parent's code it inherited (a release's unwinding would run twice)."""
    index, root = load(busy_repo)
    expected = positions(scan_mod.scan(index, root, processes=1))
    real = scan_mod._fork
    statuses: list[int] = []

    def interrupted(work: object) -> scan_mod._Child | None:
        child = real(work)  # type: ignore[arg-type]
        assert child is not None
        os.kill(child.pid, signal.SIGINT)
        os.kill(child.pid, signal.SIGTERM)
        return child

    real_collect = scan_mod._Child.collect_raw

    def collect_raw(self: scan_mod._Child) -> bytes | None:
        answer = real_collect(self)
        statuses.append(answer is not None)
        return answer

    monkeypatch.setattr(scan_mod, "_fork", interrupted)
    monkeypatch.setattr(scan_mod._Child, "collect_raw", collect_raw)
    assert positions(scan_mod.scan(index, root, processes=processes)) == expected
    assert statuses == [True] * (processes - 1)  # every child answered: the signals waited


@pytest.mark.parametrize("processes", [2, 3])
def test_an_interrupted_parent_reaps_its_children(busy_repo: Path, monkeypatch: pytest.MonkeyPatch,
                                                  processes: int) -> None:
    index, root = load(busy_repo)
    parent = os.getpid()
    children = recording_forks(monkeypatch)
    real_range = scan_mod._scan_range

    def slow_in_children(*args: object) -> scan_mod.Scan:
        if os.getpid() != parent:
            time.sleep(30)  # still running when the parent gives up
        else:
            raise KeyboardInterrupt
        return real_range(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(scan_mod, "_scan_range", slow_in_children)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        scan_mod.scan(index, root, processes=processes)
    assert time.monotonic() - started < 10
    assert len(children) == processes - 1
    for pid in children:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # already reaped: no zombie, no orphan


def test_no_split_while_other_threads_run(busy_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """fork() copies only the calling thread; a lock another thread holds would never be
    released in the child. With threads about, the loop stays in one process."""
    import threading

    forks = recording_forks(monkeypatch)
    release = threading.Event()
    worker = threading.Thread(target=release.wait)
    worker.start()
    try:
        index, root = load(busy_repo)
        expected = positions(scan_mod.scan(index, root, processes=1))
        assert positions(scan_mod.scan(index, root, processes=2)) == expected
        assert positions(scan_mod.scan(index, root, processes=3)) == expected
    finally:
        release.set()
        worker.join()
    assert forks == []


def test_split_verdict_equals_git(busy_repo: Path, oracle: Oracle, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan_mod, "ENTRIES_PER_PROCESS", 50)
    monkeypatch.setattr(scan_mod, "_usable_cpus", lambda: 4)
    lines = oracle.compare(busy_repo)
    assert " M d00/f000.txt" in lines and " D d07/f103.txt" in lines and " M d11/f299.txt" in lines
    assert "AA d06/f006.txt" in lines
    assert " D d04/f004.txt" in lines  # behind a symlink: gone, as far as git is concerned
