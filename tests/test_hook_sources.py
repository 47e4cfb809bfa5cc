"""The hook on every version source: every disagreeing copy reported as ``path:line: message``; hostile
files (FIFO, /dev/zero, 100,000-deep nesting, huge files) refused in one line; the time-out of the
subprocess is the failure signal for a hang, and an address-space limit for unbounded reading."""

from __future__ import annotations

import os
import resource
import subprocess
from pathlib import Path

import pytest

from sources_support import HOOK, hook_success_imports, repo, snapshot, third_party

HATCH = ('[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n[project]\nname = "demo"\n'
         'dynamic = ["version"]\n\n[tool.hatch.version]\npath = "src/demo/__about__.py"\n')
STATIC = '[project]\nname = "demo"\nversion = "0.4.2"\n'
MEMORY_LIMIT = 1 << 30  # reading /dev/zero without a bound would die here instead of answering


def limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def hook(cwd: Path, *args: str) -> tuple[int, list[str], str]:
    before = snapshot(cwd)
    result = subprocess.run([str(HOOK), *args], cwd=cwd, capture_output=True, text=True, timeout=20,
                            preexec_fn=limited)
    assert snapshot(cwd) == before
    assert "Traceback" not in result.stdout + result.stderr
    return result.returncode, result.stdout.splitlines(), result.stderr


def test_every_disagreeing_copy_is_one_line(tmp_path: Path) -> None:
    lock = ('version = 1\nrevision = 3\n\n[[package]]\nname = "demo"\nversion = "0.4.1"\nsource = { editable = "." }\n'
            '\n[[package]]\nname = "other"\nversion = "0.4.1"\nsource = { registry = "https://pypi.org/simple" }\n')
    root = repo(tmp_path / "r", {
        "pyproject.toml": STATIC + '[tool.directive-release]\nversion-files = ["a.py", "docs/b.txt:^v(?P<version>.+)$"]\n',
        "a.py": '__version__ = "0.4.1"\n', "docs/b.txt": "title\nv0.4.0\n", "uv.lock": lock})
    assert hook(root) == (1, [
        'a.py:1: version "0.4.1" disagrees with "0.4.2" in pyproject.toml:3 (version-files in [tool.directive-release])',
        'docs/b.txt:2: version "0.4.0" disagrees with "0.4.2" in pyproject.toml:3 (version-files in'
        ' [tool.directive-release])',
        'uv.lock:6: version "0.4.1" disagrees with "0.4.2" in pyproject.toml:3 (uv.lock); run uv lock',
    ], "")


def test_hatch_path_project_passes_and_its_bad_version_is_reported(tmp_path: Path) -> None:
    root = repo(tmp_path / "r", {"pyproject.toml": HATCH, "src/demo/__about__.py": '__version__ = "0.4.1"\n'})
    assert hook(root) == (0, [], "")
    (root / "src/demo/__about__.py").write_text('"""About."""\n__version__ = "0.4"\n')
    assert hook(root) == (1, ['src/demo/__about__.py:2: version "0.4" is not MAJOR.MINOR.PATCH (expected 3'
                              ' dot-separated numbers, found 2 parts); write "0.4.0"'], "")


def test_a_project_in_a_subdirectory_names_files_from_where_the_hook_runs(tmp_path: Path) -> None:
    root = repo(tmp_path / "r", {"pkg/pyproject.toml": HATCH, "pkg/src/demo/__about__.py": '__version__ = "1.2"\n'})
    code, lines, _ = hook(root, "pkg/pyproject.toml")
    assert code == 1 and lines[0].startswith('pkg/src/demo/__about__.py:1: version "1.2"')


# ------------------------------------------------------------------------ hostile


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _dev_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


def _deep_arrays(path: Path) -> None:
    path.write_text('[project]\nname = "d"\nversion = "1.2.3"\nx = ' + "[" * 100_000 + "]" * 100_000 + "\n")


def _deep_tables(path: Path) -> None:
    path.write_text('[project]\nname = "d"\nversion = "1.2.3"\nx = ' + "{a=" * 100_000 + "1" + "}" * 100_000 + "\n")


def _huge(path: Path) -> None:
    with path.open("wb") as handle:
        handle.write(b'[project]\nname = "d"\nversion = "1.2.3"\n')
        handle.truncate(11 * 1024 * 1024)


HOSTILE = {
    "fifo": (_fifo, "pyproject.toml:1: not a regular file (a FIFO)"),
    "symlink to /dev/zero": (_dev_zero, "pyproject.toml:1: not a regular file (a character device)"),
    "arrays nested 100,000 deep": (_deep_arrays, "pyproject.toml:1: invalid TOML: arrays or inline tables nested"
                                                 " too deeply to read"),
    "inline tables nested 100,000 deep": (_deep_tables, "pyproject.toml:1: invalid TOML: arrays or inline tables"
                                                        " nested too deeply to read"),
    "11 MiB": (_huge, "pyproject.toml:1: larger than 10 MiB; refusing to read it"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_pyproject(tmp_path: Path, case: str) -> None:
    make, line = HOSTILE[case]
    make(tmp_path / "pyproject.toml")
    assert hook(tmp_path) == (1, [line], "")


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_version_file(tmp_path: Path, case: str) -> None:
    (tmp_path / "pyproject.toml").write_text(HATCH)
    (tmp_path / "src" / "demo").mkdir(parents=True)
    make, line = HOSTILE[case]
    make(tmp_path / "src/demo/__about__.py")
    code, lines, _ = hook(tmp_path)
    if "nested" in case:  # not TOML here: hatch's pattern finds its `version = "1.2.3"` line, as hatch would
        assert (code, lines) == (0, [])
        return
    assert code == 1 and len(lines) == 1 and lines[0].startswith("src/demo/__about__.py:1: ")
    if case == "symlink to /dev/zero":  # never followed: version files are edited, so links are refused
        assert lines[0].endswith("is a symbolic link; refusing to read or edit through it")
    else:
        assert lines[0] == line.replace("pyproject.toml", "src/demo/__about__.py")


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_uv_lock(tmp_path: Path, case: str) -> None:
    (tmp_path / "pyproject.toml").write_text(STATIC)
    make, line = HOSTILE[case]
    make(tmp_path / "uv.lock")
    code, lines, _ = hook(tmp_path)
    expected = line.replace("pyproject.toml", "uv.lock")
    if case == "symlink to /dev/zero":
        expected = "uv.lock:1: is a symbolic link; refusing to read or edit through it"
    assert (code, lines) == (1, [expected])


# ----------------------------------------------------------------- the success path


def test_hatch_path_success_path_imports_only_the_standard_library(tmp_path: Path) -> None:
    root = repo(tmp_path / "r", {"pyproject.toml": HATCH, "src/demo/__about__.py": '__version__ = "0.4.1"\n'})
    loaded = hook_success_imports(root)
    assert "directive_release.sources.backends" in loaded  # the hatch path really was resolved
    for heavy in ("packaging", "tomlkit", "dulwich", "questionary", "argparse", "pathlib", "ast",
                  "directive_release.sources.locate", "directive_release.settings"):
        assert heavy not in loaded
    assert third_party(loaded) == []


# ------------------------------------------------------- the bad input, as the hook sees it

WITH_FILES = STATIC + "[tool.directive-release]\nversion-files = {}\n"


def _setup_bad(root: Path, case: str) -> None:
    files: dict[str, str | bytes] = {"v.py": '__version__ = "0.4.2"\n'}
    text = {
        "unparsable pattern": WITH_FILES.format('["v.py:(?P<version>[0-9.]+"]'),
        "pattern without a version group": WITH_FILES.format('["v.py:([0-9.]+)"]'),
        "hatch pattern unparsable": HATCH + 'pattern = "(?P<version>"\n',
        "file listed twice": WITH_FILES.format('["v.py", "./v.py"]'),
        "path outside the repository": WITH_FILES.format('["../v.py"]'),
        "path through a symlink": WITH_FILES.format('["link.py"]'),
        "non-UTF-8 file": WITH_FILES.format('["v.py"]'),
        "missing file": WITH_FILES.format('["gone.py"]'),
        "hatch path missing": HATCH,
        "two sources": '[build-system]\nbuild-backend = "setuptools.build_meta"\n[project]\nname = "d"\n'
                       'dynamic = ["version"]\n[tool.setuptools.dynamic]\nversion = { attr = "v.__version__" }\n'
                       '[tool.setuptools_scm]\n',
    }[case]
    if case == "non-UTF-8 file":
        files["v.py"] = b'__version__ = "0.4.2"  # \xff\n'
    if case == "hatch pattern unparsable":
        files["src/demo/__about__.py"] = '__version__ = "0.4.2"\n'
    repo(root, {"pyproject.toml": text, **files})
    if case == "path outside the repository":
        (root.parent / "v.py").write_text('__version__ = "0.4.2"\n')
    if case == "path through a symlink":
        (root / "link.py").symlink_to("v.py")


BAD = {
    "unparsable pattern": "pyproject.toml:4: [tool.directive-release] version-files: the pattern of v.py is not a"
                          " valid regular expression",
    "pattern without a version group": "pyproject.toml:4: [tool.directive-release] version-files: the pattern of"
                                       " v.py has no (?P<version>...) group",
    "hatch pattern unparsable": "pyproject.toml:11: [tool.hatch.version] pattern: the pattern '(?P<version>' is not"
                                " a valid regular expression",
    "file listed twice": "pyproject.toml:4: [tool.directive-release] version-files lists v.py twice",
    "path outside the repository": "../v.py:1: is outside the repository (version-files in"
                                   " [tool.directive-release]); refusing to read or edit it",
    "path through a symlink": "link.py:1: is a symbolic link; refusing to read or edit through it",
    "non-UTF-8 file": "v.py:1: not valid UTF-8 (byte 0xff at column 26); version files must be UTF-8",
    "missing file": "gone.py:1: file not found",
    "hatch path missing": "src/demo/__about__.py:1: file not found",
    "two sources": "pyproject.toml:7: two version sources: [tool.setuptools.dynamic] version and"
                   " [tool.setuptools_scm]; keep one",
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line_naming_file_and_line(tmp_path: Path, case: str) -> None:
    root = tmp_path / "r"
    _setup_bad(root, case)
    code, lines, err = hook(root)
    assert (code, err, len(lines)) == (1, "", 1), lines
    assert lines[0].startswith(BAD[case]), lines[0]
