"""SIGKILL at random moments and at every file-system operation (issue 7, part 2).

A killed release cannot undo anything itself. Afterwards the repository must be
in one of three states, and ``git fsck --strict`` must find no error:

(a) as before: every byte as it was (new unreachable objects aside), no lock;
    the next run releases once;
(b) released: the complete release, no lock (a journal marked completed may
    remain and is cleared by the next run);
(c) half-done with the journal in ``.git/directive-release/``: the next run
    refuses with one line naming ``directive-release --recover``; ``--recover``
    puts every byte back as in (a); then a release succeeds once.

Random moments: the delay is drawn uniformly in [0, typical runtime], the runtime
measured on this machine first; the seed is printed (replay it with
DIRECTIVE_RELIABILITY_SEED). 50 runs by default, 500 with DIRECTIVE_LONGRUN=1.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from reliability_support import (
    LONGRUN,
    Copyable,
    Entry,
    count_points,
    fsck_errors,
    lock_files,
    released_state,
    run_driver,
    sample_points,
    seeded_random,
    state_differences,
    whole_state,
)
from support import Project, run_cli

ARGS = ["patch", "--yes"]
RANDOM_RUNS = 500 if LONGRUN else 50


def _journal(project: Project) -> Path:
    return project.path / ".git" / "directive-release" / "journal.json"


def classify_after_kill(project: Project, before: dict[str, Entry]) -> tuple[str, list[str]]:
    """Which of (a) before, (b) released, (c) recoverable the killed run left, and any problem."""
    problems: list[str] = []
    fsck = fsck_errors(project.path)
    if fsck:
        problems.append(f"git fsck: {fsck.strip()}")
    journal = _journal(project)
    pending = journal.exists() and '"completed": true' not in journal.read_text()
    if not pending:
        differences = state_differences(before, whole_state(project))
        debris = [d for d in differences if d.startswith("left behind: work/.git/directive-release")]
        if not [d for d in differences if d not in debris] and not lock_files(project):
            return "before", problems + _next_run_releases_once(project)
        if not released_state(project) and not lock_files(project):
            return "released", problems + _released_exactly_once(project)
        return "broken", problems + differences + [f"lock: {lock}" for lock in lock_files(project)]
    refused = run_cli(*ARGS, cwd=project.path)
    lines = refused.stderr.strip().splitlines()
    if refused.returncode != 1 or len(lines) != 1 or "directive-release --recover" not in lines[0]:
        problems.append(f"the run after the kill did not refuse with one line naming --recover: {refused.stderr!r}")
    recovered = run_cli("--recover", cwd=project.path)
    if recovered.returncode != 0:
        return "recover-failed", problems + [f"--recover failed: {recovered.stderr.strip()}"]
    differences = state_differences(before, whole_state(project))
    locks = lock_files(project)
    if differences or locks:
        return "recover-incomplete", problems + differences + [f"lock: {lock}" for lock in locks]
    return "recovered", problems + _next_run_releases_once(project)


def _next_run_releases_once(project: Project) -> list[str]:
    again = run_cli(*ARGS, cwd=project.path)
    if again.returncode != 0:
        return [f"the next run failed: {again.stderr.strip()}"]
    return released_state(project)


def _released_exactly_once(project: Project) -> list[str]:
    # The next run must neither refuse nor redo 0.4.2: it plans 0.4.3 from the release branch
    # (named as the base branch: a release starts on its base branch).
    dry = run_cli("patch", "--dry-run", "--base-branch", "release/v0.4.2", cwd=project.path)
    if dry.returncode != 0 or "0.4.2 \u2192 0.4.3" not in dry.stdout:
        return [f"after a complete release the next run does not plan 0.4.3: {dry.stdout}{dry.stderr}"]
    return []


def test_sigkill_at_every_operation(hooked_template: Copyable, tmp_path: Path) -> None:
    probe = hooked_template.copy(tmp_path / "probe")
    points = count_points(ARGS, cwd=probe.path, roots=[probe.path.parent], log=tmp_path / "points.txt")
    chosen = sample_points(len(points), name="sigkill-points", default_count=24)
    outcomes: Counter[str] = Counter()
    failures: list[str] = []
    for number in chosen:
        project = hooked_template.copy(tmp_path / f"kill-{number}")
        before = whole_state(project)
        result = run_driver(ARGS, cwd=project.path, roots=[project.path.parent], at=number, kind="sigkill")
        assert result.returncode == -signal.SIGKILL, (number, result.stderr)
        outcome, problems = classify_after_kill(project, before)
        outcomes[outcome] += 1
        if problems or outcome not in ("before", "released", "recovered"):
            failures.append(f"SIGKILL at #{number} ({points[number - 1]}): {outcome}: {problems}")
    print(f"[reliability] SIGKILL at {len(chosen)} of {len(points)} operations: {dict(outcomes)}")
    assert not failures, "\n".join(failures)


def _typical_runtime(template: Copyable, tmp_path: Path) -> float:
    durations = []
    for attempt in range(2):
        project = template.copy(tmp_path / f"timing-{attempt}")
        start = time.monotonic()
        result = run_cli(*ARGS, cwd=project.path)
        durations.append(time.monotonic() - start)
        assert result.returncode == 0, result.stderr
    return min(durations)


def test_sigkill_at_random_moments(plain_template: Copyable, tmp_path: Path) -> None:
    runtime = _typical_runtime(plain_template, tmp_path)
    rng, seed = seeded_random("sigkill-random")
    outcomes: Counter[str] = Counter()
    failures: list[str] = []
    for run in range(RANDOM_RUNS):
        project = plain_template.copy(tmp_path / f"run-{run}")
        before = whole_state(project)
        delay = rng.uniform(0, runtime)
        process = subprocess.Popen([sys.executable, "-m", "directive_release", *ARGS], cwd=project.path,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        try:
            os.kill(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
        outcome, problems = classify_after_kill(project, before)
        outcomes[outcome] += 1
        if problems or outcome not in ("before", "released", "recovered"):
            failures.append(f"run {run} (seed {seed}, delay {delay:.3f}s): {outcome}: {problems}")
    print(f"[reliability] SIGKILL at {RANDOM_RUNS} random moments in [0, {runtime:.3f}s] (seed {seed}):"
          f" {dict(outcomes)}")
    assert not failures, "\n".join(failures)
    # The draw must have reached past the start-up: otherwise this test proves nothing.
    assert outcomes["before"] < RANDOM_RUNS, outcomes
