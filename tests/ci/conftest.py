"""Fixtures for the CI helpers: a stub GitHub API, pypiserver, a git daemon, a smart-HTTP git server.

All servers listen on 127.0.0.1 only and are always stopped by their fixture.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from ci_support import ROOT, SENTINEL, StubServer, free_port, tool
from servers import GitHttpServer, start_git_daemon, start_http_server


@pytest.fixture
def github_stub() -> Iterator[StubServer]:
    with StubServer() as stub:
        yield stub


@pytest.fixture
def other_stub() -> Iterator[StubServer]:
    with StubServer() as stub:
        yield stub


# --- pypiserver ------------------------------------------------------------------------------


@dataclass
class PypiServer:
    url: str
    packages: Path

    @property
    def simple_url(self) -> str:
        return f"{self.url}/simple/"


@pytest.fixture
def pypi_server(tmp_path: Path) -> Iterator[PypiServer]:
    packages = tmp_path / "packages"
    packages.mkdir()
    port = free_port()
    log = (tmp_path / "pypiserver.log").open("wb")
    process = subprocess.Popen(
        [tool("pypi-server"), "run", "-i", "127.0.0.1", "-p", str(port), "-a", ".", "-P", ".",
         "--disable-fallback", str(packages)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"pypiserver did not start: {(tmp_path / 'pypiserver.log').read_text()}")
            time.sleep(0.1)
        yield PypiServer(url, packages)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="session")
def built_dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This project's own sdist and wheel, built once per session with the real ``python -m build``."""
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


# --- git servers -----------------------------------------------------------------------------


@pytest.fixture
def git_daemon(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``git daemon`` serving tmp_path/served with receive-pack enabled: (base URL, base dir)."""
    with start_git_daemon(tmp_path / "served") as daemon:
        yield f"git://127.0.0.1:{daemon.port}", daemon.base_path


@dataclass
class HttpGitServer:
    url: str
    root: Path
    server: GitHttpServer

    @property
    def authorizations(self) -> list[str | None]:
        """The Authorization header of every request, as the client sent it."""
        return [request.authorization for request in self.server.requests]


@pytest.fixture
def http_git_server(tmp_path: Path) -> Iterator[HttpGitServer]:
    """Smart HTTP with the real ``git http-backend`` (CGI), behind basic auth
    that accepts only ``x-access-token:<SENTINEL>``, like GitHub with a job token."""
    root = tmp_path / "http-served"
    with start_http_server(root, username="x-access-token", password=SENTINEL) as server:
        yield HttpGitServer(f"http://127.0.0.1:{server.port}", root, server)
