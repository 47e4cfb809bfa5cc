"""git's lock-file protocol: the one way this tool replaces a file atomically.

``<file>.lock`` is created with O_EXCL (so a concurrent git, or a concurrent
release, fails instead of racing), filled, flushed to disk and renamed over the
file: a reader sees the old bytes or the new ones, never a mix. A held lock is a
:class:`LockError`. Used for refs, HEAD, the index, ``.git/config``, the journal's
neighbours and the work-tree files a release edits (which keep their permission
bits). No dulwich: its ``dulwich.file.GitFile`` is the same protocol, but it
cannot hold a lock across steps (the index stays locked from the clean check to
the commit, as under ``git commit``) nor tell us which directories it made.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import LockError


class LockFile:
    """``path.lock`` held exclusively until :meth:`commit` or :meth:`rollback`."""

    def __init__(self, path: Path, mode: int | None = None) -> None:
        self.path = path
        # Permission bits for the new file (a work-tree file keeps its own); None: git's 0666 & ~umask.
        self.mode = mode
        self.lock_path = path.with_name(path.name + ".lock")
        self._fd: int | None = None
        # Directories made for this lock (innermost last): removed again unless the commit uses them.
        self._made_directories: list[Path] = []

    def acquire(self) -> "LockFile":
        self._made_directories = _make_parents(self.lock_path.parent)
        try:
            self._fd = os.open(self.lock_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError as exc:
            self._remove_made_directories()
            raise LockError(
                f"{self.lock_path} exists: another git process seems to be running;"
                " if none is, remove the file and try again"
            ) from exc
        except BaseException:
            self._remove_made_directories()
            raise
        return self

    def _remove_made_directories(self) -> None:
        for directory in reversed(self._made_directories):
            try:
                directory.rmdir()
            except OSError:
                break  # not empty (someone else's ref appeared) or already gone
        self._made_directories = []

    @property
    def held(self) -> bool:
        return self._fd is not None

    def write(self, data: bytes) -> None:
        assert self._fd is not None
        os.lseek(self._fd, 0, os.SEEK_SET)
        os.ftruncate(self._fd, 0)
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]

    def commit(self) -> None:
        """Rename the lock over the target (the moment the change becomes visible)."""
        assert self._fd is not None
        fd, self._fd = self._fd, None
        try:
            if self.mode is not None:
                os.fchmod(fd, self.mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.replace(self.lock_path, self.path)
        except BaseException:
            # A lock left behind would block every later git command: drop it, as git does.
            self._unlink_lock()
            raise
        self._made_directories = []

    def rollback(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            self._unlink_lock()

    def _unlink_lock(self) -> None:
        try:
            os.unlink(self.lock_path)
        except FileNotFoundError:
            pass
        self._remove_made_directories()


def _make_parents(directory: Path) -> list[Path]:
    """``mkdir -p directory``; return the directories that did not exist, outermost first."""
    missing: list[Path] = []
    current = directory
    while not current.is_dir():
        missing.append(current)
        current = current.parent
    made: list[Path] = []
    for path in reversed(missing):
        try:
            path.mkdir()
        except FileExistsError:
            continue  # made meanwhile by someone else: not ours to remove
        except BaseException:
            for done in reversed(made):
                try:
                    done.rmdir()
                except OSError:
                    break
            raise
        made.append(path)
    return made




def write_file(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Replace ``path`` with ``data`` through ``path.lock`` (``mode``: the permission bits to keep)."""
    lock = LockFile(path, mode).acquire()
    try:
        lock.write(data)
        lock.commit()
    finally:
        lock.rollback()
