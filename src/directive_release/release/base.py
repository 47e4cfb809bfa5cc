"""The base branch: which branch a release starts from (and its pull request targets), and whether
that branch is up to date with the remote's.

Unless it is given (``--base-branch``) or configured (``base-branch`` in
``[tool.directive-release]``), the base branch is the remote's default branch: the
branch its ``HEAD`` names in the ref listing the release makes anyway (no second
contact); else the local ``refs/remotes/<remote>/HEAD`` (what ``git clone`` left);
else ``init.defaultBranch``; else ``main``. A release must start on it, and must
not be behind the remote's: commits are counted by :func:`..git.history.ahead_behind`,
as ``git rev-list --count --left-right`` counts them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from ..errors import ReleaseError

if TYPE_CHECKING:  # pragma: no cover
    from ..git.config import GitConfig
    from ..git.repo import HeadState, Repository
    from ..settings import Settings

DEFAULT = "main"
# At most this many commits are read to compare the two histories; beyond it the comparison
# gives up (and the release is refused: "pull first" is then the honest advice).
WALK_LIMIT = 10_000


class BranchError(ReleaseError):
    """HEAD is not on the base branch, or the base branch is behind the remote's."""


class Base(NamedTuple):
    """The base branch and, in words, where that name came from."""

    branch: str
    source: str


def given_base(settings: "Settings", option: str | None) -> Base | None:
    """The base branch the user named (``--base-branch`` wins over pyproject.toml), or None."""
    if option:
        return Base(option, "--base-branch")
    if "base_branch" in settings.configured:
        return Base(settings.base_branch, "base-branch in [tool.directive-release]")
    return None


def local_base(repo: "Repository", settings: "Settings", git_config: "GitConfig | None", remote: str,
               option: str | None = None) -> Base:
    """The base branch found without contacting the remote."""
    given = given_base(settings, option)
    if given is not None:
        return given
    tracked = _remote_head(repo, remote)
    if tracked is not None:
        return Base(tracked, f"refs/remotes/{remote}/HEAD")
    configured = git_config.get("init.defaultBranch") if git_config is not None else None
    if configured:
        return Base(configured, "init.defaultBranch")
    return Base(DEFAULT, f"the default: neither refs/remotes/{remote}/HEAD nor init.defaultBranch names one")


def resolve_base(repo: "Repository", settings: "Settings", git_config: "GitConfig", remote: str,
                 option: str | None, remote_default: str | None) -> Base:
    """The base branch, ``remote_default`` (what the remote's HEAD names) taking precedence over local guesses."""
    given = given_base(settings, option)
    if given is not None:
        return given
    if remote_default:
        return Base(remote_default, f"{remote}'s default branch")
    return local_base(repo, settings, git_config, remote)


def _remote_head(repo: "Repository", remote: str) -> str | None:
    """The branch ``refs/remotes/<remote>/HEAD`` points at (``git remote set-head``), or None."""
    path = repo.commondir / "refs" / "remotes" / remote / "HEAD"
    try:
        data = path.read_bytes().strip()
    except OSError:
        return None
    prefix = f"refs/remotes/{remote}/".encode("utf-8")
    if data.startswith(b"ref:"):
        target = data[4:].strip()
        if target.startswith(prefix) and len(target) > len(prefix):
            return target[len(prefix):].decode("utf-8", "replace")
    return None


def check_on_base(head: "HeadState", base: Base) -> None:
    """Refuse a release from any branch but the base branch: its pull request would carry that branch."""
    if head.branch == base.branch:
        return
    raise BranchError(
        f"HEAD is on {head.branch}, not on the base branch {base.branch} ({base.source}); switch to it"
        f" (git switch {base.branch}), or release the maintenance branch {head.branch} itself with"
        f" --base-branch {head.branch}"
    )


def compare_with_remote(repo: "Repository", head: "HeadState", base: Base, remote: str,
                        remote_refs: dict[str, str]) -> tuple[int, str]:
    """How many commits HEAD has that the remote's base branch lacks, and the plan's line saying so.

    Behind or diverged is refused (the release branch would miss what others merged).
    """
    from ..git.history import ahead_behind, has_commit
    from ..git.odb import ObjectReader

    theirs_name = f"{remote}/{base.branch}"
    theirs = remote_refs.get(f"refs/heads/{base.branch}")
    if theirs is None:
        raise BranchError(
            f"the base branch {base.branch} does not exist on {remote}, so no pull request can target it;"
            f" push it first (git push -u {remote} {base.branch})"
        )
    ours = head.commit
    if theirs == ours:
        return 0, f"{head.branch} is up to date with {theirs_name}"
    reader = ObjectReader(repo)
    if not has_commit(reader, theirs):
        raise BranchError(f"{head.branch} is behind {theirs_name} ({remote} has commits this repository"
                          f" does not have); pull first (git pull {remote} {base.branch})")
    counted = ahead_behind(reader, ours, theirs, WALK_LIMIT)
    if counted is None:
        raise BranchError(f"could not compare {head.branch} with {theirs_name} within {WALK_LIMIT:,} commits;"
                          f" pull first (git pull {remote} {base.branch})")
    ahead, behind = counted
    if behind and ahead:
        raise BranchError(f"{head.branch} has diverged from {theirs_name} ({_commits(ahead)} here,"
                          f" {_commits(behind)} there); pull first (git pull {remote} {base.branch})")
    if behind:
        raise BranchError(f"{head.branch} is {_commits(behind)} behind {theirs_name}; pull first"
                          f" (git pull {remote} {base.branch})")
    return ahead, (f"{head.branch} is {_commits(ahead)} ahead of {theirs_name}: the release branch carries"
                   f" {'it' if ahead == 1 else 'them'} too, not yet pushed")


def _commits(count: int) -> str:
    return f"{count} commit" if count == 1 else f"{count} commits"
