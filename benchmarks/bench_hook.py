"""How much a commit pays for the check-version hook, next to merely parsing the TOML.

Runs, alternately and each in a fresh process with the same interpreter:

* baseline: ``python -c "import tomllib; tomllib.load(open('pyproject.toml','rb'))"``
* hook:     ``directive-release-check pyproject.toml`` (the installed console script)

on two projects, and prints the median and minimum wall time of each plus the
ratio of the medians, per project:

* static: this repository's pyproject.toml (a static ``[project].version``);
* hatch path: the same file turned into what ``hatch new`` writes
  (``dynamic = ["version"]`` with ``[tool.hatch.version] path``) in a temporary
  git work tree, so the hook also resolves the source and reads the version
  file; the baseline still only parses pyproject.toml.

The hook's target is a ratio of at most 1.2 for both. Usage::

    python benchmarks/bench_hook.py [--runs N] [--project static|hatch|both] [--max-ratio R]

Both commands run as installed code runs: with bytecode caching on (a
``PYTHONDONTWRITEBYTECODE`` in the environment is dropped for the runs), after
a few warm-up runs that write the ``.pyc`` files. Otherwise the hook would be
charged for compiling its module on every run while ``tomllib`` is not.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.2
WARM_UP_RUNS = 3


def hook_command(file: str) -> list[str]:
    script = Path(sys.executable).with_name("directive-release-check")
    if not script.exists():
        raise SystemExit(f"{script} not found: install the project into this interpreter (pip install -e .)")
    return [str(script), file]


def baseline_command(file: str) -> list[str]:
    return [sys.executable, "-c", f"import tomllib; tomllib.load(open({file!r},'rb'))"]


def time_once(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child: user + system)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({result.returncode}): {result.stderr.decode(errors='replace')}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(commands: dict[str, list[str]], runs: int, cwd: Path) -> dict[str, list[tuple[float, float]]]:
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    for command in commands.values():
        for _ in range(WARM_UP_RUNS):
            time_once(command, cwd, env)
    timings: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(runs):  # alternate, so a slow moment of the machine hits both alike
        for name, command in commands.items():
            timings[name].append(time_once(command, cwd, env))
    return timings


def hatch_project(directory: Path) -> Path:
    """This repository's pyproject.toml with a hatch path version, in a fresh (empty) git work tree."""
    text = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    static = 'version = "0.1.0"\n'
    if static not in text:
        raise SystemExit("pyproject.toml no longer holds version = \"0.1.0\"; update hatch_project()")
    text = text.replace(static, 'dynamic = ["version"]\n', 1)
    # Only the hatch path: this repository's own version-files copy is not part of this project.
    text = text.replace('version-files = ["src/directive_release/__init__.py"]\n', "")
    text += '\n[tool.hatch.version]\npath = "src/directive_release/__about__.py"\n'
    (directory / ".git").mkdir()
    (directory / "pyproject.toml").write_text(text, encoding="utf-8")
    package = directory / "src" / "directive_release"
    package.mkdir(parents=True)
    (package / "__about__.py").write_text('# SPDX-License-Identifier: MIT\n__version__ = "0.1.0"\n')
    return directory


def table(runs: dict[str, list[tuple[float, float]]], file: str) -> tuple[str, float]:
    """Wall-clock medians and minimums, and the ratio of the CPU-time medians: on a shared machine
    the wall clock also counts the time a process waits for a CPU, its CPU time much less so."""
    timings = {name: [wall for wall, _cpu in values] for name, values in runs.items()}
    cpu = {name: statistics.median(c for _wall, c in values) for name, values in runs.items()}
    medians = {name: statistics.median(values) for name, values in timings.items()}
    ratio = medians["hook"] / medians["baseline"]
    labels = {
        "baseline": f"""python -c "import tomllib; tomllib.load(open('{file}','rb'))\"""",
        "hook": f"directive-release-check {file}",
    }
    label_width = max(len(label) for label in labels.values())
    rows = [f"{'command':<{label_width}}  {'median ms':>9}  {'min ms':>7}"]
    for name, label in labels.items():
        rows.append(
            f"{label:<{label_width}}  {medians[name] * 1000:>9.1f}  {min(timings[name]) * 1000:>7.1f}"
        )
    rows.append(f"ratio (hook / baseline) {ratio:.2f}x")
    rows.append(f"CPU-time medians {cpu['baseline'] * 1000:.1f} ms / {cpu['hook'] * 1000:.1f} ms,"
                f" ratio {cpu['hook'] / cpu['baseline']:.2f}")
    return "\n".join(rows), ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=40, help="timed runs of each command (default: 40)")
    parser.add_argument("--project", choices=("static", "hatch", "both"), default="both",
                        help="which project to time (default: both)")
    parser.add_argument(
        "--max-ratio", type=float, default=None, help=f"exit 1 when a ratio is above this (target: {TARGET_RATIO})"
    )
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    file = "pyproject.toml"
    ratios: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-hook-") as scratch:
        projects = {"static": REPO_ROOT, "hatch path": hatch_project(Path(scratch))}
        if args.project != "both":
            projects = {name: path for name, path in projects.items() if name.startswith(args.project)}
        for name, directory in projects.items():
            commands = {"baseline": baseline_command(file), "hook": hook_command(file)}
            timings = measure(commands, args.runs, directory)
            report, ratio = table(timings, file)
            print(f"{name}: {args.runs} alternating runs each on {file}, Python {sys.version.split()[0]}")
            print(report)
            ratios.append(ratio)
    if args.max_ratio is not None and max(ratios) > args.max_ratio:
        print(f"ratio {max(ratios):.2f} is above {args.max_ratio}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
