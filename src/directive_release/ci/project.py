"""What the CI helpers need from ``pyproject.toml``: name, static version, settings.

Read-only and standard library only (``tomllib``): the helpers never edit the
file, they only compare what the merged release branch claims with what the
merged tree actually holds.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..settings import TABLE, Settings, settings_from_table
from ..errors import PyprojectError
from ..version import InvalidVersion, parse


@dataclass(frozen=True)
class ProjectInfo:
    """The distribution name, its version and the ``[tool.directive-release]`` settings."""

    path: Path
    name: str
    version: str
    settings: Settings

    @property
    def normalized_name(self) -> str:
        return normalize_name(self.name)


def normalize_name(name: str) -> str:
    """PEP 503: runs of ``-``, ``_`` and ``.`` become one ``-``, lower case."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_project(directory: Path) -> ProjectInfo:
    """Load ``directory/pyproject.toml``; every problem names the file and what to do."""
    path = directory / "pyproject.toml"
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError as exc:
        raise PyprojectError(f"{path}: not found; run from the project root or pass --project DIR") from exc
    except OSError as exc:
        raise PyprojectError(f"{path}: cannot read ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PyprojectError(f"{path}: invalid TOML ({exc})") from exc

    project = data.get("project")
    if not isinstance(project, dict):
        raise PyprojectError(f"{path}: no [project] table; directive-release needs PEP 621 metadata")
    name = project.get("name")
    if not isinstance(name, str) or not name:
        raise PyprojectError(f"{path}: [project] has no name")
    dynamic = project.get("dynamic", [])
    if isinstance(dynamic, list) and "version" in dynamic:
        raise PyprojectError(
            f"{path}: [project] version is dynamic; directive-release needs a static version = \"X.Y.Z\""
        )
    version = project.get("version")
    if not isinstance(version, str):
        raise PyprojectError(f"{path}: [project] has no version = \"X.Y.Z\"")
    try:
        parse(version)
    except InvalidVersion as exc:
        raise PyprojectError(f"{path}: [project] {exc}") from exc

    tool = data.get("tool", {})
    table = tool.get(TABLE.removeprefix("tool.")) if isinstance(tool, dict) else None
    settings = settings_from_table(table, source=str(path))
    return ProjectInfo(path=path, name=name, version=version, settings=settings)
