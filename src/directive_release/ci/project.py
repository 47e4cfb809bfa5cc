"""What the CI helpers need from the project: name, version, settings.

Read-only, through the same version sources the release uses (static
``[project].version``, hatch/setuptools/flit/pdm files): the helpers never edit
a file, they only compare what the merged release branch claims with what the
merged tree actually holds. A version derived from git tags has no release
branch to gate on and is refused in one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..settings import TABLE, Settings, settings_from_table
from ..errors import PyprojectError


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
    from ..sources import normalize_name as normalized

    return normalized(name)


def read_project(directory: Path) -> ProjectInfo:
    """The name, the version wherever the project keeps it (:mod:`directive_release.sources`, as the
    release reads it) and the settings; every problem names the file and what to do."""
    from .. import sources

    path = directory / "pyproject.toml"
    if not path.exists():
        raise PyprojectError(f"{path}: not found; run from the project root or pass --project DIR")
    found = sources.locate(directory, directory)
    found.refuse_if_vcs()
    pyproject = found.scan.pyproject
    if not found.scan.name:
        raise PyprojectError(f"{path}: [project] has no name")
    assert found.current_version is not None
    data = sources.parse_toml(pyproject.raw, pyproject.display)
    tool = data.get("tool", {})
    table = tool.get(TABLE.removeprefix("tool.")) if isinstance(tool, dict) else None
    settings = settings_from_table(table, source=str(path))
    return ProjectInfo(path=path, name=found.scan.name, version=found.current_version, settings=settings)
