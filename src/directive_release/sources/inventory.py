"""Every place the version lives in one project, checked against the source of truth.

:func:`scan` is shared by the pre-commit hook (which reports every problem) and
:func:`directive_release.sources.locate.locate` (the release's entry point, which
refuses at the first and builds the edits). Both take the project directory and
the repository root; git is never asked anything here: whether a file is tracked
is answered by the ``is_tracked`` callable.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Mapping
from typing import Any, Literal as TypingLiteral

from .backends import Source, resolve
from .files import SourceError, decode, parse_toml, read_bytes
from .literal import ASSIGNMENT_PATTERN, Literal, Record, compile_pattern, find_by_pattern, find_python_assignments

# What version.parse accepts (a test holds the two together); anything else is explained by
# directive_release.version, imported only then, like uvlock only when there is a lock.
_PLAIN_VERSION = re.compile(r"(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)", re.ASCII)


def _version_problem(value: object) -> str | None:
    if isinstance(value, str) and _PLAIN_VERSION.fullmatch(value):
        return None
    from .. import version as versions

    return versions.problem(value)


Role = TypingLiteral["source", "copy", "lock"]
IsTracked = Callable[[str], bool]


class Found(Record):
    """One file holding the version: where, its bytes, and the literal in them."""

    __slots__ = ("role", "path", "rel", "display", "raw", "literal", "mode", "setting", "pattern", "group", "reader")
    _defaults = {"pattern": None, "group": "version", "reader": "pattern"}
    role: Role
    path: str  # file-system path
    rel: str  # repository-relative POSIX path
    display: str  # as messages name it
    raw: bytes
    literal: Literal
    mode: int
    setting: str  # why it is read: "[tool.hatch.version] path", "version-files", "uv.lock"
    pattern: str | None  # how it is read again after the edit
    group: str | int
    reader: str


class Scan(Record):
    """What :func:`scan` found: the source, the project's name, pyproject.toml, the source of truth (None:
    the version comes from git tags), the copies, the problems (the hook reports them all), warnings."""

    __slots__ = ("source", "name", "pyproject", "truth", "copies", "problems", "warnings", "lock_directory")
    _defaults = {"lock_directory": "."}
    source: Source
    name: str
    pyproject: Found
    truth: Found | None  # None: the version comes from git tags
    copies: list[Found]
    problems: list[SourceError]
    warnings: list[str]
    lock_directory: str


def _rel(path: str, root: str) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/")


class _Context:
    def __init__(self, project_dir: str, repo_root: str, display_dir: str, *,
                 is_tracked: IsTracked | None) -> None:
        self.project_dir = os.path.abspath(project_dir)
        self.repo_root = os.path.abspath(repo_root)
        self.real_root = os.path.realpath(self.repo_root)
        self.display_dir = display_dir
        self.is_tracked = is_tracked
        self.seen: dict[str, str] = {}

    def display(self, path: str) -> str:
        return os.path.normpath(os.path.join(self.display_dir, _rel(path, self.project_dir)))

    def is_file(self, rel: str) -> bool:
        return os.path.isfile(os.path.join(self.project_dir, rel))

    def is_dir(self, rel: str) -> bool:
        return os.path.isdir(os.path.join(self.project_dir, rel))

    def open(self, path: str, setting: str) -> tuple[str, str, bytes, int]:
        """Check a file may be read (and edited) and read it: (rel, display, raw, mode)."""
        path = os.path.normpath(path)
        display = self.display(path)
        rel = _rel(path, self.repo_root)
        if rel == ".." or rel.startswith("../"):
            raise SourceError(display, None, f"is outside the repository ({setting}); refusing to read or edit it")
        if rel in self.seen:
            raise SourceError(display, None, f"is listed twice ({self.seen[rel]} and {setting}); list each file once")
        self.seen[rel] = setting
        raw = read_bytes(path, display, follow_symlinks=False)
        if os.path.realpath(path) != os.path.join(self.real_root, *rel.split("/")):
            raise SourceError(display, None, "is reached through a symbolic link; refusing to read or edit through it")
        if self.is_tracked is not None and not self.is_tracked(rel):
            raise SourceError(display, None, f"is not tracked by git ({setting}); commit it first")
        return rel, display, raw, stat.S_IMODE(os.lstat(path).st_mode)


def repository_root(start: str) -> str:
    """The nearest directory at or above ``start`` holding ``.git`` (file or directory); ``start`` if none."""
    current = os.path.abspath(start)
    while True:
        if os.path.lexists(os.path.join(current, ".git")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return os.path.abspath(start)
        current = parent


def find_lock(project_dir: str, repo_root: str) -> tuple[str, str] | None:
    """(uv.lock path, the project's directory relative to it): the project's own lock, else the lock of a
    uv workspace root above it (a pyproject.toml with ``[tool.uv.workspace]``) inside the repository."""
    project_dir, repo_root = os.path.abspath(project_dir), os.path.abspath(repo_root)
    own = os.path.join(project_dir, "uv.lock")
    if os.path.lexists(own):
        return own, "."
    current = project_dir
    while current != repo_root and current.startswith(repo_root + os.sep):
        current = os.path.dirname(current)
        lock = os.path.join(current, "uv.lock")
        if os.path.lexists(lock):
            try:
                document = parse_toml(read_bytes(os.path.join(current, "pyproject.toml"), "pyproject.toml"), "")
            except SourceError:
                return None
            tool = document.get("tool")
            uv = tool.get("uv") if isinstance(tool, dict) else None
            if isinstance(uv, dict) and isinstance(uv.get("workspace"), dict):
                return lock, _rel(project_dir, current)
            return None
    return None


def _find_in(raw: bytes, display: str, reader: str, pattern: str | None, group: str | int,
             setting: str) -> list[Literal]:
    text = decode(raw, display, what="version files")
    if reader == "python":
        return find_python_assignments(text, display, pattern or "__version__")
    if reader == "whole":
        stripped = text.strip()
        if not stripped or "\n" in stripped:
            return []
        start = len(text[: len(text) - len(text.lstrip())].encode("utf-8"))
        return [Literal(text[: len(text) - len(text.lstrip())].count("\n") + 1, start,
                        start + len(stripped.encode("utf-8")), stripped)]
    compiled = compile_pattern(pattern or ASSIGNMENT_PATTERN, display, setting, group=group)
    return find_by_pattern(text, compiled, group)


def _one(found: list[Literal], display: str, setting: str, what: str) -> Literal:
    if not found:
        raise SourceError(display, 1, f"no version found ({setting}); expected {what}")
    if len(found) > 1:
        lines = ", ".join(str(item.line) for item in found)
        raise SourceError(display, found[1].line, f"the version is found {len(found)} times (lines {lines};"
                                                  f" {setting}); keep one, or give a pattern that matches one")
    return found[0]


_WHAT = {
    "python": 'one top-level __version__ = "MAJOR.MINOR.PATCH"',
    "whole": "the file to hold only MAJOR.MINOR.PATCH",
    "pattern": 'one __version__ = "MAJOR.MINOR.PATCH" or VERSION = "MAJOR.MINOR.PATCH" line',
}


def scan(project_dir: str | os.PathLike[str], repo_root: str | os.PathLike[str] | None = None, *,
         display_dir: str | None = None, is_tracked: IsTracked | None = None,
         pyproject_raw: bytes | None = None, document: Mapping[str, Any] | None = None,
         pyproject_name: str = "pyproject.toml", first_problem_raises: bool = False,
         lock_by_lines: bool = False) -> Scan:
    """Find and check every copy of the version; a problem that stops everything raises.

    ``lock_by_lines`` (the hook) reads the project's entry of uv.lock from its lines when they are
    unambiguous, without parsing the whole lock; the release always parses it (and proves its edit).
    """
    project = os.fspath(project_dir)
    root = os.fspath(repo_root) if repo_root is not None else repository_root(project)
    shown = display_dir if display_dir is not None else _rel(os.path.abspath(project), os.path.abspath(root))
    context = _Context(project, root, shown, is_tracked=is_tracked)
    pyproject_path = os.path.join(context.project_dir, pyproject_name)
    if pyproject_raw is None or document is None:
        rel, display, pyproject_raw, mode = context.open(pyproject_path, "the project")
        document = parse_toml(pyproject_raw, display)
    else:
        rel, display = _rel(pyproject_path, context.repo_root), context.display(pyproject_path)
        mode = stat.S_IMODE(os.lstat(pyproject_path).st_mode) if os.path.lexists(pyproject_path) else 0o644
    project_table = document.get("project")
    if not isinstance(project_table, dict):
        from .. import version as versions

        message = versions.NO_PROJECT_TABLE if project_table is None else versions.not_a_table(project_table)
        raise SourceError(display, 1, message)
    name = project_table.get("name") if isinstance(project_table.get("name"), str) else ""
    try:
        source = resolve(document, display, is_file=context.is_file, is_dir=context.is_dir)
    except SourceError as error:
        if error.line is not None:
            raise
        keys = error.keys or _setting_keys(document)
        line = _key_line(pyproject_raw, keys, minimum=2) or _key_line(pyproject_raw, ("project", "dynamic"))
        raise SourceError(error.path, line, error.reason) from None
    problems: list[SourceError] = []
    warnings: list[str] = []

    def problem(error: SourceError) -> None:
        if first_problem_raises:
            raise error
        problems.append(error)

    pyproject = Found("source" if source.kind == "static" else "copy", pyproject_path, rel, display,
                      pyproject_raw, Literal(1, -1, -1, ""), mode, "[project]")
    truth: Found | None = None
    if source.kind == "static":
        truth = _static_truth(pyproject, project_table)
    elif source.kind == "file":
        truth = _file_truth(context, source)
    if truth is not None and (reason := _version_problem(truth.literal.value)) is not None:
        problem(SourceError(truth.display, truth.literal.line, reason))
    copies: list[Found] = []
    lock_directory = "."
    if source.kind == "vcs":
        return Scan(source, name, pyproject, None, copies, problems, warnings)
    tool = document.get("tool")
    table = tool.get("directive-release") if isinstance(tool, dict) else None
    version_files: tuple[str, ...] = ()
    if table is not None:  # settings.py is loaded only for a project that has settings
        from ..settings import settings_from_table

        version_files = settings_from_table(table, source=display).version_files
    assert truth is not None
    for entry in version_files:
        path, colon, pattern = entry.partition(":")
        try:
            copy = _copy(context, path, pattern if colon else None)
        except SourceError as error:
            problem(error)
            continue
        copies.append(copy)
        if copy.literal.value != truth.literal.value:
            problem(_disagrees(copy, truth))
    lock = find_lock(context.project_dir, context.repo_root)
    if lock is not None and name:
        lock_path, lock_directory = lock
        lock_rel = _rel(lock_path, context.repo_root)
        if is_tracked is not None and not is_tracked(lock_rel):
            warnings.append(f"{context.display(lock_path)}: not tracked by git, so the release leaves it alone")
        try:
            entry_found = _lock(context, lock_path, name, lock_directory, by_lines=lock_by_lines)
        except SourceError as error:
            problem(error)
            entry_found = None
        if entry_found is not None:
            copies.append(entry_found)
            if entry_found.literal.value != truth.literal.value:
                problem(_disagrees(entry_found, truth, hint="; run uv lock"))
    return Scan(source, name, pyproject, truth, copies, problems, warnings, lock_directory)


def _setting_keys(document: Mapping[str, Any]) -> tuple[str, ...]:
    """Where a backend's version setting is written, for the line of a message about it."""
    system = document.get("build-system")
    backend = system.get("build-backend") if isinstance(system, dict) else None
    backend = backend if isinstance(backend, str) else "setuptools"
    for prefix, keys in (("hatchling", ("tool", "hatch", "version")), ("pdm", ("tool", "pdm", "version")),
                         ("flit_core", ("tool", "flit", "module")),
                         ("setuptools", ("tool", "setuptools", "dynamic", "version"))):
        if backend.startswith(prefix):
            return keys if prefix != "flit_core" else ("project", "name")
    return ("build-system", "build-backend")


def _disagrees(copy: Found, truth: Found, hint: str = "") -> SourceError:
    return SourceError(copy.display, copy.literal.line,
                       f'version "{copy.literal.value}" disagrees with "{truth.literal.value}" in'
                       f" {truth.display}:{truth.literal.line} ({copy.setting}){hint}")


def _static_truth(pyproject: Found, project_table: Mapping[str, Any]) -> Found:
    if "version" not in project_table:
        from .. import version as versions

        raise SourceError(pyproject.display, _key_line(pyproject.raw, ("project",)), versions.NO_VERSION)
    value = project_table["version"]
    line = _key_line(pyproject.raw, ("project", "version"))
    if not isinstance(value, str):
        raise SourceError(pyproject.display, line, _version_problem(value) or "")
    return pyproject._replace(literal=Literal(line, -1, -1, value), setting="[project].version")


def _key_line(raw: bytes, path: tuple[str, ...], *, minimum: int = 1) -> int:
    """The line of ``path`` (or of its longest written prefix, at least ``minimum`` keys long); with
    ``minimum`` above 1, 0 when not written; 1 when unknown."""
    from .toml_lines import key_lines

    try:
        lines = key_lines(raw.decode("utf-8"))
    except (RecursionError, UnicodeDecodeError):
        return 1
    for depth in range(len(path), minimum - 1, -1):
        if path[:depth] in lines:
            return lines[path[:depth]]
    return 0 if minimum > 1 else 1


def _file_truth(context: _Context, source: Source) -> Found:
    assert source.reader is not None
    candidates = [os.path.join(context.project_dir, *path.split("/")) for path in source.paths]
    if len(candidates) > 1:  # flit: the last file that assigns __version__ wins
        present = [path for path in candidates if os.path.lexists(path)]
        winner = None
        for path in present:
            rel, display, raw, mode = context.open(path, source.setting)
            found = _find_in(raw, display, source.reader, source.pattern, source.group, source.setting)
            if found:
                winner = (path, rel, display, raw, mode, found)
        if winner is None:
            display = context.display(candidates[-1])
            raise SourceError(display, 1, f"no version found ({source.setting}); expected {_WHAT['python']}")
        path, rel, display, raw, mode, found = winner
    else:
        path = candidates[0]
        rel, display, raw, mode = context.open(path, source.setting)
        found = _find_in(raw, display, source.reader, source.pattern, source.group, source.setting)
    literal = _one(found, display, source.setting, _WHAT[source.reader])
    return Found("source", path, rel, display, raw, literal, mode, source.setting, source.pattern, source.group,
                 source.reader)


def _copy(context: _Context, path: str, pattern: str | None) -> Found:
    file_path = os.path.join(context.project_dir, *path.split("/"))
    setting = "version-files in [tool.directive-release]"
    rel, display, raw, mode = context.open(file_path, setting)
    found = _find_in(raw, display, "pattern", pattern, "version", setting)
    literal = _one(found, display, setting, "a match of the pattern" if pattern else _WHAT["pattern"])
    return Found("copy", os.path.normpath(file_path), rel, display, raw, literal, mode, setting,
                 pattern or ASSIGNMENT_PATTERN, "version", "pattern")


def _lock(context: _Context, lock_path: str, name: str, directory: str, *, by_lines: bool = False) -> Found | None:
    rel = _rel(lock_path, context.repo_root)
    if context.is_tracked is not None and not context.is_tracked(rel):
        return None  # an ignored or untracked lock is not part of the release commit
    from . import uvlock

    rel, display, raw, mode = context.open(lock_path, "uv.lock")
    try:
        if not by_lines:
            raise uvlock.Unsure
        literal = uvlock.find_by_lines(raw, name, directory)
    except uvlock.Unsure:
        literal = uvlock.find(raw, display, name, directory)
    if literal is None:
        return None
    return Found("lock", os.path.normpath(lock_path), rel, display, raw, literal, mode, "uv.lock",
                 directory, "version", "uvlock")
