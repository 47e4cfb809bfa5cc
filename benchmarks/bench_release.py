"""Release speed on large repositories, side by side with the git binary and peer tools.

    python benchmarks/bench_release.py [--runs 7] [--sizes 20000,100000]

Builds (and caches under benchmarks/.cache/) repositories of 20,001 and 100,001
tracked files in 520 folders, then runs each contender alternately, ``--runs``
times, as whole processes, resetting the repository between runs (not timed),
and prints medians and the ratios the speed issue targets:

1. release (``--part patch --yes --no-push``) <= 1.3x the git-binary sequence
   (``git status --porcelain -uno``, ``git checkout -b``, edit, ``git add``,
   ``git commit``), and >= 3x faster than commitizen when ``cz`` is installed;
2. the clean check as a process (``--dry-run``, one process: no fork) <= 6x ``git status
   --porcelain -uno`` and >= 5x faster than dulwich's ``porcelain.status``;
3. release on 100k files <= 5.5x its 20k time;
4. ``--help``/``--version`` <= 2.5x ``python -c pass``.

With push (issue 13), the flow a user runs: ``--part patch --yes`` against the git
binary's sequence (``git status --porcelain -uno``, ``git ls-remote``, ``git checkout
-b``, edit, ``git add``, ``git commit``, ``git push -u``), over file://, ``git daemon``
and smart HTTP (``git http-backend`` behind the tests' stdlib server, started here on
127.0.0.1), each contender alternately against the same bare remote:

5. with push on 20k files <= 1.3x the git sequence over each transport; on 100k <= 1.0x;
   its cost on 100k <= 1.5x its cost on 20k;
6. peak memory (ru_maxrss of the child, from wait4) of a release with push <= 1.5x the same
   release with ``--no-push``, on a repository whose one pack holds >= 500k objects
   (built once with ``git fast-import``, cached under benchmarks/.cache/).

``--sections`` picks what runs (default ``local,push,memory``): ``local`` is 1-4 above.

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
    marker = repo / ".git" / "bench-main"  # main as built (repositories with history)
    main_commit = (marker.read_text().strip() if marker.exists()
                   else git(repo, "rev-list", "--max-parents=0", "HEAD").strip())
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


# --- with push (issue 13) ----------------------------------------------------------------------

SERVED = CACHE / "served"  # bare remotes, served by git daemon and http-backend from here
BRANCH = "release/v1.0.1"
GIT_SEQUENCE_PUSH = GIT_SEQUENCE.replace(
    "git checkout -q -b", "git ls-remote origin >/dev/null && git checkout -q -b"
) + f" && git push -q -u origin {BRANCH}"


def bare_remote(repo: Path, name: str) -> Path:
    """``git clone --bare`` of ``repo`` (main only), cached; objects hard-linked as git does locally."""
    bare = SERVED / f"{name}.git"
    if not (bare / "bench-ready").exists():
        shutil.rmtree(bare, ignore_errors=True)
        SERVED.mkdir(parents=True, exist_ok=True)
        git(SERVED, "clone", "-q", "--bare", str(repo), str(bare))
        git(bare, "config", "http.receivepack", "true")
        (bare / "bench-ready").write_text("")
    return bare


def reset_push(repo: Path, bare: Path) -> None:
    """``reset`` plus: no release branch on the remote, no tracking ref, no upstream config."""
    reset(repo)
    for ref in git(repo, "for-each-ref", "--format=%(refname)", "refs/remotes").split():
        git(repo, "update-ref", "-d", ref)
    subprocess.run(["git", "config", "--remove-section", f"branch.{BRANCH}"], cwd=repo, env=ENV,
                   capture_output=True)
    for ref in git(bare, "for-each-ref", "--format=%(refname)", "refs/heads/release", "refs/tags").split():
        git(bare, "update-ref", "-d", ref)


def _servers():  # -> contextmanager yielding {transport: url-maker}
    from contextlib import ExitStack, contextmanager

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from servers import start_git_daemon, start_http_server  # the tests' real servers

    @contextmanager
    def started(transports: list[str]):
        with ExitStack() as stack:
            urls: dict[str, Callable[[Path], str]] = {}
            if "file" in transports:
                urls["file"] = lambda bare: bare.as_uri()
            if "git" in transports:
                daemon = stack.enter_context(start_git_daemon(SERVED))
                urls["git"] = lambda bare, d=daemon: d.url(bare.name)
            if "http" in transports:
                server = stack.enter_context(start_http_server(SERVED))
                urls["http"] = lambda bare, s=server: s.url(bare.name)
            yield urls

    return started


def measure_push(repo: Path, bare: Path, url: str, runs: int) -> dict[str, float]:
    git(repo, "remote", "remove", "origin") if "origin" in git(repo, "remote").split() else None
    git(repo, "remote", "add", "origin", url)
    tools: dict[str, Callable[[], float]] = {
        "directive-release (push)": lambda: timed([*OURS, "--part", "patch", "--yes"], repo),
        "git sequence (push)": lambda: timed([GIT_SEQUENCE_PUSH], repo, shell=True),
        "directive-release --no-push": lambda: timed([*OURS, "--part", "patch", "--yes", "--no-push"], repo),
    }
    samples: dict[str, list[float]] = {}
    try:
        for _ in range(runs):
            for name, run in tools.items():
                reset_push(repo, bare)
                samples.setdefault(name, []).append(run())
                pushed = git(bare, "for-each-ref", f"refs/heads/{BRANCH}").strip() != ""
                if pushed != ("--no-push" not in name):
                    raise SystemExit(f"{name}: the remote {'has' if pushed else 'lacks'} {BRANCH}")
    finally:
        reset_push(repo, bare)
        git(repo, "remote", "remove", "origin")
    medians = {name: statistics.median(values) for name, values in samples.items()}
    medians.update({f"{name} (min)": min(values) for name, values in samples.items()})
    return medians


def run_push(sizes: list[int], transports: list[str], runs: int) -> None:
    results: dict[tuple[int, str], dict[str, float]] = {}
    with _servers()(transports) as urls:
        for size in sizes:
            repo = build_repo(size)
            bare = bare_remote(repo, f"remote-{size}")
            for transport in transports:
                med = measure_push(repo, bare, urls[transport](bare), runs)
                results[(size, transport)] = med
                ratio = med["directive-release (push)"] / med["git sequence (push)"]
                print(f"\n{size + 1:,} files, push over {transport}, median of {runs} (seconds):")
                for name, value in med.items():
                    if not name.endswith("(min)"):
                        print(f"  {name:30s} {value:7.3f}   (fastest {med[name + ' (min)']:.3f})")
                print(f"    release / git sequence           {verdict(ratio, 1.3 if size < 50_000 else 1.0)}")
                fastest = med["directive-release (push) (min)"] / med["git sequence (push) (min)"]
                print(f"    the same, fastest runs           {fastest:6.2f}x  (less exposed to other load)")
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]

        def push_cost(size: int, transport: str) -> float:
            med = results[(size, transport)]
            return med["directive-release (push)"] - med["directive-release --no-push"]

        for transport in transports:
            growth = (results[(large, transport)]["directive-release (push)"]
                      / results[(small, transport)]["directive-release (push)"])
            git_growth = (results[(large, transport)]["git sequence (push)"]
                          / results[(small, transport)]["git sequence (push)"])
            print(f"growth over {transport}, {large + 1:,} / {small + 1:,} files: whole release with push"
                  f" {verdict(growth, 1.5)}; git's sequence {git_growth:.2f}x")
            small_cost, large_cost = push_cost(small, transport), push_cost(large, transport)
            print(f"  the push's own cost (with push - --no-push): {small_cost * 1000:.0f} ms -> "
                  f"{large_cost * 1000:.0f} ms {verdict(large_cost / small_cost, 1.5) if small_cost > 0 else ''}")


# --- peak memory on a repository with a big pack ----------------------------------------------------


def build_bigpack_repo(objects: int) -> Path:
    """~``objects`` objects in one pack, from ``git fast-import``: 2,000 files in 100 folders and
    commits that each change two of them (2 blobs, 3 trees, 1 commit); the work tree is small so
    that the pack, not the stat loop, is what a release on it meets."""
    repo = CACHE / f"repo-bigpack-{objects}"
    if (repo / ".git" / "bench-ready").exists():
        return repo
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    process = subprocess.Popen(["git", "fast-import", "--quiet"], cwd=repo, env=ENV, stdin=subprocess.PIPE)
    assert process.stdin is not None
    out = process.stdin
    files, folders = 2000, 100
    commits = max(1, (objects - files - folders - 2) // 6)
    stamp = 1_600_000_000
    lines = [b"commit refs/heads/main\n", b"committer Bench <bench@example.test> %d +0000\n" % stamp,
             b"data 7\ninitial\n"]
    for number in range(files):
        body = b"value = %d\n" % number
        lines.append(b"M 644 inline d%d/f%d.py\ndata %d\n%s\n" % (number % folders, number, len(body), body))
    body = PYPROJECT.encode()
    lines.append(b"M 644 inline pyproject.toml\ndata %d\n%s\n" % (len(body), body))
    out.write(b"".join(lines))
    for commit in range(commits):
        first, second = (commit * 2) % files, (commit * 2 + 1 + folders // 2) % files
        chunk = [b"commit refs/heads/main\n",
                 b"committer Bench <bench@example.test> %d +0000\n" % (stamp + commit + 1),
                 b"data 7\nchange\n"]
        for number in (first, second):
            body = b"value = %d\nrevision = %d\n" % (number, commit)
            chunk.append(b"M 644 inline d%d/f%d.py\ndata %d\n%s\n" % (number % folders, number, len(body), body))
        out.write(b"".join(chunk))
    out.close()
    if process.wait() != 0:
        raise SystemExit("git fast-import failed")
    git(repo, "reset", "-q", "--hard", "main")
    git(repo, "status", "--porcelain")
    (repo / ".git" / "bench-main").write_text(git(repo, "rev-parse", "main"))
    (repo / ".git" / "bench-ready").write_text("")
    return repo


def timed_rss(argv: list[str], cwd: Path) -> tuple[float, int]:
    """(seconds, peak resident KiB of the command and the children it waited for).

    Measured by GNU time (``/usr/bin/time -f %M``), not by our own wait4: a child forked
    from this process starts with this process's resident set as its high-water mark
    (Linux folds the pre-exec image into ru_maxrss), which would add the benchmark's own
    ~20-30 MiB to every contender."""
    import tempfile

    with tempfile.NamedTemporaryFile("r") as report:
        start = time.perf_counter()
        result = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", report.name, *argv], cwd=cwd, env=ENV,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        elapsed = time.perf_counter() - start
        if result.returncode != 0:
            raise SystemExit(f"benchmark command failed: {argv}\n{result.stderr}")
        return elapsed, int(report.read().split()[-1])


def run_memory(objects: int, runs: int) -> None:
    repo = build_bigpack_repo(objects)
    packed = sum(int(line.split()[1]) for line in git(repo, "count-objects", "-v").splitlines()
                 if line.startswith("in-pack:"))
    bare = bare_remote(repo, f"remote-bigpack-{objects}")
    git(repo, "remote", "remove", "origin") if "origin" in git(repo, "remote").split() else None
    git(repo, "remote", "add", "origin", bare.as_uri())
    samples: dict[str, list[tuple[float, int]]] = {}
    tools = {
        "release with push (file://)": [*OURS, "--part", "patch", "--yes"],
        "release --no-push": [*OURS, "--part", "patch", "--yes", "--no-push"],
    }
    try:
        for _ in range(runs):
            for name, argv in tools.items():
                reset_push(repo, bare)
                samples.setdefault(name, []).append(timed_rss(argv, repo))
                pushed = git(bare, "for-each-ref", f"refs/heads/{BRANCH}").strip() != ""
                if pushed != ("--no-push" not in argv):
                    raise SystemExit(f"{name}: the remote {'has' if pushed else 'lacks'} {BRANCH}")
        reset_push(repo, bare)
        samples["git sequence (push, file://)"] = []
        for _ in range(runs):
            reset_push(repo, bare)
            samples["git sequence (push, file://)"].append(timed_rss(["sh", "-c", GIT_SEQUENCE_PUSH], repo))
    finally:
        reset_push(repo, bare)
        git(repo, "remote", "remove", "origin")
    print(f"\nrepository with one pack of {packed:,} objects, median of {runs}:")
    med = {name: (statistics.median(t for t, _ in values), statistics.median(m for _, m in values))
           for name, values in samples.items()}
    for name, (seconds, kib) in med.items():
        print(f"  {name:30s} {seconds:7.3f} s  {kib / 1024:7.1f} MiB peak")
    ratio = med["release with push (file://)"][1] / med["release --no-push"][1]
    print(f"    peak memory push / --no-push     {verdict(ratio, 1.5)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--sizes", default="20000,100000", help="comma-separated file counts")
    parser.add_argument("--sections", default="local,push,memory", help="local, push, memory")
    parser.add_argument("--transports", default="file,git,http", help="for the push section")
    parser.add_argument("--pack-objects", type=int, default=520_000, help="objects in the memory section's pack")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    sections = args.sections.split(",")
    if "push" in sections:
        run_push(sizes, args.transports.split(","), args.runs)
    if "memory" in sections:
        run_memory(args.pack_objects, args.runs)
    if "local" not in sections:
        return 0
    results: dict[int, dict[str, float]] = {}
    for size in sizes:
        repo = build_repo(size)
        results[size] = measure(repo, args.runs)
        print(f"\n{size + 1:,} tracked files, median of {args.runs} (seconds):")
        for name, value in results[size].items():
            print(f"  {name:30s} {value:7.3f}")
        med = results[size]
        print("  ratios:")
        print(f"    release / git sequence           {verdict(med['directive-release release'] / med['git binary sequence'], 1.3)}")
        if "commitizen cz bump" in med:
            print(f"    commitizen / release             {verdict(med['commitizen cz bump'] / med['directive-release release'], 3.0, at_most=False)}")
        print(f"    dry-run / git status -uno        {verdict(med['directive-release --dry-run'] / med['git status -uno'], 6.0)}")
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
