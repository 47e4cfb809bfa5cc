"""The release's steps: each describes itself, applies itself and undoes itself.

``undo`` must be safe to call whether ``apply`` finished, stopped half-way or
never ran (the journal records a step before applying it), and must only
revert what this release did.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from . import pyproject
from .errors import HookError, ReleaseError
from .git import refs
from .git.repo import Repository, read_ref

if TYPE_CHECKING:  # pragma: no cover
    from .git.config import GitConfig
    from .git.identity import Identity
    from .git.remote import Remote
    from .release import Plan

PYPROJECT_PATH = b"pyproject.toml"


def _short(commit: str) -> str:
    return commit[:7]


class IndexTransaction:
    """The index, locked for the whole release as ``git commit`` does, restorable byte for byte."""

    def __init__(
        self,
        repo: Repository,
        lock: refs.LockFile | None = None,
        staged: bytes | None = None,
        committed: bool = False,
        snapshot: refs.FileSnapshot | None = None,
    ) -> None:
        self.repo = repo
        self.lock = lock
        self.staged = staged
        self.committed = committed
        self.snapshot = snapshot

    @property
    def lock_path(self) -> Path:
        return self.repo.index_path.with_name("index.lock")


class LockIndex:
    def __init__(self, plan: "Plan", tx: IndexTransaction) -> None:
        self.plan = plan
        self.tx = tx

    def describe(self) -> str:
        return "lock the index (.git/index.lock) and check HEAD, pyproject.toml and the working tree under it"

    def apply(self) -> None:
        self.plan.record(index_lock_held=True)  # before: a kill right after acquiring must not orphan it
        try:
            self.tx.lock = refs.LockFile(self.tx.repo.index_path).acquire()
        except BaseException:
            self.plan.record(index_lock_held=False)
            raise
        # Under the lock the index can no longer change: snapshot it now, not before.
        self.tx.snapshot = refs.FileSnapshot(self.tx.repo.index_path)
        _check_unchanged_since_planning(self.plan)

    def undo(self) -> None:
        if self.tx.lock is not None and self.tx.lock.held:
            self.tx.lock.rollback()
        if self.tx.committed and self.tx.snapshot is not None:
            self.tx.snapshot.restore()
            self.tx.committed = False


def _check_unchanged_since_planning(plan: "Plan") -> None:
    """The checks ran before the confirmation (or while another git command ran): redo the ones
    the steps rely on, now that the index is locked, so a stale plan is refused, never applied.
    """
    from .errors import DirtyTreeError
    from .git.repo import read_head
    from .git.status import tracked_changes

    repo = plan.repo
    head = read_head(repo)
    if head != plan.head:
        raise ReleaseError(
            f"the repository changed since the checks: HEAD is now {head.branch} at {_short(head.commit)},"
            f" was {plan.head.branch} at {_short(plan.head.commit)}; run the release again"
        )
    if plan.project.path.read_bytes() != plan.project.raw:
        raise DirtyTreeError("pyproject.toml changed since the checks; commit it, then run the release again")
    if not plan.clean_checked:
        from .release import check_clean

        check_clean(repo, head, plan.settings)  # the one clean check of a --yes release
        return
    changes = tracked_changes(repo, head.commit, limit=3)
    if changes:
        raise DirtyTreeError(
            f"the working tree changed since the checks ({', '.join(line[3:] for line in changes)});"
            " commit or stash, then run the release again"
        )


class CreateBranch:
    def __init__(self, plan: "Plan", who: refs.ReflogIdentity) -> None:
        self.plan = plan
        self.who = who

    def describe(self) -> str:
        return f"create branch {self.plan.branch} at {_short(self.plan.head.commit)} (HEAD of {self.plan.head.branch})"

    def apply(self) -> None:
        refs.create_ref(self.plan.repo, self.plan.branch_ref, self.plan.head.commit,
                        reflog=(self.who, f"branch: Created from {self.plan.head.branch}"))
        self.created = True

    def undo(self) -> None:
        if not getattr(self, "created", False):
            return
        current = read_ref(self.plan.repo, self.plan.branch_ref)
        if current in (self.plan.head.commit, self.plan.commit_id):
            refs.delete_ref(self.plan.repo, self.plan.branch_ref, expected=current)


class SwitchBranch:
    def __init__(self, plan: "Plan", who: refs.ReflogIdentity) -> None:
        self.plan = plan
        self.who = who

    def describe(self) -> str:
        return f"switch to {self.plan.branch} ({self.plan.head.branch} itself never gets the commit)"

    def apply(self) -> None:
        repo = self.plan.repo
        self.head_snapshot = refs.FileSnapshot(repo.gitdir / "HEAD")
        self.log_snapshot = refs.FileSnapshot(repo.gitdir / "logs" / "HEAD")
        refs.set_head(repo, self.plan.branch_ref, old_commit=self.plan.head.commit,
                      from_branch=self.plan.head.branch, reflog=self.who)

    def undo(self) -> None:
        if not hasattr(self, "head_snapshot"):
            return
        self.head_snapshot.restore()
        self.log_snapshot.restore_length()


class WriteVersion:
    def __init__(self, plan: "Plan", new_bytes: bytes) -> None:
        self.plan = plan
        self.new_bytes = new_bytes

    def describe(self) -> str:
        project = self.plan.project
        return (f"write version {self.plan.new_version} in pyproject.toml"
                f" (line {project.version_line}: {self.plan.old_version} -> {self.plan.new_version}; nothing else changes)")

    def apply(self) -> None:
        project = self.plan.project
        self.original_stat = project.path.stat()
        pyproject.write_atomically(project.path, self.new_bytes, project.mode)

    def undo(self) -> None:
        if not hasattr(self, "original_stat"):
            return
        project = self.plan.project
        if project.path.read_bytes() != project.raw or not project.path.is_file():
            pyproject.write_atomically(project.path, project.raw, project.mode)
        os.utime(project.path, ns=(self.original_stat.st_atime_ns, self.original_stat.st_mtime_ns))


class StageVersion:
    def __init__(self, plan: "Plan", tx: IndexTransaction, new_bytes: bytes) -> None:
        self.plan = plan
        self.tx = tx
        self.new_bytes = new_bytes
        self.result: dict[str, str] = {}

    def describe(self) -> str:
        return "stage pyproject.toml, and only that path"

    def apply(self) -> None:
        from .git import objects
        from .git.index import IndexFile, update_single_entry

        repo = self.plan.repo
        index = IndexFile.read(repo.index_path, hash_hex_length=repo.hash_hex_length)
        entry = index.entry(PYPROJECT_PATH)
        assert entry is not None  # checked while planning
        blob_id = objects.write_blob(repo, objects.checkin_content(repo, PYPROJECT_PATH, self.new_bytes))
        head_tree = objects.commit_tree_id(repo, self.plan.head.commit)
        tree_id = objects.replace_blob_in_tree(repo, head_tree, PYPROJECT_PATH, blob_id, entry.mode)
        new_index = update_single_entry(index, PYPROJECT_PATH, sha=blob_id, mode=entry.mode,
                                        st=os.lstat(self.plan.project.path), new_root_tree=tree_id)
        assert self.tx.lock is not None
        self.tx.lock.write(new_index)
        self.tx.staged = new_index
        self.result.update(blob=blob_id, tree=tree_id)

    def undo(self) -> None:
        """The index lock is dropped (or the index restored) by :class:`LockIndex`."""


class RunHook:
    def __init__(
        self,
        plan: "Plan",
        tx: IndexTransaction,
        git_config: "GitConfig",
        name: str,
        hook_path: Path,
        new_bytes: bytes,
        author: "Identity",
    ) -> None:
        self.plan = plan
        self.tx = tx
        self.git_config = git_config
        self.name = name
        self.hook_path = hook_path
        self.new_bytes = new_bytes
        self.author = author

    def describe(self) -> str:
        return f"run the {self.name} hook ({_display(self.hook_path, self.plan.repo.worktree)})"

    def apply(self) -> None:
        from .git.hooks import commit_hook_env, run_hook

        run_hook(self.plan.repo, self.git_config, self.name,
                 env=commit_hook_env(self.plan.repo, self.author, self.tx.lock_path))
        if self.plan.project.path.read_bytes() != self.new_bytes:
            raise HookError(f"the {self.name} hook changed pyproject.toml; commit its fixes first, then release")
        if self.tx.lock_path.read_bytes() != self.tx.staged:
            raise HookError(f"the {self.name} hook changed the index; the release commit must hold only the version")

    def undo(self) -> None:
        """Nothing of its own: a hook's file edits are caught by the checks above and reverted by the others."""


class Commit:
    def __init__(
        self,
        plan: "Plan",
        tx: IndexTransaction,
        stage: StageVersion,
        git_config: "GitConfig",
        author: "Identity",
        committer: "Identity",
        who: refs.ReflogIdentity,
        signer: Callable[[bytes], bytes] | None,
        commit_msg_hook: Path | None,
    ) -> None:
        self.plan = plan
        self.tx = tx
        self.stage = stage
        self.git_config = git_config
        self.author = author
        self.committer = committer
        self.who = who
        self.signer = signer
        self.commit_msg_hook = commit_msg_hook

    def describe(self) -> str:
        signed = ", signed" if self.signer is not None else ""
        return (f'commit "{self.plan.message}" on {self.plan.branch} as '
                f"{self.committer.name} <{self.committer.email}>{signed}")

    def apply(self) -> None:
        from .git import objects

        repo = self.plan.repo
        message = self._message()
        commit_id = objects.write_commit(
            repo, tree_id=self.stage.result["tree"], parent=self.plan.head.commit,
            author=self.author, committer=self.committer, message=message, sign=self.signer,
        )
        self.plan.commit_id = commit_id
        self.plan.record(commit_id=commit_id)  # before the ref moves, so recovery knows the commit
        subject = message.split("\n", 1)[0]
        refs.update_ref(repo, self.plan.branch_ref, commit_id, old=self.plan.head.commit,
                        reflog=(self.who, f"commit: {subject}"))
        refs.append_head_reflog(repo, self.who, self.plan.head.commit, commit_id, f"commit: {subject}")
        assert self.tx.lock is not None
        self.tx.lock.commit()
        self.tx.committed = True
        self.plan.record(index_lock_held=False)

    def _message(self) -> str:
        message = self.plan.message.rstrip("\n") + "\n"
        if self.commit_msg_hook is None:
            return message
        from .git.hooks import commit_hook_env, read_commit_editmsg, run_hook, write_commit_editmsg

        repo = self.plan.repo
        self.editmsg_snapshot = refs.FileSnapshot(repo.gitdir / "COMMIT_EDITMSG")
        argument = write_commit_editmsg(repo, message)
        run_hook(repo, self.git_config, "commit-msg", [argument],
                 env=commit_hook_env(repo, self.author, self.tx.lock_path))
        edited = _cleanup_message(read_commit_editmsg(repo))
        if not edited.strip():
            raise HookError("the commit-msg hook left an empty commit message")
        return edited

    def undo(self) -> None:
        snapshot = getattr(self, "editmsg_snapshot", None)
        if snapshot is not None:
            snapshot.restore()


def _cleanup_message(text: str) -> str:
    """git's default ``--cleanup=strip``: drop # comments, trailing blanks, collapse blank runs."""
    lines = [line.rstrip() for line in text.splitlines() if not line.startswith("#")]
    collapsed: list[str] = []
    for line in lines:
        if line == "" and (not collapsed or collapsed[-1] == ""):
            continue
        collapsed.append(line)
    while collapsed and collapsed[-1] == "":
        collapsed.pop()
    return "\n".join(collapsed) + "\n"


class Push:
    def __init__(self, plan: "Plan", git_config: "GitConfig", remote: "Remote", timeout: float) -> None:
        self.plan = plan
        self.git_config = git_config
        self.remote = remote
        self.timeout = timeout

    def describe(self) -> str:
        return f"push refs/heads/{self.plan.branch} to {self.remote.name} ({self.remote.display_url()}); never forced"

    def apply(self) -> None:
        from .git.transport import RefUpdate, push

        from .git.transport import NeverConnected

        assert self.plan.commit_id is not None
        self.attempted = True
        self.plan.record(push_attempted=True)
        try:
            push(self.plan.repo, self.git_config, self.remote,
                 [RefUpdate(self.plan.branch_ref, None, self.plan.commit_id)], timeout=self.timeout)
        except NeverConnected:
            # Nothing reached the remote: there is nothing there to check or take back.
            self.attempted = False
            self.plan.record(push_attempted=False)
            raise
        self.plan.pushed = True

    def undo(self) -> None:
        if not getattr(self, "attempted", False) or self.plan.commit_id is None:
            return
        from .git.transport import RefUpdate, list_remote_refs, push

        try:
            remote_refs = list_remote_refs(self.plan.repo, self.git_config, self.remote, timeout=self.timeout)
        except ReleaseError as exc:
            raise ReleaseError(
                f"could not check whether {self.plan.branch} reached {self.remote.name} ({exc}); if it did:"
                f" git push {self.remote.name} --delete {self.plan.branch}"
            ) from exc
        if remote_refs.get(self.plan.branch_ref) == self.plan.commit_id:
            push(self.plan.repo, self.git_config, self.remote,
                 [RefUpdate(self.plan.branch_ref, self.plan.commit_id, None)], timeout=self.timeout)
        self.plan.pushed = False


class SetUpstream:
    def __init__(self, plan: "Plan", remote: "Remote") -> None:
        self.plan = plan
        self.remote = remote

    def describe(self) -> str:
        return f"set {self.plan.branch} to track {self.remote.name}/{self.plan.branch}"

    def apply(self) -> None:
        repo = self.plan.repo
        self.config_snapshot = refs.FileSnapshot(repo.commondir / "config")
        refs.add_branch_upstream(repo, self.plan.branch, self.remote.name)
        tracking = f"refs/remotes/{self.remote.name}/{self.plan.branch}"
        assert self.plan.commit_id is not None
        if read_ref(repo, tracking) is None:
            refs.create_ref(repo, tracking, self.plan.commit_id, reflog=None)
            self.tracking = tracking

    def undo(self) -> None:
        tracking = getattr(self, "tracking", None)
        if tracking is not None:
            refs.delete_ref(self.plan.repo, tracking, expected=self.plan.commit_id)
        if hasattr(self, "config_snapshot"):
            self.config_snapshot.restore()


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def build_steps(plan: "Plan", *, git_config: "GitConfig", author: "Identity", committer: "Identity",
                signer: Callable[[bytes], bytes] | None, remote: "Remote | None") -> list:
    from .git.hooks import find_hook
    from .release import REMOTE_TIMEOUT

    repo = plan.repo
    who = refs.ReflogIdentity(committer.signature_bytes(), committer.timestamp, committer.tz_offset_seconds)
    new_bytes = plan.project.with_version(plan.new_version)
    tx = IndexTransaction(repo)
    stage = StageVersion(plan, tx, new_bytes)
    steps: list = [
        LockIndex(plan, tx),
        CreateBranch(plan, who),
        SwitchBranch(plan, who),
        WriteVersion(plan, new_bytes),
        stage,
    ]
    pre_commit = find_hook(repo, git_config, "pre-commit")
    if pre_commit is not None:
        steps.append(RunHook(plan, tx, git_config, "pre-commit", pre_commit, new_bytes, author))
    steps.append(Commit(plan, tx, stage, git_config, author, committer, who, signer,
                        find_hook(repo, git_config, "commit-msg")))
    if remote is not None:
        steps.append(Push(plan, git_config, remote, REMOTE_TIMEOUT))
        if _is_named_remote(git_config, remote.name):
            steps.append(SetUpstream(plan, remote))
    return steps


def _is_named_remote(git_config: "GitConfig", name: str) -> bool:
    return git_config.get(f"remote.{name}.url") is not None
