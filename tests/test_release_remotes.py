"""The whole release against real servers: git daemon, smart HTTP with credentials, pushurl, signing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from servers import make_bare, start_git_daemon, start_http_server, start_silent_server
from support import Project, git, make_project, run_cli
from test_release import assert_released

SENTINEL = "s3cr3t-SENTINEL-7f3a"


def _add_origin(project: Project, url: str, bare: Path) -> None:
    """Origin is ``url`` (served from ``bare``), holding main."""
    project.git("remote", "add", "origin", url)
    git(project.path, "push", "-q", str(bare), "main")
    project.remote = bare


def test_release_over_git_daemon(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", with_remote=False)
    with start_git_daemon(tmp_path / "daemon") as daemon:
        bare = make_bare(daemon.base_path)
        _add_origin(project, daemon.url(), bare)
        result = run_cli("patch", "--yes", cwd=project.path)
        assert result.returncode == 0, result.stderr
        commit = assert_released(project, "0.4.1", "0.4.2")
        remote_view = git(project.path, "ls-remote", daemon.url(), "refs/heads/release/v0.4.2").split()
        assert remote_view == [commit, "refs/heads/release/v0.4.2"]


def test_rejected_push_rolls_back_everything(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", with_remote=False)
    with start_git_daemon(tmp_path / "daemon") as daemon:
        bare = make_bare(daemon.base_path)
        _add_origin(project, daemon.url(), bare)
        reject = bare / "hooks" / "pre-receive"
        reject.write_text("#!/bin/sh\necho 'releases are frozen' >&2\nexit 1\n")
        reject.chmod(0o755)
        before = project.snapshot()
        result = run_cli("patch", "--yes", cwd=project.path)
        assert result.returncode == 1
        assert "rejected" in result.stderr and "releases are frozen" in result.stderr
        assert "nothing was changed" in result.stderr
        assert project.snapshot() == before
        # fix the cause, run again: it releases once
        (bare / "hooks" / "pre-receive").unlink()
        again = run_cli("patch", "--yes", cwd=project.path)
        assert again.returncode == 0, again.stderr
        assert_released(project, "0.4.1", "0.4.2")


def test_branch_created_on_remote_between_check_and_push(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", with_remote=False)
    with start_git_daemon(tmp_path / "daemon") as daemon:
        bare = make_bare(daemon.base_path)
        _add_origin(project, daemon.url(), bare)
        # someone else pushes the release branch while our pre-commit hook runs
        hook = project.path / ".git" / "hooks" / "pre-commit"
        hook.write_text(f"#!/bin/sh\ngit push -q {bare} main:refs/heads/release/v0.4.2\n")
        hook.chmod(0o755)
        theirs = project.git("rev-parse", "main").strip()
        result = run_cli("patch", "--yes", cwd=project.path)
        assert result.returncode == 1, result.stderr
        assert "nothing was changed" in result.stderr
        # their branch is untouched, ours is gone everywhere
        assert git(bare, "rev-parse", "refs/heads/release/v0.4.2").strip() == theirs
        assert project.git("branch", "--list", "release/*").strip() == ""
        assert project.git("symbolic-ref", "--short", "HEAD").strip() == "main"


def test_unreachable_remote_fails_within_the_timeout(project: Project) -> None:
    with start_silent_server() as silent:
        project.git("remote", "set-url", "origin", f"git://127.0.0.1:{silent.port}/r.git")
        before = project.snapshot()
        result = run_cli("patch", "--yes", cwd=project.path, env={"DIRECTIVE_RELEASE_REMOTE_TIMEOUT": "2"},
                         timeout=60)
    assert result.returncode == 1
    assert "timed out" in result.stderr
    assert project.snapshot() == before


def test_pushurl_is_used_for_the_push(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    with start_git_daemon(tmp_path / "daemon") as daemon:
        push_target = make_bare(daemon.base_path, "push-here.git")
        git(project.path, "push", "-q", str(push_target), "main")
        project.git("config", "remote.origin.pushurl", daemon.url("push-here.git"))
        result = run_cli("patch", "--yes", cwd=project.path)
        assert result.returncode == 0, result.stderr
    commit = project.git("rev-parse", "release/v0.4.2").strip()
    assert git(push_target, "rev-parse", "refs/heads/release/v0.4.2").strip() == commit
    assert project.remote is not None
    assert git(project.remote, "branch", "--list", "release/*").strip() == ""


@pytest.mark.parametrize("how", ["helper", "url"])
def test_https_style_credentials_never_printed(tmp_path: Path, how: str) -> None:
    project = make_project(tmp_path / "p", with_remote=False)
    with start_http_server(tmp_path / "http", username="releaser", password=SENTINEL) as server:
        bare = make_bare(server.project_root)
        if how == "url":
            _add_origin(project, server.url(userinfo=f"releaser:{SENTINEL}"), bare)
        else:
            _add_origin(project, server.url(), bare)
            project.git("config", "credential.helper",
                        f"!f() {{ echo username=releaser; echo password={SENTINEL}; }}; f")
        result = run_cli("patch", "--yes", cwd=project.path)
        assert result.returncode == 0, result.stderr
        assert SENTINEL not in result.stdout + result.stderr
        assert_released(project, "0.4.1", "0.4.2")
        # and a failure path: wrong credentials are refused without printing them
        project.git("checkout", "-q", "main")
        project.git("config", "--unset-all", "credential.helper", check=False) if how == "helper" else None
        wrong = f"releaser:{SENTINEL}-wrong"
        project.git("remote", "set-url", "origin", server.url(userinfo=wrong))
        failed = run_cli("minor", "--yes", cwd=project.path)
        assert failed.returncode == 1
        assert SENTINEL not in failed.stdout + failed.stderr
        for log in (tmp_path / "p").rglob("*.log"):
            assert SENTINEL not in log.read_text(errors="replace")


def test_identity_and_dates_from_config_and_environment(project: Project, tmp_path: Path) -> None:
    # includeIf gitdir in the global config, as git resolves it
    extra = tmp_path / "work-identity.gitconfig"
    extra.write_text("[user]\n\tname = Included Name\n\temail = included@example.test\n")
    home_config = Path.home() / ".gitconfig"
    home_config.write_text(home_config.read_text() + f'[includeIf "gitdir:{project.path}/"]\n\tpath = {extra}\n')
    env = {"GIT_AUTHOR_NAME": "", "GIT_AUTHOR_EMAIL": "", "GIT_COMMITTER_NAME": "", "GIT_COMMITTER_EMAIL": "",
           "GIT_COMMITTER_DATE": "@1700000000 +0200", "GIT_AUTHOR_DATE": "2005-04-07T22:13:13 +0000"}
    clean = {k: v for k, v in env.items() if v}
    result = subprocess.run(
        [*_cli(), "patch", "--yes", "--no-push"], cwd=project.path, capture_output=True, text=True,
        env=_env_without_identity(clean), stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    line = project.git("log", "-1", "--format=%an <%ae> %at %ai|%cn <%ce> %ct %ci").strip()
    assert line == ("Included Name <included@example.test> 1112911993 2005-04-07 22:13:13 +0000|"
                    "Included Name <included@example.test> 1700000000 2023-11-15 00:13:20 +0200")


def _cli() -> list[str]:
    import sys

    return [sys.executable, "-m", "directive_release"]


def _env_without_identity(extra: dict[str, str]) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_AUTHOR_", "GIT_COMMITTER_"))}
    env.update(extra)
    return env


def test_signed_release_commit_verifies_with_git(project: Project, tmp_path: Path) -> None:
    key = tmp_path / "signing_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "releaser", "-f", str(key)], check=True)
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"committer@example.test {(tmp_path / 'signing_key.pub').read_text()}")
    for key_name, value in (("gpg.format", "ssh"), ("user.signingkey", str(key)), ("commit.gpgsign", "true"),
                            ("gpg.ssh.allowedSignersFile", str(allowed))):
        project.git("config", key_name, value)
    result = run_cli("patch", "--yes", cwd=project.path)
    assert result.returncode == 0, result.stderr
    assert "signed" in result.stdout
    verify = subprocess.run(["git", "verify-commit", "release/v0.4.2"], cwd=project.path, capture_output=True,
                            text=True)
    assert verify.returncode == 0, verify.stderr
    assert 'Good "git" signature for committer@example.test' in verify.stderr


def test_signing_failure_rolls_back(project: Project) -> None:
    project.git("config", "commit.gpgsign", "true")
    project.git("config", "gpg.format", "ssh")
    project.git("config", "user.signingkey", "/nonexistent/key")
    before = project.snapshot()
    result = run_cli("patch", "--yes", cwd=project.path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert project.snapshot() == before


def test_hooks_path_and_worktree(project: Project, tmp_path: Path) -> None:
    hooks = project.path / "githooks"
    hooks.mkdir()
    marker = tmp_path / "ran-from"
    (hooks / "pre-commit").write_text(f"#!/bin/sh\npwd > {marker}\n")
    (hooks / "pre-commit").chmod(0o755)
    project.git("add", "githooks")
    project.git("commit", "-q", "-m", "hooks")
    project.git("push", "-q", "origin", "main")
    project.git("config", "core.hooksPath", "githooks")
    linked = tmp_path / "linked"
    project.git("worktree", "add", "-q", "-b", "side", str(linked), "main")
    project.git("push", "-q", "origin", "side")  # side is a maintenance branch: released as its own base
    result = run_cli("patch", "--yes", "--base-branch", "side", cwd=linked)
    assert result.returncode == 0, result.stderr
    assert marker.read_text().strip() == str(linked)
    assert git(linked, "symbolic-ref", "--short", "HEAD").strip() == "release/v0.4.2"
    assert git(linked, "status", "--porcelain").strip() == ""
    assert project.git("symbolic-ref", "--short", "HEAD").strip() == "main"
    assert project.git("status", "--porcelain").strip() == ""
