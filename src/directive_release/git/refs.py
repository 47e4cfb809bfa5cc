"""Ref, HEAD, reflog and config writes through git's own lock-file protocol.

Each write takes ``<file>.lock`` with O_EXCL (so a concurrent git, or a
concurrent release, fails instead of racing), writes the new content there
and renames it into place. A held lock becomes :class:`LockError`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from ..errors import LockError, RefExistsError, RepositoryError
from .repo import Repository, packed_refs, read_ref


class LockFile:
    """``path.lock`` held exclusively until :meth:`commit` or :meth:`rollback`."""

    def __init__(self, path: Path) -> None:
        self.path = path
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


def _ref_path(repo: Repository, ref: str) -> Path:
    return (repo.gitdir if ref == "HEAD" else repo.commondir) / ref


def _log_path(repo: Repository, ref: str) -> Path:
    return (repo.gitdir if ref == "HEAD" else repo.commondir) / "logs" / ref


class ReflogIdentity(NamedTuple):
    """Who and when, as the reflog line records it: ``Name <email> 1700000000 +0100``."""

    signature: bytes
    timestamp: int
    tz_offset_seconds: int

    def line(self, old: str, new: str, message: str) -> bytes:
        sign = "-" if self.tz_offset_seconds < 0 else "+"
        minutes = abs(self.tz_offset_seconds) // 60
        zone = f"{sign}{minutes // 60:02d}{minutes % 60:02d}"
        text = message.replace("\n", " ")
        return b"%s %s %s %d %s\t%s\n" % (
            old.encode(), new.encode(), self.signature, self.timestamp, zone.encode(), text.encode("utf-8")
        )


def _append_reflog(repo: Repository, ref: str, line: bytes) -> None:
    path = _log_path(repo, ref)
    if ref != "HEAD" and not ref.startswith("refs/heads/") and not path.exists():
        return  # git logs branches and HEAD by default (core.logAllRefUpdates)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as handle:
        handle.write(line)


def zero_id(repo: Repository) -> str:
    return "0" * repo.hash_hex_length


def _write_ref(repo: Repository, ref: str, new: str, *, old: str | None) -> None:
    """Write ``ref`` under its lock if it still holds ``old`` (None: must not exist)."""
    lock = LockFile(_ref_path(repo, ref)).acquire()
    try:
        current = read_ref(repo, ref)
        if old is None and current is not None:
            raise RefExistsError(f"{ref} already exists")
        if old is not None and current != old:
            raise RepositoryError(f"{ref} moved while releasing (expected {old[:12]}, found {current})")
        lock.write(new.encode("ascii") + b"\n")
        lock.commit()
    finally:
        lock.rollback()


def create_ref(repo: Repository, ref: str, new: str, *, reflog: tuple[ReflogIdentity, str] | None) -> None:
    """Create ``ref`` at ``new``; it must not exist (loose or packed)."""
    _write_ref(repo, ref, new, old=None)
    if reflog is not None:
        who, message = reflog
        try:
            _append_reflog(repo, ref, who.line(zero_id(repo), new, message))
        except BaseException:
            # git refuses a ref update whose reflog cannot be written: take the new ref back.
            delete_ref(repo, ref, expected=new)
            raise


def update_ref(repo: Repository, ref: str, new: str, *, old: str, reflog: tuple[ReflogIdentity, str] | None) -> None:
    """Move ``ref`` from ``old`` to ``new``; refuse if someone else moved it."""
    _write_ref(repo, ref, new, old=old)
    if reflog is not None:
        who, message = reflog
        _append_reflog(repo, ref, who.line(old, new, message))


def delete_ref(repo: Repository, ref: str, *, expected: str | None) -> None:
    """Delete a loose ``ref`` (and its reflog) if it still points at ``expected``."""
    path = _ref_path(repo, ref)
    lock = LockFile(path).acquire()
    try:
        current = read_ref(repo, ref)
        if current is None:
            return
        if expected is not None and current != expected:
            raise RepositoryError(f"{ref} moved while releasing; left it at {current}")
        if ref in packed_refs(repo):
            raise RepositoryError(f"{ref} was packed while releasing; delete it with git branch -D")
        path.unlink(missing_ok=True)
    finally:
        lock.rollback()
    try:
        _log_path(repo, ref).unlink()
    except FileNotFoundError:
        pass
    # Like git, never remove the category itself (refs/heads may be empty when every branch is packed).
    category = ref.split("/")[1]
    _remove_empty_parents(path.parent, repo.commondir / "refs" / category)
    _remove_empty_parents(_log_path(repo, ref).parent, repo.commondir / "logs" / "refs" / category)


def _remove_empty_parents(directory: Path, stop: Path) -> None:
    while directory != stop and stop in directory.parents:
        try:
            directory.rmdir()
        except OSError:
            return
        directory = directory.parent


def restore_file(path: Path, data: bytes | None) -> bool:
    """Put ``data`` (None: absence) back at ``path`` under its lock; False if it already is."""
    try:
        current: bytes | None = path.read_bytes()
    except FileNotFoundError:
        current = None
    if current == data:
        return False  # nothing to put back: never wait for a lock someone else holds for nothing
    lock = LockFile(path).acquire()
    try:
        if data is None:
            path.unlink(missing_ok=True)
        else:
            lock.write(data)
            lock.commit()
    finally:
        lock.rollback()
    return True


def truncate_to(path: Path, length: int | None) -> None:
    """Cut an append-only file (a reflog) back to ``length`` bytes (None: it did not exist)."""
    if length is None:
        path.unlink(missing_ok=True)
        return
    try:
        with open(path, "r+b") as handle:
            if os.fstat(handle.fileno()).st_size > length:
                handle.truncate(length)
    except FileNotFoundError:
        pass


class FileSnapshot:
    """A file's exact bytes (or absence), to put back under its lock on undo."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.data: bytes | None = path.read_bytes()
        except FileNotFoundError:
            self.data = None

    def restore(self) -> None:
        restore_file(self.path, self.data)

    def restore_length(self) -> None:
        """Truncate an append-only file (a reflog) back to its snapshot length."""
        truncate_to(self.path, None if self.data is None else len(self.data))


def set_head(repo: Repository, ref: str, *, old_commit: str, from_branch: str,
             reflog: ReflogIdentity | None) -> None:
    """Point HEAD at branch ``ref`` (symbolic), like ``git switch``, without touching files."""
    lock = LockFile(_ref_path(repo, "HEAD")).acquire()
    try:
        lock.write(f"ref: {ref}\n".encode("utf-8"))
        lock.commit()
    finally:
        lock.rollback()
    if reflog is not None:
        to_branch = ref.removeprefix("refs/heads/")
        _append_reflog(repo, "HEAD", reflog.line(old_commit, old_commit, f"checkout: moving from {from_branch} to {to_branch}"))


def append_head_reflog(repo: Repository, who: ReflogIdentity, old: str, new: str, message: str) -> None:
    _append_reflog(repo, "HEAD", who.line(old, new, message))


def _config_quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"' if any(ch in value for ch in ' ;#"\\') else escaped


def add_branch_upstream(repo: Repository, branch: str, remote: str) -> None:
    """Append ``[branch "<branch>"] remote/merge`` to the repository's config, under its lock."""
    path = repo.commondir / "config"
    lock = LockFile(path).acquire()
    try:
        original = path.read_bytes()
        section = (
            f'[branch "{branch}"]\n\tremote = {_config_quote(remote)}\n\tmerge = refs/heads/{branch}\n'
        ).encode("utf-8")
        separator = b"" if not original or original.endswith(b"\n") else b"\n"
        lock.write(original + separator + section)
        lock.commit()
    finally:
        lock.rollback()
