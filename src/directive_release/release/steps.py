"""The release's steps: each describes itself and applies itself, writing its undo records first.

A step never undoes itself: before it changes a ref, HEAD, a file, the index,
the config or the remote, it appends the undo record of exactly that change to
the journal (:mod:`.undo`), and the one replayer takes the records back. So a
step has no state to probe after a failure, and the same records serve
``--recover`` after a kill.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ..errors import HookError
from ..git import refs
from ..git.lockfile import LockFile, write_file
from ..git.repo import Repository
from . import undo
from .plan import Plan

if TYPE_CHECKING:  # pragma: no cover
    from ..git.config import GitConfig
    from ..git.identity import Identity
    from ..git.remote import Remote
    from .journal import Journal

def _short(commit: str) -> str:
    return commit[:7]


class Run:
    """What the steps of one release share while it is applied: the journal, the index lock, results."""

    def __init__(self, plan: Plan, journal: "Journal") -> None:
        self.plan = plan
        self.journal = journal
        self.index_lock: LockFile | None = None
        self.index_lock_seq: int | None = None
        self.staged: bytes | None = None  # the new index, as written to index.lock
        self.tree_id: str | None = None
        self.commit_id: str | None = None
        self.pushed = False

    def live_locks(self) -> dict[str, LockFile]:
        if self.index_lock is not None and self.index_lock.held:
            return {str(self.index_lock.path): self.index_lock}
        return {}


def _reflog_offset(path: Path) -> tuple[int, bool]:
    """Where a line appended now would start, and whether the file would be created by it."""
    try:
        return path.stat().st_size, False
    except FileNotFoundError:
        return 0, True


class LockIndex:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan

    def describe(self) -> str:
        return "check the working tree is clean (under git's index lock)"

    def apply(self, run: Run) -> None:
        from .preflight import check_unchanged_since_planning

        repo = self.plan.repo
        # Recorded before: a kill right after acquiring must not orphan the lock.
        run.index_lock_seq = run.journal.record(undo.lock_record("gitdir", "index"))[0]
        run.index_lock = LockFile(repo.index_path).acquire()
        check_unchanged_since_planning(self.plan)


class CreateBranch:
    def __init__(self, plan: Plan, who: refs.ReflogIdentity) -> None:
        self.plan = plan
        self.who = who

    def describe(self) -> str:
        return f"create branch {self.plan.branch} at {_short(self.plan.head.commit)} (HEAD of {self.plan.head.branch})"

    def apply(self, run: Run) -> None:
        plan = self.plan
        # Its reflog is created with it and goes with it: the ref record covers both.
        run.journal.record(undo.ref_record(plan.branch_ref, None, plan.head.commit))
        refs.create_ref(plan.repo, plan.branch_ref, plan.head.commit,
                        reflog=(self.who, f"branch: Created from {plan.head.branch}"))


class SwitchBranch:
    def __init__(self, plan: Plan, who: refs.ReflogIdentity) -> None:
        self.plan = plan
        self.who = who

    def describe(self) -> str:
        return f"switch to {self.plan.branch} ({self.plan.head.branch} itself never gets the commit)"

    def apply(self, run: Run) -> None:
        plan = self.plan
        repo = plan.repo
        commit = plan.head.commit
        line = self.who.line(commit, commit, f"checkout: moving from {plan.head.branch} to {plan.branch}")
        log = refs.log_path(repo, "HEAD")
        offset, created = _reflog_offset(log)
        run.journal.record(undo.head_record(plan.head.ref, plan.branch_ref),
                           undo.append_record("gitdir", "logs/HEAD", offset, line, created=created))
        refs.set_symbolic_head(repo, plan.branch_ref)
        refs.append_reflog(repo, "HEAD", line)


class WriteVersion:
    """Write the new version into every file that holds it (only the literal changes in each)."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan

    def describe(self) -> str:
        plan = self.plan
        files = ", ".join(edit.path for edit in plan.edits)
        lines = [f"write version {plan.new_version} in {files} (nothing else changes):"]
        for edit in plan.edits:
            where = f"{edit.path}:{edit.line}"
            lines.append(f"     {where}  - {edit.old_line.strip()}")
            lines.append(f"     {' ' * len(where)}  + {edit.new_line.strip()}")
        return "\n".join(lines)

    def apply(self, run: Run) -> None:
        worktree = self.plan.repo.worktree
        for edit in self.plan.edits:
            path = worktree / edit.path
            run.journal.record(undo.file_edit_record("worktree", edit.path, edit.old_bytes, edit.new_bytes,
                                                     path.stat()))
            write_file(path, edit.new_bytes, mode=edit.mode)


class StageVersion:
    """Stage exactly the edited files: their blobs, the trees on their paths, their index entries."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan

    def describe(self) -> str:
        paths = [edit.path for edit in self.plan.edits]
        return f"stage {', '.join(paths)}, and only {'that path' if len(paths) == 1 else 'those paths'}"

    def apply(self, run: Run) -> None:
        from ..git import objects
        from ..git.index import IndexFile, parse_index_bytes, update_single_entry

        repo = self.plan.repo
        original = IndexFile.read(repo.index_path, hash_hex_length=repo.hash_hex_length)
        index = original
        tree_id = objects.commit_tree_id(repo, self.plan.head.commit)
        new_index = original.raw
        staged: list[tuple[bytes, str]] = []
        for number, edit in enumerate(self.plan.edits):
            path = edit.path.encode("utf-8")
            entry = index.entry(path)
            assert entry is not None  # checked while planning: tracked, regular
            blob_id = objects.write_blob(repo, objects.checkin_content(repo, path, edit.new_bytes))
            tree_id = objects.replace_blob_in_tree(repo, tree_id, path, blob_id, entry.mode)
            new_index = update_single_entry(index, path, sha=blob_id, mode=entry.mode,
                                            st=os.lstat(repo.worktree / edit.path), new_root_tree=tree_id)
            if number + 1 < len(self.plan.edits):  # the next edit updates this index (a parse: ~5 ms on 20k)
                index = parse_index_bytes(repo.index_path, new_index, hash_hex_length=repo.hash_hex_length)
            staged.append((path, blob_id))
        # Under the index lock the index cannot change: keep its bytes for the undo, then record.
        run.journal.keep_copy("index.orig", repo.index_path)
        run.journal.record(undo.index_record("index.orig", original.raw, new_index, staged))
        assert run.index_lock is not None
        run.index_lock.write(new_index)
        run.staged = new_index
        run.tree_id = tree_id


class RunHook:
    def __init__(self, plan: Plan, git_config: "GitConfig", name: str, hook_path: Path,
                 author: "Identity") -> None:
        self.plan = plan
        self.git_config = git_config
        self.name = name
        self.hook_path = hook_path
        self.author = author

    def describe(self) -> str:
        return f"run the {self.name} hook ({_display(self.hook_path, self.plan.repo.worktree)})"

    def apply(self, run: Run) -> None:
        from ..git.hooks import commit_hook_env, run_hook

        assert run.index_lock is not None
        lock_path = run.index_lock.lock_path
        run_hook(self.plan.repo, self.git_config, self.name,
                 env=commit_hook_env(self.plan.repo, self.author, lock_path))
        for edit in self.plan.edits:
            path = self.plan.repo.worktree / edit.path
            if path.read_bytes() != edit.new_bytes:
                # The hook's edit was made on the release's bytes, inside the release: put those back
                # so the undo, which restores only what the release left, restores the original.
                write_file(path, edit.new_bytes, mode=edit.mode)
                raise HookError(f"the {self.name} hook changed {edit.path}; commit its fixes first, then release")
        if lock_path.read_bytes() != run.staged:
            raise HookError(f"the {self.name} hook changed the index; the release commit must hold only the version")


class Commit:
    def __init__(self, plan: Plan, git_config: "GitConfig", author: "Identity", committer: "Identity",
                 who: refs.ReflogIdentity, signer: Callable[[bytes], bytes] | None,
                 commit_msg_hook: Path | None) -> None:
        self.plan = plan
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

    def apply(self, run: Run) -> None:
        from ..git import objects

        plan = self.plan
        repo = plan.repo
        message = self._message(run)
        assert run.tree_id is not None and run.index_lock is not None
        commit_id = objects.write_commit(
            repo, tree_id=run.tree_id, parent=plan.head.commit,
            author=self.author, committer=self.committer, message=message, sign=self.signer,
        )
        subject = message.split("\n", 1)[0]
        line = self.who.line(plan.head.commit, commit_id, f"commit: {subject}")
        offset, created = _reflog_offset(refs.log_path(repo, "HEAD"))
        run.journal.record(undo.ref_record(plan.branch_ref, plan.head.commit, commit_id),
                           undo.append_record("gitdir", "logs/HEAD", offset, line, created=created))
        run.commit_id = commit_id
        refs.update_ref(repo, plan.branch_ref, commit_id, old=plan.head.commit,
                        reflog=(self.who, f"commit: {subject}"))
        refs.append_reflog(repo, "HEAD", line)
        run.index_lock.commit()
        assert run.index_lock_seq is not None
        run.journal.retract(run.index_lock_seq)  # released: from here the index record undoes it

    def _message(self, run: Run) -> str:
        message = self.plan.message.rstrip("\n") + "\n"
        if self.commit_msg_hook is None:
            return message
        from ..git.hooks import commit_hook_env, read_commit_editmsg, run_hook, write_commit_editmsg

        repo = self.plan.repo
        path = repo.gitdir / "COMMIT_EDITMSG"
        orig = None
        if path.exists():
            orig = "COMMIT_EDITMSG.orig"
            run.journal.keep_copy(orig, path)
        run.journal.record(undo.scratch_file_record("gitdir", "COMMIT_EDITMSG", orig, message.encode("utf-8")))
        argument = write_commit_editmsg(repo, message)
        assert run.index_lock is not None
        run_hook(repo, self.git_config, "commit-msg", [argument],
                 env=commit_hook_env(repo, self.author, run.index_lock.lock_path))
        after_hook = undo.read_optional(path)
        if after_hook is not None and after_hook != message.encode("utf-8"):
            # The hook edited it, inside the release: that content is the release's too.
            run.journal.record(undo.scratch_file_record("gitdir", "COMMIT_EDITMSG", orig, after_hook))
        edited = _cleanup_message(read_commit_editmsg(repo))
        if not edited.strip():
            raise HookError("the commit-msg hook left an empty commit message")
        return edited


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
    def __init__(self, plan: Plan, git_config: "GitConfig", remote: "Remote", timeout: float) -> None:
        self.plan = plan
        self.git_config = git_config
        self.remote = remote
        self.timeout = timeout

    def describe(self) -> str:
        return f"push {self.plan.branch} to {self.remote.name} ({self.remote.display_url()}), never forced"

    def apply(self, run: Run) -> None:
        from ..git.transport import NothingSent, RefUpdate, push

        assert run.commit_id is not None
        seq = run.journal.record(undo.remote_ref_record(self.remote.name, self.plan.branch_ref, None, run.commit_id))[0]
        try:
            push(self.plan.repo, self.git_config, self.remote,
                 [RefUpdate(self.plan.branch_ref, None, run.commit_id)], timeout=self.timeout)
        except NothingSent:
            # Nothing reached the remote: there is nothing there to check or take back.
            run.journal.retract(seq)
            raise
        run.pushed = True


class SetUpstream:
    def __init__(self, plan: Plan, remote: "Remote") -> None:
        self.plan = plan
        self.remote = remote

    def describe(self) -> str:
        return f"set {self.plan.branch} to track {self.remote.name}/{self.plan.branch}"

    def apply(self, run: Run) -> None:
        from ..git.config_edit import add_keys
        from ..git.repo import read_ref

        repo = self.plan.repo
        keys = [("remote", self.remote.name), ("merge", self.plan.branch_ref)]
        run.journal.record(undo.config_record("branch", self.plan.branch, keys))
        add_keys(repo.commondir / "config", "branch", self.plan.branch, keys)
        tracking = f"refs/remotes/{self.remote.name}/{self.plan.branch}"
        assert run.commit_id is not None
        if read_ref(repo, tracking) is None:
            run.journal.record(undo.ref_record(tracking, None, run.commit_id))
            refs.create_ref(repo, tracking, run.commit_id, reflog=None)


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def build_steps(plan: Plan, *, git_config: "GitConfig", author: "Identity", committer: "Identity",
                signer: Callable[[bytes], bytes] | None, timeout: float) -> tuple:
    from ..git.hooks import find_hook

    repo: Repository = plan.repo
    who = refs.ReflogIdentity(committer.signature_bytes(), committer.timestamp, committer.tz_offset_seconds)
    steps: list = [
        LockIndex(plan),
        CreateBranch(plan, who),
        SwitchBranch(plan, who),
        WriteVersion(plan),
        StageVersion(plan),
    ]
    pre_commit = find_hook(repo, git_config, "pre-commit")
    if pre_commit is not None:
        steps.append(RunHook(plan, git_config, "pre-commit", pre_commit, author))
    steps.append(Commit(plan, git_config, author, committer, who, signer, find_hook(repo, git_config, "commit-msg")))
    if plan.remote is not None:
        steps.append(Push(plan, git_config, plan.remote, timeout))
        if git_config.get(f"remote.{plan.remote.name}.url") is not None:
            steps.append(SetUpstream(plan, plan.remote))
    return tuple(steps)
