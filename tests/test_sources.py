"""The version-source layer on real files in real git repositories: where the version is found, the
edits (each file changes by its version literal only), and every refusal as one line."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path

import pytest

from directive_release import sources
from directive_release.errors import ConfigError, PyprojectError
from directive_release.sources import backends, literal, uvlock
from directive_release.sources.files import SourceError
from sources_support import repo, run_hook, snapshot, tracked

HATCH = """[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "demo"
dynamic = ["version"]

[tool.hatch.version]
path = "src/demo/__about__.py"
"""

STATIC = '[project]\nname = "demo"\nversion = "0.4.1"\n'


def locate(root: Path, project: Path | None = None) -> sources.VersionSources:
    return sources.locate(project or root, root, is_tracked=tracked(root))


def refusal(root: Path, project: Path | None = None) -> str:
    before = snapshot(root)
    with pytest.raises((SourceError, ConfigError)) as info:
        locate(root, project).edits_for("0.5.0")
    assert snapshot(root) == before
    message = str(info.value)
    assert "\n" not in message
    return message


# ------------------------------------------------------------------ the static source


def test_static_version_is_edited_by_the_pyproject_proof(tmp_path: Path) -> None:
    root = repo(tmp_path / "r", {"pyproject.toml": STATIC.replace("\n", "\r\n")})
    found = locate(root)
    assert (found.current_version, found.files, found.is_vcs) == ("0.4.1", ["pyproject.toml"], False)
    [edit] = found.edits_for("0.5.0")
    assert edit.path == "pyproject.toml" and edit.line == 3
    assert (edit.old_line, edit.new_line) == ('version = "0.4.1"', 'version = "0.5.0"')
    assert edit.new_bytes == STATIC.replace("\n", "\r\n").replace("0.4.1", "0.5.0").encode()
    assert edit.diff() == ["pyproject.toml:3", '- version = "0.4.1"', '+ version = "0.5.0"']


# ------------------------------------------------------------------- hatchling path


def test_hatch_path_default_pattern_keeps_crlf_quotes_and_mode(tmp_path: Path) -> None:
    about = "# about\r\n__version__ = 'v0.4.1'  # the v is kept\r\n"
    root = repo(tmp_path / "r", {"pyproject.toml": HATCH, "src/demo/__about__.py": about})
    os.chmod(root / "src/demo/__about__.py", 0o755)
    found = locate(root)
    assert found.current_version == "0.4.1"
    [edit] = found.edits_for("0.5.0")
    assert edit.path == "src/demo/__about__.py" and edit.line == 2 and edit.mode == 0o755
    assert edit.new_bytes == about.replace("0.4.1", "0.5.0").encode()
    assert edit.new_line == "__version__ = 'v0.5.0'  # the v is kept"


def test_hatch_custom_pattern(tmp_path: Path) -> None:
    pyproject = HATCH + "pattern = \"BUILD = '(?P<version>[^']+)'\"\n"
    root = repo(tmp_path / "r", {"pyproject.toml": pyproject,
                                 "src/demo/__about__.py": "__version__ = '9.9.9'\nBUILD = '0.4.1'\n"})
    [edit] = locate(root).edits_for("1.0.0")
    assert edit.line == 2 and edit.new_bytes == b"__version__ = '9.9.9'\nBUILD = '1.0.0'\n"


@pytest.mark.parametrize(("about", "fragment"), [
    ("x = 1\n", "src/demo/__about__.py:1: no version found ([tool.hatch.version] path)"),
    ('__version__ = "0.4.1"\nVERSION = "0.4.1"\n', "src/demo/__about__.py:2: the version is found 2 times (lines 1, 2"),
    ('__version__ = "0.4"\n', 'src/demo/__about__.py:1: version "0.4" is not MAJOR.MINOR.PATCH'
                              ' (expected 3 dot-separated numbers, found 2 parts); write "0.4.0"'),
])
def test_hatch_file_problems_name_file_and_line(tmp_path: Path, about: str, fragment: str) -> None:
    root = repo(tmp_path / "r", {"pyproject.toml": HATCH, "src/demo/__about__.py": about})
    assert fragment in refusal(root)


# ----------------------------------------------------------------- version-files


def test_version_files_are_edited_with_the_source(tmp_path: Path) -> None:
    pyproject = STATIC + ('[tool.directive-release]\nversion-files = ["src/demo/__init__.py",'
                          ' "docs/conf.py:^release = \\"(?P<version>[^\\"]+)\\""]\n')
    root = repo(tmp_path / "r", {
        "pyproject.toml": pyproject,
        "src/demo/__init__.py": '"""Demo."""\n__version__: str = "0.4.1"\n',
        "docs/conf.py": 'version = "0.4"\nrelease = "0.4.1"\n',
    })
    found = locate(root)
    assert found.files == ["pyproject.toml", "src/demo/__init__.py", "docs/conf.py"]
    edits = found.edits_for("0.4.2")
    assert [(e.path, e.line) for e in edits] == [("pyproject.toml", 3), ("src/demo/__init__.py", 2),
                                                 ("docs/conf.py", 2)]
    assert edits[2].new_bytes == b'version = "0.4"\nrelease = "0.4.2"\n'


@pytest.mark.parametrize(("files", "fragment"), [
    ({"v.py": "x = 1\n"}, "v.py:1: no version found (version-files in [tool.directive-release])"),
    ({"v.py": '__version__ = "0.4.1"\nVERSION = "0.4.1"\n'}, "v.py:2: the version is found 2 times"),
    ({"v.py": '__version__ = "0.4.0"\n'},
     'v.py:1: version "0.4.0" disagrees with "0.4.1" in pyproject.toml:3 (version-files'),
    ({"v.py": b'__version__ = "0.4.1"  # caf\xe9\n'}, "v.py:1: not valid UTF-8 (byte 0xe9 at column 29)"),
    ({}, "v.py:1: file not found"),
])
def test_listed_file_problems(tmp_path: Path, files: dict[str, str | bytes], fragment: str) -> None:
    pyproject = STATIC + '[tool.directive-release]\nversion-files = ["v.py"]\n'
    root = repo(tmp_path / "r", {"pyproject.toml": pyproject, **files})
    assert fragment in refusal(root)


def test_untracked_listed_file_is_refused(tmp_path: Path) -> None:
    root = repo(tmp_path / "r", {"pyproject.toml": STATIC + '[tool.directive-release]\nversion-files = ["v.py"]\n'})
    (root / "v.py").write_text('__version__ = "0.4.1"\n')
    assert "v.py: is not tracked by git (version-files in [tool.directive-release]); commit it first" in refusal(root)


def test_symlinked_and_outside_files_are_refused(tmp_path: Path) -> None:
    pyproject = STATIC + '[tool.directive-release]\nversion-files = ["link.py"]\n'
    root = repo(tmp_path / "r", {"pyproject.toml": pyproject, "real.py": '__version__ = "0.4.1"\n'})
    (root / "link.py").symlink_to("real.py")
    subprocess.run(["git", "add", "link.py"], cwd=root, check=True)
    assert "link.py:1: is a symbolic link; refusing" in refusal(root)
    (root / "pyproject.toml").write_text(STATIC + '[tool.directive-release]\nversion-files = ["../out.py"]\n')
    (tmp_path / "out.py").write_text('__version__ = "0.4.1"\n')
    assert "out.py: is outside the repository" in refusal(root)
    # a directory on the way that is a symlink
    (root / "pkg").symlink_to(root / "real_dir", target_is_directory=True)
    (root / "real_dir").mkdir()
    (root / "real_dir" / "v.py").write_text('__version__ = "0.4.1"\n')
    (root / "pyproject.toml").write_text(STATIC + '[tool.directive-release]\nversion-files = ["pkg/v.py"]\n')
    assert "pkg/v.py: is reached through a symbolic link" in refusal(root)


@pytest.mark.parametrize(("value", "fragment"), [
    ('["v.py", "./v.py"]', "lists v.py twice"),
    ('["v.py:(unclosed"]', "the pattern of v.py is not a valid regular expression"),
    ('["v.py:no group"]', "the pattern of v.py has no (?P<version>...) group"),
    ('"v.py"', "version-files must be a list of strings"),
    ('["/etc/passwd"]', "must be a path relative to the project"),
])
def test_bad_version_files_setting(tmp_path: Path, value: str, fragment: str) -> None:
    root = repo(tmp_path / "r", {"pyproject.toml": STATIC + f"[tool.directive-release]\nversion-files = {value}\n",
                                 "v.py": '__version__ = "0.4.1"\n'})
    assert fragment in refusal(root)


def test_source_file_listed_again_is_refused(tmp_path: Path) -> None:
    pyproject = HATCH + '\n[tool.directive-release]\nversion-files = ["src/demo/__about__.py"]\n'
    root = repo(tmp_path / "r", {"pyproject.toml": pyproject, "src/demo/__about__.py": '__version__ = "0.4.1"\n'})
    assert "src/demo/__about__.py: is listed twice ([tool.hatch.version] path and version-files" in refusal(root)


def test_unlisted_package_init_is_one_warning_with_the_setting(tmp_path: Path) -> None:
    root = repo(tmp_path / "r", {"pyproject.toml": STATIC, "src/demo/__init__.py": '__version__ = "0.4.1"\n'})
    assert locate(root).warnings == (
        'src/demo/__init__.py:1: __version__ = "0.4.1" is not bumped by the release;'
        ' add version-files = ["src/demo/__init__.py"] to [tool.directive-release] in pyproject.toml',
    )
    (root / "pyproject.toml").write_text(STATIC + '[tool.directive-release]\nversion-files = ["src/demo/__init__.py"]\n')
    assert locate(root).warnings == ()


# ------------------------------------------------------------------- backends (pure)


def _resolve(text: str, files: set[str] = frozenset(), dirs: set[str] = frozenset()) -> backends.Source:
    import tomllib

    return backends.resolve(tomllib.loads(text), "pyproject.toml", is_file=files.__contains__,
                            is_dir=dirs.__contains__)


@pytest.mark.parametrize(("text", "how"), [
    ('[build-system]\nbuild-backend = "hatchling.build"\n[project]\nname = "d"\ndynamic = ["version"]\n'
     '[tool.hatch.version]\nsource = "vcs"\n', "hatch-vcs"),
    ('[build-system]\nrequires = ["setuptools", "setuptools-scm>=8"]\nbuild-backend = "setuptools.build_meta"\n'
     '[project]\nname = "d"\ndynamic = ["version"]\n', "setuptools-scm"),
    ('[build-system]\nbuild-backend = "setuptools.build_meta"\n[project]\nname = "d"\ndynamic = ["version"]\n'
     '[tool.setuptools_scm]\n', "setuptools-scm"),
    ('[build-system]\nbuild-backend = "pdm.backend"\n[project]\nname = "d"\ndynamic = ["version"]\n'
     '[tool.pdm.version]\nsource = "scm"\n', 'source = "scm"'),
])
def test_vcs_versions_are_recognised(text: str, how: str) -> None:
    source = _resolve(text)
    assert source.kind == "vcs" and how in source.setting
    assert "the tag is the version" in source.vcs_refusal and "git tag" in source.vcs_refusal


def test_vcs_project_is_refused_by_the_release_and_accepted_by_the_hook(tmp_path: Path) -> None:
    text = ('[build-system]\nbuild-backend = "hatchling.build"\n[project]\nname = "d"\ndynamic = ["version"]\n'
            '[tool.hatch.version]\nsource = "vcs"\n')
    root = repo(tmp_path / "r", {"pyproject.toml": text})
    found = locate(root)
    assert found.is_vcs and found.current_version is None and found.files == []
    with pytest.raises(sources.VcsVersionError) as info:
        found.edits_for("1.0.0")
    assert str(info.value).startswith("pyproject.toml: the version comes from git tags")
    assert "\n" not in str(info.value)
    result = run_hook(root)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


@pytest.mark.parametrize(("text", "fragment"), [
    ('[build-system]\nbuild-backend = "hatchling.build"\n[project]\nname = "d"\ndynamic = ["version"]\n',
     "pyproject.toml:5: [project].dynamic lists \"version\" but [tool.hatch.version] has no path"),
    ('[build-system]\nbuild-backend = "setuptools.build_meta"\n[project]\nname = "d"\ndynamic = ["version"]\n'
     '[tool.setuptools.dynamic]\nversion = { attr = "d.__version__" }\n[tool.setuptools_scm]\n',
     "pyproject.toml:7: two version sources"),
    ('[build-system]\nbuild-backend = "poetry.core.masonry.api"\n[project]\nname = "d"\ndynamic = ["version"]\n',
     "pyproject.toml:2: [project].dynamic lists \"version\" and the build backend is 'poetry.core.masonry.api'"),
    ('[build-system]\nbuild-backend = "hatchling.build"\n[project]\nname = "d"\ndynamic = ["version"]\n'
     '[tool.hatch.version]\npath = "v.py"\npattern = "(unclosed"\n',
     "is not a valid regular expression"),
    ('[build-system]\nbuild-backend = "hatchling.build"\n[project]\nname = "d"\ndynamic = ["version"]\n'
     '[tool.hatch.version]\npath = "missing.py"\n', "missing.py:1: file not found"),
    ('[build-system]\nbuild-backend = "setuptools.build_meta"\n[project]\nname = "d"\ndynamic = ["version"]\n'
     '[tool.setuptools.dynamic]\nversion = { file = ["A", "B"] }\n', "must name one file"),
    ('[build-system]\nbuild-backend = "flit_core.buildapi"\n[project]\nname = "d"\ndynamic = ["version"]\n',
     "flit_core reads __version__ from module 'd', and several modules (d.py, src/d.py) was found"),
])
def test_backend_configuration_problems_are_one_line(tmp_path: Path, text: str, fragment: str) -> None:
    root = repo(tmp_path / "r", {"pyproject.toml": text, "v.py": '__version__ = "0.4.1"\n', "d.py": "",
                                 "src/d.py": ""})
    assert fragment in refusal(root)
    result = run_hook(root)
    assert result.returncode == 1 and len(result.stdout.splitlines()) == 1 and fragment in result.stdout
    assert result.stderr == ""


def test_setuptools_module_resolution() -> None:
    base = ('[build-system]\nbuild-backend = "setuptools.build_meta"\n[project]\nname = "d"\ndynamic = ["version"]\n'
            '[tool.setuptools.dynamic]\nversion = { attr = "pkg.sub.__version__" }\n')
    assert _resolve(base, {"src/pkg/sub.py"}, {"src"}).paths == ("src/pkg/sub.py",)
    assert _resolve(base, {"pkg/sub/__init__.py"}).paths == ("pkg/sub/__init__.py",)
    mapped = base + '[tool.setuptools]\npackage-dir = { "pkg" = "lib/p" }\n'
    assert _resolve(mapped, {"lib/p/sub.py"}).paths == ("lib/p/sub.py",)
    found = base + '[tool.setuptools.packages.find]\nwhere = ["code"]\n'
    assert _resolve(found, {"code/pkg/sub.py"}).paths == ("code/pkg/sub.py",)


def test_flit_candidates_follow_flits_precedence() -> None:
    text = '[build-system]\nbuild-backend = "flit_core.buildapi"\n[project]\nname = "my-pkg"\ndynamic = ["version"]\n'
    source = _resolve(text, {"src/my_pkg/_version.py", "src/my_pkg/__init__.py"}, {"src/my_pkg", "src"})
    assert source.paths == ("src/my_pkg/_version.py", "src/my_pkg/__init__.py")


# ----------------------------------------------------------------------- literals


def test_python_assignment_refuses_what_it_cannot_edit_as_one_literal() -> None:
    assert literal.find_python_assignments('__version__ = "1.2.3"\n', "f.py")[0].value == "1.2.3"
    for text in ('__version__ = "1.2" ".3"\n', '__version__ = "1.2.\\x33"\n', "__version__ = (1, 2, 3)\n"):
        with pytest.raises(SourceError):
            literal.find_python_assignments(text, "f.py")
    assert literal.find_python_assignments('def f():\n    __version__ = "1"\n', "f.py") == []


def test_pattern_spans_are_bytes_after_non_ascii_text() -> None:
    text = "# café ☕\n__version__ = '0.4.1'\n"
    [found] = literal.find_by_pattern(text, re.compile(literal.HATCH_DEFAULT_PATTERN, re.MULTILINE))
    assert text.encode()[found.start : found.end] == b"0.4.1" and found.line == 2


# -------------------------------------------------------------------------- uv.lock

LOCK = """version = 1
revision = 3
requires-python = ">=3.11"

[[package]]
name = "dep"
version = "0.4.1"
source = { directory = "../dep" }

[[package]]
name = "my-proj"
version = "0.4.1"
source = { editable = "." }
dependencies = [
    { name = "dep" },
]

[package.metadata]
requires-dist = [{ name = "dep", directory = "../dep" }]
"""


def test_lock_edit_moves_only_the_projects_version_line() -> None:
    found = uvlock.find(LOCK.encode(), "uv.lock", "My_Proj")
    assert found is not None and found.line == 12
    edited = uvlock.replace(LOCK.encode(), "uv.lock", "My_Proj", ".", found, "0.5.0")
    assert edited == LOCK.replace('name = "my-proj"\nversion = "0.4.1"', 'name = "my-proj"\nversion = "0.5.0"').encode()


def test_untracked_lock_is_left_alone_with_a_warning(tmp_path: Path) -> None:
    root = repo(tmp_path / "r", {"pyproject.toml": STATIC.replace('"demo"', '"my-proj"')})
    (root / "uv.lock").write_text(LOCK)
    found = locate(root)
    assert found.files == ["pyproject.toml"]
    assert found.warnings == ("uv.lock: not tracked by git, so the release leaves it alone",)


def test_lock_without_a_version_for_the_project_is_left_alone(tmp_path: Path) -> None:
    lock = LOCK.replace('name = "my-proj"\nversion = "0.4.1"\n', 'name = "my-proj"\n')
    assert uvlock.find(lock.encode(), "uv.lock", "my-proj") is None
    root = repo(tmp_path / "r", {"pyproject.toml": STATIC.replace('"demo"', '"my-proj"'), "uv.lock": lock})
    assert locate(root).files == ["pyproject.toml"]


@pytest.mark.parametrize(("lock", "fragment"), [
    ("version = 1\n[[package]\n", "uv.lock:2: invalid TOML"),
    (LOCK + '\n[[package]]\nname = "my_proj"\nversion = "0.4.1"\nsource = { editable = "." }\n',
     "uv.lock:21: the project 'my-proj' is recorded twice (lines 10, 21)"),
    ("[" * 100_000 + "\n", "uv.lock:1: invalid TOML"),
])
def test_bad_locks_are_refused(tmp_path: Path, lock: str, fragment: str) -> None:
    root = repo(tmp_path / "r", {"pyproject.toml": STATIC.replace('"demo"', '"my-proj"'), "uv.lock": lock})
    assert fragment in refusal(root)
    result = run_hook(root)
    assert result.returncode == 1 and fragment in result.stdout and len(result.stdout.splitlines()) == 1


# --------------------------------------------------------------------- new versions


def test_new_version_must_be_plain(tmp_path: Path) -> None:
    root = repo(tmp_path / "r", {"pyproject.toml": STATIC})
    with pytest.raises(PyprojectError, match='write "1.2.0"'):
        locate(root).edits_for("1.2")


def test_pyproject_read_still_works_for_current_callers(tmp_path: Path) -> None:
    from directive_release import pyproject

    root = repo(tmp_path / "r", {"pyproject.toml": STATIC})
    assert pyproject.read(root).version == "0.4.1"
    assert stat.S_IMODE((root / "pyproject.toml").stat().st_mode) == pyproject.read(root).mode


def test_fast_acceptance_matches_the_version_module() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from directive_release import version as version_rules
    from directive_release.sources.inventory import _PLAIN_VERSION

    @settings(max_examples=300)
    @given(st.text(alphabet="0123456789.vV-+ rc\u0663\uff11", max_size=12))
    def agree(text: str) -> None:
        assert (_PLAIN_VERSION.fullmatch(text) is not None) == version_rules.is_valid(text)

    agree()


def test_edits_change_the_literal_only_whatever_surrounds_it() -> None:
    """Property: around one hatch-default assignment, any text (comments, other assignments, CRLF, non-ASCII,
    strings mentioning the version) keeps its bytes; the edit reads back as the new version, as hatch reads it."""
    import tempfile

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    chunks = st.sampled_from(["# version 0.4.1\n", "x = '0.4.1'\n", "\r\n", "caf\u00e9 = 1\n", '"""\n0.4.1\n"""\n',
                              "__all__ = ['__version__']\n", "  __version__ = 'x'\n", "version_info = (0, 4, 1)\n"])
    quote = st.sampled_from(["'", '"'])
    ending = st.sampled_from(["\n", "\r\n", ""])

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(chunks, max_size=4), st.lists(chunks, max_size=4), quote, ending)
    def check(before: list[str], after: list[str], q: str, end: str) -> None:
        about = "".join(before) + f"__version__ = {q}0.4.1{q}{end}" + ("\n" if not end and after else "") + "".join(after)
        with tempfile.TemporaryDirectory() as scratch:
            root = repo(Path(scratch) / "r", {"pyproject.toml": HATCH, "src/demo/__about__.py": about})
            [edit] = locate(root).edits_for("10.20.30")
            old = about.encode()
            start = old.index(f"__version__ = {q}0.4.1".encode()) + len("__version__ = x")
            assert edit.new_bytes == old[:start] + b"10.20.30" + old[start + 5 :]
            found = re.search(literal.HATCH_DEFAULT_PATTERN, edit.new_bytes.decode(), re.MULTILINE)
            assert found is not None and found.group("version") == "10.20.30"

    check()


def test_project_below_the_repository_root_gets_repository_relative_paths(tmp_path: Path) -> None:
    root = repo(tmp_path / "r", {"pkg/pyproject.toml": HATCH, "pkg/src/demo/__about__.py": '__version__ = "0.4.1"\n',
                                 "pkg/src/demo/__init__.py": '__version__ = "0.4.1"\n'})
    found = locate(root, root / "pkg")
    assert found.files == ["pkg/src/demo/__about__.py"]
    assert [edit.path for edit in found.edits_for("0.4.2")] == ["pkg/src/demo/__about__.py"]
    assert found.warnings == ('pkg/src/demo/__init__.py:1: __version__ = "0.4.1" is not bumped by the release;'
                              ' add version-files = ["src/demo/__init__.py"] to [tool.directive-release] in'
                              " pyproject.toml",)
    with pytest.raises(SourceError, match="pkg/src/demo/__about__.py: is not tracked by git"):
        sources.locate(root / "pkg", root, is_tracked=lambda path: path != "pkg/src/demo/__about__.py")


def test_lock_read_by_lines_agrees_with_the_parsed_lock() -> None:
    """Property: the hook's line reader of uv.lock either says it is unsure or finds what the full parse finds."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    names = st.sampled_from(["my-proj", "My_Proj", "my.proj", "other", "my-proj-x"])
    sources_ = st.sampled_from(['{ editable = "." }', '{ virtual = "." }', '{ editable = "sub" }',
                                '{ directory = "." }', '{ registry = "https://pypi.org/simple" }'])
    versions = st.sampled_from([None, "0.4.1", "1.0.0"])
    entry = st.tuples(names, versions, sources_, st.booleans())

    def render(entries: list[tuple[str, str | None, str, bool]]) -> bytes:
        text = 'version = 1\nrevision = 3\nrequires-python = ">=3.11"\n'
        for name, version, source, metadata in entries:
            text += f'\n[[package]]\nname = "{name}"\n'
            text += f'version = "{version}"\n' if version else ""
            text += f"source = {source}\ndependencies = [\n    {{ name = \"dep\" }},\n]\n"
            text += '\n[package.metadata]\nrequires-dist = [{ name = "dep" }]\nversion = "9.9.9"\n' if metadata else ""
        return text.encode()

    @settings(max_examples=300)
    @given(st.lists(entry, max_size=5), st.sampled_from([".", "sub"]))
    def agree(entries: list[tuple[str, str | None, str, bool]], directory: str) -> None:
        raw = render(entries)
        try:
            expected: object = uvlock.find(raw, "uv.lock", "my-proj", directory)
        except SourceError as error:
            expected = error
        try:
            by_lines = uvlock.find_by_lines(raw, "my-proj", directory)
        except uvlock.Unsure:
            return
        assert not isinstance(expected, SourceError), expected
        assert by_lines == expected

    agree()
    assert uvlock.find_by_lines(LOCK.encode(), "My_Proj") == uvlock.find(LOCK.encode(), "uv.lock", "My_Proj")
    twice = LOCK + '\n[[package]]\nname = "my_proj"\nversion = "0.4.1"\nsource = { editable = "." }\n'
    with pytest.raises(uvlock.Unsure):
        uvlock.find_by_lines(twice.encode(), "my-proj")


def test_a_version_file_with_a_byte_order_mark_keeps_it(tmp_path: Path) -> None:
    about = b'\xef\xbb\xbf"""About."""\r\n__version__ = "0.4.1"\r\n'
    root = repo(tmp_path / "r", {"pyproject.toml": HATCH, "src/demo/__about__.py": about})
    [edit] = locate(root).edits_for("0.4.2")
    assert edit.new_bytes == about.replace(b"0.4.1", b"0.4.2") and edit.line == 2
