"""Helpers shared by the CI helper tests (fixtures live in conftest.py)."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# A token shaped like a GitHub one; it must never show up in anything we capture.
SENTINEL = "ghs_SENTINELtoken0123456789abcdefXYZ"
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """A console script installed next to this interpreter (the test venv)."""
    path = BIN / name
    assert path.exists(), f"{name} is not installed in {BIN}; install the test extra (pip install -e '.[test]')"
    return str(path)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def assert_no_secret(*texts: str) -> None:
    encoded = base64.b64encode(f"x-access-token:{SENTINEL}".encode()).decode()
    for text in texts:
        assert SENTINEL not in text
        assert encoded not in text


# --- stub GitHub API -------------------------------------------------------------------------


@dataclass
class StubResponse:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # sent as is (with headers' Content-Type) instead of JSON


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]  # lower-case names: urllib sends "X-github-api-version"


class StubServer:
    """A ThreadingHTTPServer whose answers per path are queued by the test.

    ``route(path, *responses)``: each request to ``path`` takes the next
    response; the last one repeats. Unknown paths get 404 like GitHub.
    """

    def __init__(self) -> None:
        self.routes: dict[str, list[StubResponse]] = {}
        self.requests: list[RecordedRequest] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                stub.requests.append(RecordedRequest(self.path, {k.lower(): v for k, v in self.headers.items()}))
                queue = stub.routes.get(self.path)
                response = (queue.pop(0) if len(queue) > 1 else queue[0]) if queue else StubResponse(404, {"message": "Not Found"})
                if response.raw is not None:
                    payload = response.raw
                else:
                    payload = b"" if response.body is None else json.dumps(response.body).encode()
                self.send_response(response.status)
                if "Content-Type" not in response.headers:
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in response.headers.items():
                    self.send_header(name, value.replace("{base}", stub.url))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def route(self, path: str, *responses: StubResponse) -> None:
        self.routes[path] = list(responses)

    def __enter__(self) -> StubServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def run_ci(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
           timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The installed ``directive-release-ci`` console script, in a real process."""
    return subprocess.run(
        [tool("directive-release-ci"), *args],
        cwd=cwd, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL,
    )


def git(cwd: Path, *args: str) -> str:
    """The git binary, as the oracle and to build scenarios (never used by src/)."""
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=dict(os.environ))
    if result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result.stdout


def read_outputs(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            name, _, value = line.partition("=")
            values[name] = value
    return values
