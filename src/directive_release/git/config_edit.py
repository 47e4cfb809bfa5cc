"""The two edits a release makes to ``.git/config``: add a branch's upstream keys, and take them back.

No dulwich: ``dulwich.config.ConfigFile.write_to_path`` rewrites the whole file
from its parsed form (comments, spacing, ``include`` order and the user's quoting
are not kept), while git's ``git config`` edits only the lines it changes. Here,
as in git, adding appends one section; removing deletes exactly the lines of the
keys that still hold the values the release wrote, and the section header only
when nothing else is left in it. Every write goes through the config's lock file.
Values are read by :func:`.config.parse_config` (git's own grammar), so a key the
user rewrote with ``git config`` is recognised as changed and kept.
"""

from __future__ import annotations

import re
from pathlib import Path

from .config_syntax import parse_config
from .lockfile import LockFile

_HEADER = re.compile(r'^\s*\[\s*([A-Za-z0-9.-]+)\s+"((?:[^"\\\n]|\\.)*)"\s*\]\s*(?:[#;].*)?$')
_ANY_HEADER = re.compile(r"^\s*\[")
_NOTHING = re.compile(r"^\s*(?:[#;].*)?$")


def _quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"' if any(ch in value for ch in ' ;#"\\') else escaped


def _subsection(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def add_keys(path: Path, section: str, subsection: str, keys: list[tuple[str, str]]) -> None:
    """Append ``[section "subsection"]`` with ``keys`` to the config at ``path``, under its lock."""
    lock = LockFile(path).acquire()
    try:
        original = path.read_bytes()
        escaped = subsection.replace("\\", "\\\\").replace('"', '\\"')
        body = "".join(f"\t{key} = {_quote(value)}\n" for key, value in keys)
        block = f'[{section} "{escaped}"]\n{body}'.encode("utf-8")
        separator = b"" if not original or original.endswith(b"\n") else b"\n"
        lock.write(original + separator + block)
        lock.commit()
    finally:
        lock.rollback()


def remove_keys(path: Path, section: str, subsection: str, keys: list[tuple[str, str]]) -> list[str]:
    """Remove each ``key = value`` of ``[section "subsection"]`` that still holds that value.

    Returns the keys left in place because they now hold another value. A key that is
    gone already needs nothing (and no lock: a config locked by someone else is only
    waited for when there is something to remove). Everything else stays byte for byte.
    """
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        return []
    kept, changed = _without_keys(text, section, subsection, keys, str(path))
    if kept == text:
        return changed
    lock = LockFile(path).acquire()
    try:
        text = path.read_bytes()  # again, under the lock
        kept, changed = _without_keys(text, section, subsection, keys, str(path))
        if kept != text:
            lock.write(kept)
            lock.commit()
        return changed
    finally:
        lock.rollback()


def _without_keys(data: bytes, section: str, subsection: str, keys: list[tuple[str, str]],
                  origin: str) -> tuple[bytes, list[str]]:
    """The config text without the lines of ``keys`` that still hold their values, and the keys that do not."""
    lines = data.decode("utf-8", "surrogateescape").splitlines(keepends=True)
    wanted = {key.lower(): value for key, value in keys}
    removed: set[int] = set()
    changed: set[str] = set()
    headers: list[int] = []
    inside = False
    for number, line in enumerate(lines):
        if _ANY_HEADER.match(line):
            match = _HEADER.match(line)
            inside = bool(match) and match[1].lower() == section.lower() and _subsection(match[2]) == subsection
            if inside:
                headers.append(number)
            continue
        if not inside:
            continue
        parsed = parse_config("[s]\n" + line, origin)
        if len(parsed) != 1:
            continue
        key = parsed[0][0].split(".", 1)[1]
        if key not in wanted:
            continue
        if parsed[0][1] == wanted[key]:
            removed.add(number)
            del wanted[key]
        else:
            changed.add(key)
    for header in headers:
        body = range(header + 1, next((n for n in range(header + 1, len(lines)) if _ANY_HEADER.match(lines[n])),
                                      len(lines)))
        if any(n in removed for n in body) and all(n in removed or _NOTHING.match(lines[n]) for n in body):
            removed.add(header)
    if not removed:
        return data, sorted(changed & set(wanted))
    text = "".join(line for number, line in enumerate(lines) if number not in removed)
    return text.encode("utf-8", "surrogateescape"), sorted(changed & set(wanted))
