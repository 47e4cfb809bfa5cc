"""Bad input (issue 7, part 3): every case is refused in one line and nothing is written.

A corpus of malformed ``pyproject.toml`` files (invalid TOML of many kinds, BOM,
NUL, non-UTF-8, deep nesting, a huge file), version values of every wrong form
and type, ``[tool.directive-release]`` tables of the wrong shape and hostile
values (ref-name tricks, format-string attribute access, control characters,
URLs in place of a remote name), and repository states (symlink or directory in
place of the file, no commits, bare, no remote, not a repository, corrupt HEAD,
index or config, environment overrides).

Each case is committed (the tree is clean, so the bad input is the only
problem), then ``patch --yes`` runs in a real process. Expected: exit 1 (2 for
usage), exactly one line on stderr, ours, naming pyproject.toml (and the line
where the problem has one), no traceback, and every byte of the work tree,
``.git`` and the remote unchanged -- no object, no lock, no journal.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from reliability_support import Copyable, assert_one_line_refusal, copyable_project, whole_state
from support import Project, git, run_cli

BASE = '[project]\nname = "demo"\nversion = "0.4.1"\n'  # the version is on line 3


def with_version(value: str) -> bytes:
    return f'[project]\nname = "demo"\nversion = {value}\n'.encode()


def with_setting(line: str) -> bytes:
    return (BASE + "[tool.directive-release]\n" + line + "\n").encode()


@dataclass(frozen=True)
class Bad:
    name: str
    content: bytes
    message: str  # a fragment the one line must hold
    line: int | None = None  # the line number the message must give, when the problem has one


CORPUS: list[Bad] = [
    # --- not TOML ---------------------------------------------------------------------------
    Bad("unclosed-string", b'[project]\nname = "demo"\nversion = "0.4.1\n', "invalid TOML", 3),
    Bad("unclosed-header", b'[project\nname = "demo"\n', "invalid TOML", 1),
    Bad("duplicate-key", (BASE + 'version = "0.4.2"\n').encode(), "invalid TOML", 4),
    Bad("duplicate-table", (BASE + "[project]\n").encode(), "invalid TOML", 4),
    Bad("key-with-space", (BASE + "my key = 1\n").encode(), "invalid TOML", 4),
    Bad("missing-value", b'[project]\nname = "demo"\nversion =\n', "invalid TOML", 3),
    Bad("invalid-escape", (BASE + 'description = "a\\qb"\n').encode(), "invalid TOML", 4),
    Bad("unterminated-multiline", (BASE + 'description = """abc\n').encode(), "invalid TOML"),
    Bad("impossible-date", (BASE + "released = 1979-13-45\n").encode(), "invalid TOML", 4),
    Bad("unclosed-array", (BASE + "keywords = [1, 2\n").encode(), "invalid TOML"),
    Bad("inline-trailing-comma", (BASE + 'urls = {a = "x",}\n').encode(), "invalid TOML", 4),
    Bad("table-and-key-on-one-line", b'[project] version = "0.4.1"\n', "invalid TOML", 1),
    Bad("nul-byte", (BASE + 'description = "a\x00b"\n').encode(), "invalid TOML", 4),
    Bad("utf8-bom", ("\ufeff" + BASE).encode(), "byte order mark", 1),
    Bad("latin-1", BASE.encode() + b'description = "caf\xe9"\n', "not valid UTF-8 (byte 0xe9 at column 19)", 4),
    Bad("utf-16", BASE.encode("utf-16"), "not valid UTF-8", 1),
    Bad("encoded-surrogate", BASE.encode() + b'description = "\xed\xa0\x80"\n', "not valid UTF-8", 4),
    Bad("cr-line-endings", BASE.replace("\n", "\r").encode(), "invalid TOML", 1),
    Bad("nested-too-deeply", (BASE + "a = " + "[" * 5000 + "]" * 5000 + "\n").encode(), "nested too deeply"),
    Bad("huge-file-error-at-the-end", ("# filler\n" * 200_000 + BASE + "broken =\n").encode(), "invalid TOML",
        200_004),
    Bad("empty-file", b"", "no [project] table"),
    Bad("whitespace-only", b"\n \n\t\n", "no [project] table"),
    # --- the version: wrong type ---------------------------------------------------------------
    Bad("version-integer", with_version("1"), "not a string", 3),
    Bad("version-float", with_version("0.4"), "not a string", 3),
    Bad("version-array", with_version('["0.4.1"]'), "not a string", 3),
    Bad("version-inline-table", with_version("{ major = 0 }"), "not a string", 3),
    Bad("version-date", with_version("2024-01-01"), "not a string", 3),
    Bad("version-boolean", with_version("true"), "not a string", 3),
    # --- the version: wrong form ---------------------------------------------------------------
    Bad("version-empty", with_version('""'), "empty string", 3),
    Bad("version-v-prefix", with_version('"v0.4.1"'), "no 'v' prefix", 3),
    Bad("version-two-parts", with_version('"0.4"'), "found 2 parts", 3),
    Bad("version-four-parts", with_version('"0.4.1.2"'), "MAJOR.MINOR.PATCH", 3),
    Bad("version-leading-zero", with_version('"0.04.1"'), "leading zero", 3),
    Bad("version-leading-space", with_version('" 0.4.1"'), "whitespace", 3),
    Bad("version-trailing-tab", with_version('"0.4.1\\t"'), "whitespace", 3),
    Bad("version-newline-escape", with_version('"0.4.1\\n"'), "whitespace", 3),
    Bad("version-prerelease", with_version('"0.4.1-rc.1"'), "pre-release", 3),
    Bad("version-pep440-alpha", with_version('"0.4.1a1"'), "pre-release", 3),
    Bad("version-dev", with_version('"0.4.1.dev0"'), "MAJOR.MINOR.PATCH", 3),
    Bad("version-local", with_version('"0.4.1+local"'), "build metadata", 3),
    Bad("version-fullwidth-digits", with_version('"０.４.１"'), "non-ASCII digits", 3),
    Bad("version-negative", with_version('"-1.0.0"'), "MAJOR.MINOR.PATCH", 3),
    Bad("version-letter", with_version('"0.4.x"'), "is not a number", 3),
    Bad("version-empty-minor", with_version('"0..1"'), "empty minor", 3),
    Bad("version-unicode-escape-only", with_version('"\\u0030.4.1x"'), "MAJOR.MINOR.PATCH", 3),
    # --- where the version should be -------------------------------------------------------------
    Bad("dynamic-version", b'[project]\nname = "demo"\ndynamic = ["version"]\n', "dynamic"),
    Bad("dynamic-and-static", (BASE + 'dynamic = ["version"]\n').encode(), "dynamic"),
    Bad("no-project-table", b'[tool.poetry]\nversion = "0.4.1"\n', "no [project] table"),
    Bad("project-is-a-string", b'project = "demo"\n', 'project is a string ("demo"), not a table'),
    Bad("project-array-of-tables", b'[[project]]\nname = "demo"\nversion = "0.4.1"\n', "project is an array of tables, not a table"),
    Bad("no-version-key", b'[project]\nname = "demo"\n', "has no version"),
    # --- [tool.directive-release] of the wrong shape --------------------------------------------
    Bad("settings-not-a-table", (BASE + '[tool]\ndirective-release = "x"\n').encode(), "must be a table"),
    Bad("settings-unknown-key", with_setting('branch_prefix = "x/"'), "unknown key"),
    Bad("settings-integer-prefix", with_setting("branch-prefix = 1"), "must be a string"),
    Bad("settings-string-boolean", with_setting('untracked-blocks = "yes"'), "must be a boolean"),
    Bad("settings-empty-prefix", with_setting('branch-prefix = ""'), "must not be empty"),
    # --- hostile branch-prefix -------------------------------------------------------------------
    Bad("prefix-dot-dot", with_setting('branch-prefix = "rel..ease/"'), "contains '..'"),
    Bad("prefix-tilde", with_setting('branch-prefix = "release~/"'), "'~'"),
    Bad("prefix-space", with_setting('branch-prefix = "release /"'), "' '"),
    Bad("prefix-colon", with_setting('branch-prefix = "release:"'), "':'"),
    Bad("prefix-glob", with_setting('branch-prefix = "release*/"'), "'*'"),
    Bad("prefix-backslash", with_setting('branch-prefix = "release\\\\"'), "'\\\\'"),
    Bad("prefix-dot-lock", with_setting('branch-prefix = "x.lock/"'), "ends with '.lock'"),
    Bad("prefix-leading-dash", with_setting('branch-prefix = "-release/"'), "starts with '-'"),
    Bad("prefix-hidden-component", with_setting('branch-prefix = "release/.v"'), "starts with '.'"),
    Bad("prefix-double-slash", with_setting('branch-prefix = "release//v"'), "empty path component"),
    Bad("prefix-slash-only", with_setting('branch-prefix = "/"'), "empty path component"),
    Bad("prefix-escape-upwards", with_setting('branch-prefix = "../../HEAD"'), "'..'"),
    Bad("prefix-reflog-syntax", with_setting('branch-prefix = "release@{"'), "'@{'"),
    Bad("prefix-newline", with_setting('branch-prefix = "release\\n"'), "control character"),
    Bad("prefix-nul", with_setting('branch-prefix = "release\\u0000/"'), "control character"),
    Bad("prefix-over-long", with_setting(f'branch-prefix = "{"a" * 300}/"'), "longer than"),
    Bad("prefix-inside-branch-main", with_setting('branch-prefix = "main/"'), "refs/heads/main exists"),
    # --- hostile templates -------------------------------------------------------------------------
    Bad("tag-attribute-access", with_setting('tag-format = "v{version}{version.__class__}"'), "only {version}"),
    Bad("tag-index", with_setting('tag-format = "{version[0]}"'), "only {version}"),
    Bad("tag-conversion", with_setting('tag-format = "v{version!r}"'), "only {version}"),
    Bad("tag-format-spec", with_setting('tag-format = "v{version:>20}"'), "only {version}"),
    Bad("tag-nested-spec", with_setting('tag-format = "{version:{version}}"'), "only {version}"),
    Bad("tag-positional", with_setting('tag-format = "{0}"'), "only {version}"),
    Bad("tag-empty-field", with_setting('tag-format = "v{}"'), "only {version}"),
    Bad("tag-escaped-braces-only", with_setting('tag-format = "{{version}}"'), "must contain {version}"),
    Bad("tag-unbalanced", with_setting('tag-format = "v{version}{"'), "not a valid template"),
    Bad("tag-dot-lock", with_setting('tag-format = "v{version}.lock"'), "ends with '.lock'"),
    Bad("tag-leading-dash", with_setting('tag-format = "-{version}"'), "starts with '-'"),
    Bad("message-globals", with_setting('commit-message = "{version.__init__.__globals__}"'), "only {version}"),
    Bad("message-mro", with_setting('commit-message = "r {version} {version.__class__.__mro__}"'),
        "only {version}"),
    Bad("message-positional", with_setting('commit-message = "release {0}"'), "only {version}"),
    Bad("message-nul", with_setting('commit-message = "r {version}\\u0000"'), "control character"),
    Bad("message-terminal-escape", with_setting('commit-message = "\\u001b[31mr {version}"'), "control character"),
    # --- a remote or base branch that is not a name --------------------------------------------------
    Bad("remote-url", with_setting('remote = "https://evil.example/x.git"'), "not a valid name"),
    Bad("remote-scp", with_setting('remote = "evil.example:x.git"'), "not a valid name"),
    Bad("remote-path", with_setting('remote = "../elsewhere.git"'), "not a valid name"),
    Bad("remote-option", with_setting('remote = "-oProxyCommand=touch"'), "starts with '-'"),
    Bad("remote-ext-transport", with_setting('remote = "ext::sh -c touch% x"'), "not a valid name"),
    Bad("base-branch-upwards", with_setting('base-branch = "../main"'), "not a valid name"),
    Bad("base-branch-space", with_setting('base-branch = "main branch"'), "not a valid name"),
]


_TEMPLATES: dict[str, Copyable] = {}


@pytest.fixture
def template(tmp_path_factory: pytest.TempPathFactory) -> Copyable:
    """One project built with git for the whole module; each case works on a copy."""
    if "project" not in _TEMPLATES:
        _TEMPLATES["project"] = copyable_project(tmp_path_factory.mktemp("bad-input-template"))
    return _TEMPLATES["project"]


def _commit_pyproject(project: Project, content: bytes) -> None:
    (project.path / "pyproject.toml").write_bytes(content)
    project.git("add", "pyproject.toml")
    project.git("commit", "-q", "--allow-empty", "-m", "bad input")


def _refused_without_a_write(project: Project, *args: str, cwd: Path | None = None, code: int = 1,
                             env: dict[str, str] | None = None) -> str:
    before = whole_state(project)
    result = run_cli(*args, cwd=cwd or project.path, env=env)
    line = assert_one_line_refusal(result, codes=(code,))
    assert whole_state(project) == before, "the refused run wrote something"
    return line


@pytest.mark.parametrize("case", CORPUS, ids=[case.name for case in CORPUS])
def test_malformed_pyproject_is_refused_in_one_line(template: Copyable, tmp_path: Path, case: Bad) -> None:
    project = template.copy(tmp_path / "p")
    _commit_pyproject(project, case.content)
    line = _refused_without_a_write(project, "patch", "--yes")
    assert "pyproject.toml" in line, line
    assert case.message in line, line
    if case.line is not None:
        assert f"pyproject.toml:{case.line}:" in line, line


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 40
    assert len({case.content for case in CORPUS}) == len(CORPUS), "duplicate inputs"


# --- repository states -----------------------------------------------------------------------------------


def _symlink(project: Project) -> None:
    real = project.path / "real.toml"
    (project.path / "pyproject.toml").rename(real)
    (project.path / "pyproject.toml").symlink_to("real.toml")
    project.git("add", "-A")
    project.git("commit", "-q", "-m", "symlink")


def _directory(project: Project) -> None:
    project.git("rm", "-q", "pyproject.toml")
    (project.path / "pyproject.toml").mkdir()
    (project.path / "pyproject.toml" / "inside.toml").write_text(BASE)
    project.git("add", "-A")
    project.git("commit", "-q", "-m", "directory")


def _missing(project: Project) -> None:
    project.git("rm", "-q", "pyproject.toml")
    project.git("commit", "-q", "-m", "gone")


def _untracked(project: Project) -> None:
    project.git("rm", "-q", "--cached", "pyproject.toml")
    project.git("commit", "-q", "-m", "untracked")


def _no_remote(project: Project) -> None:
    project.git("remote", "remove", "origin")


def _head_garbage(project: Project) -> None:
    (project.path / ".git" / "HEAD").write_bytes(b"\x00\xffgarbage\n")


def _head_escapes(project: Project) -> None:
    # HEAD names a file outside the repository that looks like a ref
    outside = project.path.parent / "outside-ref"
    outside.write_text(project.git("rev-parse", "HEAD"))
    (project.path / ".git" / "HEAD").write_text("ref: refs/heads/../../../../outside-ref\n")


def _corrupt_index(project: Project) -> None:
    index = project.path / ".git" / "index"
    index.write_bytes(index.read_bytes()[:30])


def _corrupt_config(project: Project) -> None:
    config = project.path / ".git" / "config"
    config.write_text(config.read_text() + "[core\n\tbroken = \"\n")


def _future_format(project: Project) -> None:
    project.git("config", "core.repositoryformatversion", "2")


def _unknown_extension(project: Project) -> None:
    project.git("config", "core.repositoryformatversion", "1")
    project.git("config", "extensions.somethingnew", "true")


def _gitfile_nowhere(project: Project) -> None:
    # a copy of the repository whose .git file points to a git dir that is gone
    (project.path / ".git").rename(project.path.parent / "moved.git")
    (project.path / ".git").write_text(f"gitdir: {project.path.parent / 'missing.git'}\n")


def _branch_folder_clash(project: Project) -> None:
    project.git("branch", "release")  # refs/heads/release is a file: release/v0.4.2 cannot be made


def _packed_branch_folder_clash(project: Project) -> None:
    _branch_folder_clash(project)
    project.git("pack-refs", "--all")  # now only in packed-refs: no file in the way


STATES: dict[str, tuple[Callable[[Project], None], str]] = {
    "branch-folder-clash": (_branch_folder_clash, "refs/heads/release exists"),
    "packed-branch-folder-clash": (_packed_branch_folder_clash, "refs/heads/release exists"),
    "pyproject-symlink": (_symlink, "pyproject.toml:1: is a symbolic link"),
    "pyproject-directory": (_directory, "pyproject.toml:1: is a directory, not a file"),
    "pyproject-missing": (_missing, "pyproject.toml:1: file not found"),
    "pyproject-untracked": (_untracked, "pyproject.toml is not tracked"),
    "no-remote": (_no_remote, "no remote named 'origin'"),
    "head-garbage": (_head_garbage, "HEAD"),
    "head-escaping-the-repository": (_head_escapes, "not a valid branch"),
    "corrupt-index": (_corrupt_index, "index"),
    "corrupt-config": (_corrupt_config, "config"),
    "repository-format-2": (_future_format, "repositoryformatversion 2 is not supported"),
    "unknown-extension": (_unknown_extension, "extensions.somethingnew is not supported"),
    "git-file-pointing-nowhere": (_gitfile_nowhere, "missing git dir"),
}


@pytest.mark.parametrize("state", sorted(STATES))
def test_bad_repository_state_is_refused_in_one_line(template: Copyable, tmp_path: Path, state: str) -> None:
    project = template.copy(tmp_path / "p")
    setup, message = STATES[state]
    setup(project)
    line = _refused_without_a_write(project, "patch", "--yes")
    assert message in line, line


def test_no_commits_yet(tmp_path: Path) -> None:
    work = tmp_path / "fresh"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    (work / "pyproject.toml").write_text(BASE)
    git(work, "add", "pyproject.toml")
    line = _refused_without_a_write(Project(work), "patch", "--yes")
    assert "no commits yet" in line, line


def test_bare_repository(template: Copyable, tmp_path: Path) -> None:
    project = template.copy(tmp_path / "p")
    assert project.remote is not None
    line = _refused_without_a_write(project, "patch", "--yes", cwd=project.remote)
    assert "bare repository" in line, line


def test_not_a_repository(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "pyproject.toml").write_text(BASE)
    before = (plain / "pyproject.toml").read_bytes(), sorted(os.listdir(plain))
    result = run_cli("patch", "--yes", cwd=plain)
    line = assert_one_line_refusal(result)
    assert "not a git repository" in line, line
    assert ((plain / "pyproject.toml").read_bytes(), sorted(os.listdir(plain))) == before


@pytest.mark.parametrize("variable", ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"])
def test_git_environment_overrides_are_refused(template: Copyable, tmp_path: Path, variable: str) -> None:
    project = template.copy(tmp_path / "p")
    other = tmp_path / "elsewhere"
    subprocess.run(["git", "init", "-q", str(other)], check=True)
    value = {"GIT_DIR": str(other / ".git"), "GIT_WORK_TREE": str(other),
             "GIT_INDEX_FILE": str(other / ".git" / "index")}[variable]
    line = _refused_without_a_write(project, "patch", "--yes", env={variable: value})
    assert variable in line, line


@pytest.mark.parametrize("args", [("--part", "micro", "--yes"), ("patch", "--remote"), ("--json", "patch"),
                                  ("patch", "minor", "--yes"), ("-C",)])
def test_usage_errors_write_nothing(template: Copyable, tmp_path: Path, args: tuple[str, ...]) -> None:
    project = template.copy(tmp_path / "p")
    before = whole_state(project)
    result = run_cli(*args, cwd=project.path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert whole_state(project) == before
