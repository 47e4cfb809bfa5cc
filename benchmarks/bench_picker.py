"""Time to the picker on a long history, side by side with ``git log`` and questionary's import.

    python benchmarks/bench_picker.py [--runs 9] [--commits 20000] [--layout gc|fast-import]

Builds (and caches under benchmarks/.cache/) a repository whose pyproject.toml says 1.0.0,
tagged v1.0.0, followed by ``--commits`` Conventional Commits (each changing one of 50
files, so the pack holds trees and blobs between the commits). ``--layout gc`` (the
default) repacks it with ``git gc``, as a clone or a fetch leaves history; ``fast-import``
keeps the pack ``git fast-import`` wrote, commits interleaved with their trees and blobs.

Contenders, alternated run by run so that drift on a shared machine hits both alike:

- ``directive-release`` with no part in a 24x80 pseudo-terminal (pexpect), timed from the
  spawn to the moment the whole picker is on screen (its last line, "... to cancel)"), cursor
  position requests answered as a terminal does; then Esc, not timed. The suggestion line
  printed above the picker must name v1.0.0, or the benchmark fails;
- ``git log v1.0.0..HEAD`` (to a pipe: no pager) followed by ``python -c "import questionary"``,
  the floor issue 13 names: reading the same range with git, and loading the prompt library.

Prints medians, the ratio (target: picker <= 2x the floor) and, for information, the
suggestion's own time in-process, and the time git/history.py and dulwich's ``get_walker``
take to read the same range's messages (why git/history.py does not use dulwich).
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
PYTHON = sys.executable
_SCRIPT = Path(PYTHON).parent / "directive-release"
OURS = [str(_SCRIPT)] if _SCRIPT.exists() else [PYTHON, "-m", "directive_release"]
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE" and not k.startswith("GIT_")}
ENV.update({
    "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.test",
    "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.test",
    "TERM": "xterm", "NO_COLOR": "1",
})
PYPROJECT = '[project]\nname = "bench"\nversion = "1.0.0"\n'
TYPES = ("fix", "feat", "docs", "chore", "refactor", "test", "ci", "perf")
CURSOR_POSITION_REQUEST = "\x1b[6n"


def git(repo: Path, *args: str, stdin: bytes | None = None) -> str:
    return subprocess.run(["git", *args], cwd=repo, env=ENV, check=True, capture_output=True,
                          input=stdin).stdout.decode()


def fast_import_stream(commits: int) -> bytes:
    """pyproject.toml, tag v1.0.0, then ``commits`` commits, a minute apart."""
    out: list[bytes] = []
    stamp = 1_600_000_000

    def blob(text: str) -> bytes:
        data = text.encode()
        return b"data %d\n%s\n" % (len(data), data)

    def commit(mark: int, message: str, path: str, content: str) -> None:
        nonlocal stamp
        stamp += 60
        out.append(b"commit refs/heads/main\nmark :%d\n" % mark)
        out.append(b"author Bench <bench@example.test> %d +0000\n" % stamp)
        out.append(b"committer Bench <bench@example.test> %d +0000\n" % stamp)
        out.append(blob(message))
        out.append(b"M 100644 inline %s\n" % path.encode() + blob(content))
        out.append(b"\n")

    commit(1, "chore: initial", "pyproject.toml", PYPROJECT)
    out.append(b"reset refs/tags/v1.0.0\nfrom :1\n\n")
    for number in range(commits):
        kind = TYPES[number % len(TYPES)]
        commit(number + 2, f"{kind}: change {number}\n\nWhy change {number} was made.\n",
               f"src/bench/mod{number % 50}.py", f"value = {number}\n")
    return b"".join(out)


def build_repo(commits: int, layout: str) -> Path:
    repo = CACHE / f"picker-{commits}-{layout}"
    if (repo / ".git" / "bench-ready").exists():
        return repo
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "fast-import", "--quiet", stdin=fast_import_stream(commits))
    git(repo, "checkout", "-q", "-f", "main")
    if layout == "gc":
        git(repo, "gc", "-q")
    git(repo, "status", "--porcelain")  # refresh the index's stat data once, as any checkout has it
    count = int(git(repo, "rev-list", "--count", "v1.0.0..HEAD"))
    assert count == commits, count
    (repo / ".git" / "bench-ready").write_text("")
    return repo


def time_picker(repo: Path) -> tuple[float, str]:
    """Seconds from spawn to the whole picker on screen, and what was on screen by then."""
    import pexpect

    start = time.perf_counter()
    child = pexpect.spawn(OURS[0], OURS[1:], cwd=str(repo), env=ENV, dimensions=(24, 80),
                          encoding="utf-8", timeout=60)
    seen = ""
    while child.expect_exact([CURSOR_POSITION_REQUEST, "to cancel)"]) == 0:
        seen += child.before
        child.send("\x1b[1;1R")
    elapsed = time.perf_counter() - start
    seen += child.before
    child.send("\x1b")  # Esc: cancel, nothing changes
    child.expect(pexpect.EOF)
    child.close()
    if child.exitstatus != 130:
        raise SystemExit(f"the picker did not cancel cleanly (exit {child.exitstatus}):\n{seen}")
    return elapsed, seen


def time_floor(repo: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["git", "log", "v1.0.0..HEAD"], cwd=repo, env=ENV, check=True, stdout=subprocess.PIPE)
    subprocess.run([PYTHON, "-c", "import questionary"], cwd=repo, env=ENV, check=True)
    return time.perf_counter() - start


def time_suggestion(repo: Path) -> float:
    """The suggestion alone, in a process of its own (imports not counted)."""
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from directive_release.git.repo import discover, read_head\n"
        "from directive_release.settings import Settings\n"
        "from directive_release.suggest import suggest_part\n"
        "repo = discover(Path('.'))\n"
        "start = time.perf_counter()\n"
        "s = suggest_part(repo, read_head(repo).commit, Settings(), '1.0.0')\n"
        "print(time.perf_counter() - start)\n"
        "assert s.since == 'v1.0.0', s.reason\n"
    )
    result = subprocess.run([PYTHON, "-c", code], cwd=repo, env=ENV, check=True, capture_output=True, text=True)
    return float(result.stdout)


def time_history_readers(repo: Path) -> tuple[float, float]:
    """Reading the messages of v1.0.0..HEAD, in a process of its own (imports not counted):
    git/history.py (which also has to find v1.0.0), then dulwich's walker (told the tag)."""
    code = (
        "import time\n"
        "from pathlib import Path\n"
        "from directive_release.git.repo import discover, read_head\n"
        "from directive_release.git.history import read_since_release\n"
        "from directive_release.settings import Settings\n"
        "from directive_release.suggest import ReleaseRules\n"
        "from dulwich.repo import Repo\n"
        "repo = discover(Path('.'))\n"
        "head = read_head(repo).commit\n"
        "rules = ReleaseRules(Settings())\n"
        "start = time.perf_counter()\n"
        "read = read_since_release(repo, head, tag_version=rules.tag_version, commit_version=rules.subject_version,\n"
        "                          settled=lambda version: True, deadline=time.monotonic() + 60)\n"
        "ours = time.perf_counter() - start\n"
        "assert read.release.name == 'v1.0.0' and read.complete\n"
        "start = time.perf_counter()\n"
        "dulwich_repo = Repo('.')\n"
        "messages = [entry.commit.message for entry in dulwich_repo.get_walker(\n"
        "    include=[head.encode()], exclude=[dulwich_repo.get_peeled(b'refs/tags/v1.0.0')])]\n"
        "theirs = time.perf_counter() - start\n"
        "dulwich_repo.close()\n"
        "assert len(messages) == len(read.commits), (len(messages), len(read.commits))\n"
        "print(ours, theirs)\n"
    )
    result = subprocess.run([PYTHON, "-c", code], cwd=repo, env=ENV, check=True, capture_output=True, text=True)
    ours, theirs = result.stdout.split()
    return float(ours), float(theirs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--commits", type=int, default=20_000)
    parser.add_argument("--layout", choices=("gc", "fast-import"), default="gc")
    args = parser.parse_args()
    repo = build_repo(args.commits, args.layout)
    picker: list[float] = []
    floor: list[float] = []
    suggestion: list[float] = []
    readers: list[tuple[float, float]] = []
    screen = ""
    time_picker(repo)  # warm the page cache and .pyc files for both, untimed
    time_floor(repo)
    for _ in range(args.runs):
        elapsed, screen = time_picker(repo)
        picker.append(elapsed)
        floor.append(time_floor(repo))
        suggestion.append(time_suggestion(repo))
        readers.append(time_history_readers(repo))
    line = next((text for text in screen.splitlines() if "Suggestion:" in text), "")
    if "since v1.0.0" not in line:
        raise SystemExit(f"the suggestion does not name v1.0.0: {line!r}")
    med_picker, med_floor = statistics.median(picker), statistics.median(floor)
    ratio = med_picker / med_floor
    print(f"{args.commits:,} commits since v1.0.0, layout {args.layout}, median of {args.runs} (seconds):")
    print(f"  picker on screen (directive-release, pty)        {med_picker:7.3f}")
    print(f"  git log v1.0.0..HEAD + python -c 'import questionary' {med_floor:7.3f}")
    print(f"  the suggestion alone (in-process)                {statistics.median(suggestion):7.3f}")
    ours = statistics.median(sample[0] for sample in readers)
    theirs = statistics.median(sample[1] for sample in readers)
    print(f"  reading v1.0.0..HEAD: git/history.py {ours:.3f}, dulwich get_walker {theirs:.3f}"
          f" ({theirs / ours:.1f}x slower)")
    print(f"  ratio picker / floor  {ratio:5.2f}x  (target <= 2x: {'ok' if ratio <= 2 else 'MISSED'})")
    print(f"  {line.strip()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
