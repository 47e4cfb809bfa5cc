"""Release speed on large repositories, side by side with the git binary and peer tools.

    python benchmarks/bench_release.py [--runs 7] [--sizes 20000,100000]

Builds (and caches under benchmarks/.cache/) repositories of 20,001 and 100,001
tracked files in 520 folders, then runs each contender alternately, ``--runs``
times, as whole processes, resetting the repository between runs (not timed),
and prints medians and the ratios the speed issue targets:

1. release (``--part patch --yes --no-push``) <= 1.0x the git-binary sequence
   (``git status --porcelain -uno``, ``git checkout -b``, edit, ``git add``,
   ``git commit``), and >= 3x faster than commitizen when ``cz`` is installed;
2. the clean check as a process (``--dry-run``) <= 5x ``git status --porcelain
   -uno`` and >= 5x faster than dulwich's ``porcelain.status``;
3. release on 100k files <= 5.5x its 20k time;
4. ``--help``/``--version`` <= 2.5x ``python -c pass``.

Machines are noisy: only ratios of medians from the same run mean anything.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

CACHE = Path(__file__).resolve().parent / ".cache"
PYTHON = sys.executable
# What users run: the console script installed beside this interpreter (``python -m``
# would add runpy's imports); ``-m`` only when the project is not installed.
_SCRIPT = Path(PYTHON).parent / "directive-release"
OURS = [str(_SCRIPT)] if _SCRIPT.exists() else [PYTHON, "-m", "directive_release"]
FOLDERS = 520
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV.update({
    "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.test",
    "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.test",
})
PYPROJECT = '[project]\nname = "bench"\nversion = "1.0.0"\n\n[tool.commitizen]\nversion_provider = "pep621"\n'


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, env=ENV, check=True, capture_output=True, text=True).stdout


def build_repo(files: int) -> Path:
    """A repository with ``files`` tracked files (plus pyproject.toml) in 520 folders, cached."""
    repo = CACHE / f"repo-{files}"
    if (repo / ".git" / "bench-ready").exists():
        return repo
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    per_folder, extra = divmod(files, FOLDERS)
    count = 0
    for folder in range(FOLDERS):
        directory = repo / f"pkg{folder // 26}" / f"mod{folder}"
        directory.mkdir(parents=True, exist_ok=True)
        for number in range(per_folder + (1 if folder < extra else 0)):
            (directory / f"f{number}.py").write_text(f"value = {count}\n")
            count += 1
    (repo / "pyproject.toml").write_text(PYPROJECT)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    git(repo, "status", "--porcelain")  # refresh the index's stat data once, as any checkout has it
    (repo / ".git" / "bench-ready").write_text("")
    return repo


def reset(repo: Path) -> None:
    """Back to main at 1.0.0 with no release branch or tag (not timed)."""
    git(repo, "checkout", "-q", "-f", "main")
    for ref in git(repo, "for-each-ref", "--format=%(refname)", "refs/heads/release", "refs/tags").split():
        git(repo, "update-ref", "-d", ref)
    git(repo, "reset", "-q", "--hard", "main")
    main_commit = git(repo, "rev-list", "--max-parents=0", "HEAD").strip()
    if git(repo, "rev-parse", "HEAD").strip() != main_commit:
        git(repo, "reset", "-q", "--hard", main_commit)
    git(repo, "status", "--porcelain")


def timed(argv: list[str], cwd: Path, shell: bool = False) -> float:
    start = time.perf_counter()
    result = subprocess.run(argv if not shell else argv[0], cwd=cwd, env=ENV, shell=shell,
                            capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"benchmark command failed: {argv}\n{result.stdout}\n{result.stderr}")
    return elapsed


GIT_SEQUENCE = (
    "git status --porcelain --untracked-files=no >/dev/null && git checkout -q -b release/v1.0.1 && "
    "sed -i 's/^version = \"1.0.0\"/version = \"1.0.1\"/' pyproject.toml && git add pyproject.toml && "
    "git commit -q -m 'chore(release): v1.0.1'"
)


def contenders(repo: Path) -> dict[str, Callable[[], float]]:
    ours = OURS
    found: dict[str, Callable[[], float]] = {
        "directive-release release": lambda: timed([*ours, "--part", "patch", "--yes", "--no-push"], repo),
        "git binary sequence": lambda: timed([GIT_SEQUENCE], repo, shell=True),
        "directive-release --dry-run": lambda: timed([*ours, "--part", "patch", "--dry-run", "--no-push"], repo),
        "git status -uno": lambda: timed(["git", "status", "--porcelain", "--untracked-files=no"], repo),
        "dulwich porcelain.status": lambda: timed(
            [PYTHON, "-c", "from dulwich import porcelain; porcelain.status('.', untracked_files='no')"], repo),
    }
    cz = shutil.which("cz")
    if cz:
        found["commitizen cz bump"] = lambda: timed([cz, "bump", "--increment", "PATCH", "--yes"], repo)
    return found


MUTATING = {"directive-release release", "git binary sequence", "commitizen cz bump"}


def measure(repo: Path, runs: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {}
    tools = contenders(repo)
    for _ in range(runs):
        for name, run in tools.items():  # alternate, so drift hits every contender alike
            reset(repo)
            samples.setdefault(name, []).append(run())
    reset(repo)
    return {name: statistics.median(values) for name, values in samples.items()}


def startup(runs: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {"python -c pass": [], "--help": [], "--version": []}
    here = Path.cwd()
    for _ in range(runs):
        samples["python -c pass"].append(timed([PYTHON, "-c", "pass"], here))
        samples["--help"].append(timed([*OURS, "--help"], here))
        samples["--version"].append(timed([*OURS, "--version"], here))
    return {name: statistics.median(values) for name, values in samples.items()}


def verdict(ratio: float, limit: float, *, at_most: bool = True) -> str:
    ok = ratio <= limit if at_most else ratio >= limit
    return f"{ratio:6.2f}x  (target {'<=' if at_most else '>='} {limit}x: {'ok' if ok else 'MISSED'})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--sizes", default="20000,100000", help="comma-separated file counts")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    results: dict[int, dict[str, float]] = {}
    for size in sizes:
        repo = build_repo(size)
        results[size] = measure(repo, args.runs)
        print(f"\n{size + 1:,} tracked files, median of {args.runs} (seconds):")
        for name, value in results[size].items():
            print(f"  {name:30s} {value:7.3f}")
        med = results[size]
        print("  ratios:")
        print(f"    release / git sequence           {verdict(med['directive-release release'] / med['git binary sequence'], 1.0)}")
        if "commitizen cz bump" in med:
            print(f"    commitizen / release             {verdict(med['commitizen cz bump'] / med['directive-release release'], 3.0, at_most=False)}")
        print(f"    dry-run / git status -uno        {verdict(med['directive-release --dry-run'] / med['git status -uno'], 5.0)}")
        print(f"    dulwich status / dry-run         {verdict(med['dulwich porcelain.status'] / med['directive-release --dry-run'], 5.0, at_most=False)}")
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        growth = results[large]["directive-release release"] / results[small]["directive-release release"]
        print(f"\ngrowth: release on {large + 1:,} / on {small + 1:,} files {verdict(growth, 5.5)}")
    start = startup(args.runs * 3)
    print(f"\nstart-up, median of {args.runs * 3} (seconds): " + ", ".join(f"{k} {v:.3f}" for k, v in start.items()))
    print(f"  --help / python -c pass           {verdict(start['--help'] / start['python -c pass'], 2.5)}")
    print(f"  --version / python -c pass        {verdict(start['--version'] / start['python -c pass'], 2.5)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
