"""The project's own entry in uv.lock: find its ``version`` line, move it, touch nothing else.

uv records the project itself as a ``[[package]]`` whose ``name`` is the
normalized project name and whose ``source`` is ``{ editable = "<dir>" }`` or
``{ virtual = "<dir>" }``, ``<dir>`` being the project's directory relative to
the lock (``"."`` unless the lock is a workspace's). Pure functions of bytes.
"""

from __future__ import annotations

import re
from typing import Any

from .backends import normalize_name
from .files import SourceError, parse_toml
from .literal import Literal

_HEADER = b"[[package]]"


def _headers(raw: bytes) -> list[int]:
    """Offsets of the ``[[package]]`` header lines (bytes.find: a regex scan of a large lock costs more)."""
    found: list[int] = []
    index = raw.find(_HEADER)
    while index >= 0:
        line_end = raw.find(b"\n", index)
        rest = raw[index + len(_HEADER) : line_end if line_end >= 0 else len(raw)]
        if (index == 0 or raw[index - 1] == 0x0A) and not rest.strip(b" \t\r"):
            found.append(index)
        index = raw.find(_HEADER, index + 1)
    return found
_VERSION_LINE = re.compile(rb'^version = "(?P<version>[^"\\\r\n]*)"[ \t]*\r?$', re.MULTILINE)


def is_own_entry(package: Any, name: str, directory: str) -> bool:
    if not isinstance(package, dict) or not isinstance(package.get("name"), str):
        return False
    source = package.get("source")
    if not isinstance(source, dict) or len(source) != 1:
        return False
    kind, where = next(iter(source.items()))
    return (kind in ("editable", "virtual") and where == directory
            and normalize_name(package["name"]) == normalize_name(name))


_ENTRY_START = re.compile(rb'\[\[package\]\][ \t]*\r?\nname = "(?P<name>[^"\\\r\n]*)"[ \t]*\r?\n')
_OWN_SOURCE = re.compile(rb'^source = \{ (?:editable|virtual) = "(?P<dir>[^"\\\r\n]*)" \}[ \t]*\r?$', re.MULTILINE)


class Unsure(Exception):
    """The lines do not say for certain: read the whole lock with :func:`find`."""


def find_by_lines(raw: bytes, name: str, directory: str = ".") -> Literal | None:
    """:func:`find` for a lock written the way uv writes it, from its lines alone (no TOML parse: a lock of
    a few hundred packages costs tomllib tens of milliseconds, on every commit the hook checks).

    Raises :class:`Unsure` whenever the lines leave any doubt (an entry not in uv's layout, the project
    found twice or not at all); the caller then parses the whole lock.
    """
    wanted = normalize_name(name).encode()
    starts = _headers(raw)
    own: list[tuple[int, int]] = []
    for index, start in enumerate(starts):
        entry = _ENTRY_START.match(raw, start)
        if entry is None:
            raise Unsure
        if normalize_name(entry.group("name").decode("utf-8", "replace")).encode() != wanted:
            continue
        end = _next_table(raw, start, starts[index + 1] if index + 1 < len(starts) else len(raw))
        sources = list(_OWN_SOURCE.finditer(raw, start, end))
        if len(sources) == 1 and sources[0].group("dir") == directory.encode():
            own.append((start, end))
    if len(own) != 1:
        raise Unsure
    start, end = own[0]
    versions = list(_VERSION_LINE.finditer(raw, start, end))
    if not versions:
        if re.compile(rb"^version\b", re.MULTILINE).search(raw, start, end):
            raise Unsure
        return None
    if len(versions) > 1:
        raise Unsure
    version_start, version_end = versions[0].span("version")
    return Literal(raw.count(b"\n", 0, version_start) + 1, version_start, version_end,
                   versions[0].group("version").decode("utf-8"))


def find(raw: bytes, display: str, name: str, directory: str = ".") -> Literal | None:
    """The ``version`` literal of the project's own entry; None when the lock records no version for it
    (dynamic versions) or has no entry for it. Invalid TOML and the project twice are refused."""
    document = parse_toml(raw, display)
    packages = document.get("package")
    packages = packages if isinstance(packages, list) else []
    own = [index for index, package in enumerate(packages) if is_own_entry(package, name, directory)]
    if len(own) > 1:
        lines = [_block_line(raw, index) for index in own]
        raise SourceError(display, lines[1], f"the project {normalize_name(name)!r} is recorded twice (lines "
                                             f"{', '.join(map(str, lines))}); run uv lock to repair the lock")
    if not own or "version" not in packages[own[0]]:
        return None
    value = packages[own[0]]["version"]
    starts = _headers(raw)
    if len(starts) != len(packages):
        raise SourceError(display, 1, "the [[package]] entries are not written the way uv writes them;"
                                      " run uv lock, then release again")
    block_start = starts[own[0]]
    block_end = starts[own[0] + 1] if own[0] + 1 < len(starts) else len(raw)
    match = _next_table(raw, block_start, block_end)
    versions = list(_VERSION_LINE.finditer(raw, block_start, match))
    if len(versions) != 1 or versions[0].group("version").decode("utf-8") != value:
        raise SourceError(display, _block_line(raw, own[0]),
                          f"cannot find the one version line of {normalize_name(name)!r}; run uv lock first")
    start, end = versions[0].span("version")
    return Literal(raw.count(b"\n", 0, start) + 1, start, end, value)


def _next_table(raw: bytes, start: int, end: int) -> int:
    """Where the entry's own keys end: at its first sub-table (``[package.metadata]``, …)."""
    sub = re.compile(rb"^\[", re.MULTILINE).search(raw, start + 1, end)
    return sub.start() if sub else end


def _block_line(raw: bytes, index: int) -> int:
    starts = _headers(raw)
    return raw.count(b"\n", 0, starts[index]) + 1 if index < len(starts) else 1


def replace(raw: bytes, display: str, name: str, directory: str, literal: Literal, new_version: str) -> bytes:
    """The lock with only the project's version changed, proven by re-parsing both."""
    edited = raw[: literal.start] + new_version.encode("ascii") + raw[literal.end :]
    before = parse_toml(raw, display)
    after = parse_toml(edited, display)
    index = next(i for i, package in enumerate(before["package"]) if is_own_entry(package, name, directory))
    before["package"][index] = {**before["package"][index], "version": new_version}
    if before != after:
        raise SourceError(display, literal.line, "editing the version line would change more of uv.lock; refusing")
    return edited
