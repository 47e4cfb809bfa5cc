"""Read a remote's release tag and push a new one, through the shared ``git.transport``.

``git.transport`` does the wire work (time-outs, per-ref status checks, one
redacted error line); this module adds what the CI job needs on top:

- The Actions token. With ``actions/checkout``'s ``persist-credentials: false``
  the clone has no credential, so for an http(s) remote on the GitHub server
  (``GITHUB_SERVER_URL``) the job's ``GITHUB_TOKEN`` becomes basic auth
  ``x-access-token:<token>``: sent to that host only, registered as a secret
  so no message can show it.
- The commit a remote tag leads to, also over file:// (which advertises no
  peeled ``^{}`` entries), so a re-run can tell "already released here" from
  "released elsewhere".
- "Created meanwhile": a push refused because the tag appeared since we looked
  is judged like a tag that was there from the start.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import CredentialError, RemoteError
from ..git.config import load_config
from ..git.remote import Remote, parse_url, resolve_remote
from ..git.transport import RefUpdate, list_remote_refs, push
from ..redact import register_secret

if TYPE_CHECKING:
    from ..git.tags import TagStore

PEELED_SUFFIX = "^{}"
DEFAULT_TIMEOUT = 60.0


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str


@dataclass(frozen=True)
class RemoteTag:
    """A tag the remote already has: the tag object and the commit it leads to."""

    sha: str
    commit: str


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


def _with_credentials(url: str, creds: Credentials) -> str:
    parts = urllib.parse.urlsplit(url)
    userinfo = f"{urllib.parse.quote(creds.username, safe='')}:{urllib.parse.quote(creds.password, safe='')}"
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{userinfo}@{parts.netloc}"))


class TagRemote:
    """One remote (a name from git config, or a URL/path), for one release tag."""

    def __init__(self, store: TagStore, remote: str, environ: Mapping[str, str],
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        self.store = store
        self.repository = repository = store.repository
        self.environ = environ
        self.timeout = timeout
        self.config = load_config(repository, environ)
        resolved = resolve_remote(self.config, remote)
        self.shown = resolved.display_url()
        creds = credentials_for(resolved.push_url, environ)
        if creds is not None:
            url = _with_credentials(resolved.push_url, creds)
            resolved = Remote(resolved.name, resolved.fetch_url, url, ())
        self.remote = resolved

    def existing(self, ref: str) -> RemoteTag | None:
        """The remote's ``ref`` and the commit it leads to, or None if absent."""
        refs = self._call(lambda: list_remote_refs(
            self.repository, self.config, self.remote, timeout=self.timeout, for_push=True, env=self.environ))
        sha = refs.get(ref)
        if sha is None:
            return None
        return RemoteTag(sha, refs.get(ref + PEELED_SUFFIX) or self._peel(ref, sha))

    def push_new(self, ref: str, tag_sha: str) -> RemoteTag | None:
        """Create ``ref`` -> ``tag_sha`` (never overwrite). None when pushed, else the tag found there."""
        try:
            self._call(lambda: push(self.repository, self.config, self.remote, [RefUpdate(ref, None, tag_sha)],
                                    timeout=self.timeout, env=self.environ))
        except RemoteError:
            # Refused because the tag appeared meanwhile? Then judge that tag; else the error stands.
            found = self.existing(ref)
            if found is not None and found.sha != tag_sha:
                return found
            raise
        return None

    def _peel(self, ref: str, sha: str) -> str:
        """The commit behind a remote tag object (file:// advertises no ``^{}`` entries)."""
        if not self.store.has_object(sha):
            parts = parse_url(self.remote.push_url)
            if parts.kind != "local":
                raise RemoteError(
                    f"{self.shown} has {ref} at {sha[:12]} without saying which commit it tags;"
                    f" fetch it (git fetch {self.remote.name} tag {ref.removeprefix('refs/tags/')}) and re-run"
                )
            # Copy only the tag objects, so the local ref can match the remote's.
            return self.store.copy_tag_from(parts.path, sha)
        return self.store.peel(sha)

    def _call(self, operation: Any) -> Any:
        try:
            return operation()
        except CredentialError:
            raise CredentialError(
                f"push to {self.shown}: authentication failed; the job needs 'permissions: contents: write'"
                " and GITHUB_TOKEN in the step's environment"
            ) from None
