"""git's urlmatch (urlmatch.c): does ``<section>.<url>.<name>`` apply to a URL, and how closely.

One owner for the rule behind ``credential.<url>.*`` (:mod:`.credentials`) and
``http.<url>.*`` (:mod:`.smart_http`). It lives apart from :mod:`.credentials`
because importing that module costs ~12 ms (subprocess, shutil with bz2 and
lzma, shlex), which an http push that never sees a 401 must not pay. Stdlib
only, nothing from dulwich (whose ``_urlmatch_http_sections`` ranks sections
by a different rule).

git's rule (``match_urls``): same scheme; the pattern's user, if any, equals the
URL's; hosts have the same number of dot-separated labels and each pattern
label is ``*`` or equal (case-insensitive); same port, default ports filled in;
the pattern's path is the URL's path or a prefix ending at a ``/``. The result
ranks matches like ``cmp_matches``: longer host, then longer path, then a
matched user wins; a bare ``<section>.<name>`` ranks lowest, ``(0, 0, 0)``.
Not reproduced: git's percent-encoding normalisation (both sides are decoded
instead) and ``..`` segments in a pattern.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443, "git": 9418, "ssh": 22}

# (host length, path length, user matched): tuples compare the way cmp_matches() does.
Specificity = tuple[int, int, int]
UNQUALIFIED: Specificity = (0, 0, 0)


def _host_matches(pattern: str, host: str) -> bool:
    pattern_labels = pattern.lower().split(".")
    host_labels = host.lower().split(".")
    if len(pattern_labels) != len(host_labels):
        return False
    return all(p == "*" or p == h for p, h in zip(pattern_labels, host_labels))


def _path_match(path: str, prefix: str) -> int:
    """git's ``url_match_prefix``: the matched length (+1 for the implied ``/``), 0 for no match."""
    path = path or "/"
    if prefix in ("", "/"):
        return 1
    prefix = prefix.removesuffix("/")
    if not path.startswith(prefix):
        return 0
    if len(path) == len(prefix) or path[len(prefix)] == "/":
        return len(prefix) + 1
    return 0


def match(pattern: str, scheme: str, host: str, port: int | None, path: str,
          username: str | None) -> Specificity | None:
    """How closely the URL pattern ``pattern`` matches; None when it does not apply.

    The URL is given in parts: ``host`` without port, ``port`` None for the
    scheme's default, ``path`` decoded and starting with ``/``.
    """
    if "://" not in pattern:
        return None
    try:
        split = urlsplit(pattern)
        pattern_port = split.port
    except ValueError:
        return None
    scheme = scheme.lower()
    if split.scheme.lower() != scheme:
        return None
    user_matched = split.username is not None
    if user_matched and unquote(split.username or "") != username:
        return None
    pattern_host = split.hostname or ""
    if not _host_matches(pattern_host, host):
        return None
    default = DEFAULT_PORTS.get(scheme)
    if (pattern_port or default) != (port or default):
        return None
    path_length = _path_match(path, unquote(split.path))
    if not path_length:
        return None
    return (len(pattern_host), path_length, int(user_matched))
