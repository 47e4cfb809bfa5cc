"""``--recover`` after a kill undoes only what the release left, never what the user did since (issue 11).

Each test kills a real release with SIGKILL after its last step (branch created,
HEAD switched, pyproject.toml written, staged, committed, pushed, upstream set),
lets the user change things with the git binary, then runs ``--recover`` and
checks with git that every change of the user's is still there, that the
release's own changes are gone where nothing of the user's depends on them, and
that the report names what it left alone. The first test is the defect found on
main: the whole-file restore of ``.git/config`` lost a remote and a key the user
added after the kill.
"""

from __future__ import annotations

import signal
from pathlib import Path

from support import Project, git, make_project, run_cli

KILL_AFTER_UPSTREAM = {"DIRECTIVE_RELEASE_FAULT": "sigkill-after:8"}  # lock … commit, push, upstream
RELEASE = "release/v0.4.2"


def _killed_release(tmp_path: Path) -> Project:
    project = make_project(tmp_path / "p")
    result = run_cli("patch", "--yes", cwd=project.path, env=KILL_AFTER_UPSTREAM)
    assert result.returncode == -signal.SIGKILL, result.stderr
    assert (project.path / ".git" / "directive-release" / "journal.json").exists()
    assert project.git("config", f"branch.{RELEASE}.remote").strip() == "origin"
    assert project.remote is not None and RELEASE in git(project.remote, "branch", "--list", "release/*")
    return project


def _recover(project: Project) -> str:
    result = run_cli("--recover", cwd=project.path)
    assert result.returncode == 0, result.stderr
    assert not (project.path / ".git" / "directive-release").exists()
    assert project.git("status", "--porcelain").strip() == "" or "changed since" in result.stdout
    return result.stdout


def test_config_keys_and_a_remote_added_after_the_kill_are_kept(tmp_path: Path) -> None:
    project = _killed_release(tmp_path)
    project.git("remote", "add", "mirror", "https://mirror.example.test/demo.git")
    project.git("config", "core.editor", "nano -w")
    project.git("config", f"branch.{RELEASE}.description", "my notes on this release")
    config_before_recover = (project.path / ".git" / "config").read_text()

    report = _recover(project)

    assert project.git("config", "remote.mirror.url").strip() == "https://mirror.example.test/demo.git"
    assert project.git("config", "core.editor").strip() == "nano -w"
    # the release's own keys are gone; the user's key in the same section (and its header) stay
    assert project.git("config", f"branch.{RELEASE}.remote", check=False).strip() == ""
    assert project.git("config", f"branch.{RELEASE}.merge", check=False).strip() == ""
    assert project.git("config", f"branch.{RELEASE}.description").strip() == "my notes on this release"
    head, section = config_before_recover.split(f'[branch "{RELEASE}"]\n', 1)
    section = section.replace("\tremote = origin\n", "", 1).replace(f"\tmerge = refs/heads/{RELEASE}\n", "", 1)
    assert (project.path / ".git" / "config").read_text() == f'{head}[branch "{RELEASE}"]\n{section}'
    # and the release itself is undone: branch (local and remote), HEAD, pyproject.toml
    assert project.git("branch", "--list", "release/*").strip() == ""
    assert project.remote is not None and git(project.remote, "branch", "--list", "release/*").strip() == ""
    assert project.git("symbolic-ref", "HEAD").strip() == "refs/heads/main"
    assert 'version = "0.4.1"' in (project.path / "pyproject.toml").read_text()
    assert "as it was before it" in report


def test_pyproject_edited_after_the_kill_is_kept(tmp_path: Path) -> None:
    project = _killed_release(tmp_path)
    edited = (project.path / "pyproject.toml").read_text() + "# my edit after the kill\n"
    (project.path / "pyproject.toml").write_text(edited)

    report = _recover(project)

    assert (project.path / "pyproject.toml").read_text() == edited
    assert "pyproject.toml (changed since the release)" in report
    assert "as it was before it" not in report
    # everything else of the release is undone
    assert project.git("symbolic-ref", "HEAD").strip() == "refs/heads/main"
    assert project.git("branch", "--list", "release/*").strip() == ""


def test_release_branch_the_user_committed_to_is_kept_with_its_checkout(tmp_path: Path) -> None:
    project = _killed_release(tmp_path)
    (project.path / "NOTES.md").write_text("notes\n")
    project.git("add", "NOTES.md")
    project.git("commit", "-q", "-m", "docs: notes for the release")
    mine = project.git("rev-parse", "HEAD").strip()

    report = _recover(project)

    # the branch, HEAD on it, its index and work tree stay as the user left them
    assert project.git("rev-parse", RELEASE).strip() == mine
    assert project.git("symbolic-ref", "HEAD").strip() == f"refs/heads/{RELEASE}"
    assert project.git("status", "--porcelain").strip() == ""
    assert 'version = "0.4.2"' in (project.path / "pyproject.toml").read_text()
    assert f"{RELEASE} (now at {mine[:7]}, moved since the release)" in report
    # HEAD's reflog keeps the way it came onto the branch it is still on
    assert f"checkout: moving from main to {RELEASE}" in project.git("reflog", "show", "HEAD")
    # the remote branch still held the release's commit: taken back; the upstream keys removed
    assert project.remote is not None and git(project.remote, "branch", "--list", "release/*").strip() == ""
    assert project.git("config", f"branch.{RELEASE}.remote", check=False).strip() == ""


def test_release_branch_moved_while_the_user_is_back_on_main(tmp_path: Path) -> None:
    project = _killed_release(tmp_path)
    project.git("switch", "-q", "main")
    project.git("commit", "-q", "--allow-empty", "-m", "chore: more work on main")
    project.git("branch", "-f", RELEASE, "main")  # the user points it at a commit of theirs

    report = _recover(project)

    assert project.git("rev-parse", RELEASE).strip() == project.git("rev-parse", "main").strip()
    assert f"{RELEASE} (now at" in report
    assert project.git("symbolic-ref", "HEAD").strip() == "refs/heads/main"
    assert project.git("status", "--porcelain").strip() == ""
    assert 'version = "0.4.1"' in (project.path / "pyproject.toml").read_text()


def test_remote_branch_moved_after_the_kill_is_kept(tmp_path: Path) -> None:
    project = _killed_release(tmp_path)
    assert project.remote is not None
    main = project.git("rev-parse", "main").strip()
    git(project.remote, "update-ref", f"refs/heads/{RELEASE}", main)  # a colleague pushed over it

    report = _recover(project)

    assert git(project.remote, "rev-parse", RELEASE).strip() == main
    assert f"{RELEASE} on origin (moved (now at {main[:7]}) since the release)" in report
    assert project.git("branch", "--list", "release/*").strip() == ""
