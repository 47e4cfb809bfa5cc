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
    method: str = "GET"
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body)


class StubServer:
    """A ThreadingHTTPServer whose answers per path are queued by the test.

    ``route(path, *responses)``: each request to ``path`` takes the next
    response; the last one repeats. Unknown paths get 404 like GitHub.
    Other methods than GET are routed as ``"POST /path"``; a route may also be
    a callable taking the :class:`RecordedRequest` (a stateful fake).
    """

    def __init__(self) -> None:
        self.routes: dict[str, list[StubResponse]] = {}
        self.requests: list[RecordedRequest] = []
        self.handler: Any = None  # callable(RecordedRequest) -> StubResponse for paths with no route
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                self._answer("GET")

            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                self._answer("POST")

            def do_PATCH(self) -> None:  # noqa: N802 (http.server API)
                self._answer("PATCH")

            def do_DELETE(self) -> None:  # noqa: N802 (http.server API)
                self._answer("DELETE")

            def _answer(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = RecordedRequest(self.path, {k.lower(): v for k, v in self.headers.items()}, method, body)
                stub.requests.append(request)
                key = self.path if method == "GET" else f"{method} {self.path}"
                handler = stub.handler
                queue = stub.routes.get(key)
                if handler is not None and queue is None:
                    response = handler(request)
                else:
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


# --- a stateful fake of GitHub's release endpoints ------------------------------------------------


class FakeReleases:
    """GitHub's release, commit and asset endpoints for one repository, kept in memory.

    ``tags`` maps a tag name to the commit it leads to (what the tag job pushed);
    releases are created by POST and found again by GET, assets are uploaded to the
    ``upload_url`` the release names (on the stub's own origin, like GHES).
    Requests without ``Authorization: Bearer <token>`` get 401, like GitHub.
    """

    def __init__(self, stub: StubServer, repository: str, token: str) -> None:
        self.stub = stub
        self.repository = repository
        self.token = token
        self.tags: dict[str, str] = {}
        self.releases: dict[str, dict[str, Any]] = {}
        self.assets: dict[int, dict[str, bytes]] = {}
        stub.handler = self

    def __call__(self, request: RecordedRequest) -> StubResponse:
        import urllib.parse

        if request.headers.get("authorization") != f"Bearer {self.token}":
            return StubResponse(401, {"message": "Bad credentials"})
        url = urllib.parse.urlsplit(request.path)
        base = f"/repos/{self.repository}"
        path = urllib.parse.unquote(url.path)
        if request.method == "GET" and path.startswith(f"{base}/releases/tags/"):
            release = self.releases.get(path.removeprefix(f"{base}/releases/tags/"))
            return StubResponse(200, self._shown(release)) if release else StubResponse(404, {"message": "Not Found"})
        if request.method == "GET" and path.startswith(f"{base}/commits/"):
            sha = self.tags.get(path.removeprefix(f"{base}/commits/"))
            return StubResponse(200, {"sha": sha}) if sha else StubResponse(422, {"message": "No commit found"})
        if request.method == "POST" and path == f"{base}/releases":
            payload = request.json()
            tag = payload["tag_name"]
            if tag in self.releases:
                return StubResponse(422, {"message": "Validation Failed", "errors": [{"code": "already_exists"}]})
            self.tags.setdefault(tag, payload["target_commitish"])
            number = len(self.releases) + 1
            self.releases[tag] = {
                "id": number, "tag_name": tag, "name": payload.get("name"),
                "target_commitish": payload["target_commitish"],
                "generate_release_notes": payload.get("generate_release_notes"),
                "body": "## What's Changed\n* generated", "draft": payload.get("draft", False),
                "html_url": f"https://github.example/{self.repository}/releases/tag/{tag}",
                "upload_url": f"{self.stub.url}/uploads{base}/releases/{number}/assets{{?name,label}}",
            }
            self.assets[number] = {}
            return StubResponse(201, self._shown(self.releases[tag]))
        if request.method == "POST" and path.startswith(f"/uploads{base}/releases/"):
            number = int(path.split("/")[-2])
            name = urllib.parse.parse_qs(url.query)["name"][0]
            if request.headers.get("content-type") != "application/octet-stream":
                return StubResponse(415, {"message": "Unsupported Media Type"})
            if name in self.assets.get(number, {}):
                return StubResponse(422, {"message": "Validation Failed", "errors": [{"code": "already_exists"}]})
            self.assets.setdefault(number, {})[name] = request.body
            return StubResponse(201, {"name": name, "size": len(request.body)})
        return StubResponse(404, {"message": "Not Found"})

    def _shown(self, release: dict[str, Any]) -> dict[str, Any]:
        assets = self.assets.get(release["id"], {})
        return {**release, "assets": [{"name": name, "size": len(data)} for name, data in assets.items()]}


def copy_version_sources(project: Path) -> None:
    """This repository's pyproject.toml and every file it names as a version copy, into ``project``."""
    (project / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    init = Path("src/directive_release/__init__.py")
    (project / init).parent.mkdir(parents=True, exist_ok=True)
    (project / init).write_text((ROOT / init).read_text())
