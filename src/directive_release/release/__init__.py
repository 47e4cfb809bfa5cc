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

from ..version import bump
from .apply import FAULT_VARIABLE, RollbackFailed, apply
from .journal import check_no_leftover, recover
from .plan import Options, Outcome, Plan
from .preflight import Checked, check_absent_locally, check_ref_names, check_repository
from .pushing import REMOTE_TIMEOUT, check_absent_on_remote

__all__ = ["FAULT_VARIABLE", "REMOTE_TIMEOUT", "Checked", "Options", "Outcome", "Plan", "RollbackFailed",
           "apply", "check_repository", "make_plan", "recover"]


def make_plan(start: Path, options: Options, checked: Checked | None = None) -> Plan:
    """Run every check (reusing ``checked`` when given); raise the first failure; change nothing."""
    from ..errors import RefExistsError

    if checked is None:
        checked = check_repository(start, untracked_blocks=options.untracked_blocks,
                                   clean=not options.clean_check_under_lock_only)
    repo, settings, project = checked.repo, checked.settings, checked.project
    new_version = bump(project.version, options.part)
    branch = settings.branch_for(new_version)
    tag = settings.tag_for(new_version)
    check_ref_names(branch, tag)
    try:
        check_absent_locally(repo, branch, tag)
    except RefExistsError:
        check_no_leftover(repo)  # it may be the branch of a release still running here: say that
        raise

    remote = None
    pull_request_url = None
    if options.push:
        from ..git.remote import github_pull_request_url, resolve_remote

        remote = resolve_remote(checked.git_config, options.remote or settings.remote)
        check_absent_on_remote(repo, checked.git_config, remote, branch, tag)
        pull_request_url = github_pull_request_url(remote, branch, settings.base_branch)

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
    )
    from .steps import build_steps

    return plan._replace(steps=build_steps(plan, git_config=checked.git_config, author=checked.author,
                                           committer=checked.committer, signer=checked.signer,
                                           timeout=REMOTE_TIMEOUT))
