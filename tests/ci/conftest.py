"""Fixtures for the CI helpers: a stub GitHub API, pypiserver, a git daemon, a smart-HTTP git server.

All servers listen on 127.0.0.1 only and are always stopped by their fixture.
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from ci_support import ROOT, SENTINEL, StubServer, free_port, tool


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
    base = tmp_path / "served"
    base.mkdir()
    port = free_port()
    process = subprocess.Popen(
        ["git", "daemon", "--reuseaddr", "--export-all", "--enable=receive-pack", "--listen=127.0.0.1",
         f"--port={port}", f"--base-path={base}", str(base)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("git daemon did not start") from None
                time.sleep(0.05)
        yield f"git://127.0.0.1:{port}", base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class HttpGitServer:
    url: str
    root: Path
    authorizations: list[str | None]


@pytest.fixture
def http_git_server(tmp_path: Path) -> Iterator[HttpGitServer]:
    """Smart HTTP with the real ``git http-backend`` (CGI), behind basic auth
    that accepts only ``x-access-token:<SENTINEL>``, like GitHub with a job token."""
    root = tmp_path / "http-served"
    root.mkdir()
    expected = "Basic " + base64.b64encode(f"x-access-token:{SENTINEL}".encode()).decode()
    seen: list[str | None] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().strip(), 16)
                    chunk = self.rfile.read(size)
                    self.rfile.readline()
                    if size == 0:
                        break
                    chunks.append(chunk)
                return b"".join(chunks)
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _serve(self) -> None:
            body = self._body() if self.command == "POST" else b""
            seen.append(self.headers.get("Authorization"))
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            path, _, query = self.path.partition("?")
            env = {
                "PATH": os.environ["PATH"],
                "GIT_PROJECT_ROOT": str(root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "REMOTE_USER": "x-access-token",
                "REQUEST_METHOD": self.command,
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            }
            result = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, timeout=60)
            head, _, payload = result.stdout.partition(b"\r\n\r\n")
            status = 200
            headers = []
            for line in head.decode("latin-1").split("\r\n"):
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.strip().split()[0])
                elif name:
                    headers.append((name, value.strip()))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = _serve
        do_POST = _serve

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield HttpGitServer(f"http://127.0.0.1:{server.server_address[1]}", root, seen)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
