"""Secrets (issue 7, part 4): a sentinel credential never shows up, on any path.

The sentinel is the password in the remote URL, the password a credential helper
returns, ``GITHUB_TOKEN`` (handed out by a helper, as CI set-ups do), or an
``http.extraHeader`` auth header in ``.git/config``. Each
source goes through success, a push rejected by a hook, a wrong password, an
unreachable server, a crash (a corrupt object: the unexpected-error path with its
log), ``--dry-run``, ``--json``, an interruption, and SIGKILL + ``--recover``.
After every run, stdout, stderr and every file that is new or changed under the
project, the remote, HOME and the XDG directories are searched: the sentinel
(plain or URL-encoded) may appear no more often than before the run.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from reliability_support import run_driver
from servers import GitHttpServer, make_bare, start_http_server
from support import Project, git, make_project, run_cli

SENTINEL = "s3cr3t-RELIABILITY-9d2e"


def _base64_forms(secret: bytes) -> list[str]:
    """The characters every base64 (and base64url) text holding ``secret`` contains, at each of the three
    offsets it can have there: only the characters that depend on the secret's bytes alone."""
    forms = []
    for pad in range(3):
        first = -(-8 * pad // 6)  # the first character whose 6 bits all come from the secret
        last = (8 * (pad + len(secret)) - 6) // 6
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            forms.append(encode(b"\0" * pad + secret).decode("ascii")[first:last + 1])
    return forms


# Plain, URL-quoted, hex (either case) and base64 at any offset: a copy in any of these is a leak.
FORMS = tuple(dict.fromkeys((SENTINEL, quote(SENTINEL, safe=""), SENTINEL.encode().hex(),
                             SENTINEL.encode().hex().upper(), *_base64_forms(SENTINEL.encode()))))
SOURCES = ["url", "helper", "github-token", "extra-header"]
PUSH_STEP = 7  # lock, branch, switch, write, stage, commit, push, upstream


def _occurrences(roots: list[Path]) -> dict[str, int]:
    found: dict[str, int] = {}
    for root in roots:
        for directory, _dirs, files in os.walk(root):
            for name in files:
                path = Path(directory, name)
                if path.is_symlink():
                    continue
                try:
                    data = path.read_bytes()
                except OSError:
                    continue
                found[str(path)] = sum(data.count(form.encode()) for form in FORMS)
    return found


@dataclass
class Setup:
    project: Project
    server: GitHttpServer
    bare: Path
    env: dict[str, str]
    roots: list[Path]

    def scan(self, result: subprocess.CompletedProcess[str], before: dict[str, int], what: str) -> list[str]:
        leaks = [f"{what}: {stream}" for stream, text in (("stdout", result.stdout), ("stderr", result.stderr))
                 if any(form in text for form in FORMS)]
        after = _occurrences(self.roots)
        leaks += [f"{what}: file {path} ({count} > {before.get(path, 0)})" for path, count in after.items()
                  if count > before.get(path, 0)]
        return leaks


@pytest.fixture
def http(tmp_path: Path) -> Iterator[GitHttpServer]:
    with start_http_server(tmp_path / "http", username="releaser", password=SENTINEL) as server:
        yield server


def _setup(tmp_path: Path, server: GitHttpServer, source: str, name: str) -> Setup:
    project = make_project(tmp_path / name, with_remote=False)
    bare = make_bare(server.project_root, f"{name}.git")
    git(project.path, "push", "-q", str(bare), "main")
    project.remote = bare
    home = Path(os.environ["HOME"])
    env = {"XDG_CACHE_HOME": str(home / "xdg-cache"), "XDG_CONFIG_HOME": str(home / "xdg-config")}
    if source == "url":
        project.git("remote", "add", "origin", server.url(f"{name}.git", userinfo=f"releaser:{SENTINEL}"))
    elif source == "extra-header":
        # The credential in .git/config as an auth header, as CI set-ups (actions/checkout) write it.
        project.git("remote", "add", "origin", server.url(f"{name}.git"))
        basic = base64.b64encode(f"releaser:{SENTINEL}".encode()).decode("ascii")
        project.git("config", "http.extraHeader", f"Authorization: Basic {basic}")
        # and the same secret as a bearer token for another host: plainly in the file, never sent
        project.git("config", "http.https://ci.example.test/.extraHeader", f"Authorization: Bearer {SENTINEL}")
    else:
        project.git("remote", "add", "origin", server.url(f"{name}.git"))
        answer = "$GITHUB_TOKEN" if source == "github-token" else SENTINEL
        project.git("config", "credential.helper",
                    f'!f() {{ test "$1" = get && echo username=releaser && echo "password={answer}"; true; }}; f')
        if source == "github-token":
            env["GITHUB_TOKEN"] = SENTINEL
    return Setup(project, server, bare, env, [project.path.parent, server.project_root, home])


def _run(setup: Setup, *args: str, env: dict[str, str] | None = None, what: str) -> tuple[
        subprocess.CompletedProcess[str], list[str]]:
    before = _occurrences(setup.roots)
    result = run_cli(*args, cwd=setup.project.path, env={**setup.env, **(env or {})})
    return result, setup.scan(result, before, what)


def _reject_pushes(bare: Path) -> None:
    hook = bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'frozen' >&2\nexit 1\n")
    hook.chmod(0o755)


@pytest.mark.parametrize("source", SOURCES)
def test_sentinel_never_leaks(http: GitHttpServer, tmp_path: Path, source: str) -> None:
    leaks: list[str] = []
    paths = 0

    # success, with --json and a dry run first
    setup = _setup(tmp_path, http, source, "ok")
    dry, found = _run(setup, "patch", "--dry-run", what="dry-run")
    assert dry.returncode == 0, dry.stderr
    leaks += found
    done, found = _run(setup, "patch", "--yes", "--json", what="success --json")
    assert done.returncode == 0, done.stderr
    assert '"pushed": true' in done.stdout or "release/v0.4.2" in done.stdout
    leaks += found
    paths += 2

    # rejected by the server's pre-receive hook
    setup = _setup(tmp_path, http, source, "rejected")
    _reject_pushes(setup.bare)
    rejected, found = _run(setup, "patch", "--yes", what="push rejected")
    assert rejected.returncode == 1 and "frozen" in rejected.stderr, rejected.stderr
    leaks += found
    paths += 1

    # the server wants another password: the sentinel is the wrong one
    setup = _setup(tmp_path, http, source, "wrong")
    http.password = SENTINEL + "-but-another"
    try:
        wrong, found = _run(setup, "patch", "--yes", what="wrong password")
    finally:
        http.password = SENTINEL
    assert wrong.returncode == 1 and "authentication" in wrong.stderr, wrong.stderr
    leaks += found
    paths += 1

    # unreachable: the same URL on a port nobody listens on
    setup = _setup(tmp_path, http, source, "unreachable")
    url = setup.project.git("config", "remote.origin.url").strip()
    setup.project.git("config", "remote.origin.url", url.replace(f":{http.port}/", ":9/"))
    unreachable, found = _run(setup, "patch", "--yes", env={"DIRECTIVE_RELEASE_REMOTE_TIMEOUT": "3"},
                              what="unreachable")
    assert unreachable.returncode == 1, unreachable.stderr
    leaks += found
    paths += 1

    # interrupted right after the push (the undo deletes the remote branch with the same
    # credentials), then killed there and finished with --recover (which does the same)
    for kind, code in (("sigint", 130), ("sigkill", -signal.SIGKILL)):
        setup = _setup(tmp_path, http, source, kind)
        fault = {"DIRECTIVE_RELEASE_FAULT": f"{kind}-after:{PUSH_STEP}"}
        interrupted, found = _run(setup, "patch", "--yes", env=fault, what=kind)
        assert interrupted.returncode == code, interrupted.stderr
        leaks += found
        if kind == "sigkill":
            assert "release/v0.4.2" in git(setup.bare, "branch", "--list", "release/*")
            recovered, found = _run(setup, "--recover", what="--recover")
            assert recovered.returncode == 0, recovered.stderr
            assert "release/" not in git(setup.bare, "branch", "--list", "release/*")
            leaks += found
        paths += 1

    # a corrupt object: refused by the checks
    setup = _setup(tmp_path, http, source, "corrupt")
    _corrupt_head_tree(setup.project)
    corrupt, found = _run(setup, "patch", "--yes", what="corrupt object")
    assert corrupt.returncode == 1 and "cannot read loose object" in corrupt.stderr, corrupt.stderr
    leaks += found
    paths += 1

    # a crash: a programming error while the new pyproject.toml is written, after the checks
    # talked to the server; the unexpected-error path writes its log under XDG_CACHE_HOME
    probe = _setup(tmp_path, http, source, "crash-probe")
    points = tmp_path / f"points-{source}.txt"
    counted = run_driver(["patch", "--yes"], cwd=probe.project.path, roots=[probe.project.path.parent],
                         log=points, env=probe.env)
    assert counted.returncode == 0, counted.stderr
    at = next(n for n, line in enumerate(points.read_text().splitlines(), 1) if line.endswith("work/pyproject.toml.lock"))
    setup = _setup(tmp_path, http, source, "crash")
    before = _occurrences(setup.roots)
    crashed = run_driver(["patch", "--yes"], cwd=setup.project.path, roots=[setup.project.path.parent], at=at,
                         kind="bug", env=setup.env)
    log = Path(setup.env["XDG_CACHE_HOME"]) / "directive-release" / "last-error.log"
    assert crashed.returncode == 1 and "unexpected error" in crashed.stderr and log.exists(), crashed.stderr
    leaks += setup.scan(crashed, before, "crash")
    paths += 1

    print(f"[reliability] secrets via {source}: {paths} paths checked, leaks: {len(leaks)}")
    assert not leaks, "\n".join(leaks)


def _corrupt_head_tree(project: Project) -> None:
    """The checks read the index (its cached tree is valid); the commit step must read the tree itself."""
    tree = project.git("rev-parse", "HEAD^{tree}").strip()
    path = project.path / ".git" / "objects" / tree[:2] / tree[2:]
    path.chmod(0o644)
    path.write_bytes(b"not a zlib stream")


def test_the_forms_find_every_encoding() -> None:
    """Guard: each encoding of the sentinel inside longer text is found by one of the forms."""
    payload = f"prefix-{SENTINEL}-suffix".encode()
    for pad in range(4):
        data = b"x" * pad + payload
        encodings = [base64.b64encode(data), base64.urlsafe_b64encode(data), data.hex().encode(),
                     data.hex().upper().encode(), quote(data.decode(), safe="").encode(), data]
        for encoded in encodings:
            assert any(form.encode() in encoded for form in FORMS), (pad, encoded)
    assert not any(form.encode() in base64.b64encode(b"s3cr3t-RELIABILITY-0000") for form in FORMS[4:])


def test_the_scan_finds_a_leak(http: GitHttpServer, tmp_path: Path) -> None:
    """Guard: a hook that writes the token into .git and prints it is caught on both counts."""
    setup = _setup(tmp_path, http, "github-token", "guard")
    hook = setup.project.path / ".git" / "hooks" / "pre-commit"
    hook.write_text('#!/bin/sh\necho "$GITHUB_TOKEN" > .git/leaked\necho "token $GITHUB_TOKEN" >&2\n')
    hook.chmod(0o755)
    _result, found = _run(setup, "patch", "--yes", what="guard")
    assert any("stderr" in leak for leak in found), found
    assert any(leak.endswith("leaked (1 > 0)") for leak in found), found
