"""Read and replace ``[project].version`` in pyproject.toml, byte for byte elsewhere.

The edit is done with tomlkit (so the value may be written any way TOML
allows), then proven minimal: the new bytes must equal the old ones with only
the version's characters replaced. Anything else (a reformatting tomlkit
might do) is refused rather than written.
"""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path
from typing import Any, NamedTuple

from . import version as semver
from .settings import Settings, settings_from_table
from .errors import PyprojectError
from .sources import files

FILENAME = "pyproject.toml"


class Pyproject(NamedTuple):
    path: Path
    raw: bytes
    version: str
    version_line: int
    settings: Settings
    mode: int
    # The version value's bytes, proven by re-parsing (None: tomlkit must do the edit).
    version_span: tuple[int, int] | None = None

    def with_version(self, new_version: str) -> bytes:
        """The file's bytes with only the version value replaced."""
        if self.version_span is not None:
            semver.parse(new_version)
            start, end = self.version_span
            return self.raw[:start] + new_version.encode("ascii") + self.raw[end:]
        return replace_version(self.raw, new_version, display=str(self.path))


def _display(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return str(path.relative_to(root))
        except ValueError:
            pass
    return str(path)


def _decode(raw: bytes, display: str) -> str:
    return files.decode(raw, display)


def parse_toml(raw: bytes, display: str) -> dict[str, Any]:
    """Parse with the one safe parser: any failure is one line naming the file (and line)."""
    return files.parse_toml(raw, display)


def _static_version(data: dict[str, Any], display: str, raw: bytes | None = None) -> str:
    project = data.get("project")
    if not isinstance(project, dict):
        message = semver.NO_PROJECT_TABLE if project is None else semver.not_a_table(project)
        raise PyprojectError(f"{display}:1: {message}")
    dynamic = project.get("dynamic")
    if isinstance(dynamic, list) and "version" in dynamic:
        if "version" in project:
            raise PyprojectError(f"{display}:{_line_of(raw, 'dynamic')}: {semver.BOTH_STATIC_AND_DYNAMIC}")
        raise PyprojectError(
            f'{display}:{_line_of(raw, "dynamic")}: version is dynamic (dynamic = ["version"]); this command'
            ' needs a static version = "MAJOR.MINOR.PATCH" in [project]'
        )
    if "version" not in project:
        raise PyprojectError(f"{display}:{_line_of(raw, None)}: {semver.NO_VERSION}")
    value = project["version"]
    if not isinstance(value, str):
        raise PyprojectError(f"{display}:{_line_of(raw, 'version')}: {semver.problem(value)}")
    return value


def _line_of(raw: bytes | None, key: str | None) -> int:
    """The line of ``[project].key`` (of ``[project]`` for None); 1 if unknown."""
    if raw is None:
        return 1
    from .sources.toml_lines import key_lines

    try:
        lines = key_lines(raw.decode("utf-8"))
    except (RecursionError, UnicodeDecodeError):
        return 1
    path = ("project", key) if key else ("project",)
    return lines.get(path, lines.get(("project",), 1))


def read(root: Path, *, display_root: Path | None = None) -> Pyproject:
    """Read and validate ``root/pyproject.toml``; every failure names the file (and line)."""
    path = root / FILENAME
    display = _display(path, display_root)
    # Not through a symlink (it would be edited), never blocking, bounded: files.read_bytes.
    raw = files.read_bytes(path, display, follow_symlinks=False)
    info = path.lstat()
    data = parse_toml(raw, display)
    value = _static_version(data, display, raw)
    span = _version_span(raw, data, value)
    line = raw.count(b"\n", 0, span[0]) + 1 if span is not None else version_line(raw)
    reason = semver.problem(value)
    if reason is not None:
        raise PyprojectError(f"{display}:{line}: {reason}")
    table = data.get("tool", {}).get("directive-release") if isinstance(data.get("tool"), dict) else None
    settings = settings_from_table(table, source=display)
    return Pyproject(path, raw, value, line, settings, stat.S_IMODE(info.st_mode), span)


def _edit_with_tomlkit(text: str, new_value: str) -> str:
    import tomlkit
    from tomlkit.items import String

    document = tomlkit.parse(text)
    project = document["project"]
    old = project["version"]
    literal = isinstance(old, String) and old.type.is_literal()
    project["version"] = tomlkit.string(new_value, literal=literal)
    return tomlkit.dumps(document)


def _changed_span(old: bytes, new: bytes) -> tuple[int, int, int]:
    """(start, old_end, new_end) of the single differing region of two byte strings."""
    prefix = 0
    limit = min(len(old), len(new))
    while prefix < limit and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and old[len(old) - 1 - suffix] == new[len(new) - 1 - suffix]:
        suffix += 1
    return prefix, len(old) - suffix, len(new) - suffix


def replace_version(raw: bytes, new_version: str, *, display: str = FILENAME) -> bytes:
    """Replace the version value and prove nothing else moved."""
    semver.parse(new_version)
    text = _decode(raw, display)
    document = parse_toml(raw, display)
    old_version = _static_version(document, display)
    span = _version_span(raw, document, old_version)
    if span is not None:  # proven minimal by _version_span: no need for tomlkit
        return raw[: span[0]] + new_version.encode("ascii") + raw[span[1] :]
    try:
        edited = _edit_with_tomlkit(text, new_version).encode("utf-8")
    except Exception as exc:  # tomlkit raises a variety of its own errors
        raise PyprojectError(f"{display}: cannot edit the version with tomlkit: {exc}") from exc
    if not _only_version_changed(raw, edited, old_version, new_version):
        raise PyprojectError(
            f"{display}:{version_line(raw)}: editing the version would reformat other parts of the file; refusing"
        )
    reparsed = parse_toml(edited, display)
    if _static_version(reparsed, display) != new_version:
        raise PyprojectError(f"{display}: the edited file does not read back version {new_version}")
    return edited


def _only_version_changed(raw: bytes, edited: bytes, old_version: str, new_version: str) -> bool:
    """True when ``edited`` is ``raw`` with one occurrence of the old version replaced."""
    start, old_end, _new_end = _changed_span(raw, edited)
    old_b, new_b = old_version.encode(), new_version.encode()
    offset = raw.find(old_b, max(0, old_end - len(old_b)))
    while offset != -1 and offset <= start:
        if raw[:offset] + new_b + raw[offset + len(old_b) :] == edited:
            return True
        offset = raw.find(old_b, offset + 1)
    return False


_SENTINEL = "999999999.999999999.999999999"


def _version_span(raw: bytes, document: dict[str, Any], old_version: str) -> tuple[int, int] | None:
    """The byte span of [project].version's characters, proven by re-parsing; None if unsure.

    Each quoted occurrence of the old version is tried: replacing it must change
    [project].version to a sentinel and nothing else in the parsed document. A
    version written with escapes, or any other doubt, falls back to tomlkit.
    """
    import re

    expected = {**document, "project": {**document["project"], "version": _SENTINEL}}
    pattern = re.compile(rb"([\"'])(" + re.escape(old_version.encode("utf-8")) + rb")\1")
    found: list[tuple[int, int]] = []
    for match in pattern.finditer(raw):
        start, end = match.span(2)
        trial = raw[:start] + _SENTINEL.encode("ascii") + raw[end:]
        try:
            if tomllib.loads(trial.decode("utf-8")) == expected:
                found.append((start, end))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            continue
    return found[0] if len(found) == 1 else None


def version_line(raw: bytes) -> int:
    """1-based line of the version value; 1 if unknown."""
    try:
        document = tomllib.loads(raw.decode("utf-8"))
        span = _version_span(raw, document, document["project"]["version"])
    except Exception:  # any doubt: the slower tomlkit way below
        span = None
    if span is not None:
        return raw.count(b"\n", 0, span[0]) + 1
    sentinel = _SENTINEL
    try:
        text = raw.decode("utf-8")
        edited = _edit_with_tomlkit(text, sentinel).encode("utf-8")
    except Exception:
        return 1
    start, _old_end, _new_end = _changed_span(raw, edited)
    return raw.count(b"\n", 0, start) + 1
