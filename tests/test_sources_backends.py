"""The version read by directive-release is the version the build backend itself reports, before and after
the release's edits; and uv.lock edits pass the real ``uv lock --check`` (offline, path dependencies only)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from directive_release import sources
from sources_support import BIN, apply, repo, run_hook, snapshot, tracked

BACKEND_PROBE = """
import importlib, os, sys, tempfile
backend = importlib.import_module(sys.argv[1])
out = tempfile.mkdtemp()
name = backend.prepare_metadata_for_build_wheel(out)
for line in open(os.path.join(out, name, "METADATA"), encoding="utf-8"):
    if line.startswith("Version: "):
        print(line.split(": ", 1)[1].strip())
"""


def backend_version(root: Path, backend: str) -> str:
    """What the backend reports: ``hatchling version`` for hatchling, otherwise the Version of the
    metadata its ``prepare_metadata_for_build_wheel`` hook writes (in a fresh process each time)."""
    if backend == "hatchling.build":
        command = [str(BIN / "hatchling"), "version"]
    else:
        command = [sys.executable, "-c", BACKEND_PROBE, backend]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def build_system(backend: str, requires: str) -> str:
    return f'[build-system]\nrequires = ["{requires}"]\nbuild-backend = "{backend}"\n\n'


PROJECT = '[project]\nname = "demo"\ndescription = "demo"\nrequires-python = ">=3.8"\n'
DYNAMIC = PROJECT + 'dynamic = ["version"]\n'

CASES = {
    "hatchling static": ("hatchling.build", PROJECT + 'version = "0.4.1"\n'
                         '[tool.hatch.build.targets.wheel]\npackages = ["src/demo"]\n',
                         {"src/demo/__init__.py": ""}),
    "hatchling path, default pattern, v prefix": (
        "hatchling.build", DYNAMIC + '[tool.hatch.version]\npath = "src/demo/__about__.py"\n'
        '[tool.hatch.build.targets.wheel]\npackages = ["src/demo"]\n',
        {"src/demo/__about__.py": "# SPDX\n__version__ = 'v0.4.1'\n", "src/demo/__init__.py": ""}),
    "hatchling path, own pattern": (
        "hatchling.build", DYNAMIC + '[tool.hatch.version]\npath = "src/demo/meta.py"\n'
        "pattern = \"RELEASE = '(?P<version>[^']+)'\"\n"
        '[tool.hatch.build.targets.wheel]\npackages = ["src/demo"]\n',
        {"src/demo/meta.py": "__version__ = '9.9.9'\nRELEASE = '0.4.1'\n", "src/demo/__init__.py": ""}),
    "setuptools attr, src layout": (
        "setuptools.build_meta", DYNAMIC + '[tool.setuptools.dynamic]\nversion = { attr = "demo.__version__" }\n',
        {"src/demo/__init__.py": '"""Demo."""\r\n__version__ = "0.4.1"\r\n'}),
    "setuptools attr, package-dir, submodule": (
        "setuptools.build_meta", DYNAMIC + '[tool.setuptools]\npackage-dir = { "" = "lib" }\npackages = ["demo"]\n'
        '[tool.setuptools.dynamic]\nversion = { attr = "demo._version.__version__" }\n',
        {"lib/demo/__init__.py": "from ._version import __version__\n",
         "lib/demo/_version.py": "__version__: str = '0.4.1'\n"}),
    "setuptools file": (
        "setuptools.build_meta", DYNAMIC + '[tool.setuptools]\npy-modules = ["demo"]\n'
        '[tool.setuptools.dynamic]\nversion = { file = "VERSION" }\n',
        {"VERSION": "0.4.1\n", "demo.py": ""}),
    "flit package": (
        "flit_core.buildapi", DYNAMIC, {"src/demo/__init__.py": '"""Demo."""\n__version__ = "0.4.1"\n'}),
    "flit module": ("flit_core.buildapi", DYNAMIC, {"demo.py": '"""Demo."""\n__version__ = "0.4.1"\n'}),
    "flit _version.py": (
        "flit_core.buildapi", DYNAMIC, {"demo/__init__.py": '"""Demo."""\nfrom ._version import __version__\n',
                                        "demo/_version.py": '__version__ = "0.4.1"\n'}),
    "pdm file, default pattern": (
        "pdm.backend", DYNAMIC + '[tool.pdm.version]\nsource = "file"\npath = "src/demo/__init__.py"\n',
        {"src/demo/__init__.py": 'VERSION = "0.4.1"  # bumped by the release\n'}),
    "pdm file, own pattern": (
        "pdm.backend", DYNAMIC + '[tool.pdm.version]\nsource = "file"\npath = "src/demo/v.py"\n'
        "pattern = 'RELEASE = \"(.+)\"'\n",
        {"src/demo/v.py": 'RELEASE = "0.4.1"\n', "src/demo/__init__.py": ""}),
}
REQUIRES = {"hatchling.build": "hatchling", "setuptools.build_meta": "setuptools", "flit_core.buildapi": "flit_core",
            "pdm.backend": "pdm-backend"}


@pytest.mark.parametrize("case", sorted(CASES))
def test_version_read_is_the_backends_before_and_after_the_edit(case: str, tmp_path: Path) -> None:
    backend, pyproject, files = CASES[case]
    root = repo(tmp_path / "p", {"pyproject.toml": build_system(backend, REQUIRES[backend]) + pyproject, **files})
    found = sources.locate(root, root, is_tracked=tracked(root))
    assert found.current_version == backend_version(root, backend) == "0.4.1"
    before = snapshot(root)
    edits = found.edits_for("0.10.0")
    apply(root, edits)
    assert backend_version(root, backend) == "0.10.0"
    after = snapshot(root)
    changed = sorted(name for name in after if before.get(name) != after[name] and "egg-info" not in name)
    assert changed == sorted(edit.path for edit in edits)
    for edit in edits:  # only the literal moved: the old bytes with 0.4.1 -> 0.10.0 at one place
        assert edit.old_bytes.count(b"0.4.1") >= 1
        start = next(i for i, (a, b) in enumerate(zip(edit.old_bytes, edit.new_bytes)) if a != b)
        start = edit.old_bytes.rfind(b"0.4.1", 0, start + 5)
        assert edit.new_bytes == edit.old_bytes[:start] + b"0.10.0" + edit.old_bytes[start + 5 :]
    result = run_hook(root)  # the hook accepts the bumped project
    assert (result.returncode, result.stdout) == (0, "")


# ----------------------------------------------------------------------------- uv


def uv(root: Path, *args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "UV_OFFLINE": "1", "UV_CACHE_DIR": str(cache), "UV_PYTHON": sys.executable,
           "UV_PYTHON_DOWNLOADS": "never", "UV_NO_CONFIG": "1", "NO_COLOR": "1"}
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run([str(BIN / "uv"), *args], cwd=root, capture_output=True, text=True, timeout=120, env=env)


DEP = '[project]\nname = "dep"\nversion = "0.4.1"\nrequires-python = ">=3.11"\n' + build_system("hatchling.build",
                                                                                            "hatchling")
APP = ('[project]\nname = "My_App"\nversion = "0.4.1"\nrequires-python = ">=3.11"\ndependencies = ["dep"]\n'
       '[tool.uv.sources]\ndep = { path = "dep" }\n')


def _locked(root: Path, cache: Path) -> None:
    result = uv(root, "lock", cache=cache)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("packaged", [True, False], ids=["editable", "virtual"])
def test_uv_lock_check_passes_after_the_edit(tmp_path: Path, packaged: bool) -> None:
    pyproject = APP + (build_system("hatchling.build", "hatchling") if packaged else "")
    root = tmp_path / "p"
    root.mkdir()
    (root / "pyproject.toml").write_text(pyproject)
    (root / "dep").mkdir()
    (root / "dep" / "pyproject.toml").write_text(DEP)
    _locked(root, tmp_path / "cache")
    repo(root, {})
    lock_before = (root / "uv.lock").read_text()
    assert ('source = { editable = "." }' if packaged else 'source = { virtual = "." }') in lock_before
    found = sources.locate(root, root, is_tracked=tracked(root))
    assert found.files == ["pyproject.toml", "uv.lock"]
    edits = found.edits_for("0.5.0")
    apply(root, edits)
    assert uv(root, "lock", "--check", cache=tmp_path / "cache").returncode == 0
    lock_after = (root / "uv.lock").read_text()
    # one line moved; dep keeps the same "0.4.1" it shared with the project
    diff = [(a, b) for a, b in zip(lock_before.splitlines(), lock_after.splitlines()) if a != b]
    assert diff == [('version = "0.4.1"', 'version = "0.5.0"')]
    assert 'name = "dep"\nversion = "0.4.1"' in lock_after
    assert run_hook(root).returncode == 0


def test_uv_lock_check_failure_is_what_the_hook_reports(tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (root / "pyproject.toml").write_text(APP)
    (root / "dep").mkdir()
    (root / "dep" / "pyproject.toml").write_text(DEP)
    _locked(root, tmp_path / "cache")
    repo(root, {})
    (root / "pyproject.toml").write_text(APP.replace('version = "0.4.1"', 'version = "0.4.2"'))
    assert uv(root, "lock", "--check", cache=tmp_path / "cache").returncode != 0  # uv agrees it is stale
    result = run_hook(root)
    line = (root / "uv.lock").read_text().split('name = "my-app"\n')[0].count("\n") + 2
    assert (result.returncode, result.stdout) == (
        1, f'uv.lock:{line}: version "0.4.1" disagrees with "0.4.2" in pyproject.toml:3 (uv.lock); run uv lock\n')


def test_uv_workspace_member_moves_its_entry_in_the_root_lock(tmp_path: Path) -> None:
    root = tmp_path / "w"
    files = {
        "pyproject.toml": '[project]\nname = "root"\nversion = "0.4.1"\nrequires-python = ">=3.11"\n'
                          'dependencies = ["member"]\n[tool.uv.sources]\nmember = { workspace = true }\n'
                          '[tool.uv.workspace]\nmembers = ["packages/*"]\n',
        "packages/member/pyproject.toml": '[project]\nname = "member"\nversion = "0.4.1"\n'
                                          'requires-python = ">=3.11"\n' + build_system("hatchling.build", "hatchling"),
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    _locked(root, tmp_path / "cache")
    repo(root, {})
    member = root / "packages" / "member"
    found = sources.locate(member, root, is_tracked=tracked(root))
    assert found.files == ["packages/member/pyproject.toml", "uv.lock"]
    before = (root / "uv.lock").read_text()
    apply(root, found.edits_for("0.5.0"))
    assert uv(root, "lock", "--check", cache=tmp_path / "cache").returncode == 0
    after = (root / "uv.lock").read_text()
    assert sum(a != b for a, b in zip(before.splitlines(), after.splitlines())) == 1
    assert 'name = "root"\nversion = "0.4.1"' in after  # the root project keeps the same version
    assert run_hook(root, "packages/member/pyproject.toml").returncode == 0
    (member / "pyproject.toml").write_text(files["packages/member/pyproject.toml"].replace("0.4.1", "0.6.0"))
    result = run_hook(root, "packages/member/pyproject.toml")
    assert result.returncode == 1 and result.stdout.startswith("uv.lock:")
    assert 'disagrees with "0.6.0" in packages/member/pyproject.toml:3' in result.stdout


def test_dynamic_version_lock_records_none_and_is_left_alone(tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (root / "pyproject.toml").write_text(
        '[project]\nname = "dyn"\ndynamic = ["version"]\nrequires-python = ">=3.11"\n'
        + build_system("hatchling.build", "hatchling") + '[tool.hatch.version]\npath = "dyn/__init__.py"\n')
    (root / "dyn").mkdir()
    (root / "dyn" / "__init__.py").write_text('__version__ = "0.4.1"\n')
    result = uv(root, "lock", "--no-build-isolation", cache=tmp_path / "cache")
    assert result.returncode == 0, result.stderr
    repo(root, {})
    lock = (root / "uv.lock").read_bytes()
    assert b'name = "dyn"\nsource' in lock  # uv recorded no version for it
    found = sources.locate(root, root, is_tracked=tracked(root))
    assert found.files == ["dyn/__init__.py"]
    apply(root, found.edits_for("0.5.0"))
    assert (root / "uv.lock").read_bytes() == lock
    assert uv(root, "lock", "--check", "--no-build-isolation", cache=tmp_path / "cache").returncode == 0
