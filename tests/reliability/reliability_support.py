"""Helpers for the reliability suite: whole-tree snapshots, cheap project copies, the fault driver.

Imported as ``reliability_support`` (pytest puts this folder on ``sys.path``).

Snapshots cover *every* file and directory of the work tree, its ``.git`` and
the bare remote, byte for byte (content hash and mode). The only differences a
rolled-back release may leave are new, unreachable objects: loose objects and
whole pack files, which git itself leaves after a rejected push or an aborted
commit and prunes with ``git gc``.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import select
import shutil
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from support import Project, git, make_project

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "fault_driver.py"
PROG = "directive-release: "

# DIRECTIVE_LONGRUN=1 turns the sampled sweeps into exhaustive ones and enlarges the random runs.
LONGRUN = os.environ.get("DIRECTIVE_LONGRUN", "") not in ("", "0")

# New paths a rolled-back release may leave under objects/: unreachable objects, as git does.
_ALLOWED_NEW_OBJECT = re.compile(
    r"^(.*/)?objects/([0-9a-f]{2}(/[0-9a-f]{38}([0-9a-f]{24})?)?|pack/pack-[0-9a-f]{40,64}\.(pack|idx|rev))$"
)

# What dulwich's in-process server side of a file:// push leaves in the *remote* when the
# push fails half-way (a real git server quarantines and removes these): a temporary pack
# and an empty ref directory. Harmless to git; reported by the suite, not counted as a loss.
_REMOTE_DEBRIS = re.compile(r"^remote/(objects/pack/tmp[a-z0-9_]+\.pack|refs/.+)$")

Entry = tuple[str, int, str]


def tree_state(root: Path) -> dict[str, Entry]:
    """Every path under ``root``: (kind, permission bits, sha256 of content or link target)."""
    state: dict[str, Entry] = {}
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(directory, name)
            info = path.lstat()
            relative = str(path.relative_to(root))
            if stat.S_ISLNK(info.st_mode):
                state[relative] = ("link", 0, os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                state[relative] = ("dir", stat.S_IMODE(info.st_mode), "")
            else:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                state[relative] = ("file", stat.S_IMODE(info.st_mode), digest)
    return state


REMOTE_DEBRIS_SEEN: set[str] = set()


def state_differences(before: dict[str, Entry], after: dict[str, Entry]) -> list[str]:
    """What changed, ignoring only new unreachable objects (see module docstring)."""
    problems: list[str] = []
    for path in sorted(before.keys() | after.keys()):
        old, new = before.get(path), after.get(path)
        if old == new:
            continue
        if old is None and _ALLOWED_NEW_OBJECT.match(path):
            continue
        if old is None and new is not None and _REMOTE_DEBRIS.match(path) and (
                new[0] == "dir" or "objects/pack/tmp" in path):
            REMOTE_DEBRIS_SEEN.add(path.rsplit("/", 1)[0])
            continue
        if old is None:
            problems.append(f"left behind: {path}")
        elif new is None:
            problems.append(f"removed: {path}")
        else:
            problems.append(f"changed: {path} ({old[0]} {old[1]:o} -> {new[0]} {new[1]:o})")
    return problems


@dataclass
class Copyable:
    """A project built once with git, copied for every run (a copy costs milliseconds)."""

    template: Project
    root: Path

    def copy(self, dest: Path) -> Project:
        shutil.copytree(self.root, dest, symlinks=True)
        work = dest / self.template.path.relative_to(self.root)
        remote = None
        if self.template.remote is not None:
            remote = dest / self.template.remote.relative_to(self.root)
            config = work / ".git" / "config"
            old_uri, new_uri = self.template.remote.as_uri(), remote.as_uri()
            config.write_text(config.read_text().replace(old_uri, new_uri))
        return Project(work, remote)


def copyable_project(root: Path, **kwargs: object) -> Copyable:
    template_root = root / "template"
    project = make_project(template_root, **kwargs)  # type: ignore[arg-type]
    return Copyable(project, template_root)


def whole_state(project: Project) -> dict[str, Entry]:
    """Work tree (with .git) and remote, as one mapping."""
    state = {f"work/{k}": v for k, v in tree_state(project.path).items()}
    if project.remote is not None:
        state.update({f"remote/{k}": v for k, v in tree_state(project.remote).items()})
    return state


def run_driver(args: list[str], *, cwd: Path, roots: list[Path], at: int = 0, kind: str = "oserror",
               log: Path | None = None, env: dict[str, str] | None = None,
               timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real CLI in a real process, with a fault at operation ``at`` (0: count only)."""
    environment = {
        **os.environ,
        "RELIABILITY_FAULT_ROOTS": os.pathsep.join(str(r.resolve()) for r in roots),
        "RELIABILITY_FAULT_AT": str(at),
        "RELIABILITY_FAULT_KIND": kind,
        "RELIABILITY_FAULT_LOG": str(log) if log else "",
        **(env or {}),
    }
    return subprocess.run([sys.executable, str(DRIVER), *args], cwd=cwd, capture_output=True, text=True,
                          env=environment, timeout=timeout, stdin=subprocess.DEVNULL)


def count_points(args: list[str], *, cwd: Path, roots: list[Path], log: Path,
                 env: dict[str, str] | None = None) -> list[str]:
    """Run once without a fault and return the operations the driver would fault, in order."""
    result = run_driver(args, cwd=cwd, roots=roots, log=log, env=env)
    assert result.returncode == 0, result.stderr
    return log.read_text(encoding="utf-8").splitlines()


def assert_one_line_refusal(result: subprocess.CompletedProcess[str], *, codes: tuple[int, ...] = (1,)) -> str:
    """Exit code as expected, exactly one line on stderr, ours, and no traceback."""
    assert result.returncode in codes, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(PROG), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def fsck_errors(path: Path) -> str:
    """``git fsck --strict`` output when it fails or reports an error, else ''."""
    result = subprocess.run(["git", "fsck", "--strict", "--no-progress"], cwd=path, capture_output=True, text=True)
    text = result.stdout + result.stderr
    if result.returncode != 0 or "error" in text.lower() or "fatal" in text.lower():
        return text
    return ""


def lock_files(project: Project) -> list[str]:
    found = [str(p.relative_to(project.path)) for p in (project.path / ".git").rglob("*.lock")]
    if project.remote is not None:
        found += [f"remote:{p.relative_to(project.remote)}" for p in project.remote.rglob("*.lock")]
    return sorted(found)


def released_state(project: Project, new: str = "0.4.2", *, pushed: bool = True) -> list[str]:
    """Why this is not a complete release of ``new`` (empty when it is one)."""
    problems: list[str] = []
    branch = f"release/v{new}"
    head = git(project.path, "symbolic-ref", "-q", "HEAD", check=False).strip()
    if head != f"refs/heads/{branch}":
        problems.append(f"HEAD is {head!r}")
    log = git(project.path, "log", "--format=%s", f"main..{branch}", check=False).splitlines()
    if log != [f"chore(release): v{new}"]:
        problems.append(f"log main..{branch} is {log}")
    if git(project.path, "status", "--porcelain", "--untracked-files=no", check=False).strip():
        problems.append("working tree not clean")
    if pushed and project.remote is not None:
        local = git(project.path, "rev-parse", "-q", "--verify", branch, check=False).strip()
        remote = git(project.remote, "rev-parse", "-q", "--verify", f"refs/heads/{branch}", check=False).strip()
        if not local or local != remote:
            problems.append("remote branch missing or different")
        upstream = git(project.path, "rev-parse", "--abbrev-ref", f"{branch}@{{upstream}}", check=False).strip()
        if upstream != f"origin/{branch}":
            problems.append(f"upstream is {upstream!r}")
    return problems


def seeded_random(name: str) -> tuple[random.Random, int]:
    """A random generator with a logged seed: DIRECTIVE_RELIABILITY_SEED overrides it to replay a run."""
    seed = int(os.environ.get("DIRECTIVE_RELIABILITY_SEED", "0") or 0) or int(
        hashlib.sha256(name.encode()).hexdigest()[:8], 16)
    print(f"[reliability] {name}: seed {seed} (replay with DIRECTIVE_RELIABILITY_SEED={seed})")
    return random.Random(seed), seed


def sample_points(total: int, *, name: str, default_count: int) -> list[int]:
    """All points 1..total in long-run mode, else ``default_count`` of them drawn with a logged seed."""
    points = list(range(1, total + 1))
    if LONGRUN or total <= default_count:
        return points
    rng, _seed = seeded_random(name)
    return sorted(rng.sample(points, default_count))


def judge_refusal(project: Project, before: dict[str, Entry], result: subprocess.CompletedProcess[str],
                  *, code: int, new: str = "0.4.2", pushed: bool = True) -> list[str]:
    """Problems with a run that had a fault injected (empty list: it behaved).

    Either it refused (exit ``code``, one line saying nothing was changed, every byte as
    before, no lock) or the fault did not matter (e.g. ``mkdir -p`` of a directory that
    exists) and it released completely (exit 0, released, no lock, no pending journal).
    """
    if result.returncode == 0:
        problems = released_state(project, new, pushed=pushed)
        problems += [f"lock left: {lock}" for lock in lock_files(project)]
        journal = project.path / ".git" / "directive-release" / "journal.json"
        if journal.exists() and '"completed": true' not in journal.read_text():
            problems.append("a pending journal was left after a successful release")
        elif journal.exists():
            # a finished release's journal: the next release must clear it and go ahead
            again = subprocess.run([sys.executable, "-m", "directive_release", "minor", "--yes", "--no-push",
                                    "--base-branch", f"release/v{new}"],  # a release starts on its base branch
                                   cwd=project.path, capture_output=True, text=True, stdin=subprocess.DEVNULL)
            if again.returncode != 0 or journal.exists():
                problems.append(f"the release after a left completed journal failed: {again.stderr.strip()}")
        return problems
    try:
        line = assert_one_line_refusal(result, codes=(code,))
    except AssertionError as exc:
        return [f"not a one-line refusal: {exc}"]
    if "nothing was changed" not in line:
        return [f"refusal does not say nothing was changed: {line}"]
    problems = state_differences(before, whole_state(project))
    problems += [f"lock left: {lock}" for lock in lock_files(project)]
    return problems


@contextmanager
def forward_then_silent(target_port: int, forwarded: int) -> Iterator[int]:
    """A TCP proxy on 127.0.0.1: the first ``forwarded`` connections reach ``target_port``, later
    ones are accepted and never answered (a remote that hangs after the checks). Yields its port."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()
    sockets: list[socket.socket] = []

    def pump(client: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", target_port))
        sockets.append(upstream)
        pairs = {client: upstream, upstream: client}
        try:
            while not stop.is_set():
                ready, _, _ = select.select(list(pairs), [], [], 0.05)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    pairs[sock].sendall(data)
        except OSError:
            return
        finally:
            for sock in pairs:
                sock.close()

    def accept() -> None:
        count = 0
        while not stop.is_set():
            ready, _, _ = select.select([listener], [], [], 0.05)
            if ready:
                conn, _ = listener.accept()
                sockets.append(conn)
                count += 1
                if count <= forwarded:
                    threading.Thread(target=pump, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(timeout=5)
        for sock in sockets:
            try:
                sock.close()
            except OSError:
                pass
        listener.close()
