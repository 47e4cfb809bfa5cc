"""The stat loop of the clean check: one ``lstat`` per index entry, in one thread.

No dulwich: ``dulwich.index.get_unstaged_changes`` stats and compares in Python too
but builds an ``IndexEntry`` per entry (~170 ms for 20,001 entries against ~35-60 ms
here, see /work/shared/notes/dulwich.md and ``benchmarks/bench_status.py``), and
compares times to the nanosecond without git's racy-git rule, so its verdict can
differ from git's (tests/git/test_status.py, test_status_differential.py).

An ``lstat`` costs ~2 µs of kernel time and the loop's Python around it a fraction
of that. git overlaps the calls with threads (``core.preloadIndex``); in Python
threads wait for the GIL between calls, and measured on 20,001 entries a
``ThreadPoolExecutor`` split is no faster than this serial loop (2 threads: 56 ms
against 50 ms for bare ``lstat``; 99 ms against 84 ms for the whole loop), so
there are none. A forked split was faster (~40 ms) but cost ~400 lines, fork-
after-thread hazards on macOS and had no Windows path: nothing here needs
``fork`` or ``/proc``.
"""

from __future__ import annotations

import os
import stat as stat_mod
import struct

from .index import EXT_FLAG_INTENT_TO_ADD, EXT_FLAG_SKIP_WORKTREE, IndexFile

EMPTY_BLOB = {
    20: bytes.fromhex("e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"),
    32: bytes.fromhex("473a0f4c3be8a93681a267e3b1e9a7dcda1185436fe141f7749120a303721813"),
}

# ctime s, mtime s, ino, mode, size, flags: only what the loop compares.
_SCAN_FIELDS = {size: struct.Struct(f">I4xI8xII8xI{size}xH") for size in (20, 32)}
_BEHIND_SYMLINK, _NO_FD = -1, -2  # not fds: a directory whose entries are all suspects; fds unused


class Scan:
    """Index positions the stat loop could not clear, by kind, in index order."""

    __slots__ = ("suspects", "intent_to_add", "unmerged", "skip_worktree")

    def __init__(self) -> None:
        self.suspects: list[int] = []
        self.intent_to_add: list[int] = []
        self.unmerged: list[int] = []
        # Not statted; listed for git's rule that a sparse checkout's skip-worktree
        # file present in the worktree is tracked after all (status.py).
        self.skip_worktree: list[int] = []


def scan(index: IndexFile, root: bytes) -> Scan:
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

    Skip-worktree entries (a sparse checkout's, and a sparse index's directory
    entries) and assume-unchanged ones are never statted, as in git.
    """
    return _scan_range(index, root, 0, len(index.paths))


class _Directories:
    """Open fds of the worktree's directories, each opened once per scan, after
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
                result.skip_worktree.append(position)
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
