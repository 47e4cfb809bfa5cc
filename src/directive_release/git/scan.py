"""The stat loop of the clean check: one ``lstat`` per index entry, split across processes.

On these machines an ``lstat`` costs ~2 µs of kernel time and the loop's Python
around it a fraction of that, so the loop is bound by system calls that a single
Python thread cannot overlap (threads wait for the GIL between calls). git's own
answer is preload-index.c: ``core.preloadIndex`` (on by default) refreshes the
index from several threads, one per 500 entries up to 20. Here the same split is
done with ``fork()``: each child stats one contiguous slice of the index it
inherited and sends back the positions it could not clear, a few bytes. With two
processes (the common case) they start from either end and meet where their
speeds put them, through one shared page of progress (:func:`_scan_meeting`).
No child writes to the repository, and any child that fails or dies only makes
the parent stat its part itself, so the verdict never depends on the split.
"""

from __future__ import annotations

import os
import stat as stat_mod
import struct
import sys
from typing import TYPE_CHECKING, Callable

from .index import EXT_FLAG_INTENT_TO_ADD, EXT_FLAG_SKIP_WORKTREE, IndexFile

if TYPE_CHECKING:
    import mmap


# A fork costs ~1-2 ms and an lstat ~2 µs: below this many entries per process the
# split does not pay (git's THREAD_COST is 500 entries per thread, but threads are cheaper).
ENTRIES_PER_PROCESS = 2500
MAX_PROCESSES = 8

EMPTY_BLOB = {
    20: bytes.fromhex("e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"),
    32: bytes.fromhex("473a0f4c3be8a93681a267e3b1e9a7dcda1185436fe141f7749120a303721813"),
}

# ctime s, mtime s, ino, mode, size, flags: only what the loop compares.
_SCAN_FIELDS = {size: struct.Struct(f">I4xI8xII8xI{size}xH") for size in (20, 32)}
_COUNTS = struct.Struct("<4I")
_BEHIND_SYMLINK, _NO_FD = -1, -2  # not fds: a directory whose entries are all suspects; fds unused


class Scan:
    """Index positions the stat loop could not clear, by kind, in index order."""

    __slots__ = ("suspects", "intent_to_add", "unmerged")

    def __init__(self) -> None:
        self.suspects: list[int] = []
        self.intent_to_add: list[int] = []
        self.unmerged: list[int] = []

    def extend(self, other: Scan) -> None:
        self.suspects += other.suspects
        self.intent_to_add += other.intent_to_add
        self.unmerged += other.unmerged


def scan(index: IndexFile, root: bytes, *, processes: int | None = None) -> Scan:
    """Stat every entry of ``index`` under the worktree ``root`` (bytes, ending in "/").

    An entry whose stat data is not plainly identical to the index's (or that is
    racily clean) becomes a suspect, for the caller to judge by git's exact rules.

    Like git built without USE_NSEC (the default of git's Makefile, and what Debian,
    Fedora and Homebrew ship), times are compared to the second, and an entry is racy
    when its mtime second is not older than the index file's. Compared here: mtime and
    ctime seconds, size, inode, the type and owner x bit. Suspects are only
    re-examined, so being stricter than git's configuration (core.trustctime,
    core.checkStat, core.fileMode) never changes a verdict and needs no configuration;
    device, uid and gid are left to the judge: alone they only make git re-hash a file
    whose content cannot have changed without its ctime changing.

    ``processes`` (default: one per :data:`ENTRIES_PER_PROCESS` entries, at most the
    CPUs this process may run on) splits the loop across forked children.
    """
    total = len(index.paths)
    if processes is None:
        processes = min(total // ENTRIES_PER_PROCESS, _usable_cpus(), MAX_PROCESSES)
    if processes < 2 or not hasattr(os, "fork") or _other_threads_running():
        return _scan_range(index, root, 0, total)
    if processes == 2:
        return _scan_meeting(index, root, total)
    bounds = [total * part // processes for part in range(processes + 1)]
    children = [_fork_slice(index, root, bounds[part], bounds[part + 1]) for part in range(1, processes)]
    result = Scan()
    try:
        result.extend(_scan_range(index, root, bounds[0], bounds[1]))
        for part, child in enumerate(children, start=1):
            answer = child.collect() if child is not None else None
            if answer is None:  # no child (fork failed), or it failed or died: do its slice here
                answer = _scan_range(index, root, bounds[part], bounds[part + 1])
            result.extend(answer)
    finally:
        for child in children:
            if child is not None:
                child.close()
    return result


# Shared by the two processes of _scan_meeting(): the child's lowest claimed entry (written
# by the child only) and the end of what the parent claimed (written by the parent only).
_PROGRESS = struct.Struct("<II")
_FIELD = struct.Struct("<I")
_CHILD_LOW, _PARENT_END = 0, 4
CHUNK = 256  # entries claimed at a time


def _scan_meeting(index: IndexFile, root: bytes, total: int) -> Scan:
    """Two processes, one from each end, claiming :data:`CHUNK` entries at a time until
    they meet: a child that starts late or runs slow (copy-on-write faults, another
    task on its CPU) leaves more to the parent instead of keeping it waiting. Claims
    are published before the entries are statted, so the two can only overlap (both
    stat a chunk; the child's answer is kept), never leave a gap; a child that fails
    leaves everything above the parent's end to the parent."""
    import mmap

    progress = mmap.mmap(-1, _PROGRESS.size)
    _PROGRESS.pack_into(progress, 0, total, 0)
    child = _fork(lambda: _from_the_back(index, root, total, progress))
    if child is None:
        return _scan_range(index, root, 0, total)
    result = Scan()
    end = 0
    directories = _Directories(root)
    try:
        while True:
            child_low = _PROGRESS.unpack_from(progress)[0]
            claim = min(end + CHUNK, child_low, total)
            if claim <= end:
                break
            _FIELD.pack_into(progress, _PARENT_END, claim)
            result.extend(_scan_range(index, root, end, claim, directories))
            end = claim
        reply = child.collect_raw()
    finally:
        directories.close()
        child.close()
    answer = _decode(reply[_FIELD.size:]) if reply is not None and len(reply) >= _FIELD.size else None
    if answer is None:
        result.extend(_scan_range(index, root, end, total))
        return result
    child_low = _FIELD.unpack_from(reply)[0]
    if child_low < end:  # both statted [child_low, end): keep the child's answer for it
        result.suspects = [p for p in result.suspects if p < child_low]
        result.intent_to_add = [p for p in result.intent_to_add if p < child_low]
        result.unmerged = [p for p in result.unmerged if p < child_low]
    result.extend(answer)
    return result


def _from_the_back(index: IndexFile, root: bytes, total: int, progress: mmap.mmap) -> bytes:
    """The child of :func:`_scan_meeting`: claim and stat chunks downwards from ``total``."""
    high = total
    chunks = []
    directories = _Directories(root)  # closed by the child's exit
    while True:
        parent_end = _PROGRESS.unpack_from(progress)[1]
        low = max(high - CHUNK, parent_end)
        if low >= high:
            break
        _FIELD.pack_into(progress, _CHILD_LOW, low)
        chunks.append(_scan_range(index, root, low, high, directories))
        high = low
    answer = Scan()
    for chunk in reversed(chunks):
        answer.extend(chunk)
    return _FIELD.pack(high) + _encode(answer)


def _other_threads_running() -> bool:
    """fork() copies only the calling thread: a lock another thread held would stay
    locked in the child forever."""
    threading = sys.modules.get("threading")
    return threading is not None and threading.active_count() > 1


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class _Child:
    """A forked process working for this one; its answer arrives on a pipe."""

    def __init__(self, pid: int, reader: int) -> None:
        self.pid = pid
        self.reader = reader

    def collect_raw(self) -> bytes | None:
        """The child's whole answer once it has exited, or None if it failed or died."""
        chunks = []
        while True:
            chunk = os.read(self.reader, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
        _, status = os.waitpid(self.pid, 0)
        self.pid = 0
        return b"".join(chunks) if status == 0 else None

    def collect(self) -> Scan | None:
        data = self.collect_raw()
        return None if data is None else _decode(data)

    def close(self) -> None:
        """Reap the child; one still running (the parent was interrupted) is killed."""
        if self.pid:
            try:
                os.kill(self.pid, 9)
                os.waitpid(self.pid, 0)
            except OSError:
                pass
            self.pid = 0
        if self.reader >= 0:
            os.close(self.reader)
            self.reader = -1


def _encode(answer: Scan, head: bytes = b"") -> bytes:
    positions = answer.suspects + answer.intent_to_add + answer.unmerged
    counts = _COUNTS.pack(len(answer.suspects), len(answer.intent_to_add), len(answer.unmerged), 0x5CA7)
    return head + counts + struct.pack(f"<{len(positions)}I", *positions)


def _decode(data: bytes) -> Scan | None:
    """The answer :func:`_encode` made, or None for a short or garbled one."""
    if len(data) < _COUNTS.size:
        return None
    counts = _COUNTS.unpack_from(data)
    if counts[3] != 0x5CA7 or len(data) != _COUNTS.size + 4 * sum(counts[:3]):
        return None
    positions = struct.unpack_from(f"<{sum(counts[:3])}I", data, _COUNTS.size)
    answer = Scan()
    first, second = counts[0], counts[0] + counts[1]
    answer.suspects = list(positions[:first])
    answer.intent_to_add = list(positions[first:second])
    answer.unmerged = list(positions[second:])
    return answer


def _fork_slice(index: IndexFile, root: bytes, low: int, high: int) -> _Child | None:
    return _fork(lambda: _encode(_scan_range(index, root, low, high)))


def _fork(work: Callable[[], bytes]) -> _Child | None:
    """Run ``work`` in a forked child that sends back the bytes it returns; None if fork() fails."""
    import signal

    reader, writer = os.pipe()
    # Blocked across the fork, so no Python signal handler (KeyboardInterrupt, the
    # release's unwinding) can ever run in the child: it works, writes, and leaves
    # through os._exit() without running the parent's finally blocks or atexit hooks.
    # The parent kills it if it is interrupted itself.
    catchable = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, catchable)
    try:
        pid = os.fork()
    except OSError:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        os.close(reader)
        os.close(writer)
        return None
    except BaseException:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        os.close(reader)
        os.close(writer)
        raise
    if pid == 0:  # pragma: no cover - runs in the child, measured by the differential tests
        code = 1
        try:
            os.close(reader)
            view = memoryview(work())
            while view:
                view = view[os.write(writer, view):]
            code = 0
        finally:
            os._exit(code)
    signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    os.close(writer)
    return _Child(pid, reader)


class _Directories:
    """Open fds of the worktree's directories, each opened once per process, after
    has_symlink_leading_path() (negated) cleared it; :data:`_BEHIND_SYMLINK` marks one
    behind a symlink or not a directory, whose entries are all suspects. Names are then
    statted relative to their own directory's fd where supported: the kernel resolves
    one component per lstat, not the whole path."""

    def __init__(self, root: bytes) -> None:
        self.root = root
        self.use_fds = os.lstat in os.supports_dir_fd
        self.root_fd = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)) if self.use_fds else None
        self.fds: dict[bytes, int] = {b"": self.root_fd if self.root_fd is not None else _NO_FD}
        self.leading_ok: dict[bytes, bool] = {b"": True}

    def close(self) -> None:
        for directory_fd in self.fds.values():
            if directory_fd >= 0 and directory_fd != self.root_fd:
                os.close(directory_fd)
        if self.root_fd is not None:
            os.close(self.root_fd)
        self.fds = {}
        self.root_fd = None


def _scan_range(index: IndexFile, root: bytes, low: int, high: int,
                directories: _Directories | None = None) -> Scan:
    """The hot loop over entries ``low:high`` (``directories``: fds kept across calls)."""
    if directories is None:
        directories = _Directories(root)
        try:
            return _scan_range(index, root, low, high, directories)
        finally:
            directories.close()
    raw, paths, offsets, extended = index.raw, index.paths, index.offsets, index.extended
    unpack = _SCAN_FIELDS[index.hash_size].unpack_from
    oid_at = 40  # object id after the ten 32-bit stat fields
    result = Scan()
    suspects = result.suspects
    lstat = os.lstat
    racy_after = racy_second(index)
    empty_blob = EMPTY_BLOB[index.hash_size]
    use_fds, root_fd, dir_fds, leading_ok = (directories.use_fds, directories.root_fd, directories.fds,
                                             directories.leading_ok)
    for position in range(low, high):
        path = paths[position]
        offset = offsets[position]
        ctime, mtime, ino, mode, size, flags = unpack(raw, offset)
        # FLAG_* spelled as literals: global look-ups cost ~10% here.
        if flags & 0xF000:
            if flags & 0x3000:
                result.unmerged.append(position)
                continue
            if flags & 0x8000:  # assume-unchanged: git never looks
                continue
            ext = extended.get(position, 0)
            if ext & EXT_FLAG_SKIP_WORKTREE:
                continue
            if ext & EXT_FLAG_INTENT_TO_ADD:
                result.intent_to_add.append(position)
                continue
        cut = path.rfind(b"/") + 1
        directory_fd = dir_fds.get(path[:cut])
        if directory_fd is None:
            directory_fd = dir_fds[path[:cut]] = _open_directory(root, path[:cut], root_fd, leading_ok)
        if directory_fd == _BEHIND_SYMLINK:
            suspects.append(position)
            continue
        try:
            st = lstat(path[cut:], dir_fd=directory_fd) if use_fds else lstat(root + path)
        except OSError:
            suspects.append(position)
            continue
        # st[8], st[9]: whole-second mtime and ctime. A gitlink (160000) never
        # matches a directory's mode: always a suspect.
        if (
            st[8] != mtime
            or st.st_size != size
            or st[9] != ctime
            or st.st_ino & 0xFFFFFFFF != ino
            or (st.st_mode ^ mode) & (0o170000 if mode == 0o120000 else 0o170100)
            or mtime >= racy_after
            or (not size and raw[offset + oid_at : offset + oid_at + len(empty_blob)] != empty_blob)
        ):
            suspects.append(position)
    return result


def _open_directory(root: bytes, directory: bytes, root_fd: int | None, leading_ok: dict[bytes, bool]) -> int:
    """An fd for ``directory`` ("a/b/", under ``root``) if every component of it is a real
    directory (:data:`_NO_FD` where fds are not used), else :data:`_BEHIND_SYMLINK`."""
    if not leading_path_ok(root, directory[:-1], leading_ok):
        return _BEHIND_SYMLINK
    if root_fd is None:
        return _NO_FD
    try:
        return os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0), dir_fd=root_fd)
    except OSError:
        return _BEHIND_SYMLINK


def racy_second(index: IndexFile) -> int:
    """is_racy_stamp() without USE_NSEC: entries whose mtime second is >= this are
    racily clean (their content is compared); never, for an index with no mtime."""
    second = index.mtime_ns // 1_000_000_000
    return second if second else 1 << 62


def leading_path_ok(root: bytes, directory: bytes, memo: dict[bytes, bool]) -> bool:
    """symlinks.c has_symlink_leading_path(), negated: every component a real directory."""
    known = memo.get(directory)
    if known is not None:
        return known
    slash = directory.rfind(b"/")
    ok = leading_path_ok(root, directory[:slash] if slash > 0 else b"", memo)
    if ok:
        try:
            ok = stat_mod.S_ISDIR(os.lstat(root + directory).st_mode)
        except OSError:
            ok = False
    memo[directory] = ok
    return ok
