"""Push one tag to a remote with dulwich, idempotently, with the Actions token.

Stand-in until ``directive_release.git.transport`` (push with per-ref status
checks, credentials, time-outs) can be shared: the CI helper needs only
"read the remote's refs, push one new tag, fail on any rejected ref".

With ``actions/checkout``'s ``persist-credentials: false`` the clone has no
credential, so for an https remote on the GitHub server (``GITHUB_SERVER_URL``)
the job's ``GITHUB_TOKEN`` is used as basic auth ``x-access-token:<token>``.
It is sent to that host only and never printed: every message here goes
through :func:`redact`.
"""

from __future__ import annotations

import socket
import urllib.parse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..errors import CredentialError, RefExistsError, RemoteError
from ..redact import redact, redact_url, register_secret

PEELED_SUFFIX = b"^{}"
DEFAULT_TIMEOUT = 60.0


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str


def remote_url(repo: Any, remote: str) -> str:
    """A remote name's push URL (``pushurl`` first, as git does), or ``remote`` itself if it is a URL/path."""
    if "/" in remote or ":" in remote:
        return remote
    config = repo.get_config_stack()
    section = (b"remote", remote.encode())
    for key in (b"pushurl", b"url"):
        try:
            return config.get(section, key).decode("utf-8")
        except KeyError:
            continue
    raise RemoteError(f"no remote named {remote!r}; pass --remote URL or add it (git remote add {remote} URL)")


def credentials_for(url: str, environ: Mapping[str, str]) -> Credentials | None:
    """``x-access-token:$GITHUB_TOKEN`` for the GitHub server's own http(s) URLs only."""
    token = environ.get("GITHUB_TOKEN")
    if not token:
        return None
    target = urllib.parse.urlsplit(url)
    if target.scheme not in ("https", "http") or target.username or target.password:
        return None
    server = urllib.parse.urlsplit(environ.get("GITHUB_SERVER_URL") or "https://github.com")
    if (target.scheme, target.hostname, target.port) != (server.scheme, server.hostname, server.port):
        return None
    register_secret(token)
    return Credentials("x-access-token", token)


@dataclass(frozen=True)
class RemoteTag:
    """A tag the remote already has: the tag object and the commit it leads to."""

    sha: bytes
    commit: bytes


class TagRemote:
    """One remote, for one tag: read what it has, then push a new tag if needed.

    Errors are one redacted line: :class:`CredentialError`, :class:`RemoteError`.
    """

    def __init__(self, repo: Any, url: str, environ: Mapping[str, str], timeout: float = DEFAULT_TIMEOUT) -> None:
        self.repo = repo
        self.shown = redact_url(url)
        self.timeout = timeout
        creds = credentials_for(url, environ)
        from dulwich.client import get_transport_and_path

        with self._guard():
            self.client, self.path = get_transport_and_path(
                url,
                config=repo.get_config_stack(),
                operation="push",
                quiet=True,
                username=creds.username if creds else None,
                password=creds.password if creds else None,
            )

    def existing(self, ref: bytes) -> RemoteTag | None:
        """The remote's ``ref``, peeled to its commit (fetching the tag object if this clone lacks it)."""
        with self._guard():
            refs = self.client.get_refs(self.path).refs
            sha = refs.get(ref)
            if sha is None:
                return None
            return RemoteTag(sha, refs.get(ref + PEELED_SUFFIX) or self._peel(sha))

    def push_new(self, ref: bytes, tag_sha: bytes, commit_sha: bytes) -> RemoteTag | None:
        """Create ``ref`` -> ``tag_sha``; never overwrite.

        Returns None when pushed, or the remote's tag if one appeared meanwhile.
        ``commit_sha`` must already be on the remote (it was pushed to the base
        branch), so only the tag object is sent: this works from a shallow clone.
        """
        raced: list[bytes] = []
        repo = self.repo

        def update_refs(refs: dict[bytes, bytes]) -> dict[bytes, bytes]:
            if ref in refs:
                raced.append(refs[ref])
                return {}
            return {ref: tag_sha}

        def generate_pack_data(have: Any, want: Any, ofs_delta: bool = False, progress: Any = None) -> Any:
            store = repo.object_store
            known = {sha for sha in have if sha in store} | {commit_sha}
            return store.generate_pack_data(
                known, want, shallow=repo.get_shallow(), ofs_delta=ofs_delta, progress=progress
            )

        with self._guard():
            result = self.client.send_pack(self.path, update_refs, generate_pack_data)
            if raced:
                return RemoteTag(raced[0], self._peel(raced[0]))
        failures = {name: status for name, status in (result.ref_status or {}).items() if status is not None}
        if failures:
            detail = "; ".join(f"{name.decode('utf-8', 'replace')}: {status}" for name, status in failures.items())
            raise RemoteError(redact(f"{self.shown} rejected the tag push ({detail})"))
        return None

    def _peel(self, sha: bytes) -> bytes:
        from dulwich.object_store import peel_sha

        if sha not in self.repo.object_store:
            self.client.fetch(self.path, self.repo, determine_wants=lambda refs, depth=None: [sha])
        return peel_sha(self.repo.object_store, sha)[1].id

    @contextmanager
    def _guard(self) -> Iterator[None]:
        with _socket_timeout(self.timeout), _remote_errors(self.shown):
            yield


@contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


@contextmanager
def _remote_errors(shown: str) -> Iterator[None]:
    """Turn dulwich's transport exceptions into one redacted line."""
    from dulwich.client import HTTPUnauthorized
    from dulwich.errors import GitProtocolError, HangupException, NotGitRepository, ObjectMissing

    try:
        yield
    except (RefExistsError, RemoteError):
        raise
    except HTTPUnauthorized:
        raise CredentialError(
            f"{shown}: authentication failed; the job needs 'contents: write' and GITHUB_TOKEN in its environment"
        ) from None
    except NotGitRepository:
        raise RemoteError(f"{shown}: not a git repository") from None
    except (HangupException, GitProtocolError, ObjectMissing, OSError, KeyError) as exc:
        raise RemoteError(redact(f"{shown}: push failed ({type(exc).__name__}: {exc})")) from None
