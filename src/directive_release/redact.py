"""Keep credentials out of every line we print, log or raise.

Two layers: URLs lose their ``user:password@`` part, and any secret the
process has learnt (a token from the environment, a password from a
credential helper) is registered and masked wherever it appears.
"""

from __future__ import annotations

import re

_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^/@\s]*@)")
_MASK = "***"
_known_secrets: set[str] = set()

# Environment variables whose values are secrets wherever they show up.
SECRET_ENV_VARS = ("GITHUB_TOKEN", "GH_TOKEN", "PYPI_API_TOKEN", "TWINE_PASSWORD")


def register_secret(value: str | None) -> None:
    """Mask ``value`` in everything :func:`redact` sees from now on."""
    if value and len(value) >= 4:
        _known_secrets.add(value)


def register_secrets_from_env(environ: dict[str, str] | None = None) -> None:
    import os

    env = os.environ if environ is None else environ
    for name in SECRET_ENV_VARS:
        register_secret(env.get(name))


def redact_url(url: str) -> str:
    """``https://user:tok@host/x`` -> ``https://***@host/x``."""
    return _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{_MASK}@", url)


def redact(text: str) -> str:
    """Remove URL userinfo and every registered secret from ``text``."""
    text = redact_url(text)
    for secret in sorted(_known_secrets, key=len, reverse=True):
        text = text.replace(secret, _MASK)
    return text
