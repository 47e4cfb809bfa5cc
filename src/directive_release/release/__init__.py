"""The release: checks → an immutable plan → show → confirm → apply, undone as data on failure.

- ``preflight``  every check, before anything changes (one line per refusal);
- ``plan``       the options, the immutable :class:`Plan` and the :class:`Outcome` of applying it;
- ``steps``      the steps: each describes itself and applies itself, writing its undo records first;
- ``apply``      runs the steps; on an error, Ctrl-C or SIGTERM replays the undo records;
- ``undo``       the undo records and the one replayer (compare before restore);
- ``journal``    the records on disk, for ``--recover`` after a kill; one release at a time;
- ``pushing``    the remote look-up before any change, and taking a push back.

:func:`make_plan` is the one place that puts them together; nothing below imports it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..version import bump
from .apply import FAULT_VARIABLE, RollbackFailed, apply
from .journal import check_no_leftover, recover
from .plan import Options, Outcome, Plan, Project
from .preflight import Checked, check_absent_locally, check_ref_names, check_repository
from .pushing import REMOTE_TIMEOUT, check_absent_on_remote

if TYPE_CHECKING:  # pragma: no cover
    from ..git.config import GitConfig
    from ..git.remote import Remote

__all__ = ["FAULT_VARIABLE", "REMOTE_TIMEOUT", "Checked", "Options", "Outcome", "Plan", "Project", "RollbackFailed",
           "apply", "check_given_base", "check_repository", "make_plan", "recover"]


def check_given_base(checked: Checked, option: str | None) -> None:
    """Before the interactive question: refuse a HEAD off a base branch the user named (option or
    pyproject.toml). A base found from the remote is checked in :func:`make_plan`, after the look-up."""
    from .base import check_on_base, given_base

    base = given_base(checked.settings, option)
    if base is not None:
        check_on_base(checked.head, base)


def make_plan(start: Path, options: Options, checked: Checked | None = None) -> Plan:
    """Run every check (reusing ``checked`` when given); raise the first failure; change nothing."""
    from ..errors import RefExistsError

    if checked is None:
        checked = check_repository(start, untracked_blocks=options.untracked_blocks,
                                   clean=not options.clean_check_under_lock_only)
    repo, settings, project = checked.repo, checked.settings, checked.project
    new_version = bump(project.version, options.part)
    edits = tuple(project.sources.edits_for(new_version))
    branch = settings.branch_for(new_version)
    tag = settings.tag_for(new_version)
    check_ref_names(branch, tag)
    try:
        check_absent_locally(repo, branch, tag)
    except RefExistsError:
        check_no_leftover(repo)  # it may be the branch of a release still running here: say that
        raise

    from .base import check_on_base, compare_with_remote, local_base, resolve_base

    check_given_base(checked, options.base_branch)  # a named base refuses before any contact
    remote = None
    pull_request_url = None
    remote_name = options.remote or settings.remote
    if options.push:
        from ..git.remote import github_pull_request_url

        remote = _resolve_remote(checked.git_config, remote_name)
        remote_refs = check_absent_on_remote(repo, checked.git_config, remote, branch, tag)
        base = resolve_base(repo, settings, checked.git_config, remote.name, options.base_branch,
                            getattr(remote_refs, "default_branch", None))
        check_on_base(checked.head, base)
        unpushed, base_status = compare_with_remote(repo, checked.head, base, remote.name, remote_refs)
        pull_request_url = github_pull_request_url(remote, branch, base.branch)
    else:
        base = local_base(repo, settings, checked.git_config, remote_name, options.base_branch)
        check_on_base(checked.head, base)
        unpushed = None
        base_status = f"not compared with {remote_name}/{base.branch} (--no-push)"

    plan = Plan(
        repo=repo,
        head=checked.head,
        project=project,
        settings=settings,
        old_version=project.version,
        new_version=new_version,
        branch=branch,
        tag=tag,
        message=settings.message_for(new_version),
        remote=remote,
        git_config=checked.git_config,
        clean_checked=not options.clean_check_under_lock_only,
        pull_request_url=pull_request_url,
        edits=edits,
        base=base,
        base_status=base_status,
        unpushed=unpushed,
    )
    from .steps import build_steps

    return plan._replace(steps=build_steps(plan, git_config=checked.git_config, author=checked.author,
                                           committer=checked.committer, signer=checked.signer,
                                           timeout=REMOTE_TIMEOUT))


def _resolve_remote(git_config: "GitConfig", name: str) -> "Remote":
    """The remote to push to; a missing one names both ways on: add it, or release without pushing."""
    from ..errors import RemoteError
    from ..git.remote import resolve_remote

    try:
        return resolve_remote(git_config, name)
    except RemoteError as exc:
        if not str(exc).startswith("no remote named"):
            raise
        from ..redact import redact

        shown = redact(name)
        raise RemoteError(f"no remote named '{shown}' (remote.{shown}.url is not set); add it with"
                          f" git remote add {shown} <url>, or release without pushing: --no-push") from None
