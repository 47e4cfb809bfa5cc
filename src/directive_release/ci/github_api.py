"""A minimal GitHub REST client: GET JSON (lists with pagination), POST JSON, upload assets.

Why so strict: the gate must never read an error as "no pull request" (that
would silently skip a release) nor guess a release from a partial answer.
So every unexpected answer, a rate limit, a redirect, a malformed body or a
``next`` link to another host is a :class:`RemoteError`. The token is sent
only to the configured API origin (and, for release assets, to its uploads
host) and never appears in a message.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from ..errors import RemoteError
from ..redact import redact, redact_url, register_secret

API_VERSION = "2022-11-28"
USER_AGENT = "directive-release-ci"
MAX_PAGES = 20
TIMEOUT_SECONDS = 30.0

_LINK_PART = re.compile(r'<(?P<url>[^>]*)>\s*;\s*rel="?(?P<rel>[^";]+)"?')


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """urllib would replay the Authorization header to wherever a 3xx points."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


@dataclass(frozen=True)
class GitHubClient:
    api_url: str
    token: str | None
    timeout: float = TIMEOUT_SECONDS

    def __post_init__(self) -> None:
        register_secret(self.token)

    def get_list(self, path: str, params: dict[str, str]) -> list[Any]:
        """GET every page of a JSON array (``Link: rel="next"``), concatenated."""
        url = f"{self.api_url.rstrip('/')}{path}?{urllib.parse.urlencode(params)}"
        items: list[Any] = []
        for _page in range(MAX_PAGES):
            body, link = self._get(url)
            if not isinstance(body, list):
                raise RemoteError(f"GitHub API {redact_url(_path_of(url))}: expected a JSON array, got {type(body).__name__}")
            items.extend(body)
            next_url = _next_link(link)
            if next_url is None:
                return items
            self._check_same_origin(next_url)
            url = next_url
        raise RemoteError(f"GitHub API {redact_url(_path_of(url))}: more than {MAX_PAGES} pages; refusing to guess")

    def _check_same_origin(self, url: str) -> None:
        want = urllib.parse.urlsplit(self.api_url)
        got = urllib.parse.urlsplit(url)
        if (got.scheme, got.netloc) != (want.scheme, want.netloc):
            raise RemoteError(
                f"GitHub API pagination points to another origin ({redact_url(got.scheme + '://' + got.netloc)});"
                " refusing to send the token there"
            )

    def _get(self, url: str) -> tuple[Any, str]:
        status, body, link = self._request("GET", url)
        return body, link

    def get_json(self, path: str, *, hints: dict[int, str] | None = None,
                 missing: tuple[int, ...] = ()) -> Any | None:
        """GET one JSON document; a status in ``missing`` (e.g. 404) is None instead of an error."""
        url = f"{self.api_url.rstrip('/')}{path}"
        try:
            return self._request("GET", url, hints=hints, missing=missing)[1]
        except _Missing:
            return None

    def post_json(self, path: str, payload: Any, *, hints: dict[int, str] | None = None,
                  accept: tuple[int, ...] = (200, 201)) -> tuple[int, Any]:
        """POST a JSON body; returns (status, JSON) for the statuses in ``accept``."""
        url = f"{self.api_url.rstrip('/')}{path}"
        data = json.dumps(payload).encode("utf-8")
        status, body, _link = self._request("POST", url, data=data, content_type="application/json",
                                            hints=hints, accept=accept)
        return status, body

    def upload(self, upload_url: str, name: str, data: bytes, *, hints: dict[int, str] | None = None) -> Any:
        """POST a release asset to the ``upload_url`` GitHub gave (its ``{?name,label}`` template dropped).

        The token goes there only when that URL is on the API's own origin or on the uploads host
        that belongs to it (``api.github.com`` -> ``uploads.github.com``; GHES ``/api/uploads``).
        """
        base = upload_url.split("{", 1)[0]
        self._check_upload_origin(base)
        url = f"{base}?{urllib.parse.urlencode({'name': name})}"
        return self._request("POST", url, data=data, content_type="application/octet-stream",
                             hints=hints, accept=(201,))[1]

    def _check_upload_origin(self, url: str) -> None:
        want = urllib.parse.urlsplit(self.api_url)
        got = urllib.parse.urlsplit(url)
        allowed = {(want.scheme, want.netloc)}
        if want.netloc == "api.github.com":
            allowed.add(("https", "uploads.github.com"))
        if (got.scheme, got.netloc) not in allowed:
            raise RemoteError(
                f"GitHub API: the release upload URL is on another host ({redact_url(got.scheme + '://' + got.netloc)});"
                " refusing to send the token there"
            )

    def _request(self, method: str, url: str, *, data: bytes | None = None, content_type: str | None = None,
                 hints: dict[int, str] | None = None, accept: tuple[int, ...] = (200,),
                 missing: tuple[int, ...] = ()) -> tuple[int, Any, str]:
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": USER_AGENT,
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        opener = urllib.request.build_opener(_NoRedirects)
        where = f"GitHub API {method} {redact_url(_path_of(url))}"
        try:
            with opener.open(request, timeout=self.timeout) as response:
                status = response.status
                raw = response.read()
                link = response.headers.get("Link", "")
        except urllib.error.HTTPError as exc:
            if exc.code in missing:
                raise _Missing() from None
            if exc.code not in accept:
                raise _http_error(where, exc, hints) from None
            status, raw, link = exc.code, exc.read(), ""  # an error status the caller handles itself
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RemoteError(redact(f"{where}: cannot connect ({reason}); re-run the job")) from None
        if status not in accept:
            raise RemoteError(f"{where}: unexpected HTTP {status}; re-run the job")
        try:
            return status, json.loads(raw), link
        except ValueError:
            raise RemoteError(f"{where}: the response is not JSON; re-run the job") from None


class _Missing(Exception):
    """A 404 the caller asked to see as "absent"."""


def _path_of(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))


def _next_link(header: str) -> str | None:
    for match in _LINK_PART.finditer(header or ""):
        if "next" in match.group("rel").split():
            return match.group("url")
    return None


def _http_error(where: str, exc: urllib.error.HTTPError, extra_hints: dict[int, str] | None = None) -> RemoteError:
    status = exc.code
    headers = exc.headers
    try:
        payload = json.loads(exc.read() or b"{}")
        message = str(payload.get("message", "")) if isinstance(payload, dict) else ""
    except (ValueError, OSError):
        message = ""
    message = redact(message.replace("\n", " ").strip())[:200]
    remaining = headers.get("X-RateLimit-Remaining") if headers else None
    if status == 429 or (status == 403 and (remaining == "0" or "rate limit" in message.lower())):
        reset = headers.get("X-RateLimit-Reset") if headers else None
        retry_after = headers.get("Retry-After") if headers else None
        when = ""
        if reset and reset.isdigit():
            when = f"; the limit resets at {time.strftime('%H:%M:%S UTC', time.gmtime(int(reset)))}"
        elif retry_after and retry_after.isdigit():
            when = f"; retry after {retry_after} s"
        return RemoteError(f"{where}: rate limit exceeded (HTTP {status}){when}; re-run the job then")
    if 300 <= status < 400:
        return RemoteError(f"{where}: redirected (HTTP {status}); check GITHUB_API_URL and GITHUB_REPOSITORY")
    hints = {
        401: "the token is invalid or expired",
        403: "the token lacks permission (the job needs 'pull-requests: read' and 'contents: read')",
        404: "repository or commit not found, or the token cannot see it",
        409: "the repository is empty",
        **(extra_hints or {}),
    }
    hint = hints.get(status, "GitHub could not answer; re-run the job")
    detail = f" ({message})" if message else ""
    return RemoteError(f"{where}: HTTP {status}{detail}; {hint}")
