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
from enum import Enum
from typing import Any

from ..errors import CredentialError, RefExistsError, RemoteError
from ..redact import redact, redact_url, register_secret

PEELED_SUFFIX = b"^{}"
DEFAULT_TIMEOUT = 60.0


class PushOutcome(Enum):
    PUSHED = "pushed"
    ALREADY_THERE = "already there"


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


def push_tag(
    repo: Any,
    url: str,
    ref: bytes,
    tag_sha: bytes,
    commit_sha: bytes,
    environ: Mapping[str, str],
    timeout: float = DEFAULT_TIMEOUT,
) -> PushOutcome:
    """Create ``ref`` -> ``tag_sha`` on the remote unless it already leads to ``commit_sha``.

    Fails (:class:`RefExistsError`) if the remote tag leads to another commit,
    and (:class:`RemoteError`) if the remote rejects or cannot be reached.
    ``commit_sha`` must already be on the remote (it was pushed to the base
    branch), so only the tag object itself is sent: this works from a
    shallow CI clone.
    """
    from dulwich.client import get_transport_and_path

    shown = redact_url(url)
    creds = credentials_for(url, environ)
    with _socket_timeout(timeout), _remote_errors(shown):
        client, path = get_transport_and_path(
            url,
            config=repo.get_config_stack(),
            operation="push",
            quiet=True,
            username=creds.username if creds else None,
            password=creds.password if creds else None,
        )
        advertised = client.get_refs(path).refs
        existing = advertised.get(ref)
        if existing is not None:
            return _compare_existing(repo, client, path, advertised, ref, existing, tag_sha, commit_sha, shown)

        raced: dict[bytes, bytes] = {}

        def update_refs(refs: dict[bytes, bytes]) -> dict[bytes, bytes]:
            if ref in refs:  # created between our read and our push: decide below, never overwrite
                raced[ref] = refs[ref]
                return {}
            return {ref: tag_sha}

        def generate_pack_data(have: Any, want: Any, ofs_delta: bool = False, progress: Any = None) -> Any:
            store = repo.object_store
            known = {sha for sha in have if sha in store} | {commit_sha}
            return store.generate_pack_data(
                known, want, shallow=repo.get_shallow(), ofs_delta=ofs_delta, progress=progress
            )

        result = client.send_pack(path, update_refs, generate_pack_data)
        if raced:
            return _compare_existing(repo, client, path, {}, ref, raced[ref], tag_sha, commit_sha, shown)
        failures = {name: status for name, status in (result.ref_status or {}).items() if status is not None}
        if failures:
            detail = "; ".join(f"{name.decode('utf-8', 'replace')}: {status}" for name, status in failures.items())
            raise RemoteError(redact(f"{shown} rejected the tag push ({detail})"))
        return PushOutcome.PUSHED


def _compare_existing(
    repo: Any,
    client: Any,
    path: str,
    advertised: Mapping[bytes, bytes | None],
    ref: bytes,
    existing: bytes,
    tag_sha: bytes,
    commit_sha: bytes,
    shown: str,
) -> PushOutcome:
    if existing == tag_sha:
        return PushOutcome.ALREADY_THERE
    target = advertised.get(ref + PEELED_SUFFIX) or _peel(repo, client, path, existing)
    if target == commit_sha:
        return PushOutcome.ALREADY_THERE
    name = ref.decode("utf-8", "replace").removeprefix("refs/tags/")
    raise RefExistsError(
        f"tag {name} on {shown} points to {target.decode()[:12]}, not to {commit_sha.decode()[:12]};"
        " a different commit was released under this version: delete that tag or release a new version"
    )


def _peel(repo: Any, client: Any, path: str, sha: bytes) -> bytes:
    """The commit a remote tag leads to; fetches the tag object if this clone lacks it."""
    from dulwich.object_store import peel_sha

    if sha not in repo.object_store:
        client.fetch(path, repo, determine_wants=lambda refs, depth=None: [sha])
    return peel_sha(repo.object_store, sha)[1].id


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
