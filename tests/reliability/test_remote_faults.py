"""Remote faults against real servers (issue 7, part 2): each one rolls back.

Not repeated here (tests/test_release_remotes.py has them): a pre-receive hook
rejecting the push, the branch created by someone else between check and push,
a silent server during the checks. Here:

- the connection cut after K bytes from the client, K swept from the first
  request line to past the whole push, over git:// (git daemon) and smart HTTP;
- the server going away between the checks and the push (connection refused);
- the server hanging once the checks passed (bounded by the time-out), then
  ``--recover`` once it answers again;
- a port nobody listens on.

After a failure: one line, exit 1, the local repository byte for byte as
before, the remote's refs as before; after a success, a complete release.
"""

from __future__ import annotations

import socket
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from reliability_support import (
    LONGRUN,
    assert_one_line_refusal,
    forward_then_silent,
    lock_files,
    released_state,
    state_differences,
    tree_state,
)
from servers import make_bare, start_dropping_proxy, start_git_daemon, start_http_server
from support import Project, git, make_project, run_cli

TIMEOUT_ENV = {"DIRECTIVE_RELEASE_REMOTE_TIMEOUT": "3"}
# Bytes the client may send before the cut: the smallest cut the check's request line, the
# largest past a whole push of this tiny repository.
CUTS = [1, 8, 40, 90, 160, 250, 400, 600, 900, 1400, 2200, 4000, 100_000]
if LONGRUN:
    CUTS = sorted(set(CUTS + list(range(2, 1500, 7))))


def _remote_refs(bare: Path) -> str:
    return git(bare, "for-each-ref", "--format=%(refname) %(objectname)")


def _local_state(project: Project) -> dict[str, tuple[str, int, str]]:
    return tree_state(project.path)


@contextmanager
def _server(kind: str, root: Path) -> Iterator[tuple[int, Path]]:
    """(port, base path) of a git daemon or smart-HTTP server serving ``root``."""
    if kind == "git":
        with start_git_daemon(root) as daemon:
            yield daemon.port, daemon.base_path
    else:
        with start_http_server(root) as server:
            yield server.port, server.project_root


def _project_for(tmp_path: Path, base: Path, name: str) -> tuple[Project, Path]:
    project = make_project(tmp_path / name, with_remote=False)
    bare = make_bare(base, f"{name}.git")
    git(project.path, "push", "-q", str(bare), "main")
    project.remote = bare
    return project, bare


@pytest.mark.parametrize("kind", ["git", "http"])
def test_connection_dropped_at_every_stage(tmp_path: Path, kind: str) -> None:
    outcomes: Counter[str] = Counter()
    failures: list[str] = []
    with _server(kind, tmp_path / "served") as (port, base):
        for cut in CUTS:
            project, bare = _project_for(tmp_path, base, f"cut{cut}")
            with start_dropping_proxy(port, cut) as proxy:
                scheme = "git" if kind == "git" else "http"
                project.git("remote", "add", "origin", f"{scheme}://127.0.0.1:{proxy.port}/cut{cut}.git")
                before, remote_before = _local_state(project), _remote_refs(bare)
                result = run_cli("patch", "--yes", cwd=project.path, env=TIMEOUT_ENV)
            where = f"{kind} cut after {cut} bytes"
            if result.returncode == 0:
                outcomes["released"] += 1
                problems = released_state(project)
                if problems:
                    failures.append(f"{where}: exit 0 but {problems}")
                continue
            try:
                line = assert_one_line_refusal(result)
            except AssertionError as exc:
                failures.append(f"{where}: {exc}")
                continue
            outcomes["refused before any change" if "nothing was changed" not in line else "rolled back"] += 1
            problems = state_differences(before, _local_state(project)) + lock_files(project)
            if _remote_refs(bare) != remote_before:
                problems.append(f"remote refs changed: {_remote_refs(bare)}")
            if problems:
                failures.append(f"{where}: {line}: {problems}")
    print(f"[reliability] connection cut over {kind} at {len(CUTS)} points: {dict(outcomes)}")
    assert not failures, "\n".join(failures)
    # the sweep must have hit every stage: the checks, the push itself, and nothing at all
    assert outcomes["released"] and outcomes["rolled back"] and outcomes["refused before any change"], outcomes


def test_server_goes_away_between_checks_and_push(tmp_path: Path) -> None:
    with start_git_daemon(tmp_path / "served") as daemon:
        project, bare = _project_for(tmp_path, daemon.base_path, "p")
        project.git("remote", "add", "origin", daemon.url("p.git"))
        hook = project.path / ".git" / "hooks" / "pre-commit"
        stop = f"import os, signal; os.killpg({daemon.process.pid}, signal.SIGKILL)"
        hook.write_text(f"#!/bin/sh\n'{sys.executable}' -c '{stop}'\n")
        hook.chmod(0o755)
        hook_state = _local_state(project)
        result = run_cli("patch", "--yes", cwd=project.path, env=TIMEOUT_ENV)
    line = assert_one_line_refusal(result)
    assert "connection refused" in line and "nothing was changed" in line, line
    assert state_differences(hook_state, _local_state(project)) == []
    assert "release/" not in _remote_refs(bare)


def test_server_hangs_after_the_checks_then_recover(tmp_path: Path) -> None:
    with start_git_daemon(tmp_path / "served") as daemon:
        project, bare = _project_for(tmp_path, daemon.base_path, "p")
        with forward_then_silent(daemon.port, forwarded=1) as port:  # the check passes, the push hangs
            project.git("remote", "add", "origin", f"git://127.0.0.1:{port}/p.git")
            before = _local_state(project)
            result = run_cli("patch", "--yes", cwd=project.path, env=TIMEOUT_ENV, timeout=60)
        line = assert_one_line_refusal(result)
        assert "timed out" in line, line
        assert "release/" not in _remote_refs(bare)
        print(f"[reliability] hung remote: {line}")
        if "--recover" in line:
            # It could not tell whether the push landed: everything else is undone, the journal says what is left.
            differences = [d for d in state_differences(before, _local_state(project))
                           if "/directive-release" not in d]
            assert differences == [], differences
            project.git("remote", "set-url", "origin", daemon.url("p.git"))  # the remote answers again
            recovered = run_cli("--recover", cwd=project.path)
            assert recovered.returncode == 0, recovered.stderr
            project.git("remote", "set-url", "origin", f"git://127.0.0.1:{port}/p.git")
        assert state_differences(before, _local_state(project)) == []
        assert lock_files(project) == []


def test_nobody_listening(project: Project) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    project.git("remote", "set-url", "origin", f"git://127.0.0.1:{port}/r.git")
    before = _local_state(project)
    result = run_cli("patch", "--yes", cwd=project.path, env=TIMEOUT_ENV)
    line = assert_one_line_refusal(result)
    assert "connection refused" in line, line
    assert state_differences(before, _local_state(project)) == []

