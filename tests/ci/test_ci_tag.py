"""``directive-release-ci tag``: annotated tag in pure Python, pushed to a bare remote (file://,
git daemon, smart HTTP with the Actions token), idempotent on re-run. The git binary is the oracle."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

from typing import Any

from ci_support import SENTINEL, assert_no_secret, git, read_outputs, run_ci

Project = Any  # the shared `project` fixture (tests/conftest.py): .path, .remote, .git()

TAG = "v0.4.1"


def _tag(project_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    output = project_dir.parent / "github-output.txt"
    output.unlink(missing_ok=True)
    result = run_ci("--project", str(project_dir), "tag", *args,
                    env={"GITHUB_TOKEN": SENTINEL, "GITHUB_OUTPUT": str(output), **(env or {})})
    assert_no_secret(result.stdout, result.stderr, output.read_text() if output.exists() else "")
    assert "Traceback" not in result.stderr
    return result


def _remote_tag(remote: Path) -> str:
    return git(remote, "for-each-ref", "--format=%(objectname)", f"refs/tags/{TAG}").strip()


def test_tag_is_created_pushed_and_a_rerun_changes_nothing(project: Project) -> None:
    head = project.git("rev-parse", "HEAD").strip()
    first = _tag(project.path)
    assert first.returncode == 0, first.stderr
    assert "pushed annotated tag v0.4.1" in first.stderr
    outputs = read_outputs(project.path.parent / "github-output.txt")

    assert project.remote is not None
    remote_tag = _remote_tag(project.remote)
    assert outputs == {"tag": TAG, "tag-sha": remote_tag}
    assert git(project.remote, "cat-file", "-t", TAG).strip() == "tag"  # annotated, not lightweight
    assert git(project.remote, "rev-parse", f"{TAG}^{{commit}}").strip() == head
    body = git(project.remote, "cat-file", "tag", TAG)
    assert f"tag {TAG}\n" in body and "Release 0.4.1" in body
    assert "tagger Test Committer <committer@example.test>" in body
    git(project.remote, "fsck", "--strict")
    assert project.git("rev-parse", TAG).strip() == remote_tag

    second = _tag(project.path)
    assert second.returncode == 0, second.stderr
    assert "already" in second.stderr
    assert _remote_tag(project.remote) == remote_tag


def test_rerun_from_a_fresh_shallow_clone_without_tags(project: Project, tmp_path: Path) -> None:
    assert _tag(project.path).returncode == 0
    assert project.remote is not None
    before = _remote_tag(project.remote)
    clone = tmp_path / "ci-checkout"
    git(tmp_path, "clone", "-q", "--depth", "1", "--no-tags", project.remote.as_uri(), str(clone))
    assert git(clone, "tag").strip() == ""

    # Another tagger identity: a twin tag object created here would have another id.
    rerun = _tag(clone, env={"GIT_COMMITTER_NAME": "Another Runner"})
    assert rerun.returncode == 0, rerun.stderr
    assert "already" in rerun.stderr
    assert _remote_tag(project.remote) == before
    assert read_outputs(clone.parent / "github-output.txt")["tag-sha"] == before
    assert git(clone, "rev-parse", TAG).strip() == before  # the remote's tag object, not a twin
    git(clone, "fsck")


def test_first_push_from_a_shallow_clone_sends_only_the_tag(project: Project, tmp_path: Path) -> None:
    # Like actions/checkout (depth 1): history is missing, the tag still goes out.
    (project.path / "CHANGES.md").write_text("more\n")
    project.git("add", "CHANGES.md")
    project.git("commit", "-q", "-m", "more")
    project.git("push", "-q", "origin", "main")
    assert project.remote is not None
    clone = tmp_path / "ci-checkout"
    git(tmp_path, "clone", "-q", "--depth", "1", "--no-tags", project.remote.as_uri(), str(clone))
    result = _tag(clone)
    assert result.returncode == 0, result.stderr
    assert git(project.remote, "rev-parse", f"{TAG}^{{commit}}").strip() == project.git("rev-parse", "HEAD").strip()
    git(project.remote, "fsck", "--strict")


def test_remote_tag_on_another_commit_fails_and_stays(project: Project) -> None:
    project.git("tag", "-a", TAG, "-m", "old release")
    project.git("push", "-q", "origin", TAG)
    old = project.git("rev-parse", "HEAD").strip()
    (project.path / "CHANGES.md").write_text("more\n")
    project.git("add", "CHANGES.md")
    project.git("commit", "-q", "-m", "more")
    project.git("push", "-q", "origin", "main")
    project.git("tag", "-d", TAG)
    assert project.remote is not None
    before = _remote_tag(project.remote)

    result = _tag(project.path)
    assert result.returncode == 1
    assert result.stderr.startswith("directive-release-ci: tag v0.4.1 on ")
    assert old[:12] in result.stderr
    assert _remote_tag(project.remote) == before


def test_local_tag_on_another_commit_fails_before_pushing(project: Project) -> None:
    project.git("tag", "-a", TAG, "-m", "stray")
    (project.path / "CHANGES.md").write_text("more\n")
    project.git("add", "CHANGES.md")
    project.git("commit", "-q", "-m", "more")
    result = _tag(project.path)
    assert result.returncode == 1 and "local tag v0.4.1" in result.stderr
    assert project.remote is not None and _remote_tag(project.remote) == ""


def test_version_other_than_pyproject_is_refused(project: Project) -> None:
    result = _tag(project.path, "--version", "9.9.9")
    assert result.returncode == 2 and "0.4.1" in result.stderr
    assert project.remote is not None and _remote_tag(project.remote) == ""


def test_commit_not_in_the_clone_is_refused(project: Project) -> None:
    result = _tag(project.path, env={"GITHUB_SHA": "ab" * 20})
    assert result.returncode == 1 and "not in this clone" in result.stderr


# --- git daemon: the smart protocol, a rejecting hook ---------------------------------------------


def _served_copy(project: Project, base: Path, name: str = "widget.git") -> Path:
    assert project.remote is not None
    served = base / name
    git(base, "clone", "-q", "--bare", project.remote.as_uri(), str(served))
    return served


def test_push_over_git_protocol_and_rerun_from_fresh_clone(project: Project, git_daemon, tmp_path: Path) -> None:
    url, base = git_daemon
    served = _served_copy(project, base)
    result = _tag(project.path, "--remote", f"{url}/widget.git")
    assert result.returncode == 0, result.stderr
    assert git(served, "rev-parse", f"{TAG}^{{commit}}").strip() == project.git("rev-parse", "HEAD").strip()
    tag_sha = git(served, "rev-parse", TAG).strip()

    clone = tmp_path / "fresh"
    git(tmp_path, "clone", "-q", "--depth", "1", "--no-tags", f"{url}/widget.git", str(clone))
    rerun = _tag(clone, "--remote", f"{url}/widget.git", env={"GIT_COMMITTER_NAME": "Another Runner"})
    assert rerun.returncode == 0, rerun.stderr
    assert "already" in rerun.stderr
    assert git(served, "rev-parse", TAG).strip() == tag_sha
    assert read_outputs(clone.parent / "github-output.txt")["tag-sha"] == tag_sha
    git(clone, "fsck")


def test_rejected_push_fails(project: Project, git_daemon) -> None:
    url, base = git_daemon
    served = _served_copy(project, base)
    hook = served / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'tags are frozen' >&2\nexit 1\n")
    hook.chmod(0o755)
    result = _tag(project.path, "--remote", f"{url}/widget.git")
    assert result.returncode == 1
    assert "rejected" in result.stderr and "tags are frozen" in result.stderr
    assert git(served, "tag").strip() == ""


def test_tag_created_by_someone_else_meanwhile_on_the_same_commit_is_success(project: Project, git_daemon) -> None:
    # The remote refuses our push because the same release was tagged between our look and our push.
    url, base = git_daemon
    served = _served_copy(project, base)
    head = project.git("rev-parse", "HEAD").strip()
    hook = served / "hooks" / "pre-receive"
    hook.write_text(
        "#!/bin/sh\n"
        "unset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES\n"
        f"git tag -a {TAG} -m 'concurrent run' {head} && echo 'tag exists' >&2\n"
        "exit 1\n"
    )
    hook.chmod(0o755)
    result = _tag(project.path, "--remote", f"{url}/widget.git")
    assert result.returncode == 0, result.stderr
    assert "already" in result.stderr
    concurrent = git(served, "rev-parse", TAG).strip()
    assert read_outputs(project.path.parent / "github-output.txt")["tag-sha"] == concurrent


# --- smart HTTP: GITHUB_TOKEN as x-access-token, only for the GitHub server ------------------------


def test_https_push_uses_the_job_token_without_printing_it(project: Project, http_git_server) -> None:
    served = _served_copy(project, http_git_server.root)
    result = _tag(project.path, "--remote", f"{http_git_server.url}/widget.git",
                  env={"GITHUB_SERVER_URL": http_git_server.url})
    assert result.returncode == 0, result.stderr
    assert git(served, "rev-parse", f"{TAG}^{{commit}}").strip() == project.git("rev-parse", "HEAD").strip()
    expected = "Basic " + base64.b64encode(f"x-access-token:{SENTINEL}".encode()).decode()
    assert expected in http_git_server.authorizations


def test_wrong_token_fails_with_a_hint_and_no_token(project: Project, http_git_server) -> None:
    _served_copy(project, http_git_server.root)
    result = _tag(project.path, "--remote", f"{http_git_server.url}/widget.git",
                  env={"GITHUB_SERVER_URL": http_git_server.url, "GITHUB_TOKEN": SENTINEL + "-wrong"})
    assert result.returncode == 1
    assert "authentication failed" in result.stderr and "contents: write" in result.stderr
    assert "-wrong" not in result.stderr


def test_token_is_not_sent_to_another_host(project: Project, http_git_server) -> None:
    _served_copy(project, http_git_server.root)
    result = _tag(project.path, "--remote", f"{http_git_server.url}/widget.git",
                  env={"GITHUB_SERVER_URL": "https://github.com"})
    assert result.returncode == 1
    assert http_git_server.authorizations and set(http_git_server.authorizations) == {None}
