"""Where the build backend takes the version from: pure functions of the parsed pyproject.toml.

:func:`resolve` reads ``[project]``, ``[build-system]`` and the backend's own
table and answers with a :class:`Source`:

* ``static``: ``[project].version``;
* ``file``: a literal in a file, read by a pattern (hatchling, pdm) or as a
  top-level ``__version__`` assignment (setuptools ``attr``, flit_core), or a
  whole file (setuptools ``file``);
* ``vcs``: the version comes from a git tag (hatch-vcs, setuptools-scm, pdm
  ``scm``): there is nothing to bump, and :data:`VCS_REFUSAL` says so.

The only file-system questions (does this module path exist?) go through the
``is_file``/``is_dir`` callables, so the rules are testable without a disk.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Mapping
from typing import Any, Literal

from .files import SourceError
from .literal import HATCH_DEFAULT_PATTERN, PDM_DEFAULT_PATTERN, Record, compile_pattern

Kind = Literal["static", "file", "vcs"]
# How a file source is read: a regex (group name or number), a Python assignment, or the whole file.
Reader = Literal["pattern", "python", "whole"]

VCS_REFUSAL = (
    "the version comes from git tags ({how}): the tag is the version, so there is nothing to bump in a file;"
    " create and push the tag (git tag vX.Y.Z) instead, or switch to a static [project].version"
)


class Source(Record):
    """kind, backend, setting (where the choice is configured, for messages: "[tool.hatch.version] path"),
    paths (project-relative POSIX; flit: candidates, the last one that has it wins), reader, pattern, group."""

    __slots__ = ("kind", "backend", "setting", "paths", "reader", "pattern", "group")
    _defaults = {"paths": (), "reader": None, "pattern": None, "group": "version"}
    kind: Kind
    backend: str
    setting: str
    paths: tuple[str, ...]
    reader: Reader | None
    pattern: str | None
    group: str | int

    @property
    def vcs_refusal(self) -> str:
        return VCS_REFUSAL.format(how=self.setting)


def normalize_name(name: str) -> str:
    """PEP 503: runs of ``-``, ``_`` and ``.`` become one ``-``, lower case."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _table(document: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    value: Any = document
    for key in keys:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value if isinstance(value, dict) else {}


def is_dynamic(project: Mapping[str, Any]) -> bool:
    dynamic = project.get("dynamic")
    return isinstance(dynamic, list) and "version" in dynamic


def resolve(document: Mapping[str, Any], display: str, *, is_file: Callable[[str], bool],
            is_dir: Callable[[str], bool]) -> Source:
    """The version source of a parsed pyproject.toml whose ``[project]`` is a table.

    ``display`` names pyproject.toml in messages; the callables answer for
    project-relative POSIX paths.
    """
    project = _table(document, "project")
    if not is_dynamic(project):
        return Source("static", "pep621", "[project].version", ("pyproject.toml",))
    backend = _table(document, "build-system").get("build-backend")
    backend = backend if isinstance(backend, str) else "setuptools.build_meta:__legacy__"
    if backend.startswith("hatchling."):
        return _hatch(document, display)
    if backend.startswith("setuptools."):
        requires = _table(document, "build-system").get("requires")
        requirements = [normalize_name(re.split(r"[^A-Za-z0-9._-]", item, maxsplit=1)[0])
                        for item in (requires if isinstance(requires, list) else []) if isinstance(item, str)]
        return _setuptools(document, display, requirements, is_file=is_file, is_dir=is_dir)
    if backend.startswith("flit_core."):
        return _flit(document, display, is_file=is_file, is_dir=is_dir)
    if backend.startswith("pdm.backend"):
        return _pdm(document, display, is_file=is_file)
    raise SourceError(display, None, f'[project].dynamic lists "version" and the build backend is {backend!r};'
                                     " directive-release reads dynamic versions of hatchling, setuptools, flit_core"
                                     " and pdm-backend only: write a static version = \"MAJOR.MINOR.PATCH\"")


def _string(value: Any, display: str, setting: str) -> str:
    if not isinstance(value, str) or not value:
        raise SourceError(display, None, f"{setting} must be a non-empty string")
    return value


def _relative(path: str, display: str, setting: str) -> str:
    """A project-relative POSIX path, normalized; absolute paths are refused."""
    if path.startswith("/") or "\\" in path or "\x00" in path:
        raise SourceError(display, None, f"{setting} {path!r} must be a relative path with / separators")
    normal = posixpath.normpath(path)
    if normal in (".", ""):
        raise SourceError(display, None, f"{setting} {path!r} does not name a file")
    return normal


def _hatch(document: Mapping[str, Any], display: str) -> Source:
    config = _table(document, "tool", "hatch", "version")
    source = config.get("source", "regex")
    if source == "vcs":
        return Source("vcs", "hatchling", '[tool.hatch.version] source = "vcs" (hatch-vcs)')
    if source != "regex":
        raise SourceError(display, None, f"[tool.hatch.version] source = {source!r} is not supported;"
                                         ' use path = "…" (the regex source) or a static version')
    if "path" not in config:
        raise SourceError(display, None, '[project].dynamic lists "version" but [tool.hatch.version] has no path;'
                                         ' add path = "src/PACKAGE/__about__.py" (hatch reads the version there)')
    setting = "[tool.hatch.version] path"
    path = _relative(_string(config["path"], display, setting), display, setting)
    pattern = config.get("pattern", "")
    if not isinstance(pattern, str | bool):
        raise SourceError(display, None, "[tool.hatch.version] pattern must be a string")
    if not pattern or pattern is True:
        pattern = HATCH_DEFAULT_PATTERN
    else:
        compile_pattern(pattern, display, "[tool.hatch.version] pattern", keys=("tool", "hatch", "version", "pattern"))
    return Source("file", "hatchling", setting, (path,), "pattern", pattern, "version")


def _setuptools(document: Mapping[str, Any], display: str, requirements: list[str], *,
                is_file: Callable[[str], bool], is_dir: Callable[[str], bool]) -> Source:
    tool = _table(document, "tool")
    dynamic = _table(document, "tool", "setuptools", "dynamic")
    scm = "setuptools-scm" in requirements or "setuptools_scm" in tool
    version = dynamic.get("version")
    if version is not None and scm and "setuptools_scm" in tool:
        raise SourceError(display, None, "two version sources: [tool.setuptools.dynamic] version and"
                                         " [tool.setuptools_scm]; keep one")
    if version is None:
        if scm:
            return Source("vcs", "setuptools", "setuptools-scm")
        raise SourceError(display, None, '[project].dynamic lists "version" but [tool.setuptools.dynamic] has no'
                                         ' version; add version = { attr = "PACKAGE.__version__" }')
    if not isinstance(version, dict) or len(version) != 1 or not {"attr", "file"} & version.keys():
        raise SourceError(display, None, "[tool.setuptools.dynamic] version must be { attr = \"…\" } or"
                                         " { file = \"…\" } (one of them)")
    if "file" in version:
        files = version["file"]
        files = [files] if isinstance(files, str) else files
        if not isinstance(files, list) or len(files) != 1 or not isinstance(files[0], str):
            raise SourceError(display, None, "[tool.setuptools.dynamic] version = { file = … } must name one file;"
                                             " several files are joined into one version that no edit can bump")
        setting = "[tool.setuptools.dynamic] version file"
        return Source("file", "setuptools", setting, (_relative(files[0], display, setting),), "whole")
    setting = "[tool.setuptools.dynamic] version attr"
    attr = _string(version["attr"], display, setting).strip()
    module, _, name = attr.rpartition(".")
    if not module or not name.isidentifier():
        raise SourceError(display, None, f"{setting} {attr!r} must be MODULE.ATTRIBUTE")
    path = _setuptools_module(document, module, display, is_file=is_file, is_dir=is_dir)
    pattern = name  # the attribute's name, for find_python_assignments
    return Source("file", "setuptools", setting, (path,), "python", pattern)


def _setuptools_module(document: Mapping[str, Any], module: str, display: str, *,
                       is_file: Callable[[str], bool], is_dir: Callable[[str], bool]) -> str:
    """The module file as setuptools' ``_find_module`` finds it, through ``package-dir``, the src layout
    (auto-discovery) or ``[tool.setuptools.packages.find] where``."""
    config = _table(document, "tool", "setuptools")
    package_dir = config.get("package-dir")
    if not isinstance(package_dir, dict):
        where = _table(document, "tool", "setuptools", "packages", "find").get("where")
        if isinstance(where, list) and len(where) == 1 and isinstance(where[0], str):
            package_dir = {"": where[0]}
        elif is_dir("src") and "packages" not in config and "py-modules" not in config:
            package_dir = {"": "src"}
        else:
            package_dir = {}
    parts = module.split(".")
    start: str | None = None
    for index in range(len(parts), 0, -1):
        partial = ".".join(parts[:index])
        if isinstance(package_dir.get(partial), str):
            start = posixpath.join(package_dir[partial], *parts[index:])
            break
    if start is None:
        parent = package_dir.get("") if isinstance(package_dir.get(""), str) else ""
        start = posixpath.join(*(parent.split("/") if parent else []), *parts)
    for candidate in (f"{start}.py", f"{start}/__init__.py"):
        candidate = posixpath.normpath(candidate)
        if is_file(candidate):
            return candidate
    raise SourceError(display, None, f"[tool.setuptools.dynamic] version attr: module {module!r} not found"
                                     f" (looked for {posixpath.normpath(start)}.py and"
                                     f" {posixpath.normpath(start)}/__init__.py)")


def _flit(document: Mapping[str, Any], display: str, *, is_file: Callable[[str], bool],
          is_dir: Callable[[str], bool]) -> Source:
    project = _table(document, "project")
    name = _table(document, "tool", "flit", "module").get("name")
    if not isinstance(name, str):
        name = project.get("name")
        if not isinstance(name, str):
            raise SourceError(display, None, "[project] has no name; flit_core needs it to find the module")
        name = name.replace("-", "_")
    base = name.replace(".", "/")
    found = [path for path, exists in (
        (base, is_dir(base)), (f"{base}.py", is_file(f"{base}.py")),
        (f"src/{base}", is_dir(f"src/{base}")), (f"src/{base}.py", is_file(f"src/{base}.py")),
    ) if exists]
    if len(found) != 1:
        what = "no module" if not found else "several modules (" + ", ".join(found) + ")"
        raise SourceError(display, None, f"flit_core reads __version__ from module {name!r}, and {what} was"
                                         " found; set [tool.flit.module] name")
    module = found[0]
    if module.endswith(".py"):
        return Source("file", "flit_core", "flit_core: the module's __version__", (module,), "python", "__version__")
    # flit parses these in order; a later file that assigns __version__ wins.
    candidates = tuple(f"{module}/{file}" for file in ("version.py", "_version.py", "__version__.py")
                       if is_file(f"{module}/{file}"))
    return Source("file", "flit_core", "flit_core: the module's __version__",
                  (*reversed(candidates), f"{module}/__init__.py"), "python", "__version__")


def _pdm(document: Mapping[str, Any], display: str, *, is_file: Callable[[str], bool]) -> Source:
    config = _table(document, "tool", "pdm", "version")
    source = config.get("source")
    if source is None and isinstance(config.get("path"), str) and is_file(config["path"]):
        source = "file"
    if source == "scm":
        return Source("vcs", "pdm-backend", '[tool.pdm.version] source = "scm"')
    if source != "file":
        raise SourceError(display, None, f"[tool.pdm.version] source = {source!r} is not supported;"
                                         ' use source = "file" with path = "…", or a static version')
    setting = "[tool.pdm.version] path"
    path = _relative(_string(config.get("path"), display, setting), display, setting)
    pattern = config.get("pattern")
    if pattern is None:
        return Source("file", "pdm-backend", setting, (path,), "pattern", PDM_DEFAULT_PATTERN, 1)
    pattern = _string(pattern, display, "[tool.pdm.version] pattern")
    compile_pattern(pattern, display, "[tool.pdm.version] pattern", group=1, keys=("tool", "pdm", "version", "pattern"))
    return Source("file", "pdm-backend", setting, (path,), "pattern", pattern, 1)
