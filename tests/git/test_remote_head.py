"""The remote's default branch (its HEAD symref) comes back with the ref listing, on every transport.

The git binary is the oracle: ``git ls-remote --symref`` says what HEAD names.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support import Project, git
from servers import GitDaemon, GitHttpServer, git_daemon, http_server, make_bare  # noqa: F401 - fixtures

from directive_release.git.config import load_config
from directive_release.git.remote import resolve_remote
from directive_release.git.repo import discover
from directive_release.git.transport import list_remote_refs


def _oracle_head(cwd: Path, url: str) -> str | None:
    for line in git(cwd, "ls-remote", "--symref", url, "HEAD").splitlines():
        if line.startswith("ref: ") and line.endswith("\tHEAD"):
            return line[len("ref: "):-len("\tHEAD")].removeprefix("refs/heads/")
    return None


def _listed_head(project: Project, url: str) -> str | None:
    repo = discover(project.path)
    config = load_config(repo)
    return list_remote_refs(repo, config, resolve_remote(config, url)).default_branch


def _publish(project: Project, bare: Path, url: str, default: str) -> None:
    project.git("push", "-q", url, f"main:refs/heads/{default}", "main:refs/heads/other")
    git(bare, "symbolic-ref", "HEAD", f"refs/heads/{default}")


@pytest.mark.parametrize("default", ["master", "trunk"])
def test_file_url_lists_the_default_branch(project: Project, tmp_path: Path, default: str) -> None:
    bare = make_bare(tmp_path / "bare")
    _publish(project, bare, bare.as_uri(), default)
    assert _listed_head(project, bare.as_uri()) == _oracle_head(project.path, bare.as_uri()) == default


def test_git_daemon_lists_the_default_branch(project: Project, git_daemon: GitDaemon) -> None:
    bare = make_bare(git_daemon.base_path)
    _publish(project, bare, git_daemon.url(), "master")
    assert _listed_head(project, git_daemon.url()) == _oracle_head(project.path, git_daemon.url()) == "master"


def test_smart_http_lists_the_default_branch(project: Project, http_server: GitHttpServer) -> None:
    bare = make_bare(http_server.project_root)
    _publish(project, bare, http_server.url(), "master")
    assert _listed_head(project, http_server.url()) == _oracle_head(project.path, http_server.url()) == "master"


def test_no_head_listed_for_an_empty_remote(project: Project, tmp_path: Path) -> None:
    bare = make_bare(tmp_path / "bare")
    assert _listed_head(project, bare.as_uri()) is None
    assert _oracle_head(project.path, bare.as_uri()) is None
