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
    from ..pyproject import Pyproject
    from ..settings import Settings


class Options(NamedTuple):
    part: Part
    push: bool = True
    remote: str | None = None
    untracked_blocks: bool | None = None
    # With --yes nothing waits between the checks and the first change: the clean check then
    # runs once, under the index lock (as git commit does), instead of before it and again under it.
    clean_check_under_lock_only: bool = False


class Step(Protocol):
    """One change of the release: says what it will do, and does it (writing its undo records first)."""

    def describe(self) -> str: ...

    def apply(self, run: object) -> None: ...


class Plan(NamedTuple):
    """Everything the checks found, and the steps that turn it into a release."""

    repo: "Repository"
    head: "HeadState"
    project: "Pyproject"
    settings: "Settings"
    old_version: str
    new_version: str
    branch: str
    tag: str
    message: str
    remote: "Remote | None"
    git_config: "GitConfig"
    # False: the clean check runs under the index lock, in the first step.
    clean_checked: bool = True
    pull_request_url: str | None = None
    steps: tuple[Step, ...] = ()

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
        return [f"{number}. {step.describe()}" for number, step in enumerate(self.steps, 1)]


class Outcome(NamedTuple):
    """What applying a plan produced."""

    commit_id: str
    pushed: bool
