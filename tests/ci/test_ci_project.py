"""The CI helpers read the version where the release wrote it: static or in the backend's file."""

from __future__ import annotations

from pathlib import Path

import pytest

from directive_release.ci.project import read_project
from directive_release.errors import PyprojectError

HATCH = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "Demo.Pkg"
dynamic = ["version"]

[tool.hatch.version]
{source}

[tool.directive-release]
base-branch = "trunk"
"""


def _project(root: Path, source: str, files: dict[str, str]) -> Path:
    root.mkdir()
    (root / "pyproject.toml").write_text(HATCH.format(source=source))
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_a_hatch_path_version_is_read_from_its_file(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", 'path = "src/demo_pkg/__about__.py"',
                    {"src/demo_pkg/__about__.py": '__version__ = "1.4.0"\n'})
    project = read_project(root)
    assert (project.name, project.normalized_name, project.version) == ("Demo.Pkg", "demo-pkg", "1.4.0")
    assert project.settings.base_branch == "trunk"


def test_a_version_from_git_tags_is_refused_in_one_line(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", 'source = "vcs"', {})
    with pytest.raises(PyprojectError) as refused:
        read_project(root)
    assert "\n" not in str(refused.value) and "tag" in str(refused.value)
