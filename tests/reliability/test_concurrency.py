"""Two releases at once, git holding its locks, the repository changing under a release (issue 7, part 2).

- Two real processes start the same release behind a barrier (both imported and
  waiting, then released together), many times with seeded start offsets: exactly
  one exits 0, the other exits 1 with one line; the repository holds one release,
  ``git fsck`` is clean, no lock file or journal is left.
- A live ``git add`` holding ``.git/index.lock`` (a slow clean filter keeps it
  there): the release refuses, and git's lock and git's own work are untouched.
- Each lock a release takes, held by "another git process": refused, that lock
  untouched, every byte as before.
- The repository changes between the checks and the first change (a branch
  switch, a new commit, a staged file, an edited pyproject.toml): the release
  notices under the index lock and refuses instead of committing a stale plan.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from reliability_support import (
    LONGRUN,
    Copyable,
    assert_one_line_refusal,
    fsck_errors,
    lock_files,
    released_state,
    run_driver,
    seeded_random,
    state_differences,
    whole_state,
)
from support import Project, git, run_cli

PAIRS = 100 if LONGRUN else 20

_BARRIER_MAIN = """
import os, sys, time
barrier, ready = sys.argv[1], sys.argv[2]
from directive_release.cli import main  # import before the barrier: start together, run together
open(ready, "w").close()
while not os.path.exists(barrier):
    time.sleep(0.001)
delay = float(sys.argv[3])
if delay:
    time.sleep(delay)
sys.exit(main(sys.argv[4:]))
"""


def _start_pair(project: Project, tmp: Path, args: tuple[list[str], list[str]],
                offset: float) -> list[subprocess.Popen[str]]:
    barrier = tmp / "go"
    processes = []
    for index, cli_args in enumerate(args):
        ready = tmp / f"ready-{index}"
        processes.append(subprocess.Popen(
            [sys.executable, "-c", _BARRIER_MAIN, str(barrier), str(ready), f"{offset if index else 0:.4f}",
             *cli_args],
            cwd=project.path, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    deadline = time.monotonic() + 60
    while not all((tmp / f"ready-{i}").exists() for i in range(len(args))):
        assert time.monotonic() < deadline, "the racing processes did not start"
        time.sleep(0.005)
    barrier.touch()
    return processes


def _race(template: Copyable, tmp_path: Path, args: tuple[list[str], list[str]], name: str) -> Counter[str]:
    rng, seed = seeded_random(name)
    messages: Counter[str] = Counter()
    failures: list[str] = []
    for round_number in range(PAIRS):
        work = tmp_path / f"round-{round_number}"
        project = template.copy(work)
        offset = rng.uniform(0, 0.05)
        processes = _start_pair(project, work, args, offset)
        results = []
        for process in processes:
            stdout, stderr = process.communicate(timeout=120)
            results.append((process.returncode, stdout, stderr))
        codes = sorted(code for code, _, _ in results)
        where = f"round {round_number} (seed {seed}, offset {offset:.4f}s)"
        if codes == [0, 0] and _ran_one_after_the_other(project, args):
            messages["no overlap: the second started after the first had finished"] += 1
            continue
        if codes != [0, 1]:
            failures.append(f"{where}: exit codes {codes}: {[r[2] for r in results]}")
            continue
        winner = next(i for i, r in enumerate(results) if r[0] == 0)
        loser = results[1 - winner]
        lines = loser[2].strip().splitlines()
        if len(lines) != 1 or not lines[0].startswith("directive-release: ") or "Traceback" in loser[2]:
            failures.append(f"{where}: the loser did not refuse in one line: {loser[2]!r}")
        else:
            messages[_kind_of_refusal(lines[0])] += 1
        new = "0.4.2" if args[winner][0] == "patch" else "0.5.0"
        problems = released_state(project, new)
        problems += [f"lock left: {lock}" for lock in lock_files(project)]
        if (project.path / ".git" / "directive-release").exists():
            problems.append("journal directory left")
        fsck = fsck_errors(project.path)
        if fsck:
            problems.append(f"fsck: {fsck}")
        branches = git(project.path, "for-each-ref", "--format=%(refname)", "refs/heads/release").split()
        if branches != [f"refs/heads/release/v{new}"]:
            problems.append(f"release branches: {branches}")
        if problems:
            failures.append(f"{where}: {problems}")
    print(f"[reliability] {name}: {PAIRS} races (seed {seed}); how the loser refused: {dict(messages)}")
    assert not failures, "\n".join(failures)
    overlapped = PAIRS - messages["no overlap: the second started after the first had finished"]
    assert overlapped >= PAIRS // 2, f"too few races really overlapped: {dict(messages)}"
    return messages


def _ran_one_after_the_other(project: Project, args: tuple[list[str], list[str]]) -> bool:
    """Both succeeded because the second planned from the first one's finished release (a busy
    machine delayed it): the second release branch sits on top of the first, nothing is shared."""
    heads = git(project.path, "for-each-ref", "--format=%(refname:short)", "refs/heads/release").split()
    if len(heads) != 2 or fsck_errors(project.path) or lock_files(project):
        return False
    first, second = sorted(heads, key=lambda h: int(git(project.path, "rev-list", "--count", h).strip()))
    return git(project.path, "rev-parse", f"{second}~1").strip() == git(project.path, "rev-parse", first).strip()


def _kind_of_refusal(line: str) -> str:
    for marker in ("another directive-release", "already exists", "exists: another git process",
                   "changed since the checks", "uncommitted changes"):
        if marker in line:
            return marker
    return line


def test_two_identical_releases_at_once(plain_template: Copyable, tmp_path: Path) -> None:
    _race(plain_template, tmp_path, (["patch", "--yes"], ["patch", "--yes"]), "race-patch-patch")


def test_two_different_releases_at_once(plain_template: Copyable, tmp_path: Path) -> None:
    """patch and minor race: different branches, so only the journal and the re-check stop the loser."""
    _race(plain_template, tmp_path, (["patch", "--yes"], ["minor", "--yes"]), "race-patch-minor")


def test_live_git_holding_the_index_lock(plain_template: Copyable, tmp_path: Path) -> None:
    project = plain_template.copy(tmp_path / "p")
    project.git("config", "filter.slow.clean", "sleep 3; cat")
    (project.path / ".git" / "info" / "attributes").write_text("*.slow filter=slow\n")
    (project.path / "data.slow").write_text("payload\n")
    before = whole_state(project)
    lock = project.path / ".git" / "index.lock"
    adder = subprocess.Popen(["git", "add", "data.slow"], cwd=project.path, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while not lock.exists():
            assert time.monotonic() < deadline, "git add never took the index lock"
            time.sleep(0.01)
        held = lock.stat()
        result = run_cli("patch", "--yes", cwd=project.path)
        line = assert_one_line_refusal(result)
        assert "index.lock exists" in line, line
        assert lock.exists() and lock.stat().st_ino == held.st_ino, "git's index.lock was touched"
    finally:
        _, stderr = adder.communicate(timeout=30)
    assert adder.returncode == 0, stderr
    assert project.git("ls-files", "data.slow").strip() == "data.slow", "git add lost its work"
    differences = [d for d in state_differences(before, whole_state(project))
                   if not d.startswith("changed: work/.git/index ")]
    assert differences == [], differences  # only git's own index update
    assert not lock_files(project)


FOREIGN_LOCKS = [
    ".git/index.lock",
    ".git/HEAD.lock",
    ".git/config.lock",
    ".git/refs/heads/release/v0.4.2.lock",
    ".git/refs/remotes/origin/release/v0.4.2.lock",
]


@pytest.mark.parametrize("relative", FOREIGN_LOCKS)
def test_lock_held_by_another_git_process(hooked_template: Copyable, tmp_path: Path, relative: str) -> None:
    project = hooked_template.copy(tmp_path / "p")
    lock = project.path / relative
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_bytes(b"held by another git process\n")
    held = lock.stat()
    before = whole_state(project)
    result = run_cli("patch", "--yes", cwd=project.path)
    line = assert_one_line_refusal(result)
    assert "exists: another git process" in line and relative.rsplit("/", 1)[-1] in line, line
    assert lock.read_bytes() == b"held by another git process\n" and lock.stat().st_ino == held.st_ino
    assert state_differences(before, whole_state(project)) == []
    assert not (project.path / ".git" / "directive-release").exists()
    lock.unlink()
    again = run_cli("patch", "--yes", cwd=project.path)
    assert again.returncode == 0, again.stderr
    assert released_state(project) == []


CHANGES = {
    "switched-branch": "git checkout -q -b elsewhere",
    "new-commit-on-main": "git commit -q --allow-empty -m meanwhile",
    "staged-file": "echo new > staged.txt && git add staged.txt",
    "edited-pyproject": "echo '# edited' >> pyproject.toml",
    "staged-pyproject": "sed -i 's/demo\"$/changed\"/' pyproject.toml && git add pyproject.toml",
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_repository_changes_between_checks_and_apply(plain_template: Copyable, tmp_path: Path,
                                                     change: str) -> None:
    """The command runs at the first write of the release: after every check, before any change."""
    project = plain_template.copy(tmp_path / "p")
    result = run_driver(["patch", "--yes"], cwd=project.path, roots=[project.path.parent], at=1, kind="command",
                        env={"RELIABILITY_FAULT_COMMAND": CHANGES[change]})
    after_change = whole_state(project)
    line = assert_one_line_refusal(result)
    # With --yes the clean check itself runs under the index lock: a staged file is then
    # reported as the uncommitted change it is, rather than as a change since the checks.
    assert "changed since the checks" in line or "uncommitted changes (staged.txt)" in line, line
    # refused before its first change: it says so, and claims no undo it never needed
    assert line.endswith("nothing was changed") and "undone" not in line, line
    assert fsck_errors(project.path) == ""
    assert not lock_files(project)
    assert not (project.path / ".git" / "directive-release").exists()
    assert git(project.path, "for-each-ref", "refs/heads/release").strip() == ""
    # what the other command did is intact: the release changed nothing of it
    assert state_differences(after_change, whole_state(project)) == []

