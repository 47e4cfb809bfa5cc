"""A release moves the version wherever the project keeps it, in one commit (issue 14, the release side).

Real projects in real repositories: hatchling's ``[tool.hatch.version] path`` (checked with
``hatchling version``), ``version-files`` with a package ``__init__.py``, a uv project whose
``uv.lock`` must pass ``uv lock --check`` on the release branch (the real uv, offline), a
VCS-derived version (refused). Rollback and ``--recover`` put every file back byte for byte.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sources_support import snapshot
from support import PYPROJECT, git, run_cli

BIN = Path(sys.executable).parent
ENV = {"GIT_AUTHOR_NAME": "Rel Ease", "GIT_AUTHOR_EMAIL": "rel@example.test",
       "GIT_COMMITTER_NAME": "Rel Ease", "GIT_COMMITTER_EMAIL": "rel@example.test"}

HATCH = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "demo"
dynamic = ["version"]

[tool.hatch.version]
path = "src/demo/__about__.py"

[tool.hatch.build.targets.wheel]
packages = ["src/demo"]
"""


def _project(root: Path, files: dict[str, str | bytes]) -> Path:
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial", env=ENV)
    return root


def _release(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli("patch", "--yes", "--no-push", *args, cwd=root, env={**ENV, **(env or {})})


def _changed_in_release(root: Path) -> list[str]:
    return sorted(git(root, "diff", "--name-only", "main", "release/v0.4.2").split())


def test_hatch_path_project_is_released_and_hatchling_reports_the_new_version(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", {"pyproject.toml": HATCH, "src/demo/__init__.py": "",
                                     "src/demo/__about__.py": "# SPDX-License-Identifier: MIT\n__version__ = \"0.4.1\"\n"})
    dry = run_cli("patch", "--dry-run", "--no-push", cwd=root, env=ENV)
    assert dry.returncode == 0, dry.stderr
    assert 'src/demo/__about__.py:2  - __version__ = "0.4.1"' in dry.stdout
    assert '+ __version__ = "0.4.2"' in dry.stdout
    result = _release(root)
    assert result.returncode == 0, result.stderr
    assert _changed_in_release(root) == ["src/demo/__about__.py"]
    assert git(root, "status", "--porcelain") == ""
    reported = subprocess.run([str(BIN / "hatchling"), "version"], cwd=root, capture_output=True, text=True)
    assert reported.stdout.strip() == "0.4.2", reported.stderr
    git(root, "fsck", "--strict")


def test_version_files_move_together_and_a_failure_restores_both(tmp_path: Path) -> None:
    pyproject = PYPROJECT + '\n[tool.directive-release]\nversion-files = ["src/demo_pkg/__init__.py"]\n'
    init = b'"""Demo."""\r\n__version__ = \'0.4.1\'\r\n'  # CRLF and single quotes are kept
    root = _project(tmp_path / "p", {"pyproject.toml": pyproject, "src/demo_pkg/__init__.py": init})
    os.chmod(root / "src/demo_pkg/__init__.py", 0o755)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "mode", env=ENV)
    before = snapshot(root)
    modes = {name: os.stat(root / name).st_mode for name in before}
    for step in range(1, 7):  # fail after each step up to the commit: every byte and mode as before
        failed = _release(root, env={"DIRECTIVE_RELEASE_FAULT": f"fail-after:{step}"})
        assert failed.returncode == 1 and "nothing was changed" in failed.stderr, failed.stderr
        assert snapshot(root) == before and {n: os.stat(root / n).st_mode for n in before} == modes
        assert git(root, "status", "--porcelain") == "" and git(root, "branch", "--list", "release/*") == ""
    result = _release(root)
    assert result.returncode == 0, result.stderr
    assert _changed_in_release(root) == ["pyproject.toml", "src/demo_pkg/__init__.py"]
    assert (root / "src/demo_pkg/__init__.py").read_bytes() == init.replace(b"0.4.1", b"0.4.2")
    assert os.stat(root / "src/demo_pkg/__init__.py").st_mode == modes["src/demo_pkg/__init__.py"]
    assert len(git(root, "rev-list", "main..release/v0.4.2").split()) == 1  # one commit holds both


def test_a_killed_release_is_recovered_in_every_file(tmp_path: Path) -> None:
    pyproject = PYPROJECT + '\n[tool.directive-release]\nversion-files = ["VERSION:(?P<version>.+)"]\n'
    root = _project(tmp_path / "p", {"pyproject.toml": pyproject, "VERSION": "0.4.1\n"})
    before = snapshot(root)
    killed = _release(root, env={"DIRECTIVE_RELEASE_FAULT": "sigkill-after:6"})  # committed, not cleaned up
    assert killed.returncode == -signal.SIGKILL
    assert (root / "VERSION").read_text() == "0.4.2\n"
    recovered = run_cli("--recover", cwd=root)
    assert recovered.returncode == 0, recovered.stderr
    assert "restored VERSION" in recovered.stdout and "restored pyproject.toml" in recovered.stdout
    assert snapshot(root) == before
    assert git(root, "status", "--porcelain") == "" and git(root, "branch", "--list", "release/*") == ""


def test_an_unlisted_init_holding_the_version_is_named_with_the_setting_to_add(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", {"pyproject.toml": PYPROJECT, "src/demo_pkg/__init__.py": '__version__ = "0.4.1"\n'})
    dry = run_cli("patch", "--dry-run", "--no-push", cwd=root, env=ENV)
    assert dry.returncode == 0, dry.stderr
    assert ('warning: src/demo_pkg/__init__.py:1: __version__ = "0.4.1" is not bumped by the release;'
            ' add version-files = ["src/demo_pkg/__init__.py"]') in dry.stdout


def test_a_vcs_version_is_refused_in_one_line_before_any_change(tmp_path: Path) -> None:
    pyproject = HATCH.replace('path = "src/demo/__about__.py"', 'source = "vcs"').replace(
        'requires = ["hatchling"]', 'requires = ["hatchling", "hatch-vcs"]')
    root = _project(tmp_path / "p", {"pyproject.toml": pyproject, "src/demo/__init__.py": ""})
    before = snapshot(root)
    result = _release(root)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "tag" in lines[0], result.stderr
    assert snapshot(root) == before and git(root, "branch", "--list", "release/*") == ""
    assert not (root / ".git" / "directive-release").exists()


def _uv(root: Path, *args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "UV_OFFLINE": "1", "UV_CACHE_DIR": str(cache), "UV_PYTHON": sys.executable,
           "UV_PYTHON_DOWNLOADS": "never", "UV_NO_CONFIG": "1", "NO_COLOR": "1"}
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run([str(BIN / "uv"), *args], cwd=root, capture_output=True, text=True, timeout=120, env=env)


@pytest.mark.slow
def test_uv_project_release_branch_passes_uv_lock_check(tmp_path: Path) -> None:
    app = ('[project]\nname = "My_App"\nversion = "0.4.1"\nrequires-python = ">=3.11"\ndependencies = ["dep"]\n'
           '[tool.uv.sources]\ndep = { path = "dep" }\n\n'
           '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n')
    dep = ('[project]\nname = "dep"\nversion = "0.4.1"\nrequires-python = ">=3.11"\n\n'
           '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n')
    root = tmp_path / "p"
    (root / "dep").mkdir(parents=True)
    (root / "pyproject.toml").write_text(app)
    (root / "dep" / "pyproject.toml").write_text(dep)
    (root / "my_app.py").write_text("")
    (root / "dep" / "dep.py").write_text("")
    locked = _uv(root, "lock", cache=tmp_path / "cache")
    assert locked.returncode == 0, locked.stderr
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial", env=ENV)
    result = _release(root)
    assert result.returncode == 0, result.stderr
    assert _changed_in_release(root) == ["pyproject.toml", "uv.lock"]
    check = _uv(root, "lock", "--check", cache=tmp_path / "cache")
    assert check.returncode == 0, check.stderr
    lock_diff = git(root, "diff", "-U0", "main", "release/v0.4.2", "--", "uv.lock")
    assert [line for line in lock_diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")] == [
        '-version = "0.4.1"', '+version = "0.4.2"']
    # and on main, before the release, the lock was as uv left it: the check fails on the bumped
    # pyproject.toml without the lock edit (what a release that forgot uv.lock ships)
    git(root, "switch", "-q", "main")
    (root / "pyproject.toml").write_text(app.replace('version = "0.4.1"', 'version = "0.4.2"'))
    assert _uv(root, "lock", "--check", cache=tmp_path / "cache").returncode != 0


STATIC = PYPROJECT
LISTED = STATIC + '\n[tool.directive-release]\nversion-files = [{files}]\n'
BAD_INPUT = {
    "unparsable pattern": ({"pyproject.toml": LISTED.format(files='"v.py:(unclosed"'), "v.py": '__version__ = "0.4.1"\n'},
                           "not a valid regular expression"),
    "listed twice": ({"pyproject.toml": LISTED.format(files='"v.py", "./v.py"'), "v.py": '__version__ = "0.4.1"\n'},
                     "lists v.py twice"),
    "outside the repository": ({"pyproject.toml": LISTED.format(files='"../v.py"')}, "outside the repository"),
    "non-UTF-8": ({"pyproject.toml": LISTED.format(files='"v.py"'), "v.py": b'__version__ = "0.4.1"  # caf\xe9\n'},
                  "v.py:1: not valid UTF-8"),
    "missing file": ({"pyproject.toml": LISTED.format(files='"v.py"')}, "v.py:1: file not found"),
    "disagreeing copy": ({"pyproject.toml": LISTED.format(files='"v.py"'), "v.py": '__version__ = "0.4.0"\n'},
                         'v.py:1: version "0.4.0" disagrees with "0.4.1"'),
    "invalid uv.lock": ({"pyproject.toml": STATIC, "uv.lock": "version = 1\n[[package]\n"}, "uv.lock:2: invalid TOML"),
    "project twice in uv.lock": (
        {"pyproject.toml": STATIC, "uv.lock": 'version = 1\n\n[[package]]\nname = "demo-pkg"\nversion = "0.4.1"\n'
                                              'source = { editable = "." }\n\n[[package]]\nname = "demo_pkg"\n'
                                              'version = "0.4.1"\nsource = { editable = "." }\n'},
        "is recorded twice"),
    "two version sources": (
        {"pyproject.toml": STATIC.replace('version = "0.4.1"', 'dynamic = ["version"]').replace(
            'build-backend = "hatchling.build"', 'build-backend = "setuptools.build_meta"')
         + '\n[tool.setuptools.dynamic]\nversion = { attr = "demo_pkg.__version__" }\n[tool.setuptools_scm]\n',
         "demo_pkg/__init__.py": '__version__ = "0.4.1"\n'}, "two version sources"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_version_sources_are_refused_in_one_line_changing_nothing(tmp_path: Path, case: str) -> None:
    files, fragment = BAD_INPUT[case]
    root = _project(tmp_path / "p", files)
    before = snapshot(root)
    gitdir = sorted(str(p.relative_to(root)) for p in (root / ".git").rglob("*"))
    for args in (("--dry-run",), ()):
        result = run_cli("patch", "--yes", "--no-push", *args, cwd=root, env=ENV)
        assert result.returncode == 1, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and fragment in lines[0] and "Traceback" not in result.stderr, result.stderr
        assert snapshot(root) == before
        assert sorted(str(p.relative_to(root)) for p in (root / ".git").rglob("*")) == gitdir


def test_an_untracked_version_file_is_refused(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", {"pyproject.toml": LISTED.format(files='"v.py"')})
    (root / "v.py").write_text('__version__ = "0.4.1"\n')
    result = _release(root)
    assert result.returncode == 1 and "v.py: is not tracked by git" in result.stderr, result.stderr
