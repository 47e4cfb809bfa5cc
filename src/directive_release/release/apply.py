"""Apply a plan: run its steps with the journal open; on any failure replay the undo records.

Ctrl-C and SIGTERM become exceptions inside the step loop, so an interruption
unwinds like an error. The unwind runs with both held (they land afterwards),
and so do the journal's creation and removal, so neither is ever left half-done.
"""

from __future__ import annotations

import os
import signal
from typing import Callable

from ..errors import Interrupted, ReleaseError
from .journal import Journal
from .plan import Outcome, Plan
from .pushing import push_back_with
from .steps import Run
from .undo import Context, Report, replay

_INTERRUPTS = {signal.SIGINT, signal.SIGTERM}

# Test-only fault injection, e.g. DIRECTIVE_RELEASE_FAULT=fail-after:3 (or sigint-, sigterm-,
# sigkill-after:N): the test suite uses it to prove the undo of every step on the real flow.
FAULT_VARIABLE = "DIRECTIVE_RELEASE_FAULT"


class RollbackFailed(ReleaseError):
    """Undo itself failed: say exactly what is left so the user can finish by hand."""


def _raise_interrupted(signum: int, _frame: object) -> None:
    raise Interrupted(signal.Signals(signum).name)


def apply(plan: Plan, *, on_step: Callable[[str], None] | None = None) -> Outcome:
    """Run the steps; on any failure or interruption undo what they did, newest first.

    A failure re-raises with ``undo_report`` set on it (what was undone and what was
    kept because it changed meanwhile); a failed undo raises :class:`RollbackFailed`
    and keeps the journal for ``--recover``.
    """
    fault = _injected_fault()
    previous = signal.signal(signal.SIGTERM, _raise_interrupted)
    journal = Journal(plan.repo, plan.branch_ref)
    # Ctrl-C or SIGTERM while the journal is being created would leave half of it: hold them
    # until it is in place, then let them land inside the try below, which unwinds.
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _INTERRUPTS)
    try:
        journal.create()
    except BaseException:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        signal.signal(signal.SIGTERM, previous)
        raise
    run = Run(plan, journal)
    try:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        for number, step in enumerate(plan.steps, 1):
            step.apply(run)
            if on_step is not None:
                on_step(step.describe())
            if fault is not None and fault[1] == number:
                _inject(fault[0])
        journal.complete()  # the release stands: a later --recover must not undo it
    except BaseException as failure:
        report = _unwind(run, failure)  # raises RollbackFailed, keeping the journal
        _remove_journal(journal, swallow_interrupts=False)
        failure.undo_report = report  # type: ignore[attr-defined]
        raise
    else:
        _remove_journal(journal, swallow_interrupts=True)
    finally:
        journal.close()
        signal.signal(signal.SIGTERM, previous)
    assert run.commit_id is not None
    return Outcome(run.commit_id, run.pushed)


def _unwind(run: Run, failure: BaseException) -> Report:
    plan = run.plan
    push_back = push_back_with(plan.repo, plan.git_config, plan.remote) if plan.remote is not None else _no_remote
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _INTERRUPTS)
    try:
        report = replay(run.journal.records,
                        Context(plan.repo, run.live_locks(), push_back, run.journal.started_ns, recovering=False))
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
    if report.problems:
        raise RollbackFailed(
            f"{_short(failure)}; rolling back also failed ({'; '.join(report.problems)});"
            " run directive-release --recover to finish putting the repository back"
        ) from failure
    return report


def _no_remote(name: str, ref: str, commit: str) -> str:
    raise ReleaseError(f"no remote to take {ref} back from")


def _remove_journal(journal: Journal, *, swallow_interrupts: bool) -> None:
    """Remove the journal with Ctrl-C/SIGTERM held, so it is never left half-removed.

    After a complete release an interruption that came meanwhile is too late to
    undo anything: it is consumed, so the caller reports the release that happened
    rather than an interruption that changed nothing. After an unwind it is let
    through (the release was interrupted anyway).
    """
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _INTERRUPTS)
    try:
        journal.remove()
        if swallow_interrupts:
            # sigpending/sigwait (not sigtimedwait): macOS has these too. A pending signal is
            # consumed at once, sigwait never blocks here.
            pending = signal.sigpending() & _INTERRUPTS
            while pending:
                signal.sigwait(pending)
                pending = signal.sigpending() & _INTERRUPTS
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)


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


def _short(failure: BaseException) -> str:
    if isinstance(failure, (KeyboardInterrupt, Interrupted)):
        return "interrupted"
    return str(failure) or type(failure).__name__
