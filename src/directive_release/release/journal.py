"""The on-disk journal: the undo records of a running release, for ``--recover`` after a kill.

A release that is killed outright (SIGKILL, a power cut) cannot undo itself, so
before its first change it creates ``<gitdir>/directive-release/journal.json``
and, before each change, appends the undo record of that change
(:mod:`.undo`): one JSON object per line. It removes the journal when it has
finished or has unwound. The next run finds a leftover journal and refuses,
pointing to ``directive-release --recover``, which replays the same records
with the same replayer the in-process unwind uses.

The journal also serialises releases: its first line is published with an
exclusive link, so a second release in the same repository refuses while the
first is running. Nothing secret is ever written here: the records hold ref
names and ids, hashes, version literals, reflog lines and a remote's *name*,
never a URL, a config value other than the keys the release adds, or a file's
content. The index and ``COMMIT_EDITMSG`` from before the release are kept
beside the journal as hard links (another name for the same file, not a copy).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from ..errors import LockError, RepositoryError
from ..git.repo import Repository
from .undo import CLOCK_SLACK_NS, Context, Record, Report, base_path, pending, replay

DIRNAME = "directive-release"
FILENAME = "journal.json"


def journal_dir(repo: Repository) -> Path:
    return repo.gitdir / DIRNAME


def _dumps(record: Record) -> bytes:
    import json

    return json.dumps(record).encode("utf-8") + b"\n"


def load(path: Path) -> list[Record]:
    """The records of a journal; a last line cut off by a kill is dropped (its change never began)."""
    import json

    records: list[Record] = []
    lines = path.read_bytes().split(b"\n")
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            if number == len(lines):
                break
            raise ValueError(f"line {number} is not JSON") from None
        if not isinstance(record, dict):
            raise ValueError(f"line {number} is not a JSON object")
        records.append(record)
    if not records or records[0].get("kind") != "start":
        raise ValueError("it does not start with the release's start record")
    return records


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def check_no_leftover(repo: Repository) -> None:
    """Refuse while another release runs here, or a killed one left its journal."""
    path = journal_dir(repo) / FILENAME
    try:
        records = load(path)
    except FileNotFoundError:
        return
    except (OSError, ValueError):
        records = [{}]
    start = records[0]
    pid = int(start.get("pid", 0) or 0)
    branch = str(start.get("branch_ref", "")).removeprefix("refs/heads/") or "a release branch"
    if pid and pid != os.getpid() and _pid_alive(pid):
        raise LockError(f"another directive-release (pid {pid}) is releasing {branch} in this repository")
    if any(record.get("kind") == "completed" for record in records):
        return  # that release finished, only removing its journal was cut short: nothing to undo
    raise RepositoryError(
        f"an interrupted release of {branch} (pid {pid}) left the repository half-done;"
        " run directive-release --recover to put it back exactly as it was"
    )


class Journal:
    """Created before the first change, appended to before each one, removed at the end."""

    def __init__(self, repo: Repository, branch_ref: str) -> None:
        self.repo = repo
        self.directory = journal_dir(repo)
        self.path = self.directory / FILENAME
        self.started_ns = time.time_ns()
        self.records: list[Record] = [{"kind": "start", "pid": os.getpid(), "started_ns": self.started_ns,
                                       "branch_ref": branch_ref}]
        self._fd: int | None = None
        self._published = False  # the journal's name is ours (set the moment the link is made)

    def create(self) -> None:
        """Publish the start record, complete, under the final name, exclusively; on failure leave nothing."""
        made_directory = False
        owned = False
        try:
            for _attempt in range(3):  # a release finishing meanwhile removes the directory
                try:
                    self.directory.mkdir()
                    made_directory = True
                except FileExistsError:
                    pass
                try:
                    owned = self._publish()
                except FileNotFoundError:
                    continue
                if owned:
                    break
            if not owned:
                raise LockError("another directive-release keeps replacing its journal here; try again")
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | getattr(os, "O_CLOEXEC", 0))
        except BaseException:
            owned = owned or self._published
            if owned:
                self.path.unlink(missing_ok=True)
            (self.directory / self._tmp_name).unlink(missing_ok=True)
            if made_directory or owned:
                try:
                    self.directory.rmdir()
                except OSError:
                    pass  # another release's files are in it
            raise

    @property
    def _tmp_name(self) -> str:
        return f"{FILENAME}.{os.getpid()}.new"

    def _publish(self) -> bool:
        """Link a fully written temporary file to the journal's name: a reader never sees it half-written,
        and the link fails if the name exists (at most one release at a time)."""
        tmp = self.directory / self._tmp_name
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, _dumps(self.records[0]))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, self.path)
            self._published = True
        except FileExistsError:
            tmp.unlink()
            check_no_leftover(self.repo)  # raises unless it was a finished release's journal
            _remove_directory(self.directory)  # clear that finished one and try again
            return False
        except OSError:  # a file system without hard links: create exclusively, then fill
            data = tmp.read_bytes()
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            self._published = True
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
        tmp.unlink()
        return True

    def record(self, *records: Record) -> list[int]:
        """Append undo records (one write) before the change they announce; their sequence numbers."""
        assert self._fd is not None
        data = b"".join(_dumps(record) for record in records)
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]
        first = len(self.records)
        self.records.extend(records)
        return list(range(first, len(self.records)))

    def retract(self, seq: int) -> None:
        from .undo import retract_record

        self.record(retract_record(seq))

    def keep_copy(self, name: str, source: Path) -> None:
        """A copy of ``source`` beside the journal (a hard link: git replaces files by rename, never in place)."""
        target = self.directory / name
        target.unlink(missing_ok=True)
        try:
            os.link(source, target)
        except OSError:
            import shutil

            shutil.copyfile(source, target)

    def complete(self) -> None:
        """The release stands: from here on a --recover must not undo it."""
        self.record({"kind": "completed", "completed": True})

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def remove(self) -> None:
        self.close()
        _remove_directory(self.directory)


def _remove_directory(directory: Path) -> None:
    """``shutil.rmtree(directory, ignore_errors=True)`` for the journal's directory, which holds
    only files: as much as can go goes."""
    try:
        with os.scandir(directory) as entries:
            found = list(entries)
    except OSError:
        return
    for entry in found:
        try:
            if entry.is_dir(follow_symlinks=False):
                import shutil

                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)
        except OSError:
            pass
    try:
        os.rmdir(directory)
    except OSError:
        pass


def recover(repo: Repository) -> tuple[str, Report]:
    """Undo what the interrupted release's records say it changed; its branch name and the report."""
    directory = journal_dir(repo)
    try:
        records = load(directory / FILENAME)
    except FileNotFoundError:
        raise RepositoryError("nothing to recover: no interrupted release in this repository") from None
    except (OSError, ValueError) as exc:
        raise RepositoryError(f"{directory}/{FILENAME} is unreadable ({exc}); remove it after checking git status") from exc
    start = records[0]
    pid = int(start.get("pid", 0) or 0)
    branch = str(start.get("branch_ref", "")).removeprefix("refs/heads/")
    if pid and pid != os.getpid() and _pid_alive(pid):
        raise LockError(f"directive-release (pid {pid}) is still running; let it finish")
    if any(record.get("kind") == "completed" for record in records):
        _remove_directory(directory)
        raise RepositoryError(f"nothing to recover: the release of {branch} had finished"
                              " (its leftover journal is now removed)")
    started_ns = int(start.get("started_ns", 0) or 0)
    from .pushing import push_back_by_name

    removed = _remove_stale_files(repo, records, started_ns)
    report = replay(records, Context(repo, {}, push_back_by_name(repo, started_ns), started_ns, recovering=True))
    if removed:
        report.done.insert(0, f"removed {', '.join(removed)}")
    if not report.problems:
        _remove_directory(directory)
    return branch, report


def _lock_paths(repo: Repository, record: Record) -> list[Path]:
    """The lock files the change a record announces takes (a kill can leave them behind)."""
    kind = record.get("kind")
    if kind == "ref":
        return [repo.commondir / f"{record['ref']}.lock"]
    if kind == "head":
        return [repo.gitdir / "HEAD.lock"]
    if kind in ("file", "scratch"):
        return [base_path(repo, record["base"]) / f"{record['path']}.lock"]
    if kind == "config":
        return [repo.commondir / "config.lock"]
    if kind == "index":
        return [repo.gitdir / "index.lock"]
    return []


def _remove_stale_files(repo: Repository, records: list[Record], started_ns: int) -> list[str]:
    """Remove the lock and temporary files the killed release left (they would block git and the undo).

    Only the lock files of changes its records announce, its loose objects cut off
    mid-write, and only files made since it started. (A held index lock is a record
    of its own, undone by the replayer.) A git command run *during* --recover could
    hold one of the shared ones; the refusal message asks for --recover when nothing
    else runs.
    """
    candidates: list[Path] = []
    for _seq, record in pending(records):
        candidates += _lock_paths(repo, record)
    candidates += (repo.commondir / "objects").glob("??/*.lock")
    candidates += (repo.commondir / "objects").glob("??/tmp_obj_*")
    removed: list[str] = []
    for path in dict.fromkeys(candidates):
        try:
            if path.lstat().st_mtime_ns < started_ns - CLOCK_SLACK_NS:
                continue  # older than the release: not its own
            path.unlink()
        except FileNotFoundError:
            continue
        removed.append(str(path.relative_to(repo.worktree) if path.is_relative_to(repo.worktree) else path))
    from ..git.refs import _remove_empty_parents

    for _seq, record in pending(records):
        if record.get("kind") == "ref":  # folders made for a lock that was never committed
            ref = record["ref"]
            _remove_empty_parents((repo.commondir / ref).parent, repo.commondir / "refs" / ref.split("/")[1])
    return removed
