"""Where a project's version lives, and the edits that move every copy of it.

Entry point for the release: :func:`locate` (see its docstring). The pre-commit
hook uses :func:`scan` directly. Standard library only. The names below load
their module on first use, so the hook's success path imports
:mod:`directive_release.sources.files` alone.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .backends import Source, normalize_name
    from .files import MAX_BYTES, SourceError, parse_toml, read_bytes
    from .locate import Edit, Found, Scan, VcsVersionError, VersionSources, locate, repository_root, scan

_WHERE = {
    "Source": "backends", "normalize_name": "backends",
    "MAX_BYTES": "files", "SourceError": "files", "parse_toml": "files", "read_bytes": "files",
    "Edit": "locate", "Found": "locate", "Scan": "locate", "VcsVersionError": "locate",
    "VersionSources": "locate", "locate": "locate", "repository_root": "locate", "scan": "locate",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
