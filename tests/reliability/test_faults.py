"""A fault at every file-system operation, subprocess and connection of a release (issue 7, part 2).

The step-level injector of the product (``DIRECTIVE_RELEASE_FAULT``) is already
exercised by tests/test_release_refusals.py; this goes finer: the fault driver
makes the N-th write, rename, unlink, mkdir, hook start or connection fail with
ENOSPC, or delivers SIGINT/SIGTERM right there, for N over every such
operation of a real release over file:// with pre-commit and commit-msg hooks.
After each: exit 1 (130 for a signal), one line, every byte of the work tree,
``.git`` and the remote as before (new unreachable objects aside), no lock
file, and the next plain run releases exactly once.

Default: every point for ENOSPC, a seeded sample for the signals;
DIRECTIVE_LONGRUN=1: every point for every kind.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reliability_support import (
    LONGRUN,
    REMOTE_DEBRIS_SEEN,
    Copyable,
    count_points,
    judge_refusal,
    released_state,
    run_driver,
    sample_points,
    whole_state,
)
from support import run_cli

ARGS = ["patch", "--yes"]
COUNTS: dict[str, int] = {}


def _points(template: Copyable, tmp_path: Path) -> list[str]:
    probe = template.copy(tmp_path / "probe")
    return count_points(ARGS, cwd=probe.path, roots=[probe.path.parent], log=tmp_path / "points.txt")


@pytest.mark.parametrize("kind", ["oserror", "sigint", "sigterm"])
def test_fault_at_every_operation_leaves_repository_as_before(hooked_template: Copyable, tmp_path: Path,
                                                               kind: str) -> None:
    points = _points(hooked_template, tmp_path)
    assert len(points) > 40, points  # the journal, refs, HEAD, index, objects, hooks, push, config
    chosen = sample_points(len(points), name=f"faults-{kind}", default_count=len(points) if kind == "oserror" else 14)
    failures: list[str] = []
    absorbed = 0
    for number in chosen:
        project = hooked_template.copy(tmp_path / f"{kind}-{number}")
        before = whole_state(project)
        result = run_driver(ARGS, cwd=project.path, roots=[project.path.parent], at=number, kind=kind)
        where = f"{kind} at #{number} ({points[number - 1]})"
        problems = judge_refusal(project, before, result, code=1 if kind == "oserror" else 130)
        if problems:
            failures.append(f"{where}: {'; '.join(problems)}")
            continue
        if result.returncode == 0:
            absorbed += 1
            continue
        again = run_cli(*ARGS, cwd=project.path)
        problems = released_state(project) if again.returncode == 0 else [again.stderr.strip()]
        if problems:
            failures.append(f"{where}: the next run did not release once: {problems}")
    COUNTS[kind] = len(chosen)
    print(f"[reliability] {kind}: {len(chosen)} faults injected of {len(points)} points;"
          f" {absorbed} absorbed (released anyway); failures: {len(failures)}; debris dulwich's file://"
          f" server side left in the remote (tolerated, see reliability_support): {sorted(REMOTE_DEBRIS_SEEN)}")
    assert not failures, "\n".join(failures)


@pytest.mark.skipif(not LONGRUN, reason="long-run mode only (DIRECTIVE_LONGRUN=1)")
def test_fault_at_every_operation_without_hooks_or_push(plain_template: Copyable, tmp_path: Path) -> None:
    """The shorter plan (no hook, --no-push) has its own last step: fault every point of it too."""
    args = ["minor", "--yes", "--no-push"]
    probe = plain_template.copy(tmp_path / "probe")
    points = count_points(args, cwd=probe.path, roots=[probe.path.parent], log=tmp_path / "points.txt")
    failures: list[str] = []
    for kind in ("oserror", "sigint", "sigterm"):
        for number in range(1, len(points) + 1):
            project = plain_template.copy(tmp_path / f"{kind}-{number}")
            before = whole_state(project)
            result = run_driver(args, cwd=project.path, roots=[project.path.parent], at=number, kind=kind)
            problems = judge_refusal(project, before, result, code=1 if kind == "oserror" else 130,
                                     new="0.5.0", pushed=False)
            if problems:
                failures.append(f"{kind} at #{number} ({points[number - 1]}): {problems}")
    assert not failures, "\n".join(failures)
