"""Clean-check speed: ``git status -uno`` vs directive-release vs dulwich, whole processes.

Builds (once, cached under benchmarks/.cache/) repositories with 20,001 tracked files
in 520 folders and 100,000 files in 2,600 folders, then runs the three checks side by
side, alternating, N times each, on a clean tree and with one file modified, and
prints medians and ratios as a table.

    python benchmarks/bench_status.py [--runs 9] [--sizes 20001,100000] [--formats plain,split,sparse]

``--formats``: the plain index (default), a split index (``update-index
--split-index`` on a copy) and a cone-mode sparse index (``sparse-checkout set
--cone --sparse-index`` of one folder in 26, on a copy). dulwich cannot read the
last two; its column then says so.

Targets: ours <= 6x git status -uno on 20k files (the serial stat loop; it was 5x
with the forked split, removed); ours >= 5x faster than dulwich's porcelain.status.
Needs the git binary (to build the repositories and as the yardstick).
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

CACHE = Path(__file__).resolve().parent / ".cache"
LAYOUT_VERSION = "1"  # bump to rebuild cached repositories
FOLDERS = {20001: 520, 100000: 2600}

OURS = (
    "from pathlib import Path\n"
    "from directive_release.git.repo import discover, read_head\n"
    "from directive_release.git.status import tracked_changes\n"
    "repo = discover(Path('.'))\n"
    "print(tracked_changes(repo, read_head(repo).commit))\n"
)
DULWICH = (
    "from dulwich import porcelain\n"
    # optional_locks=False: with True dulwich rewrites .git/index (dropping its TREE
    # extension) whenever it refreshes stat data, which would change the benchmark.
    "s = porcelain.status('.', untracked_files='no', optional_locks=False)\n"
    "print(s.staged, s.unstaged)\n"
)


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                            env={**os.environ, **(env or {})})
    if result.returncode:
        raise SystemExit(f"git {' '.join(args)} failed: {result.stderr}")
    return result.stdout


def build(files: int) -> Path:
    """A committed repository with ``files`` tracked files (pyproject.toml included)."""
    folders = FOLDERS.get(files, max(1, files // 38))
    repo = CACHE / f"repo-{files}"
    marker = repo / ".git" / "bench-layout"
    if marker.exists() and marker.read_text() == LAYOUT_VERSION:
        return repo
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    per_folder, extra = divmod(files - 1, folders)
    for folder in range(folders):
        directory = repo / f"pkg{folder // 26:03d}" / f"mod_{chr(97 + folder % 26)}"
        directory.mkdir(parents=True)
        for number in range(per_folder + (1 if folder < extra else 0)):
            (directory / f"file_{number:03d}.py").write_text(f"VALUE = {folder * 1000 + number}\n")
    (repo / "pyproject.toml").write_text('[project]\nname = "bench"\nversion = "0.1.0"\n')
    # Index written in a later second than every file: no entry is racily clean.
    time.sleep(1.1)
    env = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.test",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.test"}
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "bench", env=env)
    count = len(git(repo, "ls-files").splitlines())
    assert count == files, f"{count} files tracked, wanted {files}"
    marker.write_text(LAYOUT_VERSION)
    return repo


def prepare(repo: Path) -> None:
    """The state git leaves after a commit: a valid cache tree equal to HEAD's tree, and
    stat data for every entry (a dulwich write drops the cache tree: restore it)."""
    from directive_release.git.index import IndexFile

    index = IndexFile.read(repo / ".git" / "index")
    if index.cache_tree_root() != git(repo, "rev-parse", "HEAD^{tree}").strip():
        git(repo, "read-tree", "HEAD")
        git(repo, "update-index", "-q", "--refresh")


def variant(repo: Path, index_format: str) -> Path:
    """``repo`` itself, or a copy of it (cached) whose index is split or sparse, with
    stat data refreshed after the copy and no entry racily clean."""
    if index_format == "plain":
        return repo
    copy = repo.with_name(f"{repo.name}-{index_format}")
    marker = copy / ".git" / "bench-format"
    if marker.exists() and marker.read_text() == LAYOUT_VERSION:
        return copy
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(repo, copy, symlinks=True)
    time.sleep(1.1)  # the refreshed index is written in a later second than every copied file
    git(copy, "update-index", "-q", "--refresh")
    if index_format == "split":
        git(copy, "update-index", "--split-index")
    elif index_format == "sparse":
        git(copy, "sparse-checkout", "set", "--cone", "--sparse-index", "pkg000")
    else:
        raise SystemExit(f"unknown index format {index_format!r}")
    marker.write_text(LAYOUT_VERSION)
    return copy


def check_format(repo: Path, index_format: str) -> None:
    raw = (repo / ".git" / "index").read_bytes()
    wanted = {"plain": None, "split": b"link", "sparse": b"sdir"}[index_format]
    if wanted is not None and wanted not in raw:
        raise SystemExit(f"{repo}: the index is no longer {index_format}; remove the copy to rebuild it")


def timed(command: list[str], cwd: Path, env: dict[str, str], may_fail: bool = False) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    elapsed = (time.perf_counter() - start) * 1000
    if result.returncode:
        if may_fail:
            return float("nan"), ""
        raise SystemExit(f"{command[:2]} failed: {result.stderr}")
    return elapsed, result.stdout


def python_env() -> dict[str, str]:
    """Bytecode cached (as for an installed package), outside the source tree."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(CACHE / "pycache")
    return env


def measure(repo: Path, runs: int) -> dict[str, list[float]]:
    env = python_env()
    commands = {
        "git status -uno": ["git", "status", "--porcelain", "-uno"],
        "directive-release": [sys.executable, "-c", OURS],
        "dulwich status": [sys.executable, "-c", DULWICH],
    }
    # dulwich cannot read a split or a sparse index: its column is then empty (nan).
    outputs = {name: timed(command, repo, env, name == "dulwich status")[1]
               for name, command in commands.items()}  # warm up
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():  # alternating, so load spikes hit all three
            elapsed, _out = timed(command, repo, env, name == "dulwich status")
            times[name].append(elapsed)
    if (outputs["git status -uno"].strip() == "") != (outputs["directive-release"].strip() == "[]"):
        raise SystemExit(f"git and directive-release disagree: {outputs}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--sizes", default="20001,100000")
    parser.add_argument("--formats", default="plain", help="comma-separated: plain, split, sparse")
    args = parser.parse_args()
    rows = []
    for files, index_format in ((int(size), fmt) for size in args.sizes.split(",")
                                for fmt in args.formats.split(",")):
        base = build(files)
        prepare(base)
        repo = variant(base, index_format)
        target = repo / "pyproject.toml"
        original, stat = target.read_bytes(), target.stat()
        for state in ("clean", "1 modified"):
            check_format(repo, index_format)
            if state == "1 modified":
                target.write_bytes(original.replace(b"0.1.0", b"0.2.0"))
            try:
                times = measure(repo, args.runs)
            finally:
                if state == "1 modified":
                    target.write_bytes(original)
                    # Old mtime back (not racy), then let git record the new ctime.
                    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
                    # (update-index --refresh would also undo the split: status keeps it)
                    git(repo, "status", "--porcelain", "-uno")
                    if index_format == "plain":
                        git(repo, "update-index", "-q", "--refresh")
            medians = {name: statistics.median(values) for name, values in times.items()}
            rows.append((files, f"{index_format} {state}", medians))
    header = (f"{'files':>7} {'index, state':<18} {'git ms':>8} {'ours ms':>8} {'dulwich ms':>11}"
              f" {'ours/git':>9} {'dulwich/ours':>13}")
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    print(f"medians of {args.runs} runs each, whole processes, alternating (python {sys.version.split()[0]};"
          f" load average at the end {load} on {os.cpu_count()} CPUs)")
    print(header)
    print("-" * len(header))
    for files, state, medians in rows:
        git_ms, ours_ms, dulwich_ms = (medians["git status -uno"], medians["directive-release"],
                                       medians["dulwich status"])
        print(f"{files:>7} {state:<18} {git_ms:>8.0f} {ours_ms:>8.0f} {dulwich_ms:>11.0f}"
              f" {ours_ms / git_ms:>8.1f}x {dulwich_ms / ours_ms:>12.1f}x")


if __name__ == "__main__":
    main()
