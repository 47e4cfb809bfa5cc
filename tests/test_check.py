"""``directive-release-check``: which pyproject.toml files pass, and how problems are reported.

The table runs the hook's ``main`` in-process on real files; the process-level
behaviour (console script, exit codes, imports, default file) runs the
installed console script in a subprocess, as pre-commit does.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import packaging.version
import pytest
from hypothesis import given
from hypothesis import strategies as st

from directive_release import version as version_rules
from directive_release.check import _PLAIN_VERSION, check_file, main
from directive_release.sources.toml_lines import key_lines
from sources_support import hook_success_imports, third_party

REPO_ROOT = Path(__file__).resolve().parents[1]
CONSOLE_SCRIPT = Path(sys.executable).with_name("directive-release-check")
LINE_FORMAT = re.compile(r"^(?P<path>.+?):(?P<line>[1-9][0-9]*): (?P<message>\S.*)$")


def with_version(value: str) -> str:
    """A realistic pyproject.toml whose ``version = <value>`` is on line 6."""
    return (
        '[build-system]\nrequires = ["hatchling"]\n\n'
        f'[project]\nname = "demo"\nversion = {value}\ndescription = "demo"\n'
    )


@dataclass(frozen=True)
class Case:
    id: str
    content: str | bytes
    line: int | None = None  # None: the file is valid
    fragment: str = ""  # must appear in the message


VALID = [
    Case("basic string", with_version('"1.2.3"')),
    Case("all zeros", with_version('"0.0.0"')),
    Case("zero major", with_version('"0.4.1"')),
    Case("multi-digit fields", with_version('"10.20.300"')),
    Case("huge numbers", with_version('"12345678901234567890.0.0"')),
    Case("literal string", with_version("'1.2.3'")),
    Case("multi-line basic string", with_version('"""1.2.3"""')),
    Case("multi-line literal string", with_version("'''1.2.3'''")),
    Case("unicode escape", with_version('"1.2.\\u0033"')),
    Case("quoted key", '[project]\nname = "demo"\n"version" = "1.2.3"\n'),
    Case("dotted key at top level", 'project.name = "demo"\nproject.version = "1.2.3"\n'),
    Case("inline table", 'project = { name = "demo", version = "1.2.3" }\n'),
    Case("CRLF line ends", with_version('"1.2.3"').replace("\n", "\r\n")),
    Case("spaced header with comment", '[ project ]  # metadata\nname = "demo"\nversion   =   "1.2.3"   # bumped\n'),
    Case("other fields dynamic", '[project]\nname = "demo"\nversion = "1.2.3"\ndynamic = ["readme"]\n'),
    Case("other tables' versions ignored", with_version('"1.2.3"') + '\n[tool.other]\nversion = "v9"\n'),
]

INVALID = [
    # the string itself
    Case("v prefix", with_version('"v1.2.3"'), 6, "no 'v' prefix allowed"),
    Case("capital V prefix", with_version('"V1.2.3"'), 6, "no 'v' prefix allowed"),
    Case("two parts", with_version('"1.2"'), 6, "found 2 parts"),
    Case("four parts", with_version('"1.2.3.4"'), 6, "found 4 parts"),
    Case("leading zero major", with_version('"01.2.3"'), 6, "(leading zero in major)"),
    Case("leading zero minor", with_version('"1.02.3"'), 6,
         'version "1.02.3" is not MAJOR.MINOR.PATCH (leading zero in minor)'),
    Case("leading zero patch", with_version('"1.2.03"'), 6, "(leading zero in patch)"),
    Case("leading space", with_version('" 1.2.3"'), 6, "leading or trailing whitespace"),
    Case("trailing newline escape", with_version('"1.2.3\\n"'), 6, "leading or trailing whitespace"),
    Case("inner tab", with_version('"1.2.\\t3"'), 6, "contains whitespace"),
    Case("semver pre-release", with_version('"1.2.3-rc.1"'), 6,
         'pre-release and dev/post versions are not supported by the release flow); PEP 440 reads it as "1.2.3rc1"'),
    Case("PEP 440 pre-release", with_version('"1.2.3rc1"'), 6, "not supported by the release flow"),
    Case("dev release", with_version('"1.2.3.dev0"'), 6, "not supported by the release flow"),
    Case("post release", with_version('"1.2.3.post1"'), 6, "not supported by the release flow"),
    Case("local version", with_version('"1.2.3+local"'), 6, "PyPI rejects local versions"),
    Case("Arabic-Indic digits", with_version('"\u0661.\u0662.\u0663"'), 6, "non-ASCII digits in major"),
    Case("fullwidth digit", with_version('"1.\uff12.3"'), 6, "non-ASCII digits in minor"),
    Case("empty string", with_version('""'), 6, "(empty string)"),
    Case("empty field", with_version('"1..3"'), 6, "(empty minor)"),
    Case("letter field", with_version('"1.2.x"'), 6, 'patch "x" is not a number'),
    Case("literal string invalid", with_version("'1.2.3.4'"), 6, "found 4 parts"),
    Case("multi-line string invalid", with_version('"""1.2.3\n"""'), 6, "leading or trailing whitespace"),
    # not a string
    Case("integer", with_version("1"), 6, "version is an integer (1), not a string"),
    Case("float", with_version("1.2"), 6, "version is a float (1.2), not a string"),
    Case("boolean", with_version("true"), 6, "version is a boolean (true), not a string"),
    Case("array", with_version('["1", "2", "3"]'), 6, "version is an array, not a string"),
    Case("inline table value", with_version("{ major = 1 }"), 6, "version is a table, not a string"),
    Case("date", with_version("2024-01-02"), 6, "version is a date (2024-01-02), not a string"),
    Case("dotted key makes a table", '[project]\nname = "demo"\nversion.major = 1\n', 3, "version is a table"),
    # where the version is
    Case("dotted key invalid", 'project.name = "demo"\n\nproject.version = "1.2"\n', 3, "found 2 parts"),
    Case("inline table invalid", 'project = { name = "demo", version = "1.2" }\n', 1, "found 2 parts"),
    Case("inline table over lines", 'x = 1\nproject = { name = "d", deps = [\n  "a",\n], version = "1.2" }\n', 4,
         "found 2 parts"),
    Case("quoted header", '["project"]\nname = "demo"\nversion = "v1.2.3"\n', 3, "prefix"),
    Case("escaped key", '[project]\nname = "demo"\n"vers\\u0069on" = "1.2"\n', 3, "found 2 parts"),
    Case("CRLF invalid", with_version('"1.2"').replace("\n", "\r\n"), 6, "found 2 parts"),
    Case("decoy in multi-line string",
         '[project]\nname = "demo"\ndescription = """\n[project]\nversion = "9.9.9"\n"""\nversion = "1.2"\n', 7,
         "found 2 parts"),
    Case("decoy in array", '[project]\nkeywords = [\n  "version = 1",\n  \'[project]\',\n]\nversion = "1.2"\n', 6,
         "found 2 parts"),
    # no usable [project].version
    Case("empty file", "", 1, 'no [project] table; expected [project] with version = "MAJOR.MINOR.PATCH"'),
    Case("comments only", "# nothing here\n", 1, "no [project] table"),
    Case("no project table", '[tool.demo]\nversion = "1.2.3"\n', 1, "no [project] table"),
    Case("project without version", '[build-system]\nrequires = []\n\n[project]\nname = "demo"\n', 4,
         '[project] has no version; expected version = "MAJOR.MINOR.PATCH"'),
    Case("version in another table", '[project]\nname = "demo"\n[tool.demo]\nversion = "1.2.3"\n', 1,
         "[project] has no version"),
    Case("dynamic version without a backend setting", '[project]\nname = "demo"\ndynamic = ["version"]\n', 3,
         '[project].dynamic lists "version" but [tool.setuptools.dynamic] has no version'),
    Case("dynamic and static version", '[project]\nname = "demo"\nversion = "1.2.3"\ndynamic = ["version"]\n', 4,
         'remove "version" from dynamic'),
    Case("project is a string", 'project = "demo"\n', 1, 'project is a string ("demo"), not a table'),
    Case("project is an array of tables", '[[project]]\nversion = "1.2.3"\n', 1, "project is an array of tables"),
    # not TOML or not text
    Case("unterminated string", '[project]\nname = "demo"\nversion = "1.2.3\n', 3, "invalid TOML: "),
    Case("duplicate key", '[project]\nversion = "1.2.3"\nversion = "1.2.4"\n', 3, "invalid TOML: Cannot overwrite"),
    Case("invalid at end of file", '[project]\nname = "demo"\nversion =', 3, "(at end of file)"),
    Case("lone carriage return", '[project]\rversion = "1.2.3"\n', 1, "invalid TOML: "),
    Case("byte order mark", b'\xef\xbb\xbf[project]\nversion = "1.2.3"\n', 1, "byte order mark"),
    Case("not UTF-8", b'[project]\nname = "demo"\ndescription = "caf\xe9"\nversion = "1.2.3"\n', 3,
         "not valid UTF-8 (byte 0xe9 at column 19); TOML files must be UTF-8"),
]


def write(path: Path, content: str | bytes) -> Path:
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(list(args))
    captured = capsys.readouterr()
    assert captured.err == ""
    return code, captured.out.splitlines()


def test_the_table_is_large_enough() -> None:
    assert len(VALID) + len(INVALID) >= 40
    assert len({case.id for case in VALID + INVALID}) == len(VALID + INVALID)


@pytest.mark.parametrize("case", VALID, ids=lambda case: case.id)
def test_valid_file_passes_silently(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "pyproject.toml", case.content)
    assert run_main(capsys, str(path)) == (0, [])
    # Oracle: tomllib sees a string that PEP 440 (packaging) keeps as it is.
    value = tomllib.loads(path.read_text(encoding="utf-8"))["project"]["version"]
    assert str(packaging.version.Version(value)) == value


@pytest.mark.parametrize("case", INVALID, ids=lambda case: case.id)
def test_invalid_file_is_one_line_with_path_line_and_reason(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "pyproject.toml", case.content)
    code, lines = run_main(capsys, str(path))
    assert code == 1
    assert len(lines) == 1, lines
    match = LINE_FORMAT.match(lines[0])
    assert match is not None, lines[0]
    assert (match["path"], int(match["line"])) == (str(path), case.line)
    assert case.fragment in match["message"]


def test_issue_example_is_reproduced_exactly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "pyproject.toml", '[project]\nname = "demo"\n\n\n\n\nversion = "1.02.3"\n')
    assert run_main(capsys) == (
        1, ['pyproject.toml:7: version "1.02.3" is not MAJOR.MINOR.PATCH (leading zero in minor)']
    )


# ------------------------------------------------------------ files themselves


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "pyproject.toml"
    assert run_main(capsys, str(path)) == (
        1, [f"{path}:1: file not found"]
    )


def test_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main(capsys, str(tmp_path)) == (1, [f"{tmp_path}:1: is a directory, not a file"])


def test_unreadable_symlink_loop(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    loop = tmp_path / "pyproject.toml"
    loop.symlink_to(loop)
    code, lines = run_main(capsys, str(loop))
    assert code == 1
    assert lines == [
        f"{loop}:1: cannot read the file (Too many levels of symbolic links)"
    ]


def test_parent_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parent = write(tmp_path / "not-a-dir", "x")
    code, lines = run_main(capsys, str(parent / "pyproject.toml"))
    assert (code, len(lines)) == (1, 1)
    assert "a parent of this path is not a directory" in lines[0]


def problems_seen_by_an_unprivileged_user(path: Path) -> list[list[object]]:
    """``check_file`` in a forked child that gave up root (root reads files whatever their mode)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop to nobody, check, report, leave without pytest's clean-up
        status = 1
        try:
            os.close(read_end)
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            os.write(write_end, json.dumps(check_file(str(path))).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        output = reader.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return json.loads(output)


def test_permission_denied(tmp_path: Path) -> None:
    path = write(tmp_path / "pyproject.toml", with_version('"1.2.3"'))
    path.chmod(0)
    assert problems_seen_by_an_unprivileged_user(path) == [
        [1, "cannot read the file (permission denied)", None]
    ]


def test_several_files_report_every_problem_in_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path / "pyproject.toml", with_version('"1.2.3"'))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    bad_a = write(tmp_path / "a" / "pyproject.toml", with_version('"1.2"'))
    bad_b = write(tmp_path / "b" / "pyproject.toml", with_version('"v1.2.3"'))
    missing = tmp_path / "c" / "pyproject.toml"
    code, lines = run_main(capsys, str(bad_b), str(good), str(missing), str(bad_a))
    assert code == 1
    assert [line.split(":", 1)[0] for line in lines] == [str(bad_b), str(missing), str(bad_a)]
    assert run_main(capsys, str(good), str(good)) == (0, [])


def test_a_file_named_twice_is_reported_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write(tmp_path / "pyproject.toml", with_version('"1.2"'))
    code, lines = run_main(capsys, str(bad), str(bad))
    assert (code, len(lines)) == (1, 1)


def test_credentials_in_a_value_never_reach_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "pyproject.toml", with_version('"https://user:s3cr3t-token@example.test/x"'))
    code, lines = run_main(capsys, str(path))
    assert code == 1
    assert "s3cr3t-token" not in "\n".join(lines)
    assert "***@example.test" in lines[0]


def test_control_characters_stay_on_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "bad\nname.toml", 'project = """a\nb"""\n')
    code, lines = run_main(capsys, str(path))
    assert code == 1
    assert lines == [f'{tmp_path}/bad\\x0aname.toml:1: project is a string ("a\\x0ab"), not a table;'
                     ' expected [project] with version = "MAJOR.MINOR.PATCH"']


# ------------------------------------------------------- the real console script


def run_console_script(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert CONSOLE_SCRIPT.exists(), f"{CONSOLE_SCRIPT} missing: install the project (pip install -e .)"
    return subprocess.run([str(CONSOLE_SCRIPT), *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_console_script_defaults_to_pyproject_in_cwd(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", with_version('"1.2.3"'))
    assert run_console_script(cwd=tmp_path).returncode == 0
    write(tmp_path / "pyproject.toml", with_version('"1.2.3-rc.1"'))
    result = run_console_script(cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith('pyproject.toml:6: version "1.2.3-rc.1" is not MAJOR.MINOR.PATCH')
    assert "Traceback" not in result.stdout + result.stderr


def test_console_script_missing_default_file(tmp_path: Path) -> None:
    result = run_console_script(cwd=tmp_path)
    assert (result.returncode, result.stdout) == (
        1, "pyproject.toml:1: file not found\n"
    )


def test_usage_error_exits_2(tmp_path: Path) -> None:
    result = run_console_script("--no-such-option", cwd=tmp_path)
    assert result.returncode == 2
    assert "unrecognized arguments: --no-such-option" in result.stderr


def test_help_explains_rules_and_exit_codes(tmp_path: Path) -> None:
    result = run_console_script("--help", cwd=tmp_path)
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "MAJOR.MINOR.PATCH" in text
    assert "0 every file is valid, 1 a file has a problem, 2 usage error" in text


def test_double_dash_still_takes_files(tmp_path: Path) -> None:
    write(tmp_path / "-odd.toml", with_version('"1.2"'))
    result = run_console_script("--", "-odd.toml", cwd=tmp_path)
    assert (result.returncode, result.stdout.split(":")[:2]) == (1, ["-odd.toml", "6"])


def test_success_path_imports_only_the_standard_library(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", with_version('"1.2.3"'))
    loaded = hook_success_imports(tmp_path)
    assert "directive_release.check" in loaded
    for heavy in ("packaging", "tomlkit", "dulwich", "questionary", "argparse", "directive_release.version"):
        assert heavy not in loaded
    assert third_party(loaded) == []


# ------------------------------------------------------------------ properties

version_like = st.text(alphabet="0123456789.vV-+ rc\u0663\uff11", max_size=12)
plain_numbers = st.tuples(*[st.sampled_from(["0", "1", "00", "01", "10", "123", "\u0661"])] * 3).map(".".join)


@given(st.one_of(version_like, plain_numbers))
def test_fast_acceptance_matches_the_version_module(text: str) -> None:
    assert (_PLAIN_VERSION.fullmatch(text) is not None) == version_rules.is_valid(text)


@given(st.tuples(*[st.integers(min_value=0, max_value=10**12)] * 3).map(lambda parts: ".".join(map(str, parts))))
def test_accepted_versions_are_pep440_canonical(text: str) -> None:
    assert version_rules.is_valid(text)
    assert str(packaging.version.Version(text)) == text


@given(st.text(alphabet=st.sampled_from(list("[]{}=.,\"'#\n\r\t -_ab0version project")), max_size=80))
def test_line_finder_never_raises(text: str) -> None:
    found = key_lines(text)
    assert all(1 <= line <= text.count("\n") + 1 for line in found.values())


DECOYS = [
    '# a comment with version = "9"',
    'name = "demo"',
    'description = """\n[project]\nversion = "9.9.9"\n"""',
    "keywords = [\n  'version',\n  \"[project]\",  # comment\n]",
    'urls = { home = "https://example.test", "version" = "x" }',
    'authors = [{ name = "a" }, { name = "b", version = 1 }]',
    "",
]


@given(
    before=st.lists(st.sampled_from(DECOYS), unique=True, max_size=5),
    form=st.sampled_from(["table", "dotted", "inline"]),
    value=st.sampled_from(['"1.2"', "'v1.2.3'", '"""1.2.3-rc.1"""', "1", "[1, 2]"]),
)
def test_line_finder_agrees_with_where_the_version_was_written(before: list[str], form: str, value: str) -> None:
    statement = {
        "table": f"version = {value}",
        "dotted": f"project.version = {value}",
        "inline": f'project = {{ name = "d", version = {value} }}',
    }[form]
    # Under [project] the decoys are its keys; otherwise they are top-level keys.
    header = ["[tool.x]", f"version = {value}", "[project]"] if form == "table" else []
    chunks = [*header, *before, statement]
    text = "".join(chunk + "\n" for chunk in chunks)
    tomllib.loads(text)  # the generated document is valid TOML
    expected = "".join(chunk + "\n" for chunk in chunks[:-1]).count("\n") + 1
    assert key_lines(text)[("project", "version")] == expected


# ------------------------------------------------------------------- benchmark


def test_benchmark_prints_medians_and_ratio() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "benchmarks" / "bench_hook.py"), "--runs", "3"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    ratios = re.findall(r"^ratio \(hook / baseline\)\s+([0-9.]+)x$", result.stdout, re.MULTILINE)
    assert len(ratios) == 2, result.stdout  # the static project and the hatch path project
    assert all(float(ratio) > 0 for ratio in ratios)
    assert result.stdout.startswith("static: ") and "\nhatch path: " in result.stdout
