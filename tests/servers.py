"""Real git servers on 127.0.0.1 for tests, always stopped when the test ends.

- :func:`start_git_daemon` / fixture ``git_daemon``: ``git daemon --export-all
  --enable=receive-pack --reuseaddr --base-path=<dir>`` on a free port;
  ``daemon.url("r.git")`` is ``git://127.0.0.1:PORT/r.git``.
- :func:`start_http_server` / fixture ``http_server``: smart HTTP through
  ``git http-backend`` (CGI) behind a stdlib HTTP server, optionally with basic
  auth; every request is recorded (method, path, user, status) so a test can see
  which server received what, and how many 401s were sent.
- :func:`start_silent_server`: accepts connections and never answers (time-outs).
- :func:`start_dropping_proxy`: forwards to a server and cuts both sockets once
  the client has sent ``client_bytes`` bytes (a connection dropped mid-push).
- :func:`make_bare`: a bare repository, optionally with a rejecting pre-receive hook.

Import what you need: ``from servers import git_daemon, make_bare`` (``tests/`` is
on ``sys.path`` through its conftest). Servers run in their own process group
(git daemon) or in daemon threads and are stopped in ``finally`` blocks.
"""

from __future__ import annotations

import base64
import os
import select
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

LOOPBACK = "127.0.0.1"
START_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def make_bare(base: Path, name: str = "r.git", *, reject_message: str | None = None) -> Path:
    """``git init --bare base/name``; with ``reject_message`` a pre-receive hook prints it and exits 1."""
    path = base / name
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True,
                   capture_output=True)
    if reject_message is not None:
        hook = path / "hooks" / "pre-receive"
        hook.write_text(f"#!/bin/sh\necho '{reject_message}' >&2\nexit 1\n")
        hook.chmod(0o755)
    return path


# --- git daemon -------------------------------------------------------------------------


@dataclass
class GitDaemon:
    base_path: Path
    port: int
    process: subprocess.Popen[bytes]

    def url(self, name: str = "r.git") -> str:
        return f"git://{LOOPBACK}:{self.port}/{name}"


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    else:
        # The daemon may be gone while forked children still serve a client.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@contextmanager
def start_git_daemon(base_path: Path) -> Iterator[GitDaemon]:
    """A ``git daemon`` serving ``base_path`` (read and write) until the block ends."""
    base_path.mkdir(parents=True, exist_ok=True)
    last_log = ""
    for _attempt in range(3):  # the free port may be taken between probe and bind
        port = free_port()
        log = base_path.parent / f"git-daemon-{port}.log"
        with open(log, "wb") as log_file:
            process = subprocess.Popen(
                ["git", "daemon", "--verbose", "--export-all", "--enable=receive-pack", "--reuseaddr",
                 f"--base-path={base_path}", f"--listen={LOOPBACK}", f"--port={port}", str(base_path)],
                stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file, start_new_session=True,
            )
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline and process.poll() is None:
                last_log = log.read_text(errors="replace")
                if "Ready to rumble" in last_log:
                    break
                time.sleep(0.02)
            if "Ready to rumble" in last_log and process.poll() is None:
                yield GitDaemon(base_path, port, process)
                return
        finally:
            _stop_group(process)
    raise RuntimeError(f"git daemon did not start: {last_log}")


@pytest.fixture
def git_daemon(tmp_path: Path) -> Iterator[GitDaemon]:
    """A git daemon whose base path is ``tmp_path / "daemon"``."""
    with start_git_daemon(tmp_path / "daemon") as daemon:
        yield daemon


# --- smart HTTP via git http-backend -------------------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    user: str | None
    status: int
    authorization: str | None = None  # the raw header, to see exactly what a client sent


@dataclass
class GitHttpServer:
    project_root: Path
    port: int
    username: str | None
    password: str | None
    requests: list[Request] = field(default_factory=list)

    def url(self, name: str = "r.git", *, userinfo: str | None = None) -> str:
        auth = f"{userinfo}@" if userinfo else ""
        return f"http://{auth}{LOOPBACK}:{self.port}/{name}"

    @property
    def unauthorized_count(self) -> int:
        return sum(1 for r in self.requests if r.status == 401)


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                handler.rfile.readline()
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def _make_handler(server: GitHttpServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
            return  # keep test output clean

        def _user(self) -> tuple[bool, str | None]:
            if server.username is None:
                return True, "anonymous"
            header = self.headers.get("Authorization", "")
            if not header.lower().startswith("basic "):
                return False, None
            try:
                user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
            except ValueError:
                return False, None
            return (user == server.username and password == server.password), user

        def _handle(self) -> None:
            body = _read_body(self) if self.command == "POST" else b""
            ok, user = self._user()
            path, _, query = self.path.partition("?")
            if not ok:
                server.requests.append(Request(self.command, self.path, user, 401,
                                               self.headers.get("Authorization")))
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            env = {
                **os.environ,
                "GIT_PROJECT_ROOT": str(server.project_root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "REQUEST_METHOD": self.command,
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "REMOTE_USER": user or "",
                "REMOTE_ADDR": self.client_address[0],
                "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            }
            result = subprocess.run(["git", "http-backend"], input=body, env=env,
                                    capture_output=True, timeout=60)
            head, _, payload = result.stdout.partition(b"\r\n\r\n")
            if not _:
                head, _, payload = result.stdout.partition(b"\n\n")
            status = 200
            headers: list[tuple[str, str]] = []
            for line in head.decode("latin-1").splitlines():
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.strip().split()[0])
                elif name:
                    headers.append((name, value.strip()))
            server.requests.append(Request(self.command, self.path, user, status,
                                           self.headers.get("Authorization")))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = _handle
        do_POST = _handle

    return Handler


@contextmanager
def start_http_server(project_root: Path, *, username: str | None = None,
                      password: str | None = None) -> Iterator[GitHttpServer]:
    """Smart HTTP for every repository under ``project_root``; basic auth when ``username`` is set."""
    project_root.mkdir(parents=True, exist_ok=True)
    state = GitHttpServer(project_root, 0, username, password)
    httpd = ThreadingHTTPServer((LOOPBACK, 0), _make_handler(state))
    httpd.daemon_threads = True
    state.port = int(httpd.server_address[1])
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[GitHttpServer]:
    """Anonymous smart HTTP server over ``tmp_path / "http"`` (pushes allowed)."""
    with start_http_server(tmp_path / "http") as server:
        yield server


# --- misbehaving servers ---------------------------------------------------------------------


@dataclass
class RawServer:
    port: int
    connections: list[socket.socket] = field(default_factory=list)


@contextmanager
def start_silent_server() -> Iterator[RawServer]:
    """Accepts every connection and never sends a byte (a hung server)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((LOOPBACK, 0))
    listener.listen(8)
    state = RawServer(int(listener.getsockname()[1]))
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            ready, _, _ = select.select([listener], [], [], 0.05)
            if ready:
                conn, _ = listener.accept()
                state.connections.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in state.connections:
            conn.close()
        listener.close()


@contextmanager
def start_dropping_proxy(target_port: int, client_bytes: int) -> Iterator[RawServer]:
    """Forwards to ``127.0.0.1:target_port``; after ``client_bytes`` from the client, cuts both sides."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((LOOPBACK, 0))
    listener.listen(8)
    state = RawServer(int(listener.getsockname()[1]))
    stop = threading.Event()

    def pump(client: socket.socket) -> None:
        upstream = socket.create_connection((LOOPBACK, target_port))
        state.connections += [client, upstream]
        sent = 0
        try:
            while not stop.is_set():
                ready, _, _ = select.select([client, upstream], [], [], 0.05)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if sock is client:
                        allowed = data[: max(0, client_bytes - sent)]
                        sent += len(data)
                        if allowed:
                            upstream.sendall(allowed)
                        if sent >= client_bytes:
                            return
                    else:
                        client.sendall(data)
        except OSError:
            return
        finally:
            for sock in (client, upstream):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()

    def accept() -> None:
        while not stop.is_set():
            ready, _, _ = select.select([listener], [], [], 0.05)
            if ready:
                conn, _ = listener.accept()
                threading.Thread(target=pump, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
