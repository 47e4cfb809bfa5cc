"""Ref, HEAD and reflog writes through git's own lock-file protocol (:mod:`.lockfile`).

Each write takes ``<file>.lock`` with O_EXCL (so a concurrent git, or a
concurrent release, fails instead of racing), checks the ref still holds what
the caller expects, writes the new content there and renames it into place.

No dulwich: ``dulwich.refs.DiskRefsContainer.set_if_equals`` does the same
compare-and-swap, but importing ``dulwich.repo`` costs ~150 ms (notes/dulwich.md
§3), more than the whole release takes on a small repository, and its reflog
lines carry no ``checkout: moving from`` entry for HEAD as git writes them.
tests/test_release.py compares every ref and reflog a release writes with git's.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from ..errors import RefExistsError, RepositoryError
from .lockfile import LockFile
from .repo import Repository, packed_refs, read_ref


def _ref_path(repo: Repository, ref: str) -> Path:
    return (repo.gitdir if ref == "HEAD" else repo.commondir) / ref


def log_path(repo: Repository, ref: str) -> Path:
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


def append_reflog(repo: Repository, ref: str, line: bytes) -> None:
    """Append one line to ``ref``'s reflog (HEAD and branches are logged, as git logs them by default)."""
    path = log_path(repo, ref)
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
            append_reflog(repo, ref, who.line(zero_id(repo), new, message))
        except BaseException:
            # git refuses a ref update whose reflog cannot be written: take the new ref back.
            delete_ref(repo, ref, expected=new)
            raise


def update_ref(repo: Repository, ref: str, new: str, *, old: str, reflog: tuple[ReflogIdentity, str] | None) -> None:
    """Move ``ref`` from ``old`` to ``new``; refuse if someone else moved it."""
    _write_ref(repo, ref, new, old=old)
    if reflog is not None:
        who, message = reflog
        append_reflog(repo, ref, who.line(old, new, message))


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
        log_path(repo, ref).unlink()
    except FileNotFoundError:
        pass
    # Like git, never remove the category itself (refs/heads may be empty when every branch is packed).
    category = ref.split("/")[1]
    _remove_empty_parents(path.parent, repo.commondir / "refs" / category)
    _remove_empty_parents(log_path(repo, ref).parent, repo.commondir / "logs" / "refs" / category)


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


def remove_appended(path: Path, offset: int, data: bytes, *, created: bool) -> bool:
    """Take ``data`` back out of an append-only file (a reflog) where it was appended at ``offset``.

    Lines appended after it (a git command run since) are kept. False if it is not there
    (never appended, or the file was rewritten since: then it is not ours to edit).
    """
    try:
        current = path.read_bytes()
    except FileNotFoundError:
        return False
    if current[offset:offset + len(data)] != data:
        return False
    if offset + len(data) == len(current):
        if offset == 0 and created:
            path.unlink()  # the release created it
        else:
            truncate_to(path, offset)
    else:
        restore_file(path, current[:offset] + current[offset + len(data):])
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


def read_symbolic_head(repo: Repository) -> str | None:
    """The branch ref HEAD points at, or None when it is detached (or unreadable)."""
    try:
        data = (repo.gitdir / "HEAD").read_bytes().strip()
    except FileNotFoundError:
        return None
    return data[4:].strip().decode("utf-8", "replace") if data.startswith(b"ref:") else None


def set_symbolic_head(repo: Repository, ref: str) -> None:
    """Point HEAD at branch ``ref`` under HEAD's lock, logging nothing (an undo's reflog edit is its own)."""
    lock = LockFile(_ref_path(repo, "HEAD")).acquire()
    try:
        lock.write(f"ref: {ref}\n".encode("utf-8"))
        lock.commit()
    finally:
        lock.rollback()


def move_ref_back(repo: Repository, ref: str, *, from_id: str, to_id: str) -> None:
    """Undo an update of ``ref``: from ``from_id`` back to ``to_id`` (its reflog goes with the ref)."""
    _write_ref(repo, ref, to_id, old=from_id)
