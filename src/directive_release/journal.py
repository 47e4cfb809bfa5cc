"""The on-disk recovery journal: what a release must put back if it dies mid-way.

In-process failures are undone step by step (``release.apply``). A process that
is killed (SIGKILL, power loss) cannot undo anything, so before its first
change a release writes ``<gitdir>/directive-release/journal.json`` with
everything needed to restore the repository as it was, and removes it when
it finishes or has unwound. The next run finds a leftover journal and refuses,
pointing to ``directive-release --recover``, which restores from it.

The journal also serialises releases: it is created with O_EXCL, so a second
release in the same repository refuses while the first is running.
No credential is ever written here: only the remote's name.
"""

from __future__ import annotations

import binascii
import os
import time
from pathlib import Path
from typing import Any

from .errors import LockError, ReleaseError, RepositoryError
from .git import refs
from .git.repo import Repository, read_ref

DIRNAME = "directive-release"


def journal_dir(repo: Repository) -> Path:
    return repo.gitdir / DIRNAME


# binascii, json and shutil rather than base64 and friends at import time: this module is
# on every run's path (check_no_leftover), where each import shows in the start-up time.
def _b64(data: bytes | None) -> str | None:
    return None if data is None else binascii.b2a_base64(data, newline=False).decode("ascii")


def _unb64(text: str | None) -> bytes | None:
    return None if text is None else binascii.a2b_base64(text)


def _dumps(journal: Journal) -> str:
    import json

    return json.dumps(journal.as_dict())


def _load(path: Path) -> dict[str, Any]:
    import json

    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


def _remove_directory(directory: Path) -> None:
    """``shutil.rmtree(directory, ignore_errors=True)`` for the journal's directory, which
    holds only files: as much as can go goes; anything unexpected is left to shutil."""
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


def _read_optional(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


class Journal:
    def __init__(
        self,
        pid: int,
        branch_ref: str,
        head_commit: str,
        head_bytes: str | None,
        head_log_length: int | None,
        pyproject_bytes: str | None,
        pyproject_mtime_ns: int,
        config_bytes: str | None,
        editmsg_bytes: str | None,
        remote_name: str | None,
        tracking_ref: str | None,
        index_lock_held: bool = False,
        commit_id: str | None = None,
        push_attempted: bool = False,
        completed: bool = False,
        started_ns: int = 0,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.pid = pid
        self.branch_ref = branch_ref
        self.head_commit = head_commit
        self.head_bytes = head_bytes
        self.head_log_length = head_log_length
        self.pyproject_bytes = pyproject_bytes
        self.pyproject_mtime_ns = pyproject_mtime_ns
        self.config_bytes = config_bytes
        self.editmsg_bytes = editmsg_bytes
        self.remote_name = remote_name
        self.tracking_ref = tracking_ref
        self.index_lock_held = index_lock_held
        self.commit_id = commit_id
        self.push_attempted = push_attempted
        # Set once every step succeeded: from then on the release stands and recovery must not undo it.
        self.completed = completed
        # When the release began (time.time_ns()): only lock files not older than this can be its own.
        self.started_ns = started_ns
        self.extra: dict[str, Any] = extra if extra is not None else {}

    def as_dict(self) -> dict[str, Any]:
        """Every field, as ``Journal(**data)`` takes them back."""
        return dict(vars(self))

    @property
    def branch(self) -> str:
        return self.branch_ref.removeprefix("refs/heads/")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check_no_leftover(repo: Repository) -> None:
    """Refuse while another release runs here, or a killed one left its journal."""
    path = journal_dir(repo) / "journal.json"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return
    except (OSError, ValueError):
        text = ""
    import json  # only when a journal is there: not on every release's path

    try:
        data = json.loads(text)
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    pid = int(data.get("pid", 0) or 0)
    branch = str(data.get("branch_ref", "")).removeprefix("refs/heads/") or "a release branch"
    if pid and pid != os.getpid() and _pid_alive(pid):
        raise LockError(f"another directive-release (pid {pid}) is releasing {branch} in this repository")
    if data.get("completed") is True:
        return  # that release finished, only removing its journal was cut short: nothing to undo
    raise RepositoryError(
        f"an interrupted release of {branch} (pid {pid}) left the repository half-done;"
        " run directive-release --recover to put it back exactly as it was"
    )


class JournalWriter:
    """Creates the journal before the first change, updates it, removes it at the end."""

    def __init__(self, repo: Repository, journal: Journal) -> None:
        self.repo = repo
        self.journal = journal
        self.directory = journal_dir(repo)
        self.path = self.directory / "journal.json"
        self._linked = False

    def create(self) -> None:
        """Write the journal, complete, under its final name, exclusively; on any failure leave nothing."""
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
            index = self.repo.index_path
            if index.exists():
                # A hard link keeps the original index: git replaces the index by rename, never in place.
                try:
                    os.link(index, self.directory / "index.orig")
                except OSError:
                    import shutil

                    shutil.copyfile(index, self.directory / "index.orig")
        except BaseException:
            owned = owned or self._linked
            names = ("index.orig", "journal.json", self._tmp_name) if owned else (self._tmp_name,)
            for name in names:
                try:
                    (self.directory / name).unlink(missing_ok=True)
                except OSError:
                    pass
            if made_directory or owned:
                try:
                    self.directory.rmdir()
                except OSError:
                    pass  # another release's files are in it
            raise

    @property
    def _tmp_name(self) -> str:
        return f"journal.json.{os.getpid()}.new"

    def _publish(self) -> bool:
        """Link a fully written temporary file to ``journal.json``: a reader never sees a partial journal."""
        tmp = self.directory / self._tmp_name
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(_dumps(self.journal))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            try:
                os.link(tmp, self.path)  # fails if it exists: at most one release at a time
            except FileExistsError:
                raise
            except OSError:  # a file system without hard links: create exclusively, then fill
                self._write_exclusively(tmp.read_bytes())
        except FileExistsError:
            tmp.unlink()
            check_no_leftover(self.repo)  # raises unless it was a finished release's journal
            for name in ("index.orig", "journal.json"):  # clear that finished one and try again
                (self.directory / name).unlink(missing_ok=True)
            return False
        self._linked = True
        tmp.unlink()
        return True

    def _write_exclusively(self, data: bytes) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._linked = True  # it is ours from here on, even half-written
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())

    def update(self, **changes: Any) -> None:
        for key, value in changes.items():
            setattr(self.journal, key, value)
        tmp = self.directory / "journal.json.tmp"
        tmp.write_text(_dumps(self.journal), encoding="utf-8")
        os.replace(tmp, self.path)

    def remove(self) -> None:
        _remove_directory(self.directory)


def new_journal(repo: Repository, *, branch_ref: str, head_commit: str, pyproject_path: Path,
                remote_name: str | None, tracking_ref: str | None) -> Journal:
    log_head = _read_optional(repo.gitdir / "logs" / "HEAD")
    return Journal(
        pid=os.getpid(),
        branch_ref=branch_ref,
        head_commit=head_commit,
        head_bytes=_b64(_read_optional(repo.gitdir / "HEAD")),
        head_log_length=None if log_head is None else len(log_head),
        pyproject_bytes=_b64(_read_optional(pyproject_path)),
        pyproject_mtime_ns=pyproject_path.stat().st_mtime_ns,
        config_bytes=_b64(_read_optional(repo.commondir / "config")),
        editmsg_bytes=_b64(_read_optional(repo.gitdir / "COMMIT_EDITMSG")),
        remote_name=remote_name,
        tracking_ref=tracking_ref,
        started_ns=time.time_ns(),
    )


def recover(repo: Repository) -> list[str]:
    """Put the repository back as it was before the interrupted release; say what was done."""
    directory = journal_dir(repo)
    try:
        journal = Journal(**_load(directory / "journal.json"))
    except FileNotFoundError:
        raise RepositoryError("nothing to recover: no interrupted release in this repository") from None
    except (OSError, ValueError, TypeError) as exc:
        raise RepositoryError(f"{directory}/journal.json is unreadable ({exc}); remove it after checking git status") from exc
    if journal.pid != os.getpid() and _pid_alive(journal.pid):
        raise LockError(f"directive-release (pid {journal.pid}) is still running; let it finish")
    if journal.completed:
        _remove_directory(directory)
        raise RepositoryError(f"nothing to recover: the release of {journal.branch} had finished"
                              " (its leftover journal is now removed)")
    done: list[str] = _remove_stale_files(repo, journal)
    known_commits = {journal.head_commit, journal.commit_id} - {None}
    if journal.push_attempted and journal.commit_id and journal.remote_name:
        done += _recover_remote(repo, journal)
    if journal.tracking_ref and read_ref(repo, journal.tracking_ref) == journal.commit_id and journal.commit_id:
        refs.delete_ref(repo, journal.tracking_ref, expected=journal.commit_id)
        done.append(f"deleted {journal.tracking_ref}")
    if refs.restore_file(repo.commondir / "config", _unb64(journal.config_bytes)):
        done.append("restored .git/config")
    refs.restore_file(repo.gitdir / "COMMIT_EDITMSG", _unb64(journal.editmsg_bytes))
    original_index = directory / "index.orig"
    if original_index.exists() and _read_optional(repo.index_path) != original_index.read_bytes():
        refs.restore_file(repo.index_path, original_index.read_bytes())
        done.append("restored the index")
    pyproject_path = repo.worktree / "pyproject.toml"
    if refs.restore_file(pyproject_path, _unb64(journal.pyproject_bytes)):
        os.utime(pyproject_path, ns=(journal.pyproject_mtime_ns, journal.pyproject_mtime_ns))
        done.append("restored pyproject.toml")
    if refs.restore_file(repo.gitdir / "HEAD", _unb64(journal.head_bytes)):
        done.append("switched HEAD back")
    if journal.head_log_length is not None:
        refs.truncate_to(repo.gitdir / "logs" / "HEAD", journal.head_log_length)
    current = read_ref(repo, journal.branch_ref)
    if current is not None and current in known_commits:
        refs.delete_ref(repo, journal.branch_ref, expected=current)
        done.append(f"deleted branch {journal.branch}")
    _remove_directory(directory)
    return done


# File-system time stamps come from a coarser clock than time.time_ns(): allow for it.
_CLOCK_SLACK_NS = 2_000_000_000


def _remove_stale_files(repo: Repository, journal: Journal) -> list[str]:
    """Remove the lock and temporary files a killed release left (they would block git and --recover).

    Only paths this release writes are considered, and only files made since it
    started: its ref, HEAD, config, COMMIT_EDITMSG and index locks, dulwich's
    loose-object locks and the temporary pyproject.toml. A git command run in
    this repository *during* --recover could hold one of the shared ones; the
    refusal message asks for --recover when nothing else runs.
    """
    candidates = [repo.gitdir / "HEAD.lock", repo.commondir / "config.lock", repo.gitdir / "COMMIT_EDITMSG.lock",
                  repo.commondir / f"{journal.branch_ref}.lock"]
    if journal.index_lock_held:
        candidates.append(repo.index_path.with_name("index.lock"))
    if journal.tracking_ref:
        candidates.append(repo.commondir / f"{journal.tracking_ref}.lock")
    candidates += (repo.commondir / "objects").glob("??/*.lock")
    candidates += (repo.commondir / "objects").glob("??/tmp_obj_*")  # a loose object cut off mid-write
    candidates += repo.worktree.glob(".pyproject.toml.*.directive-release.tmp")
    removed: list[str] = []
    for path in candidates:
        try:
            if path.lstat().st_mtime_ns < journal.started_ns - _CLOCK_SLACK_NS:
                continue  # older than the release: not its own
            path.unlink()
        except FileNotFoundError:
            continue
        removed.append(str(path.relative_to(repo.worktree) if path.is_relative_to(repo.worktree) else path))
    for ref in (journal.branch_ref, journal.tracking_ref):
        if ref:  # folders made for a lock that was never committed (refs/heads/release/, ...)
            refs._remove_empty_parents((repo.commondir / ref).parent, repo.commondir / "refs" / ref.split("/")[1])
    return [f"removed {', '.join(removed)}"] if removed else []


def _remove_local_remote_debris(repo: Repository, url: str, journal: Journal) -> None:
    """A file:// or path remote was served in this very process: its stale ref and pack locks are ours."""
    from .git.remote import parse_url

    parts = parse_url(url)
    if parts.kind != "local":
        return
    root = Path(os.path.expanduser(parts.path))
    if not root.is_absolute():
        root = repo.worktree / root
    gitdir = root / ".git" if (root / ".git").is_dir() else root
    candidates = [gitdir / f"{journal.branch_ref}.lock", *(gitdir / "objects" / "pack").glob("*.lock"),
                  *(gitdir / "objects" / "pack").glob("tmp*.pack"), *(gitdir / "objects").glob("??/*.lock")]
    for path in candidates:
        try:
            if path.lstat().st_mtime_ns >= journal.started_ns - _CLOCK_SLACK_NS:
                path.unlink()
        except FileNotFoundError:
            continue
    refs._remove_empty_parents((gitdir / journal.branch_ref).parent, gitdir / "refs" / "heads")


def _recover_remote(repo: Repository, journal: Journal) -> list[str]:
    from .git.config import load_config
    from .git.remote import resolve_remote
    from .git.transport import RefUpdate, list_remote_refs, push

    assert journal.remote_name and journal.commit_id
    config = load_config(repo)
    remote = resolve_remote(config, journal.remote_name)
    _remove_local_remote_debris(repo, remote.push_url, journal)
    try:
        remote_refs = list_remote_refs(repo, config, remote, timeout=30)
        if remote_refs.get(journal.branch_ref) == journal.commit_id:
            push(repo, config, remote, [RefUpdate(journal.branch_ref, journal.commit_id, None)], timeout=30)
            return [f"deleted {journal.branch} on {remote.name}"]
    except ReleaseError as exc:
        raise ReleaseError(
            f"could not reach {remote.name} to remove {journal.branch} ({exc}); try --recover again later"
        ) from exc
    return []
