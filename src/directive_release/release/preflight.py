"""The checks a release runs before it changes anything; each failure is one line.

Everything here only reads. :func:`check_repository` holds the checks that do
not depend on the part (run before the interactive question);
:func:`check_unchanged_since_planning` runs again under the index lock, so a
plan made stale by a git command meanwhile is refused, never applied.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable, NamedTuple

from ..errors import DirtyTreeError, RefExistsError, ReleaseError, RepositoryError
from ..git import repo as gitrepo
from ..settings import Settings
from .journal import check_no_leftover

if TYPE_CHECKING:  # pragma: no cover
    from ..git.config import GitConfig
    from ..git.identity import Identity
    from .plan import Plan, Project


class Checked(NamedTuple):
    """What the part-independent checks established (run before the interactive question)."""

    repo: gitrepo.Repository
    head: gitrepo.HeadState
    project: "Project"
    settings: Settings
    git_config: "GitConfig"
    author: "Identity"
    committer: "Identity"
    signer: Callable[[bytes], bytes] | None


def check_repository(start: Path, *, untracked_blocks: bool | None = None, clean: bool = True,
                     base_branch: str | None = None, remote: str | None = None) -> Checked:
    """Every check that does not depend on the part; raise the first failure; change nothing."""
    overrides = gitrepo.env_git_dir_overrides()
    if overrides:
        # git would work on the repository these name; we find ours from the directory: refuse
        # rather than release a different repository (or index) than git would.
        raise RepositoryError(f"{', '.join(overrides)} set in the environment; unset it: directive-release"
                              " finds the repository from the current directory (use -C PATH)")
    repo = gitrepo.discover(start)
    try:
        return _check_repository(repo, untracked_blocks, clean, base_branch, remote)
    except ReleaseError:
        # A release that started meanwhile explains a modified pyproject.toml or a held lock:
        # say that, rather than "commit or stash" the other release's change.
        check_no_leftover(repo)
        raise


def _check_repository(repo: gitrepo.Repository, untracked_blocks: bool | None, clean: bool,
                      base_branch: str | None, remote: str | None) -> Checked:
    check_no_leftover(repo)
    gitrepo.check_no_operation_in_progress(repo)
    head = _read_head(repo, base_branch, remote)
    project = read_project(repo)
    _check_pyproject_tracked(repo)
    settings = project.settings
    if untracked_blocks is not None:
        settings = settings._replace(untracked_blocks=untracked_blocks)
    if clean:
        check_clean(repo, head, settings)

    from ..git.config import load_config
    from ..git.identity import resolve_identities
    from ..git.signing import commit_signer

    git_config = load_config(repo)
    author, committer = resolve_identities(git_config)
    signer = commit_signer(repo, git_config)
    return Checked(repo, head, project, settings, git_config, author, committer, signer)


def _read_head(repo: gitrepo.Repository, base_branch: str | None, remote: str | None) -> gitrepo.HeadState:
    """HEAD on a branch with commits; a detached HEAD is told which branch to switch to (the base branch)."""
    from ..git.refs import read_symbolic_head

    if (repo.gitdir / "HEAD").exists() and read_symbolic_head(repo) is None:
        base = _base_without_remote(repo, base_branch, remote)
        raise RepositoryError(f"HEAD is detached; check out the branch to release from (git switch {base})")
    return gitrepo.read_head(repo)


def _base_without_remote(repo: gitrepo.Repository, option: str | None, remote: str | None) -> str:
    """The base branch as far as it is known here, for advice only (a broken pyproject.toml is reported later)."""
    from ..git.config import load_config
    from .base import local_base

    try:
        settings = read_project(repo).settings
    except (ReleaseError, OSError):
        settings = Settings()
    try:
        config = load_config(repo)
    except (ReleaseError, OSError):
        config = None
    return local_base(repo, settings, config, remote or settings.remote, option).branch


def read_project(repo: gitrepo.Repository) -> "Project":
    """Where the version lives (every file that holds it, each tracked and regular), and the settings."""
    from .. import sources
    from ..git.index import IndexFile
    from ..settings import settings_from_table
    from .plan import Project

    index = IndexFile.read(repo.index_path, hash_hex_length=repo.hash_hex_length)

    def is_tracked(relative: str) -> bool:
        entry = index.entry(relative.encode("utf-8"))
        if relative == "pyproject.toml":  # its own, more precise refusals follow (_check_pyproject_tracked)
            return True
        return entry is not None and entry.mode in (0o100644, 0o100755) and not entry.skip_worktree

    found = sources.locate(repo.worktree, repo.worktree, is_tracked=is_tracked)
    found.refuse_if_vcs()
    pyproject = found.scan.pyproject
    document = sources.parse_toml(pyproject.raw, pyproject.display)
    tool = document.get("tool")
    table = tool.get("directive-release") if isinstance(tool, dict) else None
    settings = settings_from_table(table, source=pyproject.display)
    assert found.current_version is not None  # refuse_if_vcs
    return Project(settings, found.current_version, found)


def check_ref_names(branch: str, tag: str) -> None:
    from ..refname import check_ref_name

    check_ref_name(f"refs/heads/{branch}", what="release branch")
    check_ref_name(f"refs/tags/{tag}", what="release tag")


def _check_pyproject_tracked(repo: gitrepo.Repository) -> None:
    from ..git.index import IndexFile

    entry = IndexFile.read(repo.index_path, hash_hex_length=repo.hash_hex_length).entry(b"pyproject.toml")
    if entry is None:
        raise RepositoryError("pyproject.toml is not tracked by git; commit it first")
    if entry.mode not in (0o100644, 0o100755):
        raise RepositoryError(f"pyproject.toml is tracked with mode {entry.mode:o}, not as a regular file")
    if entry.skip_worktree:
        raise RepositoryError("pyproject.toml is outside the sparse checkout (skip-worktree); check it out first")


def check_clean(repo: gitrepo.Repository, head: gitrepo.HeadState, settings: Settings) -> None:
    from ..git.status import tracked_changes, untracked_files

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


def check_absent_locally(repo: gitrepo.Repository, branch: str, tag: str) -> None:
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


def _short(commit: str) -> str:
    return commit[:7]


def check_unchanged_since_planning(plan: "Plan") -> None:
    """The checks ran before the confirmation (or while another git command ran): redo the ones
    the steps rely on, now that the index is locked, so a stale plan is refused, never applied.
    """
    from ..git.status import tracked_changes

    repo = plan.repo
    head = gitrepo.read_head(repo)
    if head != plan.head:
        raise ReleaseError(
            f"the repository changed since the checks: HEAD is now {head.branch} at {_short(head.commit)},"
            f" was {plan.head.branch} at {_short(plan.head.commit)}; run the release again"
        )
    for edit in plan.edits:
        if (repo.worktree / edit.path).read_bytes() != edit.old_bytes:
            raise DirtyTreeError(f"{edit.path} changed since the checks; commit it, then run the release again")
    if not plan.clean_checked:
        check_clean(repo, head, plan.settings)  # the one clean check of a --yes release
        return
    changes = tracked_changes(repo, head.commit, limit=3)
    if changes:
        raise DirtyTreeError(
            f"the working tree changed since the checks ({', '.join(line[3:] for line in changes)});"
            " commit or stash, then run the release again"
        )
