"""The base branch: which branch a release starts from (and its pull request targets), and whether
that branch is up to date with the remote's.

Unless it is given (``--base-branch``) or configured (``base-branch`` in
``[tool.directive-release]``), the base branch is the remote's default branch: the
branch its ``HEAD`` names in the ref listing the release makes anyway (no second
contact); else the local ``refs/remotes/<remote>/HEAD`` (what ``git clone`` left);
else ``init.defaultBranch``; else ``main``. A release must start on it, and must
not be behind the remote's: commits are counted with our own object reader,
walking both histories newest first, as ``git rev-list --count --left-right`` does.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, NamedTuple

from ..errors import ReleaseError, RepositoryError

if TYPE_CHECKING:  # pragma: no cover
    from ..git.config import GitConfig
    from ..git.odb import ObjectReader
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
    if not _has_commit(reader, theirs):
        raise BranchError(f"{head.branch} is behind {theirs_name} ({remote} has commits this repository"
                          f" does not have); pull first (git pull {remote} {base.branch})")
    counted = ahead_behind(reader, ours, theirs)
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


def _has_commit(reader: "ObjectReader", commit: str) -> bool:
    try:
        reader.read_typed(bytes.fromhex(commit), "commit")
    except (RepositoryError, ValueError):
        return False
    return True


def _parse(data: bytes) -> tuple[int, list[str]]:
    """A commit's committer time and parents."""
    parents: list[str] = []
    when = 0
    for line in data.split(b"\n"):
        if not line:
            break
        if line.startswith(b"parent "):
            parents.append(line[7:].decode("ascii"))
        elif line.startswith(b"committer "):
            fields = line.rsplit(b" ", 2)
            try:
                when = int(fields[1])
            except (IndexError, ValueError):
                when = 0
    return when, parents


def ahead_behind(reader: "ObjectReader", ours: str, theirs: str, limit: int = WALK_LIMIT) -> tuple[int, int] | None:
    """``git rev-list --count --left-right ours...theirs``: commits only in ours, only in theirs.

    Both histories are walked newest first, each commit marked with the side(s) it is
    reachable from; the walk stops once every commit still queued is reachable from both
    and older than every commit so far reachable from one side only (so none of those can
    still turn out to be an ancestor of both: commits made in the same second included).
    None when more than ``limit`` commits would have to be read, or history is missing
    (a shallow clone).
    """
    mine, other, both = 1, 2, 3
    flags: dict[str, int] = {}
    known: dict[str, tuple[int, list[str]]] = {}
    queue: list[tuple[int, int, str]] = []
    order = 0
    oldest_single: int | None = None  # the oldest date among one-sided commits; None: to recompute

    def mark(commit: str, flag: int) -> None:
        nonlocal order, oldest_single
        before = flags.get(commit, 0)
        after = before | flag
        if after == before:
            return
        flags[commit] = after
        if commit not in known:
            known[commit] = _parse(reader.read_typed(bytes.fromhex(commit), "commit"))
        oldest_single = None
        order += 1
        heapq.heappush(queue, (-known[commit][0], order, commit))

    try:
        mark(ours, mine)
        mark(theirs, other)
        read = 0
        while queue:
            if all(flags[commit] == both for _, _, commit in queue):
                if oldest_single is None:
                    singles = [known[commit][0] for commit, flag in flags.items() if flag != both]
                    oldest_single = min(singles) if singles else -1
                if -queue[0][0] < oldest_single:
                    break
            _, _, commit = heapq.heappop(queue)
            read += 1
            if read > limit:
                return None
            for parent in known[commit][1]:
                mark(parent, flags[commit])
    except (RepositoryError, ValueError):
        return None
    ahead = sum(1 for flag in flags.values() if flag == mine)
    behind = sum(1 for flag in flags.values() if flag == other)
    return ahead, behind
