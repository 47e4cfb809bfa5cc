"""What a release will do: the options it was asked for and the immutable plan the checks produced.

A plan is made once (:func:`directive_release.release.make_plan`), shown
(``--dry-run`` prints exactly these steps), confirmed, then applied; applying
never changes it. What applying produces (the commit, whether it was pushed)
is an :class:`Outcome`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, Protocol

from ..version import Part

if TYPE_CHECKING:  # pragma: no cover
    from ..git.config import GitConfig
    from ..git.remote import Remote
    from ..git.repo import HeadState, Repository
    from ..settings import Settings
    from ..sources import Edit, VersionSources
    from .base import Base


class Options(NamedTuple):
    part: Part
    push: bool = True
    remote: str | None = None
    untracked_blocks: bool | None = None
    base_branch: str | None = None  # --base-branch: release from (and target) this branch
    # With --yes nothing waits between the checks and the first change: the clean check then
    # runs once, under the index lock (as git commit does), instead of before it and again under it.
    clean_check_under_lock_only: bool = False


class Project(NamedTuple):
    """The project being released: its settings, its version and every file that holds it."""

    settings: "Settings"
    version: str
    sources: "VersionSources"

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.sources.warnings


class Step(Protocol):
    """One change of the release: says what it will do, and does it (writing its undo records first)."""

    def describe(self) -> str: ...

    def apply(self, run: object) -> None: ...


class Plan(NamedTuple):
    """Everything the checks found, and the steps that turn it into a release."""

    repo: "Repository"
    head: "HeadState"
    project: Project
    settings: "Settings"
    old_version: str
    new_version: str
    branch: str
    tag: str
    message: str
    remote: "Remote | None"
    git_config: "GitConfig"
    # One per file that holds the version (pyproject.toml or the backend's file, version-files,
    # uv.lock): its path, line, old and new line, old and new bytes, mode.
    edits: "tuple[Edit, ...]" = ()
    # False: the clean check runs under the index lock, in the first step.
    clean_checked: bool = True
    pull_request_url: str | None = None
    base: "Base | None" = None
    # One line: HEAD's branch against the remote's base branch (or why they were not compared).
    base_status: str | None = None
    unpushed: int | None = None  # commits on HEAD's branch not on the remote's base branch
    steps: tuple[Step, ...] = ()

    @property
    def base_branch(self) -> str:
        return self.base.branch if self.base is not None else self.settings.base_branch

    @property
    def branch_ref(self) -> str:
        return f"refs/heads/{self.branch}"

    @property
    def remote_name(self) -> str | None:
        return None if self.remote is None else self.remote.name

    @property
    def remote_display(self) -> str | None:
        return None if self.remote is None else self.remote.display_url()

    def describe(self) -> list[str]:
        """The plan's lines: ``N. what the step does``, then any indented detail lines of that step."""
        lines: list[str] = []
        for number, step in enumerate(self.steps, 1):
            first, *details = step.describe().split("\n")
            lines.append(f"{number}. {first}")
            lines.extend(details)
        return lines


class Outcome(NamedTuple):
    """What applying a plan produced."""

    commit_id: str
    pushed: bool
