"""What the command prints and where: --json, colour, --version, configuration, no slow imports.

Real processes throughout; pseudo-terminals (pexpect) where a terminal matters;
the git binary checks what was released.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from support import PYPROJECT, Project, git, make_project, run_cli
from directive_release import __version__
from directive_release.output import colour_enabled

# suggested_part and suggestion added by issue 14 (null unless the run computed them).
JSON_KEYS = {
    "old_version", "new_version", "branch", "base_branch", "message", "commit", "remote",
    "remote_url", "pushed", "pull_request_url", "dry_run", "files", "plan", "suggested_part", "suggestion",
    "base_branch_source", "base_status", "unpushed_commits",
}


def _with_table(table: str) -> str:
    return PYPROJECT + "\n[tool.directive-release]\n" + table


# --- --json --------------------------------------------------------------------------------


def test_json_release_is_the_only_thing_on_stdout(project: Project) -> None:
    result = run_cli("patch", "--yes", "--json", cwd=project.path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1 and result.stdout.endswith("\n")
    summary = json.loads(result.stdout)
    assert set(summary) == JSON_KEYS
    commit = project.git("rev-parse", "refs/heads/release/v0.4.2").strip()
    assert summary["commit"] == commit
    assert git(project.remote, "rev-parse", "refs/heads/release/v0.4.2").strip() == commit  # type: ignore[arg-type]
    assert summary["old_version"] == "0.4.1" and summary["new_version"] == "0.4.2"
    assert summary["branch"] == "release/v0.4.2" and summary["base_branch"] == "main"
    assert summary["message"] == project.git("log", "-1", "--format=%s", commit).strip()
    assert summary["remote"] == "origin" and summary["pushed"] is True
    assert summary["remote_url"] == project.remote.as_uri()  # type: ignore[union-attr]
    assert summary["pull_request_url"] is None  # not a GitHub remote
    assert summary["dry_run"] is False
    assert summary["suggested_part"] is None and summary["suggestion"] is None  # a part was given: none computed
    # the human report went to stderr instead
    assert f"Done: release/v0.4.2 holds commit {commit[:7]}" in result.stderr
    assert summary["plan"] == [line.strip() for line in result.stderr.splitlines() if line.startswith("  ")]
    assert summary["files"] == [{"path": "pyproject.toml", "line": 8, "old": 'version = "0.4.1"',
                                 "new": 'version = "0.4.2"'}]


def test_json_dry_run_and_no_push(project: Project) -> None:
    before = project.snapshot()
    result = run_cli("minor", "--dry-run", "--no-push", "--json", cwd=project.path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["dry_run"] is True and summary["commit"] is None and summary["pushed"] is False
    assert summary["remote"] is None and summary["remote_url"] is None
    assert summary["new_version"] == "0.5.0"
    assert any("create branch release/v0.5.0" in line for line in summary["plan"])
    assert project.snapshot() == before


def test_json_failure_leaves_stdout_empty(project: Project) -> None:
    (project.path / "README.md").write_text("uncommitted\n")
    result = run_cli("patch", "--yes", "--json", cwd=project.path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "uncommitted changes" in result.stderr


@pytest.mark.parametrize("args", [("--json",), ("patch", "--json"), ("--json", "--yes")])
def test_json_never_prompts(project: Project, args: tuple[str, ...]) -> None:
    before = project.snapshot()
    result = run_cli(*args, cwd=project.path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "--json never prompts" in result.stderr and "--yes" in result.stderr
    assert project.snapshot() == before


def test_json_without_yes_is_refused_in_a_terminal_too(project: Project) -> None:
    child = pexpect.spawn(sys.executable, ["-m", "directive_release", "patch", "--json"], cwd=str(project.path),
                          env={**os.environ, "TERM": "xterm"}, dimensions=(24, 80), encoding="utf-8", timeout=30)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2
    assert "--json never prompts" in child.before


# --- colour ----------------------------------------------------------------------------------


def _pty_stream() -> tuple[object, object]:
    master, slave = pty.openpty()
    return os.fdopen(master, "rb", buffering=0), os.fdopen(slave, "w")


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, True),
        ({"NO_COLOR": ""}, True),  # the convention: only a non-empty value counts
        ({"NO_COLOR": "1"}, False),
        ({"NO_COLOR": "0"}, False),  # any non-empty value, even "0"
        ({"NO_COLOR": "no"}, False),
        ({"TERM": "dumb"}, False),
    ],
)
def test_colour_on_a_terminal_follows_no_color(environ: dict[str, str], expected: bool) -> None:
    master, slave = _pty_stream()
    try:
        assert colour_enabled(slave, environ) is expected  # type: ignore[arg-type]
    finally:
        master.close()  # type: ignore[attr-defined]
        slave.close()  # type: ignore[attr-defined]


def test_no_colour_on_a_pipe(tmp_path: Path) -> None:
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd), os.fdopen(write_fd, "w") as pipe:
        assert colour_enabled(pipe, {}) is False
    with (tmp_path / "file").open("w") as regular:
        assert colour_enabled(regular, {}) is False


def _dry_run_in_a_terminal(project: Project, no_color: str | None) -> str:
    env = {**os.environ, "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    if no_color is not None:
        env["NO_COLOR"] = no_color
    child = pexpect.spawn(sys.executable, ["-m", "directive_release", "patch", "--dry-run"], cwd=str(project.path),
                          env=env, dimensions=(24, 80), encoding="utf-8", timeout=60)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    return child.before


def test_plan_is_coloured_on_a_terminal_unless_no_color(project: Project) -> None:
    coloured = _dry_run_in_a_terminal(project, None)
    assert "\x1b[1mRelease 0.4.1 \u2192 0.4.2:\x1b[0m" in coloured
    assert "\x1b[" not in _dry_run_in_a_terminal(project, "1")
    assert "\x1b[1mRelease" in _dry_run_in_a_terminal(project, "")


def test_no_colour_when_piped(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    result = run_cli("patch", "--dry-run", cwd=project.path)
    assert result.returncode == 0, result.stderr
    assert "Release 0.4.1 \u2192 0.4.2:" in result.stdout
    assert "\x1b[" not in result.stdout + result.stderr


# --- --version, no terminal --------------------------------------------------------------------


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout == f"directive-release {__version__}\n"


def test_stdin_a_terminal_but_stdout_redirected_is_no_terminal(project: Project, tmp_path: Path) -> None:
    before = project.snapshot()
    out = tmp_path / "out.txt"
    command = f"{sys.executable} -m directive_release > {out}"
    child = pexpect.spawn("/bin/sh", ["-c", command], cwd=str(project.path), env={**os.environ, "TERM": "xterm"},
                          encoding="utf-8", timeout=30)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2
    assert "--part" in child.before and "--yes" in child.before
    assert "EOFError" not in child.before and "Traceback" not in child.before
    assert out.read_text() == ""
    assert project.snapshot() == before


# --- the non-interactive path stays fast ------------------------------------------------------

_PROBE = """
import sys
from directive_release.cli import main
code = main(sys.argv[1:])
slow = sorted(name for name in sys.modules if name.split(".")[0] in ("questionary", "prompt_toolkit"))
print("SLOW-IMPORTS", ",".join(slow), file=sys.stderr)
raise SystemExit(code)
"""


@pytest.mark.parametrize("args", [("patch", "--dry-run"), ("patch", "--yes", "--no-push"), ("--help",)])
def test_non_interactive_path_never_imports_questionary(project: Project, args: tuple[str, ...]) -> None:
    result = subprocess.run([sys.executable, "-c", _PROBE, *args], cwd=project.path, capture_output=True,
                            text=True, stdin=subprocess.DEVNULL, timeout=120)
    assert result.returncode == 0, result.stderr
    slow_line = [line for line in result.stderr.splitlines() if line.startswith("SLOW-IMPORTS")]
    assert slow_line == ["SLOW-IMPORTS "], result.stderr


def test_importtime_of_a_dry_run_has_no_prompt_library(project: Project) -> None:
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "directive_release", "patch", "--dry-run"],
                            cwd=project.path, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
    assert result.returncode == 0, result.stderr
    imported = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")]
    assert "directive_release.release" in imported  # the probe really saw the release path
    assert not [name for name in imported if name.split(".")[0] in ("questionary", "prompt_toolkit")]


# --- [tool.directive-release] honoured end to end ---------------------------------------------


def test_custom_branch_prefix_message_and_base_branch(tmp_path: Path) -> None:
    project = make_project(tmp_path, pyproject=_with_table(
        'branch-prefix = "releases/"\ncommit-message = "Release {version}"\nbase-branch = "develop"\n'))
    project.git("switch", "-q", "-c", "develop")  # a release starts on its base branch
    project.git("push", "-q", "origin", "develop")
    result = run_cli("minor", "--yes", cwd=project.path)
    assert result.returncode == 0, result.stderr
    assert project.git("symbolic-ref", "HEAD").strip() == "refs/heads/releases/0.5.0"
    assert project.git("log", "-1", "--format=%B", "releases/0.5.0").strip() == "Release 0.5.0"
    commit = project.git("rev-parse", "releases/0.5.0").strip()
    assert git(project.remote, "rev-parse", "refs/heads/releases/0.5.0").strip() == commit  # type: ignore[arg-type]
    assert "a pull request from releases/0.5.0 into develop" in result.stdout


def test_custom_remote_receives_the_push(tmp_path: Path) -> None:
    project = make_project(tmp_path, pyproject=_with_table('remote = "upstream"\n'))
    upstream = tmp_path / "upstream.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(upstream))
    project.git("remote", "add", "upstream", upstream.as_uri())
    project.git("push", "-q", "upstream", "main")  # the pull request's target must be there
    origin_before = git(project.remote, "for-each-ref")  # type: ignore[arg-type]
    result = run_cli("patch", "--yes", "--json", cwd=project.path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["remote"] == "upstream" and summary["remote_url"] == upstream.as_uri()
    assert git(upstream, "rev-parse", "refs/heads/release/v0.4.2").strip() == summary["commit"]
    assert git(project.remote, "for-each-ref") == origin_before  # type: ignore[arg-type]
    assert project.git("config", "branch.release/v0.4.2.remote").strip() == "upstream"
    # --remote on the command line wins over the table
    project.git("switch", "-q", "main")
    override = run_cli("minor", "--dry-run", "--remote", "origin", cwd=project.path)
    assert "to origin (" in override.stdout


def test_custom_tag_format_decides_what_counts_as_released(tmp_path: Path) -> None:
    project = make_project(tmp_path, pyproject=_with_table('tag-format = "release-{version}"\n'))
    project.git("tag", "v0.4.2")  # the default shape means nothing under this format
    assert run_cli("patch", "--dry-run", cwd=project.path).returncode == 0
    project.git("tag", "release-0.4.2")
    refused = run_cli("patch", "--dry-run", cwd=project.path)
    assert refused.returncode == 1
    assert "tag release-0.4.2 already exists" in refused.stderr


def test_untracked_blocks_from_the_table(tmp_path: Path) -> None:
    blocking = make_project(tmp_path / "a", pyproject=_with_table("untracked-blocks = true\n"))
    (blocking.path / "notes.txt").write_text("scratch\n")
    refused = run_cli("patch", "--yes", cwd=blocking.path)
    assert refused.returncode == 1 and "notes.txt" in refused.stderr and "untracked" in refused.stderr
    relaxed = make_project(tmp_path / "b")  # the default: untracked files do not block
    (relaxed.path / "notes.txt").write_text("scratch\n")
    assert run_cli("patch", "--yes", "--no-push", cwd=relaxed.path).returncode == 0
    assert relaxed.git("ls-files", "notes.txt") == ""  # and they are never committed


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ('remotes = "origin"\n', "unknown key 'remotes'"),
        ('untracked-blocks = "yes"\n', "untracked-blocks must be a boolean"),
        ("branch-prefix = 3\n", "branch-prefix must be a string"),
    ],
)
def test_configuration_errors_list_the_valid_keys(tmp_path: Path, table: str, expected: str) -> None:
    project = make_project(tmp_path, pyproject=_with_table(table), with_remote=False)
    before = project.snapshot()
    for args in (("patch", "--dry-run"), ("patch", "--yes", "--json")):
        result = run_cli(*args, cwd=project.path)
        assert result.returncode == 1, result.stderr
        assert result.stdout == ""
        line = result.stderr.strip()
        assert "\n" not in line and "Traceback" not in line
        assert expected in line and "pyproject.toml" in line
        assert ("valid keys: base-branch, branch-prefix, commit-message, remote, tag-format, untracked-blocks"
                in line)
    assert project.snapshot() == before


def test_configuration_error_comes_before_any_prompt(tmp_path: Path) -> None:
    project = make_project(tmp_path, pyproject=_with_table('colour = "always"\n'), with_remote=False)
    child = pexpect.spawn(sys.executable, ["-m", "directive_release"], cwd=str(project.path),
                          env={**os.environ, "TERM": "xterm"}, dimensions=(24, 80), encoding="utf-8", timeout=30)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    assert "unknown key 'colour'" in child.before and "Bump which part" not in child.before


# --- the quick exit of the command (cli.script) -------------------------------------------------


def _script(code: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``cli.script()`` in a fresh interpreter, after ``code`` ran, with ``args`` as the command line."""
    program = f"import sys\n{code}\nsys.argv = ['directive-release', *{list(args)!r}]\n" \
              "from directive_release.cli import script\nscript()\n"
    return subprocess.run([sys.executable, "-c", program], cwd=cwd, capture_output=True, text=True)


def test_quick_exit_keeps_every_byte_of_output_and_the_exit_code(project: Project) -> None:
    """Output still in Python's buffers when the process leaves with os._exit is flushed first."""
    released = _script("", "--part", "patch", "--yes", "--json", cwd=project.path)
    assert released.returncode == 0, released.stderr
    assert json.loads(released.stdout)["new_version"] == "0.4.2"
    helped = _script("sys.stdout = open(sys.stdout.fileno(), 'w', buffering=1 << 20, closefd=False)",
                     "--help", cwd=project.path)
    assert helped.returncode == 0 and helped.stdout.rstrip().endswith(
        run_cli("--help", cwd=project.path).stdout.rstrip().splitlines()[-1])
    refused = _script("", "--part", "patch", "--yes", cwd=project.path)  # already released: the branch exists
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr


def test_an_atexit_callback_or_a_thread_gets_the_normal_exit(project: Project) -> None:
    """Something registered to run at exit (here, in the process that calls script()) still runs."""
    registered = _script("import atexit\natexit.register(lambda: print('atexit ran'))", "--version", cwd=project.path)
    assert registered.returncode == 0 and registered.stdout.splitlines() == [f"directive-release {__version__}",
                                                                               "atexit ran"]
    threaded = _script("import threading, time\n"
                       "threading.Thread(target=lambda: (time.sleep(0.3), print('thread done'))).start()",
                       "--version", cwd=project.path)
    assert threaded.returncode == 0 and threaded.stdout.splitlines()[-1] == "thread done"
