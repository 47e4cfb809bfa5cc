"""Real git servers on 127.0.0.1 for tests, always stopped when the test ends.

- :func:`start_git_daemon` / fixture ``git_daemon``: ``git daemon --export-all
  --enable=receive-pack --reuseaddr --base-path=<dir>`` on a free port;
  ``daemon.url("r.git")`` is ``git://127.0.0.1:PORT/r.git``.
- :func:`start_http_server` / fixture ``http_server``: smart HTTP through
  ``git http-backend`` (CGI) behind a stdlib HTTP server, optionally with basic
  auth, TLS (``tls=``), HTTP/1.1 keep-alive (``keep_alive=``) and a server that
  silently closes each kept connection after answering (``drop_idle=``); every
  request is recorded (method, path, user, status, headers, client port) so a
  test can see which server received what, on which connection, and how many
  401s were sent.
- :func:`make_tls_files` / fixture ``tls_files``: a CA and a server certificate
  for 127.0.0.1 (IP SAN) and localhost, made at test time with ``cryptography``.
- :func:`start_canned_server`: answers every request with one fixed response
  (a redirect, a dumb-HTTP page, a gzip body), recording the requests.
- :func:`start_proxy`: an HTTP proxy (CONNECT tunnels and absolute-form
  forwarding), optionally asking for basic credentials or refusing CONNECT;
  records each request line with its ``Proxy-Authorization``.
- :func:`start_silent_server`: accepts connections and never answers (time-outs).
- :func:`start_dropping_proxy`: forwards to a server and cuts both sockets once
  the client has sent ``client_bytes`` bytes (a connection dropped mid-push).
- :func:`start_one_answer_server`: answers the first request of each connection
  (kept alive) and closes the connection when a second one arrives on it: a
  kept connection lost at the moment a request is sent.
- :func:`make_bare`: a bare repository, optionally with a rejecting pre-receive hook.

Import what you need: ``from servers import git_daemon, make_bare`` (``tests/`` is
on ``sys.path`` through its conftest). Servers run in their own process group
(git daemon) or in daemon threads and are stopped in ``finally`` blocks.
"""

from __future__ import annotations

import base64
import http.client
import io
import os
import select
import signal
import socket
import socketserver
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:  # cryptography is imported only by the tests that make certificates
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

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
    headers: tuple[tuple[str, str], ...] = ()  # every header, in the order sent
    peer_port: int = 0  # the client's port: one per TCP connection

    def header(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]


@dataclass
class GitHttpServer:
    project_root: Path
    port: int
    username: str | None
    password: str | None
    requests: list[Request] = field(default_factory=list)
    scheme: str = "http"

    def url(self, name: str = "r.git", *, userinfo: str | None = None, host: str = LOOPBACK) -> str:
        auth = f"{userinfo}@" if userinfo else ""
        return f"{self.scheme}://{auth}{host}:{self.port}/{name}"

    @property
    def unauthorized_count(self) -> int:
        return sum(1 for r in self.requests if r.status == 401)


def read_body(rfile: io.BufferedIOBase, headers: http.client.HTTPMessage) -> bytes:
    """A request body, chunked or with a Content-Length, de-chunked."""
    if headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                rfile.readline()
                return b"".join(chunks)
            chunks.append(rfile.read(size))
            rfile.readline()
    length = int(headers.get("Content-Length") or 0)
    return rfile.read(length) if length else b""


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    return read_body(handler.rfile, handler.headers)


def _record(handler: BaseHTTPRequestHandler, user: str | None, status: int) -> Request:
    return Request(handler.command, handler.path, user, status, handler.headers.get("Authorization"),
                   tuple(handler.headers.items()), int(handler.client_address[1]))


def _make_handler(server: GitHttpServer, *, keep_alive: bool = False,
                  drop_idle: bool = False) -> type[BaseHTTPRequestHandler]:
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
                server.requests.append(_record(self, user, 401))
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
            server.requests.append(_record(self, user, status))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            if drop_idle:
                self.close_connection = True  # without a "Connection: close": the client is not told

        do_GET = _handle
        do_POST = _handle

    if keep_alive:
        Handler.protocol_version = "HTTP/1.1"
    return Handler


class _Httpd(ThreadingHTTPServer):
    """A threading HTTP server whose connections are wrapped in TLS (in the handler thread) when asked."""

    daemon_threads = True
    tls: ssl.SSLContext | None = None

    def finish_request(self, request: socket.socket, client_address: tuple[str, int]) -> None:  # type: ignore[override]
        request.settimeout(30)
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        try:
            wrapped = self.tls.wrap_socket(request, server_side=True)
        except OSError:  # a client that does not trust the certificate hangs up in the handshake
            return
        try:
            super().finish_request(wrapped, client_address)
        finally:
            wrapped.close()


@contextmanager
def _serve(handler: type[BaseHTTPRequestHandler], tls: TlsFiles | None) -> Iterator[int]:
    httpd = _Httpd((LOOPBACK, 0), handler)
    httpd.tls = tls.server_context() if tls is not None else None
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield int(httpd.server_address[1])
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@contextmanager
def start_http_server(project_root: Path, *, username: str | None = None, password: str | None = None,
                      tls: TlsFiles | None = None, keep_alive: bool = False,
                      drop_idle: bool = False) -> Iterator[GitHttpServer]:
    """Smart HTTP for every repository under ``project_root``; basic auth when ``username`` is set.

    ``tls``: https with that certificate. ``keep_alive``: HTTP/1.1, connections kept
    open between requests. ``drop_idle``: each connection is closed after one answer
    although HTTP/1.1 promised to keep it (a server's keep-alive time-out, at once).
    """
    project_root.mkdir(parents=True, exist_ok=True)
    state = GitHttpServer(project_root, 0, username, password, scheme="https" if tls else "http")
    with _serve(_make_handler(state, keep_alive=keep_alive or drop_idle, drop_idle=drop_idle), tls) as port:
        state.port = port
        yield state


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[GitHttpServer]:
    """Anonymous smart HTTP server over ``tmp_path / "http"`` (pushes allowed)."""
    with start_http_server(tmp_path / "http") as server:
        yield server


# --- TLS -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TlsFiles:
    """PEM files: ``ca`` is what a client trusts; ``cert``/``key`` (signed by it) are the server's."""

    ca: Path
    cert: Path
    key: Path
    other_ca: Path  # a CA that did not sign ``cert``: trusting it alone must fail

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context


def _make_ca(name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make_tls_files(directory: Path) -> TlsFiles:
    """A test CA and a server certificate for 127.0.0.1 (IP SAN) and localhost, signed by it."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = _make_ca("directive-release test CA")
    _, other_cert = _make_ca("some other CA")
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, LOOPBACK)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(LOOPBACK)),
                                                    x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server.key",
                     directory / "other-ca.pem")
    pem = serialization.Encoding.PEM
    files.ca.write_bytes(ca_cert.public_bytes(pem))
    files.other_ca.write_bytes(other_cert.public_bytes(pem))
    files.cert.write_bytes(cert.public_bytes(pem))
    files.key.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return files


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


# --- canned answers ---------------------------------------------------------------------------


@dataclass
class CannedServer:
    port: int
    scheme: str
    requests: list[Request] = field(default_factory=list)

    def url(self, name: str = "r.git") -> str:
        return f"{self.scheme}://{LOOPBACK}:{self.port}/{name}"


@contextmanager
def start_canned_server(status: int, headers: list[tuple[str, str]], body: bytes = b"", *,
                        tls: TlsFiles | None = None) -> Iterator[CannedServer]:
    """Answers every GET and POST with ``status``, ``headers`` and ``body`` (HTTP/1.1, kept alive)."""
    state = CannedServer(0, "https" if tls else "http")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
            return

        def _handle(self) -> None:
            _read_body(self)
            state.requests.append(_record(self, None, status))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = _handle
        do_POST = _handle

    with _serve(Handler, tls) as port:
        state.port = port
        yield state


# --- an HTTP proxy ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProxyRequest:
    line: str  # "CONNECT 127.0.0.1:443 HTTP/1.0", "GET http://127.0.0.1:80/r.git/... HTTP/1.1"
    authorization: str | None  # the Proxy-Authorization header as received


@dataclass
class ProxyServer:
    port: int
    username: str | None
    password: str | None
    refuse_connect: bool
    requests: list[ProxyRequest] = field(default_factory=list)

    def url(self, userinfo: str | None = None) -> str:
        auth = f"{userinfo}@" if userinfo else ""
        return f"http://{auth}{LOOPBACK}:{self.port}"


def _pump(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    while True:
        ready, _, _ = select.select([a, b], [], [], 30)
        if not ready:
            return
        for sock in ready:
            data = sock.recv(65536)
            if not data:
                return
            (b if sock is a else a).sendall(data)


def _make_proxy_handler(state: ProxyServer) -> type[socketserver.StreamRequestHandler]:
    class Handler(socketserver.StreamRequestHandler):
        def reply(self, status: str, extra: str = "") -> None:
            self.wfile.write(f"HTTP/1.1 {status}\r\n{extra}Content-Length: 0\r\n\r\n".encode("ascii"))

        def authorized(self, value: str | None) -> bool:
            if state.username is None:
                return True
            token = base64.b64encode(f"{state.username}:{state.password}".encode()).decode("ascii")
            return value == f"Basic {token}"

        def handle(self) -> None:
            while True:
                line = self.rfile.readline(65537)
                if not line.strip():
                    return
                headers = http.client.parse_headers(self.rfile)
                auth = headers.get("Proxy-Authorization")
                state.requests.append(ProxyRequest(line.decode("latin-1").strip(), auth))
                method, target, _ = line.decode("latin-1").split()
                body = b"" if method == "CONNECT" else read_body(self.rfile, headers)
                if not self.authorized(auth):
                    self.reply("407 Proxy Authentication Required", 'Proxy-Authenticate: Basic realm="p"\r\n')
                    continue
                if method == "CONNECT":
                    self.tunnel(target)
                    return
                self.forward(method, target, headers, body)

        def tunnel(self, target: str) -> None:
            if state.refuse_connect:
                self.reply("403 Forbidden")
                return
            host, _, port = target.rpartition(":")
            with socket.create_connection((host.strip("[]"), int(port)), timeout=30) as upstream:
                self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                _pump(self.connection, upstream)

        def forward(self, method: str, target: str, headers: http.client.HTTPMessage, body: bytes) -> None:
            """One absolute-form request to its server (``Connection: close``), the answer back as is."""
            split = urlsplit(target)
            path = split.path + (f"?{split.query}" if split.query else "")
            lines = [f"{method} {path} HTTP/1.1"]
            skip = ("proxy-authorization", "connection", "transfer-encoding", "content-length")
            lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() not in skip]
            lines += [f"Content-Length: {len(body)}", "Connection: close"]
            request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
            with socket.create_connection((split.hostname, split.port or 80), timeout=30) as upstream:
                upstream.sendall(request)
                while data := upstream.recv(65536):
                    self.wfile.write(data)

    return Handler


@contextmanager
def start_proxy(*, username: str | None = None, password: str | None = None,
                refuse_connect: bool = False) -> Iterator[ProxyServer]:
    """An HTTP proxy on 127.0.0.1; with ``username`` it answers 407 without the right Basic credentials."""
    state = ProxyServer(0, username, password, refuse_connect)
    server = socketserver.ThreadingTCPServer((LOOPBACK, 0), _make_proxy_handler(state))
    server.daemon_threads = True
    state.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --- misbehaving servers ---------------------------------------------------------------------


@dataclass
class RawServer:
    port: int
    connections: list[socket.socket] = field(default_factory=list)


@contextmanager
def _accepting(on_connection: Callable[[socket.socket], None]) -> Iterator[int]:
    """A listener on 127.0.0.1 (its port is yielded) handing each connection to ``on_connection``,
    from one accept thread; stopped and closed when the block ends."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((LOOPBACK, 0))
    listener.listen(8)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            ready, _, _ = select.select([listener], [], [], 0.05)
            if ready:
                conn, _ = listener.accept()
                on_connection(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


@contextmanager
def start_silent_server() -> Iterator[RawServer]:
    """Accepts every connection and never sends a byte (a hung server)."""
    connections: list[socket.socket] = []
    with _accepting(connections.append) as port:
        try:
            yield RawServer(port, connections)
        finally:
            for conn in connections:
                conn.close()


@dataclass
class OneAnswerServer(RawServer):
    request_lines: list[str] = field(default_factory=list)
    accepted: int = 0

    def url(self, name: str = "r.git") -> str:
        return f"http://{LOOPBACK}:{self.port}/{name}"


@contextmanager
def start_one_answer_server(answer: bytes, *, close_after: bool = False) -> Iterator[OneAnswerServer]:
    """``answer`` (a whole HTTP/1.1 response) to the first request of each connection; at the
    second request line on the same connection, the connection is closed without a byte.
    ``close_after``: closed right after ``answer`` (an answer cut short, or not HTTP at all)."""
    state = OneAnswerServer(0)

    def serve(conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as rfile:
            for index in range(2):
                line = rfile.readline()
                if not line:
                    return
                state.request_lines.append(line.decode("latin-1").strip())
                if index:
                    return
                read_body(rfile, http.client.parse_headers(rfile))
                conn.sendall(answer)
                if close_after:
                    return

    def on_connection(conn: socket.socket) -> None:
        state.accepted += 1
        threading.Thread(target=serve, args=(conn,), daemon=True).start()

    with _accepting(on_connection) as port:
        state.port = port
        yield state


@contextmanager
def start_dropping_proxy(target_port: int, client_bytes: int) -> Iterator[RawServer]:
    """Forwards to ``127.0.0.1:target_port``; after ``client_bytes`` from the client, cuts both sides."""
    state = RawServer(0)
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

    try:
        with _accepting(lambda conn: threading.Thread(target=pump, args=(conn,), daemon=True).start()) as port:
            state.port = port
            yield state
    finally:
        stop.set()
