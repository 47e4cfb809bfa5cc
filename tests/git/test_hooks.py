"""Hooks run as git runs them: each scenario checked against what ``git commit`` does."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from directive_release.errors import HookError
from directive_release.git.config import load_config
from directive_release.git.hooks import (
    commit_hook_env,
    find_hook,
    read_commit_editmsg,
    run_hook,
    write_commit_editmsg,
)
from directive_release.git.identity import resolve_identities
from directive_release.git.repo import Repository, discover
from support import Project, git, make_project

DUMP = """#!/bin/sh
out="$HOOK_DUMP_DIR/$(basename "$0").$HOOK_WHO"
{
  echo "argv0=$0"
  echo "argc=$#"
  for a in "$@"; do echo "arg=$a"; done
  echo "cwd=$(pwd -P)"
  echo "stdin=$(readlink /proc/self/fd/0)"
  env | grep '^GIT_' | grep -v '^GIT_EXEC_PATH=' | sort
} > "$out"
"""


@pytest.fixture
def project(tmp_path: Path) -> Project:
    made = make_project(tmp_path, with_remote=False)
    (made.path / "sub" / "dir").mkdir(parents=True)
    return made


def write_hook(path: Path, text: str, executable: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755 if executable else 0o644)
    return path


def ctx(cwd: Path) -> tuple[Repository, object]:
    repo = discover(cwd)
    return repo, load_config(repo)


def run_git_commit(cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "probe message"], cwd=cwd,
                          capture_output=True, text=True, env={**os.environ, **(env or {})})


def run_ours_like_commit(cwd: Path, env: dict[str, str]) -> None:
    """pre-commit then commit-msg, the way the release flow drives them."""
    repo, config = ctx(cwd)
    full_env = {**os.environ, **env}
    author, _ = resolve_identities(config, full_env)
    hook_env = {**commit_hook_env(repo, author), **env}
    run_hook(repo, config, "pre-commit", env=hook_env)
    message_arg = write_commit_editmsg(repo, "probe message\n")
    run_hook(repo, config, "commit-msg", [message_arg], env=hook_env)


def compare_dumps(dump_dir: Path, names: tuple[str, ...]) -> None:
    for name in names:
        ours = (dump_dir / f"{name}.ours").read_text().splitlines()
        theirs = (dump_dir / f"{name}.git").read_text().splitlines()
        assert ours == theirs, name


@pytest.mark.parametrize("where", ["root", "subdir"])
def test_environment_args_cwd_stdin_match_git_commit(project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     where: str) -> None:
    hooks = project.path / ".git" / "hooks"
    for name in ("pre-commit", "commit-msg"):
        write_hook(hooks / name, DUMP)
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    cwd = project.path if where == "root" else project.path / "sub" / "dir"
    env = {"HOOK_DUMP_DIR": str(dumps), "GIT_AUTHOR_DATE": "@1112911993 +0200"}
    assert run_git_commit(cwd, {**env, "HOOK_WHO": "git"}).returncode == 0
    monkeypatch.chdir(cwd)
    run_ours_like_commit(cwd, {**env, "HOOK_WHO": "ours"})
    compare_dumps(dumps, ("pre-commit", "commit-msg"))
    assert "GIT_PREFIX=sub/dir/" in (dumps / "pre-commit.ours").read_text() or where == "root"


def test_linked_worktree_uses_common_hooks_and_gets_git_dir(project, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    linked = tmp_path / "linked"
    git(project.path, "worktree", "add", "-q", "-b", "side", str(linked))
    for name in ("pre-commit", "commit-msg"):
        write_hook(project.path / ".git" / "hooks" / name, DUMP)
    # a hooks dir inside the worktree's private git dir must be ignored, as git ignores it
    write_hook(project.path / ".git" / "worktrees" / "linked" / "hooks" / "pre-commit", "#!/bin/sh\nexit 7\n")
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    env = {"HOOK_DUMP_DIR": str(dumps), "GIT_AUTHOR_DATE": "@1112911993 -0700"}
    assert run_git_commit(linked, {**env, "HOOK_WHO": "git"}).returncode == 0
    monkeypatch.chdir(linked)
    run_ours_like_commit(linked, {**env, "HOOK_WHO": "ours"})
    compare_dumps(dumps, ("pre-commit", "commit-msg"))
    assert f"GIT_DIR={project.path}/.git/worktrees/linked" in (dumps / "pre-commit.ours").read_text()


def test_failure_raises_with_exit_code_and_output_passes_through(project, capfd: pytest.CaptureFixture[str]) -> None:
    hook = write_hook(project.path / ".git" / "hooks" / "pre-commit",
                      "#!/bin/sh\necho 'lint: to stdout'\necho 'lint: to stderr' >&2\nexit 3\n")
    repo, config = ctx(project.path)
    with pytest.raises(HookError) as caught:
        run_hook(repo, config, "pre-commit")
    assert str(caught.value) == f"pre-commit hook failed (exit 3): {hook}"
    out, err = capfd.readouterr()
    assert out == "" and err == "lint: to stdout\nlint: to stderr\n"
    git_run = run_git_commit(project.path)
    assert git_run.returncode != 0
    assert git_run.stdout == "" and git_run.stderr == "lint: to stdout\nlint: to stderr\n"


def test_passing_hook_and_missing_hook(project, capfd: pytest.CaptureFixture[str]) -> None:
    repo, config = ctx(project.path)
    assert find_hook(repo, config, "pre-commit") is None
    run_hook(repo, config, "pre-commit")  # absent: nothing happens
    hook = write_hook(project.path / ".git" / "hooks" / "pre-commit", "#!/bin/sh\necho fine\n")
    assert find_hook(repo, config, "pre-commit") == hook
    run_hook(repo, config, "pre-commit")
    assert capfd.readouterr().err == "fine\n"


@pytest.mark.parametrize("advice", [None, "false"])
def test_non_executable_hook_is_skipped_with_git_s_hint(project, capfd: pytest.CaptureFixture[str],
                                                        advice: str | None) -> None:
    write_hook(project.path / ".git" / "hooks" / "pre-commit", "#!/bin/sh\nexit 1\n", executable=False)
    if advice:
        git(project.path, "config", "advice.ignoredHook", advice)
    repo, config = ctx(project.path)
    assert find_hook(repo, config, "pre-commit") is None
    run_hook(repo, config, "pre-commit")
    git_run = run_git_commit(project.path)
    assert git_run.returncode == 0
    assert capfd.readouterr().err == git_run.stderr
    assert ("ignored because it's not set as executable" in git_run.stderr) is (advice is None)


@pytest.mark.parametrize("style", ["absolute", "relative", "tilde", "relative-from-subdir"])
def test_core_hooks_path(project, isolated_git_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                         style: str) -> None:
    marker = tmp_path / "ran"
    body = f"#!/bin/sh\necho \"$0\" >> {marker}\n"
    write_hook(project.path / ".git" / "hooks" / "pre-commit", "#!/bin/sh\necho default >> " + str(marker) + "\n")
    if style == "absolute":
        value, hook = str(tmp_path / "abs-hooks"), tmp_path / "abs-hooks" / "pre-commit"
    elif style == "tilde":
        value, hook = "~/home-hooks", isolated_git_env / "home-hooks" / "pre-commit"
    else:
        value, hook = "repo-hooks", project.path / "repo-hooks" / "pre-commit"
    write_hook(hook, body)
    git(project.path, "config", "core.hooksPath", value)
    cwd = project.path / "sub" if style == "relative-from-subdir" else project.path
    assert run_git_commit(cwd).returncode == 0
    git_ran = marker.read_text()
    marker.unlink()
    monkeypatch.chdir(cwd)
    repo, config = ctx(cwd)
    assert find_hook(repo, config, "pre-commit") == hook
    run_hook(repo, config, "pre-commit")
    assert marker.read_text() == git_ran  # same hook, same $0 spelling


def test_script_without_shebang_runs_under_sh(project, capfd: pytest.CaptureFixture[str]) -> None:
    write_hook(project.path / ".git" / "hooks" / "pre-commit", 'echo "no shebang $0" >&2\n')
    repo, config = ctx(project.path)
    run_hook(repo, config, "pre-commit")
    ours = capfd.readouterr().err
    assert ours == run_git_commit(project.path).stderr == "no shebang .git/hooks/pre-commit\n"


@pytest.mark.parametrize(
    ("setup", "git_says", "we_say"),
    [
        ("missing-interpreter", "cannot run .git/hooks/pre-commit: No such file or directory",
         r"pre-commit hook cannot be run \(No such file or directory\): .*/pre-commit$"),
        ("directory", "cannot exec '.git/hooks/pre-commit': Permission denied",
         r"pre-commit hook cannot be run \(Permission denied\): .*/pre-commit$"),
        ("signal", "died of signal 9", r"pre-commit hook died of signal 9: .*/pre-commit$"),
    ],
)
def test_hooks_that_cannot_run_or_die(project, setup: str, git_says: str, we_say: str) -> None:
    path = project.path / ".git" / "hooks" / "pre-commit"
    if setup == "missing-interpreter":
        write_hook(path, "#!/nonexistent/interpreter\nexit 0\n")
    elif setup == "directory":
        path.mkdir(parents=True)
    else:
        write_hook(path, "#!/bin/sh\nkill -9 $$\n")
    git_run = run_git_commit(project.path)
    assert git_run.returncode != 0 and git_says in git_run.stderr
    repo, config = ctx(project.path)
    with pytest.raises(HookError, match=we_say):
        run_hook(repo, config, "pre-commit")


def test_timeout_stops_the_hook_and_its_children(project, tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    write_hook(project.path / ".git" / "hooks" / "pre-commit",
               f"#!/bin/sh\nsleep 60 &\necho $! > {pid_file}\nwait\n")
    repo, config = ctx(project.path)
    started = time.monotonic()
    with pytest.raises(HookError, match=r"^pre-commit hook timed out after 0\.5s: "):
        run_hook(repo, config, "pre-commit", timeout=0.5)
    assert time.monotonic() - started < 10
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.05)
    assert not _alive(child), "the hook's background child outlived the timeout"


def test_stdin_is_dev_null(project) -> None:
    write_hook(project.path / ".git" / "hooks" / "pre-commit", "#!/bin/sh\ncat >/dev/null\nexit 0\n")
    repo, config = ctx(project.path)
    run_hook(repo, config, "pre-commit", timeout=20)  # would hang on an inherited terminal


def test_commit_msg_hook_can_rewrite_the_message(project) -> None:
    write_hook(project.path / ".git" / "hooks" / "commit-msg",
               "#!/bin/sh\nprintf '%s\\n\\nSigned-off-by: Hook <h@example.test>\\n' \"$(cat \"$1\")\" > \"$1\"\n")
    repo, config = ctx(project.path)
    arg = write_commit_editmsg(repo, "chore(release): v1.2.3\n")
    assert arg == ".git/COMMIT_EDITMSG"
    run_hook(repo, config, "commit-msg", [arg])
    ours = read_commit_editmsg(repo)
    git(project.path, "commit", "-q", "--allow-empty", "-m", "chore(release): v1.2.3")
    assert ours == git(project.path, "log", "-1", "--format=%B").rstrip("\n") + "\n"


def test_git_s_hooks_env_overrides_caller_editor(project, tmp_path: Path) -> None:
    out = tmp_path / "editor"
    write_hook(project.path / ".git" / "hooks" / "pre-push", f"#!/bin/sh\necho \"[$GIT_EDITOR]\" > {out}\n")
    repo, config = ctx(project.path)
    run_hook(repo, config, "pre-push", ["origin", "url"], env={"GIT_EDITOR": "vim"})
    assert out.read_text() == "[vim]\n"  # only commit hooks get GIT_EDITOR=:


def _alive(pid: int) -> bool:
    """Running (not gone, not a zombie), asked of ps: the same on Linux and macOS."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True).stdout.strip()
    return bool(state) and not state.startswith("Z")


def test_a_hook_that_times_out_is_stopped_with_everything_it_started(project, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    write_hook(project.path / ".git" / "hooks" / "pre-commit",
               f"#!/bin/sh\nsleep 300 &\necho $! >> {pids}\nsh -c 'sleep 300' &\necho $! >> {pids}\n"
               f"echo $$ >> {pids}\nwait\n")
    repo, config = ctx(project.path)
    with pytest.raises(HookError, match="timed out after 1s"):
        run_hook(repo, config, "pre-commit", timeout=1)
    started = [int(line) for line in pids.read_text().split()]
    assert len(started) == 3
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in started) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [pid for pid in started if _alive(pid)] == []
