"""The release: check everything, plan, show, confirm, apply with an undo journal.

Every step describes itself (``--dry-run`` prints exactly the plan the real
run executes), applies itself and knows how to undo itself. ``apply`` records
each step before running it, and on any failure, Ctrl-C or SIGTERM unwinds
the recorded steps in reverse with signals blocked, so a failed release
leaves the repository as it found it.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Callable, NamedTuple, Protocol, Sequence

from . import pyproject
from .settings import Settings
from .errors import DirtyTreeError, Interrupted, RefExistsError, ReleaseError, RepositoryError
from .git import repo as gitrepo
from .journal import JournalWriter, check_no_leftover, new_journal
from .version import Part, bump

if TYPE_CHECKING:  # pragma: no cover
    from .git.config import GitConfig
    from .git.identity import Identity

# Seconds to wait for the remote before calling it unreachable.
REMOTE_TIMEOUT = float(os.environ.get("DIRECTIVE_RELEASE_REMOTE_TIMEOUT", "30"))


class Options(NamedTuple):
    part: Part
    push: bool = True
    remote: str | None = None
    untracked_blocks: bool | None = None
    # With --yes nothing waits between the checks and the first change: the clean check then
    # runs once, under the index lock (as git commit does), instead of before it and again under it.
    clean_check_under_lock_only: bool = False


class Plan:
    """Everything the checks found, and the steps that turn it into a release."""

    def __init__(
        self,
        repo: gitrepo.Repository,
        head: gitrepo.HeadState,
        project: pyproject.Pyproject,
        settings: Settings,
        old_version: str,
        new_version: str,
        branch: str,
        tag: str,
        message: str,
        remote_name: str | None,
        clean_checked: bool = True,
    ) -> None:
        self.repo = repo
        self.head = head
        self.project = project
        self.settings = settings
        self.old_version = old_version
        self.new_version = new_version
        self.branch = branch
        self.tag = tag
        self.message = message
        self.remote_name = remote_name
        self.clean_checked = clean_checked  # False: the clean check runs under the index lock, in LockIndex
        self.steps: list[Step] = []
        # Filled in while applying.
        self.commit_id: str | None = None
        self.pushed = False
        self.pull_request_url: str | None = None
        self.remote_display: str | None = None
        self.journal: JournalWriter | None = None

    def record(self, **changes: object) -> None:
        """Note progress in the on-disk recovery journal (a no-op outside ``apply``)."""
        if self.journal is not None:
            self.journal.update(**changes)

    @property
    def branch_ref(self) -> str:
        return f"refs/heads/{self.branch}"

    def describe(self) -> list[str]:
        return [f"{number}. {step.describe()}" for number, step in enumerate(self.steps, 1)]


class Step(Protocol):
    def describe(self) -> str: ...

    def apply(self) -> None: ...

    def undo(self) -> None: ...


class Checked:
    """What the part-independent checks established (run before the interactive question)."""

    def __init__(
        self,
        repo: gitrepo.Repository,
        head: gitrepo.HeadState,
        project: pyproject.Pyproject,
        settings: Settings,
        git_config: "GitConfig",
        author: "Identity",
        committer: "Identity",
        signer: Callable[[bytes], bytes] | None,
    ) -> None:
        self.repo = repo
        self.head = head
        self.project = project
        self.settings = settings
        self.git_config = git_config
        self.author = author
        self.committer = committer
        self.signer = signer


def check_repository(start: Path, *, untracked_blocks: bool | None = None, clean: bool = True) -> Checked:
    """Every check that does not depend on the part; raise the first failure; change nothing."""
    overrides = gitrepo.env_git_dir_overrides()
    if overrides:
        # git would work on the repository these name; we find ours from the directory: refuse
        # rather than release a different repository (or index) than git would.
        raise RepositoryError(f"{', '.join(overrides)} set in the environment; unset it: directive-release"
                              " finds the repository from the current directory (use -C PATH)")
    repo = gitrepo.discover(start)
    try:
        return _check_repository(repo, untracked_blocks, clean)
    except ReleaseError:
        # A release that started meanwhile explains a modified pyproject.toml or a held lock:
        # say that, rather than "commit or stash" the other release's change.
        check_no_leftover(repo)
        raise


def _check_repository(repo: gitrepo.Repository, untracked_blocks: bool | None, clean: bool) -> Checked:
    check_no_leftover(repo)
    gitrepo.check_no_operation_in_progress(repo)
    head = gitrepo.read_head(repo)
    project = pyproject.read(repo.worktree, display_root=repo.worktree)
    settings = project.settings
    _check_pyproject_tracked(repo)
    if untracked_blocks is not None:
        settings = _with_untracked(settings, untracked_blocks)
    if clean:
        check_clean(repo, head, settings)

    from .git.config import load_config
    from .git.identity import resolve_identities
    from .git.signing import commit_signer

    git_config = load_config(repo)
    author, committer = resolve_identities(git_config)
    signer = commit_signer(repo, git_config)
    return Checked(repo, head, project, settings, git_config, author, committer, signer)


def make_plan(start: Path, options: Options, checked: Checked | None = None) -> Plan:
    """Run every check (reusing ``checked`` when given); raise the first failure; change nothing."""
    if checked is None:
        checked = check_repository(start, untracked_blocks=options.untracked_blocks,
                                   clean=not options.clean_check_under_lock_only)
    repo, head, project, settings = checked.repo, checked.head, checked.project, checked.settings
    git_config, author, committer, signer = checked.git_config, checked.author, checked.committer, checked.signer
    new_version = bump(project.version, options.part)
    branch = settings.branch_for(new_version)
    tag = settings.tag_for(new_version)
    _check_ref_names(branch, tag)
    try:
        _check_absent_locally(repo, branch, tag)
    except RefExistsError:
        check_no_leftover(repo)  # it may be the branch of a release still running here: say that
        raise

    remote = None
    remote_name = options.remote or settings.remote
    if options.push:
        from .git.remote import resolve_remote

        remote = resolve_remote(git_config, remote_name)
        _check_absent_on_remote(repo, git_config, remote, branch, tag)

    plan = Plan(
        repo=repo,
        head=head,
        project=project,
        settings=settings,
        old_version=project.version,
        new_version=new_version,
        branch=branch,
        tag=tag,
        message=settings.message_for(new_version),
        remote_name=remote_name if options.push else None,
        clean_checked=not options.clean_check_under_lock_only,
    )
    from .steps import build_steps

    plan.steps = build_steps(plan, git_config=git_config, author=author, committer=committer,
                             signer=signer, remote=remote)
    if remote is not None:
        from .git.remote import github_pull_request_url

        plan.remote_display = remote.display_url()
        plan.pull_request_url = github_pull_request_url(remote, branch, settings.base_branch)
    return plan


def _with_untracked(settings: Settings, blocks: bool) -> Settings:
    return settings._replace(untracked_blocks=blocks)


def _check_ref_names(branch: str, tag: str) -> None:
    from .refname import check_ref_name

    check_ref_name(f"refs/heads/{branch}", what="release branch")
    check_ref_name(f"refs/tags/{tag}", what="release tag")


def _check_pyproject_tracked(repo: gitrepo.Repository) -> None:
    from .git.index import IndexFile

    entry = IndexFile.read(repo.index_path, hash_hex_length=repo.hash_hex_length).entry(b"pyproject.toml")
    if entry is None:
        raise RepositoryError("pyproject.toml is not tracked by git; commit it first")
    if entry.mode not in (0o100644, 0o100755):
        raise RepositoryError(f"pyproject.toml is tracked with mode {entry.mode:o}, not as a regular file")
    if entry.skip_worktree:
        raise RepositoryError("pyproject.toml is outside the sparse checkout (skip-worktree); check it out first")


def check_clean(repo: gitrepo.Repository, head: gitrepo.HeadState, settings: Settings) -> None:
    from .git.status import tracked_changes, untracked_files

    changes = tracked_changes(repo, head.commit, limit=6)
    if changes:
        shown = ", ".join(line[3:] for line in changes[:5])
        more = " …" if len(changes) > 5 else ""
        raise DirtyTreeError(
            f"the working tree has uncommitted changes ({shown}{more}); commit or stash them first"
        )
    if settings.untracked_blocks:
        untracked = untracked_files(repo, limit=6)
        if untracked:
            shown = ", ".join(line[3:] for line in untracked[:5])
            raise DirtyTreeError(
                f"untracked files present ({shown}); add, ignore or remove them"
                " (untracked-blocks is on)"
            )


def _check_absent_locally(repo: gitrepo.Repository, branch: str, tag: str) -> None:
    if gitrepo.ref_exists(repo, f"refs/heads/{branch}"):
        raise RefExistsError(
            f"branch {branch} already exists locally; was this version released already? "
            f"(delete it with git branch -D {branch} if it is stale)"
        )
    if gitrepo.ref_exists(repo, f"refs/tags/{tag}"):
        raise RefExistsError(f"tag {tag} already exists locally: this version was released already")
    for ref, what in ((f"refs/heads/{branch}", "branch"), (f"refs/tags/{tag}", "tag")):
        other = gitrepo.conflicting_ref(repo, ref)
        if other is not None:
            raise RefExistsError(
                f"{what} {ref.split('/', 2)[2]} cannot be created: {other} exists (a ref cannot also be"
                " a folder of refs); change branch-prefix / tag-format in [tool.directive-release] of pyproject.toml"
            )


def _check_absent_on_remote(repo, git_config, remote, branch: str, tag: str) -> None:  # type: ignore[no-untyped-def]
    from .git.transport import list_remote_refs

    refs = list_remote_refs(repo, git_config, remote, timeout=REMOTE_TIMEOUT)
    if f"refs/heads/{branch}" in refs:
        raise RefExistsError(f"branch {branch} already exists on {remote.name} ({remote.display_url()})")
    if f"refs/tags/{tag}" in refs:
        raise RefExistsError(f"tag {tag} already exists on {remote.name}: this version was released already")
    other = gitrepo.conflicting_name(refs, f"refs/heads/{branch}")
    if other is not None:
        raise RefExistsError(f"branch {branch} cannot be created on {remote.name}: {other} exists there"
                             " (a ref cannot also be a folder of refs)")


def _raise_interrupted(signum: int, _frame: object) -> None:
    raise Interrupted(signal.Signals(signum).name)


def apply(plan: Plan, *, on_step: Callable[[str], None] | None = None) -> None:
    """Run the steps; on any failure or interruption undo the done ones, in reverse."""
    journal: list[Step] = []
    fault = _injected_fault()
    previous = signal.signal(signal.SIGTERM, _raise_interrupted)
    writer = JournalWriter(plan.repo, new_journal(
        plan.repo, branch_ref=plan.branch_ref, head_commit=plan.head.commit, pyproject_path=plan.project.path,
        remote_name=plan.remote_name, tracking_ref=f"refs/remotes/{plan.remote_name}/{plan.branch}"
        if plan.remote_name else None,
    ))
    # Ctrl-C or SIGTERM while the journal is being written would leave half of it: hold them
    # until the journal is in place, then let them land inside the try below, which unwinds.
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _INTERRUPTS)
    try:
        writer.create()
    except BaseException:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        signal.signal(signal.SIGTERM, previous)
        raise
    plan.journal = writer
    try:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        for number, step in enumerate(plan.steps, 1):
            journal.append(step)  # before apply: undo must also clean up a half-done step
            step.apply()
            if on_step is not None:
                on_step(step.describe())
            if fault is not None and fault[1] == number:
                _inject(fault[0])
        writer.update(completed=True)  # the release stands: a later --recover must not undo it
    except BaseException as failure:
        _unwind(journal, failure)  # raises RollbackFailed, keeping the journal for --recover
        _remove_journal(writer, swallow_interrupts=False)
        raise
    else:
        _remove_journal(writer, swallow_interrupts=True)
    finally:
        plan.journal = None
        signal.signal(signal.SIGTERM, previous)


_INTERRUPTS = {signal.SIGINT, signal.SIGTERM}


def _remove_journal(writer: JournalWriter, *, swallow_interrupts: bool) -> None:
    """Remove the journal with Ctrl-C/SIGTERM held, so it is never left half-removed.

    After a complete release an interruption that came meanwhile is too late to
    undo anything: it is consumed, so the caller reports the release that happened
    rather than an interruption that changed nothing. After an unwind it is let
    through (the release was interrupted anyway).
    """
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _INTERRUPTS)
    try:
        writer.remove()
        if swallow_interrupts:
            # sigpending/sigwait (not sigtimedwait): macOS has these too. A pending signal is
            # consumed at once, sigwait never blocks here.
            pending = signal.sigpending() & _INTERRUPTS
            while pending:
                signal.sigwait(pending)
                pending = signal.sigpending() & _INTERRUPTS
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)


# Test-only fault injection, e.g. DIRECTIVE_RELEASE_FAULT=fail-after:3 (or sigint-, sigterm-,
# sigkill-after:N): the test suite uses it to prove every step's undo on the real flow.
FAULT_VARIABLE = "DIRECTIVE_RELEASE_FAULT"


def _injected_fault() -> tuple[str, int] | None:
    value = os.environ.get(FAULT_VARIABLE, "")
    kind, _, number = value.partition("-after:")
    if kind in ("fail", "sigint", "sigterm", "sigkill") and number.isdigit():
        return kind, int(number)
    return None


def _inject(kind: str) -> None:
    if kind == "fail":
        raise ReleaseError(f"injected failure ({FAULT_VARIABLE})")
    os.kill(os.getpid(), {"sigint": signal.SIGINT, "sigterm": signal.SIGTERM, "sigkill": signal.SIGKILL}[kind])


class RollbackFailed(ReleaseError):
    """Undo itself failed: say exactly what is left so the user can finish by hand."""


def _unwind(journal: Sequence[Step], failure: BaseException) -> None:
    blocked = {signal.SIGINT, signal.SIGTERM}
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    problems: list[str] = []
    try:
        for step in reversed(journal):
            try:
                step.undo()
            except Exception as exc:  # keep unwinding: every other step must still be undone
                problems.append(f"{step.describe()}: {exc}")
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
    if problems:
        raise RollbackFailed(
            f"{_short(failure)}; rolling back also failed ({'; '.join(problems)});"
            " run directive-release --recover to finish putting the repository back"
        ) from failure


def _short(failure: BaseException) -> str:
    if isinstance(failure, (KeyboardInterrupt, Interrupted)):
        return "interrupted"
    return str(failure) or type(failure).__name__

