"""Remote URLs as git resolves them: url, pushurl, insteadOf, pushInsteadOf.

git's rules (remote.c ``alias_all_urls``), reproduced here because dulwich
ignores ``pushurl`` and only applies ``pushInsteadOf`` when told it pushes:

- fetch URL: the first ``remote.<name>.url``, rewritten by the longest
  matching ``url.<base>.insteadOf``;
- push URL: the first ``remote.<name>.pushurl`` (rewritten by ``insteadOf``,
  never by ``pushInsteadOf``); without a pushurl, the URL rewritten by the
  longest matching ``pushInsteadOf``, else by ``insteadOf``.

Several push URLs: git pushes to each in turn, one after another, so a failure
half-way leaves some remotes updated. A release must be all-or-nothing, so we
push to the first one only and keep the others in ``other_push_urls`` for the
caller to mention.
"""

from __future__ import annotations

import os
import re
from typing import NamedTuple
from urllib.parse import quote, unquote, urlsplit

from ..errors import RemoteError
from ..redact import redact, redact_url, register_secret
from .config import GitConfig


class Remote(NamedTuple):
    """Where to fetch from and push to, after every rewrite git applies."""

    name: str
    fetch_url: str
    push_url: str
    # Further push URLs git would also push to; we push to ``push_url`` only.
    other_push_urls: tuple[str, ...] = ()

    def display_url(self) -> str:
        """The push URL, safe to print: no ``user:password@``, no known secret."""
        return redact(strip_userinfo(self.push_url))


def strip_userinfo(url: str) -> str:
    """``https://user:tok@host/x`` -> ``https://host/x`` (scp-like ``git@host:x`` kept)."""
    if "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    authority, sep, tail = rest.partition("/")
    host = authority.rsplit("@", 1)[-1]
    return f"{scheme}://{host}{sep}{tail}"


# --- URL classification (git's connect.c rules) ------------------------------------

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


class UrlParts(NamedTuple):
    """A remote location split the way git's transports see it.

    ``kind`` is one of ``local`` (a path or ``file://``), ``ssh`` (``ssh://``,
    ``git+ssh://`` or scp-like ``[user@]host:path``), ``git``, ``http``, ``https``.
    """

    kind: str
    host: str = ""
    port: int | None = None
    username: str | None = None
    password: str | None = None
    path: str = ""


def is_url_like(location: str) -> bool:
    """True when ``location`` is a URL or scp-like address rather than a remote name."""
    return bool(_SCHEME.match(location)) or not _is_local_not_ssh(location)


def _is_local_not_ssh(location: str) -> bool:
    # git: a colon before any slash makes it scp-like ``host:path``.
    colon = location.find(":")
    slash = location.find("/")
    return colon < 0 or (0 <= slash < colon)


def parse_url(location: str) -> UrlParts:
    """Classify a remote location; raises RemoteError for schemes we cannot speak."""
    if _SCHEME.match(location):
        split = urlsplit(location)
        scheme = split.scheme.lower()
        try:
            port = split.port
        except ValueError as exc:
            raise RemoteError(f"{redact_url(location)}: invalid port in remote URL") from exc
        username = unquote(split.username) if split.username is not None else None
        password = unquote(split.password) if split.password is not None else None
        register_secret(password)
        host = split.hostname or ""
        if scheme == "file":
            return UrlParts("local", path=unquote(split.path))
        if scheme in ("ssh", "git+ssh", "ssh+git"):
            path = unquote(split.path)
            # ssh://host/~user/repo is relative to a home directory, like git.
            if path.startswith("/~"):
                path = path[1:]
            return UrlParts("ssh", host, port, username, password, path)
        if scheme in ("git", "http", "https"):
            return UrlParts(scheme, host, port, username, password, split.path)
        raise RemoteError(
            f"{redact_url(location)}: unsupported URL scheme '{scheme}'"
            " (use https://, ssh://, git:// or file://)"
        )
    if _is_local_not_ssh(location):
        return UrlParts("local", path=location)
    # scp-like: [user@]host:path, host may be [bracketed] (IPv6 or a host with a port).
    userhost, path = _split_scp(location)
    username, _, host = userhost.rpartition("@")
    host = host.strip("[]")
    return UrlParts("ssh", host, None, username or None, None, path)


def _split_scp(location: str) -> tuple[str, str]:
    if location.startswith("[") or "@[" in location:
        close = location.find("]")
        colon = location.find(":", close)
        return location[:colon], location[colon + 1 :]
    userhost, _, path = location.partition(":")
    return userhost, path


# --- insteadOf ---------------------------------------------------------------------


def _rewrite(config: GitConfig, url: str, key: str) -> str | None:
    """Apply the longest ``url.<base>.<key>`` prefix match, or None when none matches."""
    best_len = -1
    result: str | None = None
    for base, prefix in config.subsection_values("url", key):
        if prefix is None:
            continue
        if url.startswith(prefix) and len(prefix) > best_len:
            best_len = len(prefix)
            result = base + url[len(prefix) :]
    return result


def rewrite_fetch_url(config: GitConfig, url: str) -> str:
    return _rewrite(config, url, "insteadOf") or url


def _names_a_location(name: str) -> bool:
    # git (remote.c valid_remote_nick): a name with a slash, "." or "..", or a URL
    # is a location; so is a bare word naming an existing directory.
    return bool(name) and (
        is_url_like(name) or "/" in name or name in (".", "..") or os.path.isdir(name)
    )


def resolve_remote(config: GitConfig, name: str) -> Remote:
    """The remote called ``name``, or ``name`` itself taken as a URL or path (like ``git push <url>``)."""
    urls = [u for u in config.get_all(f"remote.{name}.url") if u]
    if not urls:
        if _names_a_location(name):
            urls = [name]
            pushurls: list[str] = []
        else:
            raise RemoteError(
                f"no remote named '{redact(name)}' (remote.{redact(name)}.url is not set);"
                f" add it with: git remote add {redact(name)} <url>"
            )
    else:
        pushurls = [u for u in config.get_all(f"remote.{name}.pushurl") if u]
    for url in urls + pushurls:
        parse_url(url)  # registers URL passwords as secrets, rejects unknown schemes
    fetch_url = rewrite_fetch_url(config, urls[0])
    if pushurls:
        push_urls = [rewrite_fetch_url(config, u) for u in pushurls]
    else:
        aliased = [a for u in urls if (a := _rewrite(config, u, "pushInsteadOf")) is not None]
        push_urls = aliased or [rewrite_fetch_url(config, u) for u in urls]
    for url in (fetch_url, *push_urls):
        parse_url(url)
    return Remote(name, fetch_url, push_urls[0], tuple(push_urls[1:]))


# --- GitHub ------------------------------------------------------------------------

_GITHUB_HOSTS = ("github.com", "www.github.com")


def github_repository(url: str) -> tuple[str, str] | None:
    """``(owner, name)`` of a github.com repository URL (https, ssh or scp-like), else None."""
    try:
        parts = parse_url(url)
    except RemoteError:
        return None
    if parts.kind not in ("https", "http", "ssh", "git") or parts.host.lower() not in _GITHUB_HOSTS:
        return None
    segments = [s for s in parts.path.strip("/").split("/") if s]
    if len(segments) != 2:
        return None
    owner, name = segments[0], segments[1].removesuffix(".git")
    if not owner or not name:
        return None
    return owner, name


def github_pull_request_url(remote: Remote, branch: str, base: str) -> str | None:
    """The "open a pull request" page for ``branch`` against ``base`` on github.com remotes."""
    found = github_repository(remote.push_url)
    if found is None:
        return None
    owner, repo = found
    compare = f"{quote(base, safe='/')}...{quote(branch, safe='/')}"
    return f"https://github.com/{owner}/{repo}/compare/{compare}?expand=1"
