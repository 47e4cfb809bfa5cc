"""Where a project's version lives, and the edits that move every copy of it.

Entry point for the release: :func:`locate` (see its docstring). The pre-commit
hook uses :func:`scan` directly. Standard library only. The names below load
their module on first use, so the hook's success path imports
:mod:`directive_release.sources.files` alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .backends import Source, normalize_name
    from .files import MAX_BYTES, SourceError, parse_toml, read_bytes
    from .locate import Edit, VcsVersionError, VersionSources, locate
    from .inventory import Found, Scan, repository_root, scan

_WHERE = {
    "Source": "backends", "normalize_name": "backends",
    "MAX_BYTES": "files", "SourceError": "files", "parse_toml": "files", "read_bytes": "files",
    "Edit": "locate", "VcsVersionError": "locate", "VersionSources": "locate", "locate": "locate",
    "Found": "inventory", "Scan": "inventory", "repository_root": "inventory", "scan": "inventory",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # __import__ rather than importlib: the hook's success path does not pay for importing importlib.
    value = getattr(__import__(f"{__name__}.{module}", fromlist=[name]), name)
    globals()[name] = value
    return value
