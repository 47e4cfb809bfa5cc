"""Every precondition failing, and a failure injected after every step: nothing changes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

from support import PYPROJECT, Project, git, make_project, run_cli


def _refused(project: Project, *args: str, message: str, env: dict[str, str] | None = None,
             hook_output: bool = False) -> str:
    """Exit 1, one line of ours on stderr (a hook's own output may precede it), nothing changed."""
    before = project.snapshot()
    result = run_cli(*args, cwd=project.path, env=env)
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    if hook_output:
        assert sum(line.startswith("directive-release: ") for line in lines) == 1, result.stderr
        lines = lines[-1:]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("directive-release: ")
    assert message in lines[0], lines[0]
    assert "Traceback" not in result.stderr
    assert project.snapshot() == before
    return lines[0]


def _modify(p: Project) -> None:
    (p.path / "README.md").write_text("changed\n")


def _stage(p: Project) -> None:
    (p.path / "new.txt").write_text("x\n")
    p.git("add", "new.txt")


def _delete(p: Project) -> None:
    (p.path / "README.md").unlink()


def _chmod(p: Project) -> None:
    (p.path / "README.md").chmod(0o755)


def _intent_to_add(p: Project) -> None:
    (p.path / "later.txt").write_text("x\n")
    p.git("add", "-N", "later.txt")


def _detach(p: Project) -> None:
    p.git("checkout", "-q", "--detach")


def _merge_in_progress(p: Project) -> None:
    head = p.git("rev-parse", "HEAD").strip()
    (p.path / ".git" / "MERGE_HEAD").write_text(head + "\n")


def _local_branch(p: Project) -> None:
    p.git("branch", "release/v0.4.2")


def _local_tag(p: Project) -> None:
    p.git("tag", "v0.4.2")


def _remote_branch(p: Project) -> None:
    p.git("push", "-q", "origin", "HEAD:refs/heads/release/v0.4.2")


def _remote_tag(p: Project) -> None:
    p.git("push", "-q", "origin", "HEAD:refs/tags/v0.4.2")


def _untracked(p: Project) -> None:
    (p.path / "stray.txt").write_text("x\n")


def _bad_version(p: Project) -> None:
    (p.path / "pyproject.toml").write_text(PYPROJECT.replace('"0.4.1"', '"0.4.01"'))
    p.git("commit", "-q", "-am", "bad version")


def _dynamic_version(p: Project) -> None:
    (p.path / "pyproject.toml").write_text('[project]\nname = "x"\ndynamic = ["version"]\n')
    p.git("commit", "-q", "-am", "dynamic")


def _bad_setting(p: Project) -> None:
    (p.path / "pyproject.toml").write_text(PYPROJECT + '\n[tool.directive-release]\nbranch-prefix = "rel..ease/"\n')
    p.git("commit", "-q", "-am", "bad prefix")


def _index_lock(p: Project) -> None:
    (p.path / ".git" / "index.lock").write_text("")


def _no_remote(p: Project) -> None:
    p.git("remote", "remove", "origin")


def _unborn(p: Project) -> None:
    p.git("checkout", "-q", "--orphan", "fresh")


SCENARIOS: list[tuple[str, Callable[[Project], None], tuple[str, ...], str]] = [
    ("modified", _modify, (), "uncommitted changes (README.md)"),
    ("staged", _stage, (), "uncommitted changes (new.txt)"),
    ("deleted", _delete, (), "uncommitted changes (README.md)"),
    ("chmod", _chmod, (), "uncommitted changes (README.md)"),
    ("intent-to-add", _intent_to_add, (), "uncommitted changes (later.txt)"),
    ("detached", _detach, (), "HEAD is detached"),
    ("unborn", _unborn, (), "no commits yet"),
    ("merge", _merge_in_progress, (), "a merge is in progress"),
    ("local-branch", _local_branch, (), "branch release/v0.4.2 already exists locally"),
    ("local-tag", _local_tag, (), "tag v0.4.2 already exists locally"),
    ("remote-branch", _remote_branch, (), "branch release/v0.4.2 already exists on origin"),
    ("remote-tag", _remote_tag, (), "tag v0.4.2 already exists on origin"),
    ("untracked-blocks", _untracked, ("--untracked-blocks",), "untracked files present (stray.txt)"),
    ("bad-version", _bad_version, (), 'pyproject.toml:8: version "0.4.01" is not MAJOR.MINOR.PATCH (leading zero in patch)'),
    ("dynamic", _dynamic_version, (), "dynamic"),
    ("bad-setting", _bad_setting, (), "not a valid git ref name"),
    ("index-lock", _index_lock, (), "index.lock exists"),
    ("no-remote", _no_remote, (), "origin"),
]


@pytest.mark.parametrize(("name", "setup", "extra", "message"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_precondition_refused(project: Project, name: str, setup: Callable[[Project], None],
                              extra: tuple[str, ...], message: str) -> None:
    setup(project)
    _refused(project, "patch", "--yes", *extra, message=message)


def test_untracked_files_do_not_block_by_default(project: Project) -> None:
    _untracked(project)
    result = run_cli("patch", "--yes", cwd=project.path)
    assert result.returncode == 0, result.stderr


def test_no_identity_refused_with_git_advice(project: Project) -> None:
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_AUTHOR", "GIT_COMMITTER", "EMAIL"))}
    before = project.snapshot()
    result = subprocess.run(
        [sys.executable, "-m", "directive_release", "patch", "--yes"], cwd=project.path, capture_output=True, text=True,
        env={**clean_env, "GIT_CONFIG_NOSYSTEM": "1"}, stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 1, result.stderr
    assert "git config --global user.email" in result.stderr
    assert project.snapshot() == before


def test_not_a_repository_and_bare(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    result = run_cli("patch", "--yes", cwd=tmp_path / "plain")
    assert result.returncode == 1 and "not a git repository" in result.stderr
    git(tmp_path, "init", "-q", "--bare", "bare.git")
    result = run_cli("patch", "--yes", cwd=tmp_path / "bare.git")
    assert result.returncode == 1 and "bare repository" in result.stderr


def test_symlinked_pyproject_refused(project: Project) -> None:
    target = project.path / "real.toml"
    os.replace(project.path / "pyproject.toml", target)
    (project.path / "pyproject.toml").symlink_to("real.toml")
    project.git("add", "-A")
    project.git("commit", "-q", "-m", "symlink")
    _refused(project, "patch", "--yes", message="symbolic link")


def _step_count(project: Project) -> int:
    dry = run_cli("patch", "--dry-run", cwd=project.path)
    return sum(1 for line in dry.stdout.splitlines() if line.startswith("  ") and line.strip()[0].isdigit())


@pytest.mark.parametrize("kind", ["fail", "sigint", "sigterm"])
def test_fault_after_every_step_leaves_repository_as_it_was(tmp_path: Path, kind: str) -> None:
    project = make_project(tmp_path / "p")
    steps = _step_count(project)
    assert steps >= 7
    for number in range(1, steps + 1):
        before = project.snapshot()
        result = run_cli("patch", "--yes", cwd=project.path,
                         env={"DIRECTIVE_RELEASE_FAULT": f"{kind}-after:{number}"})
        expected_code = 1 if kind == "fail" else 130
        assert result.returncode == expected_code, (number, result.stderr)
        assert "nothing was changed" in result.stderr
        assert "Traceback" not in result.stderr
        after = project.snapshot()
        assert after == before, f"{kind} after step {number} left changes"
        assert project.git("status", "--porcelain").strip() == ""
    # and the next run, without a fault, succeeds and bumps exactly once
    result = run_cli("patch", "--yes", cwd=project.path)
    assert result.returncode == 0, result.stderr
    assert project.git("symbolic-ref", "--short", "HEAD").strip() == "release/v0.4.2"


def test_rejecting_pre_commit_hook_rolls_back(project: Project) -> None:
    hook = project.path / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'lint says no' >&2\nexit 1\n")
    hook.chmod(0o755)
    line = _refused(project, "patch", "--yes", message="pre-commit hook failed (exit 1)", hook_output=True)
    assert "nothing was changed" in line
    hook.unlink()
    assert run_cli("patch", "--yes", cwd=project.path).returncode == 0


def test_rejecting_commit_msg_hook_rolls_back(project: Project) -> None:
    hook = project.path / ".git" / "hooks" / "commit-msg"
    hook.write_text("#!/bin/sh\nexit 3\n")
    hook.chmod(0o755)
    _refused(project, "patch", "--yes", message="commit-msg")


def test_commit_msg_hook_may_edit_the_message(project: Project) -> None:
    hook = project.path / ".git" / "hooks" / "commit-msg"
    hook.write_text('#!/bin/sh\nprintf "\\nSigned-off-by: Bot <bot@example.test>\\n" >> "$1"\n')
    hook.chmod(0o755)
    result = run_cli("patch", "--yes", cwd=project.path)
    assert result.returncode == 0, result.stderr
    body = project.git("log", "-1", "--format=%B")
    assert body.startswith("chore(release): v0.4.2\n\nSigned-off-by: Bot <bot@example.test>")


def test_hook_that_edits_pyproject_is_refused(project: Project) -> None:
    hook = project.path / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho '# reformatted' >> pyproject.toml\n")
    hook.chmod(0o755)
    _refused(project, "patch", "--yes", message="changed pyproject.toml")


def test_pre_commit_hook_sees_the_staged_index(project: Project) -> None:
    hook = project.path / ".git" / "hooks" / "pre-commit"
    out = project.path.parent / "hook-saw.txt"
    hook.write_text(f"#!/bin/sh\ngit diff --cached --name-only > {out}\ngit show :pyproject.toml | grep '^version' >> {out}\n")
    hook.chmod(0o755)
    result = run_cli("patch", "--yes", cwd=project.path)
    assert result.returncode == 0, result.stderr
    assert out.read_text().splitlines() == ["pyproject.toml", 'version = "0.4.2"']


def test_sigkill_after_every_step_is_recoverable(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    steps = _step_count(project)
    for number in range(1, steps + 1):
        before = project.snapshot()
        killed = run_cli("patch", "--yes", cwd=project.path,
                         env={"DIRECTIVE_RELEASE_FAULT": f"sigkill-after:{number}"})
        assert killed.returncode == -9, (number, killed.stderr)
        fsck = subprocess.run(["git", "fsck"], cwd=project.path, capture_output=True, text=True)
        assert fsck.returncode == 0, fsck.stderr
        again = run_cli("patch", "--yes", cwd=project.path)
        assert again.returncode == 1, (number, again.stderr)
        assert "directive-release --recover" in again.stderr
        recovered = run_cli("--recover", cwd=project.path)
        assert recovered.returncode == 0, (number, recovered.stderr)
        assert project.snapshot() == before, f"state after --recover differs (killed after step {number})"
        assert not (project.path / ".git" / "directive-release").exists()
    assert run_cli("patch", "--yes", cwd=project.path).returncode == 0
    assert project.git("log", "--format=%s", "-1").strip() == "chore(release): v0.4.2"


def test_recover_with_nothing_to_recover(project: Project) -> None:
    result = run_cli("--recover", cwd=project.path)
    assert result.returncode == 1 and "nothing to recover" in result.stderr


def test_recover_refuses_other_options(project: Project) -> None:
    for extra in (("--dry-run",), ("patch",), ("--yes",)):
        result = run_cli("--recover", *extra, cwd=project.path)
        assert result.returncode == 2, extra
        assert "--recover takes no other option" in result.stderr
