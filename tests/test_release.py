"""End to end: the real command in a real process, checked with the git binary."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from support import PYPROJECT, Project, git, make_project, run_cli


def _tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (a .git dir or a work tree), by relative path."""
    files: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            files[str(path.relative_to(root))] = path.read_bytes()
    return files


def assert_released(project: Project, old: str, new: str, *, pushed: bool = True) -> str:
    branch = f"release/v{new}"
    assert project.git("symbolic-ref", "HEAD").strip() == f"refs/heads/{branch}"
    # exactly one commit on top of main, with the designed message
    log = project.git("log", "--format=%s", f"main..{branch}").splitlines()
    assert log == [f"chore(release): v{new}"]
    # exactly one line changed, in pyproject.toml only
    diff = project.git("diff", "--numstat", "main", branch).split()
    assert diff == ["1", "1", "pyproject.toml"]
    patch = project.git("diff", "-U0", "main", branch)
    assert f'-version = "{old}"' in patch and f'+version = "{new}"' in patch
    assert project.git("status", "--porcelain").strip() == ""
    fsck = subprocess.run(["git", "fsck", "--strict"], cwd=project.path, capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    assert "error" not in fsck.stderr.lower()
    commit = project.git("rev-parse", branch).strip()
    main_commit = project.git("rev-parse", "main").strip()
    assert project.git("rev-parse", f"{branch}~1").strip() == main_commit
    if pushed:
        assert project.remote is not None
        remote_commit = git(project.remote, "rev-parse", f"refs/heads/{branch}").strip()
        assert remote_commit == commit
        assert project.git("rev-parse", "--abbrev-ref", f"{branch}@{{upstream}}").strip() == f"origin/{branch}"
        # main on the remote did not move
        assert git(project.remote, "rev-parse", "refs/heads/main").strip() == main_commit
    return commit


def test_patch_release_over_file_remote(project: Project) -> None:
    before_main = project.git("rev-parse", "main").strip()
    result = run_cli("--part", "patch", "--yes", cwd=project.path)
    assert result.returncode == 0, result.stderr
    commit = assert_released(project, "0.4.1", "0.4.2")
    assert commit[:7] in result.stdout
    assert project.git("rev-parse", "main").strip() == before_main
    # author and committer as git resolves them from the environment
    assert project.git("log", "-1", "--format=%an <%ae>|%cn <%ce>").strip() == (
        "Test Author <author@example.test>|Test Committer <committer@example.test>"
    )
    # the reflog reads like git's own
    reflog = project.git("reflog", "-2", "--format=%gs", "HEAD").splitlines()
    assert reflog == ["commit: chore(release): v0.4.2", "checkout: moving from main to release/v0.4.2"]


@pytest.mark.parametrize(("part", "new"), [("minor", "0.5.0"), ("major", "1.0.0")])
def test_positional_part(project: Project, part: str, new: str) -> None:
    result = run_cli(part, "--yes", cwd=project.path)
    assert result.returncode == 0, result.stderr
    assert_released(project, "0.4.1", new)


def test_no_push_keeps_remote_untouched(project: Project) -> None:
    before = git(project.remote, "for-each-ref")  # type: ignore[arg-type]
    result = run_cli("patch", "--yes", "--no-push", cwd=project.path)
    assert result.returncode == 0, result.stderr
    assert_released(project, "0.4.1", "0.4.2", pushed=False)
    assert git(project.remote, "for-each-ref") == before  # type: ignore[arg-type]
    assert "git push -u origin release/v0.4.2" in result.stdout


def test_dry_run_changes_no_byte(project: Project) -> None:
    gitdir = _tree_bytes(project.path / ".git")
    work = _tree_bytes(project.path)
    result = run_cli("--part", "minor", "--dry-run", cwd=project.path)
    assert result.returncode == 0, result.stderr
    assert _tree_bytes(project.path / ".git") == gitdir
    assert _tree_bytes(project.path) == work
    lines = result.stdout.splitlines()
    assert any("create branch release/v0.5.0" in line for line in lines)
    assert any('commit "chore(release): v0.5.0"' in line for line in lines)
    assert any("push release/v0.5.0 to origin" in line for line in lines)


def test_dry_run_plan_is_the_plan_that_runs(project: Project) -> None:
    dry = run_cli("patch", "--dry-run", cwd=project.path)
    real = run_cli("patch", "--yes", cwd=project.path)
    assert real.returncode == 0, real.stderr
    plan_lines = [line for line in dry.stdout.splitlines() if line.startswith("  ")]
    assert plan_lines and all(line in real.stdout.splitlines() for line in plan_lines)


def test_works_without_git_binary(project: Project, tmp_path: Path) -> None:
    fake_bin = tmp_path / "fakebin"
    fake_bin.mkdir()
    marker = tmp_path / "git-was-called"
    fake_git = fake_bin / "git"
    fake_git.write_text(f"#!/bin/sh\necho called >> {marker}\nexit 1\n")
    fake_git.chmod(0o755)
    env = {"PATH": str(fake_bin)}
    result = run_cli("patch", "--yes", cwd=project.path, env=env)
    assert result.returncode == 0, result.stderr
    assert not marker.exists()
    assert_released(project, "0.4.1", "0.4.2")


def test_dash_c_and_subdirectory(project: Project, tmp_path: Path) -> None:
    sub = project.path / "src" / "pkg"
    sub.mkdir(parents=True)
    result = run_cli("-C", str(sub), "patch", "--yes", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert_released(project, "0.4.1", "0.4.2")


def test_second_run_bumps_once_more_from_the_new_branch(project: Project) -> None:
    assert run_cli("patch", "--yes", cwd=project.path).returncode == 0
    refused = run_cli("patch", "--yes", cwd=project.path)  # HEAD is on release/v0.4.2, not on main
    assert refused.returncode == 1 and "not on the base branch main" in refused.stderr
    again = run_cli("patch", "--yes", "--base-branch", "release/v0.4.2", cwd=project.path)
    # from release/v0.4.2, named as the base, the next patch is 0.4.3: a new, separate release
    assert again.returncode == 0, again.stderr
    assert project.git("symbolic-ref", "--short", "HEAD").strip() == "release/v0.4.3"


def test_crlf_single_quotes_and_mode_are_kept(tmp_path: Path) -> None:
    text = PYPROJECT.replace('"0.4.1"', "'0.4.1'").replace("\n", "\r\n")
    project = make_project(tmp_path, pyproject=text)
    (project.path / "pyproject.toml").chmod(0o755)
    project.git("add", "pyproject.toml")
    project.git("commit", "-q", "-m", "exec bit")
    result = run_cli("patch", "--yes", cwd=project.path)
    assert result.returncode == 0, result.stderr
    after = (project.path / "pyproject.toml").read_bytes()
    assert after == text.replace("'0.4.1'", "'0.4.2'").encode()
    assert stat.S_IMODE((project.path / "pyproject.toml").stat().st_mode) == 0o755
    assert project.git("status", "--porcelain").strip() == ""
    assert project.git("ls-tree", "HEAD", "pyproject.toml").startswith("100755")


def test_help_explains_every_option_with_examples() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for word in ("--part", "--yes", "--dry-run", "--no-push", "--remote", "-C", "--untracked-blocks",
                 "--base-branch", "Examples:", "Exit codes:", "130"):
        assert word in result.stdout
    version = run_cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("directive-release ")


def test_python_dash_m_and_console_script_agree(project: Project) -> None:
    script = Path(sys.executable).with_name("directive-release")
    if not script.exists():
        pytest.skip("console script not installed in this environment")
    result = subprocess.run([str(script), "patch", "--dry-run"], cwd=project.path, capture_output=True, text=True,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr


def test_no_terminal_needs_part_and_yes(project: Project) -> None:
    before = project.snapshot()
    bare = run_cli(cwd=project.path)
    assert bare.returncode == 2
    assert "--part" in bare.stderr and "--yes" in bare.stderr
    no_yes = run_cli("patch", cwd=project.path)
    assert no_yes.returncode == 2 and "--yes" in no_yes.stderr
    assert "Traceback" not in bare.stderr + no_yes.stderr
    assert project.snapshot() == before


def test_usage_errors_exit_2(project: Project) -> None:
    for args in (("--part", "micro"), ("micro",), ("patch", "--part", "minor"), ("--bogus",)):
        result = run_cli(*args, "--yes", cwd=project.path)
        assert result.returncode == 2, args
        assert "Traceback" not in result.stderr


def test_sha256_repository(tmp_path: Path) -> None:
    work = tmp_path / "sha256"
    work.mkdir()
    git(work, "init", "-q", "-b", "main", "--object-format=sha256")
    (work / "pyproject.toml").write_text(PYPROJECT)
    git(work, "add", "pyproject.toml")
    git(work, "commit", "-q", "-m", "initial")
    result = run_cli("patch", "--yes", "--no-push", cwd=work)
    assert result.returncode == 0, result.stderr
    project = Project(work)
    commit = assert_released(project, "0.4.1", "0.4.2", pushed=False)
    assert len(commit) == 64


@pytest.mark.parametrize("setup", ["autocrlf", "attributes"])
def test_crlf_worktree_is_stored_as_git_would(tmp_path: Path, setup: str) -> None:
    """The staged blob goes through git's own check-in conversion: LF in the repository."""
    project = make_project(tmp_path / "p")
    if setup == "autocrlf":
        project.git("config", "core.autocrlf", "true")
    else:
        (project.path / ".gitattributes").write_text("pyproject.toml text eol=crlf\n")
        project.git("add", ".gitattributes")
        project.git("commit", "-q", "-m", "attributes")
    (project.path / "pyproject.toml").unlink()
    project.git("checkout", "--", "pyproject.toml")  # git writes it back with CRLF
    assert (project.path / "pyproject.toml").read_bytes() == PYPROJECT.replace("\n", "\r\n").encode()
    assert project.git("status", "--porcelain").strip() == ""
    result = run_cli("patch", "--yes", "--no-push", cwd=project.path)
    assert result.returncode == 0, result.stderr
    stored = subprocess.run(["git", "show", "HEAD:pyproject.toml"], cwd=project.path, capture_output=True,
                            check=True).stdout
    assert stored == PYPROJECT.replace('"0.4.1"', '"0.4.2"').encode()
    assert (project.path / "pyproject.toml").read_bytes() == stored.replace(b"\n", b"\r\n")
    assert project.git("status", "--porcelain").strip() == ""
