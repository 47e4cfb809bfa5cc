"""The release's entry point: :func:`locate` the version's files, then :meth:`VersionSources.edits_for`.

Each :class:`Edit` is one file of the release commit, changed by its version
literal only and proven so: the edited bytes are read again the way the backend
reads them (pyproject.toml through :func:`directive_release.pyproject.replace_version`,
uv.lock by comparing both parsed documents).
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable
from typing import NamedTuple

from .backends import Source
from .files import SourceError, decode, line_text, read_bytes
from .literal import find_python_assignments
from .inventory import Found, IsTracked, Scan, _find_in, _rel, _version_problem, scan


# ------------------------------------------------------------------ warnings


def unlisted_init_warnings(scan_result: Scan, project_dir: str) -> list[str]:
    """A package ``__init__.py`` holding ``__version__ = "<current>"`` that nothing bumps: one line each,
    with the exact setting to add."""
    if scan_result.truth is None or not scan_result.name:
        return []
    known = {os.path.normpath(found.path) for found in (scan_result.truth, *scan_result.copies)}
    package = scan_result.name.replace("-", "_").replace(".", "_").lower()
    lines: list[str] = []
    shown_dir = posixpath.dirname(scan_result.pyproject.display)
    for rel in dict.fromkeys((f"src/{package}/__init__.py", f"{package}/__init__.py",
                              _rel(os.path.join(os.path.dirname(scan_result.truth.path), "__init__.py"),
                                   project_dir))):
        path = os.path.normpath(os.path.join(project_dir, rel))
        if path in known or not os.path.isfile(path) or os.path.islink(path):
            continue
        try:
            raw = read_bytes(path, rel, follow_symlinks=False)
            found = find_python_assignments(decode(raw, rel), rel)
        except SourceError:
            continue
        if len(found) == 1 and found[0].value == scan_result.truth.literal.value:
            lines.append(f'{posixpath.join(shown_dir, rel)}:{found[0].line}: __version__ = "{found[0].value}" is not bumped by the release;'
                         f' add version-files = ["{rel}"] to [tool.directive-release] in pyproject.toml')
    return lines


# --------------------------------------------------------------------- edits


class Edit(NamedTuple):
    """One file of the release commit: only its version literal changes."""

    path: str  # repository-relative POSIX path
    line: int
    old_line: str
    new_line: str
    new_bytes: bytes
    old_bytes: bytes
    mode: int

    def diff(self) -> list[str]:
        """The plan's lines: ``path:line``, ``- old``, ``+ new``."""
        return [f"{self.path}:{self.line}", f"- {self.old_line.strip()}", f"+ {self.new_line.strip()}"]


def edit_of(found: Found, new_version: str, *, project_name: str = "") -> Edit:
    """The edit of one file, proven: only the version's characters change and the file reads back new."""
    if found.role == "source" and found.setting == "[project].version":
        from ..pyproject import replace_version

        new_bytes = replace_version(found.raw, new_version, display=found.display)
    elif found.reader == "uvlock":
        from . import uvlock

        new_bytes = uvlock.replace(found.raw, found.display, project_name, found.pattern or ".", found.literal,
                                   new_version)
    else:
        literal = found.literal
        new_bytes = found.raw[: literal.start] + new_version.encode("ascii") + found.raw[literal.end :]
        again = _find_in(new_bytes, found.display, found.reader, found.pattern, found.group, found.setting)
        if [(item.line, item.value) for item in again] != [(literal.line, new_version)]:
            raise SourceError(found.display, literal.line, f"writing {new_version} here would not read back as"
                                                           " the one version; refusing")
    start = found.literal.start if found.literal.start >= 0 else _first_difference(found.raw, new_bytes)
    return Edit(found.rel, found.raw.count(b"\n", 0, start) + 1, line_text(found.raw, start),
                line_text(new_bytes, start), new_bytes, found.raw, found.mode)


def _first_difference(old: bytes, new: bytes) -> int:
    """Index of the first byte where ``old`` and ``new`` differ (compared a block at a time)."""
    index, block = 0, 4096
    limit = min(len(old), len(new))
    while index < limit and old[index : index + block] == new[index : index + block]:
        index += block
    while index < limit and old[index] == new[index]:
        index += 1
    return min(index, limit)


class VersionSources(NamedTuple):
    """Where one project's version lives; what :func:`locate` returns."""

    scan: Scan
    warnings: tuple[str, ...]

    @property
    def is_vcs(self) -> bool:
        return self.scan.source.kind == "vcs"

    @property
    def current_version(self) -> str | None:
        """The version to bump; None when it comes from git tags."""
        return None if self.scan.truth is None else self.scan.truth.literal.value

    @property
    def source(self) -> Source:
        return self.scan.source

    @property
    def files(self) -> list[str]:
        """Repository-relative paths the release commit changes, source of truth first."""
        return [found.rel for found in self._targets()]

    def _targets(self) -> list[Found]:
        if self.scan.truth is None:
            return []
        return [self.scan.truth, *self.scan.copies]

    def refuse_if_vcs(self) -> None:
        if self.scan.truth is None:
            raise VcsVersionError(self.scan.pyproject.display, None, self.scan.source.vcs_refusal)

    def edits_for(self, new_version: str) -> list[Edit]:
        """Every file's edit for ``new_version``; refused for a version from git tags."""
        self.refuse_if_vcs()
        if (reason := _version_problem(new_version)) is not None:
            raise SourceError("new version", None, reason)
        if new_version == self.current_version:
            raise SourceError("new version", None, f"{new_version} is already the current version; nothing to bump")
        return [edit_of(found, new_version, project_name=self.scan.name) for found in self._targets()]


class VcsVersionError(SourceError):
    """The version comes from git tags: there is nothing to bump in a file."""


def locate(project_root: str | os.PathLike[str], repo_root: str | os.PathLike[str], *,
           is_tracked: IsTracked | Iterable[str] | None = None) -> VersionSources:
    """Every file holding the version of the project at ``project_root``; the first problem raises a
    :class:`SourceError` (``path:line: reason``, paths relative to ``repo_root``).

    ``is_tracked`` answers for a repository-relative POSIX path (a set of tracked paths also works);
    None skips the check.
    """
    if is_tracked is not None and not callable(is_tracked):
        tracked = frozenset(is_tracked)
        is_tracked = tracked.__contains__
    result = scan(project_root, repo_root, is_tracked=is_tracked, first_problem_raises=True)
    warnings = unlisted_init_warnings(result, os.path.abspath(os.fspath(project_root)))
    return VersionSources(result, (*result.warnings, *warnings))
