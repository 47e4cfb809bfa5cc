"""pyproject.toml edits: only the version's characters may change."""

from pathlib import Path

import pytest

from directive_release.errors import ConfigError, PyprojectError
from directive_release.pyproject import read, replace_version, version_line

CASES = [
    b'[project]\nname = "x"\nversion = "0.4.1"\n',
    b"[project]\nname = 'x'\nversion = '0.4.1' # literal keeps its quotes\n",
    b'[project]\r\nname = "x"\r\nversion = "0.4.1"\r\n[tool.x]\r\na = 1\r\n',
    b'project.name = "x"\nproject.version = "0.4.1"\n',
    b'project = { name = "x", version = "0.4.1" }\n',
    b'# comment\n[project]\nversion    =     "0.4.1"   # aligned\ndependencies = ["dep==0.4.1"]\n',
    b'[project]\ndependencies = ["pin==0.4.1"]\nversion = "0.4.1"\n',
    b'[tool.other]\nversion = "0.4.1"\n\n[project]\nname="x"\nversion="0.4.1"\n',
]


@pytest.mark.parametrize("raw", CASES)
def test_only_the_version_changes(raw: bytes) -> None:
    edited = replace_version(raw, "0.4.2")
    assert len(edited) == len(raw)
    differing = [i for i, (a, b) in enumerate(zip(raw, edited)) if a != b]
    assert len(differing) == 1
    position = differing[0]
    assert raw[position : position + 1] == b"1" and edited[position : position + 1] == b"2"
    # and it is the [project] one that changed
    import tomllib

    assert tomllib.loads(edited.decode())["project"]["version"] == "0.4.2"


def test_longer_version_and_crlf_kept() -> None:
    raw = b'[project]\r\nversion = "9.9.9"\r\n'
    assert replace_version(raw, "10.0.0") == b'[project]\r\nversion = "10.0.0"\r\n'


def test_version_line() -> None:
    assert version_line(CASES[5]) == 3
    assert version_line(CASES[3]) == 2


def _write(tmp_path: Path, raw: bytes) -> Path:
    (tmp_path / "pyproject.toml").write_bytes(raw)
    return tmp_path


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'[project]\nversion = "1.02.3"\n', 'pyproject.toml:2: version "1.02.3" is not MAJOR.MINOR.PATCH (leading zero in minor)'),
        (b'[project]\nname = "x"\ndynamic = ["version"]\n', "dynamic"),
        (b'[project]\nname = "x"\n', 'pyproject.toml:1: [project] has no version; expected version = "MAJOR.MINOR.PATCH"'),
        (b'[project]\nversion = "1.2"\n', 'pyproject.toml:2: version "1.2" is not MAJOR.MINOR.PATCH (expected 3 dot-separated numbers, found 2 parts); write "1.2.0"'),
        (b'[project]\nversion = 1\n', 'pyproject.toml:2: version is an integer (1), not a string; expected version = "MAJOR.MINOR.PATCH" (in quotes)'),
        (b'[tool.x]\nversion = "1.2.3"\n', "no [project] table"),
        (b'[project\nversion = "1.2.3"\n', "pyproject.toml:1: invalid TOML"),
        (b'[project]\nversion = "1.2.3"\nname = "\xff"\n', "pyproject.toml:3: not valid UTF-8"),
        (b'', "no [project] table"),
    ],
)
def test_read_errors_name_the_file(tmp_path: Path, raw: bytes, message: str) -> None:
    root = _write(tmp_path, raw)
    with pytest.raises(PyprojectError) as info:
        read(root, display_root=root)
    assert message in str(info.value)
    assert (root / "pyproject.toml").read_bytes() == raw


def test_symlink_and_directory_refused(tmp_path: Path) -> None:
    real = tmp_path / "real.toml"
    real.write_text('[project]\nversion = "1.2.3"\n')
    (tmp_path / "pyproject.toml").symlink_to(real)
    with pytest.raises(PyprojectError, match="symbolic link"):
        read(tmp_path)
    (tmp_path / "pyproject.toml").unlink()
    (tmp_path / "pyproject.toml").mkdir()
    with pytest.raises(PyprojectError, match="is a directory, not a file"):
        read(tmp_path)
    (tmp_path / "pyproject.toml").rmdir()
    with pytest.raises(PyprojectError, match="not found"):
        read(tmp_path)


def test_settings_are_read_and_validated(tmp_path: Path) -> None:
    root = _write(tmp_path, b'[project]\nversion = "1.2.3"\n[tool.directive-release]\nremote = "upstream"\n')
    assert read(root).settings.remote == "upstream"
    _write(tmp_path, b'[project]\nversion = "1.2.3"\n[tool.directive-release]\nremtoe = "upstream"\n')
    with pytest.raises(ConfigError, match="unknown key 'remtoe'; valid keys: base-branch, branch-prefix"):
        read(root)


@pytest.mark.parametrize("raw", CASES)
def test_fast_span_edit_agrees_with_tomlkit(raw: bytes) -> None:
    from directive_release.pyproject import _edit_with_tomlkit, _version_span

    import tomllib

    span = _version_span(raw, tomllib.loads(raw.decode()), "0.4.1")
    assert span is not None
    assert replace_version(raw, "0.4.2") == _edit_with_tomlkit(raw.decode(), "0.4.2").encode()


def test_triple_quoted_version_is_edited_in_place() -> None:
    raw = b'[project]\nversion = """0.4.1"""\n'
    assert replace_version(raw, "0.4.2") == b'[project]\nversion = """0.4.2"""\n'


def test_escaped_version_is_refused_rather_than_reformatted() -> None:
    raw = b'[project]\nversion = "0.4\\u002e1"\n'
    with pytest.raises(PyprojectError, match="pyproject.toml:2: editing the version would reformat"):
        replace_version(raw, "0.4.2")


def test_common_edit_does_not_import_tomlkit() -> None:
    import subprocess
    import sys

    code = ("import sys; from directive_release.pyproject import replace_version, version_line;"
            "raw = b'[project]\\nname = \"x\"\\nversion = \"1.2.3\"\\n';"
            "assert replace_version(raw, '1.2.4').endswith(b'\"1.2.4\"\\n'); assert version_line(raw) == 3;"
            "print('tomlkit' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
