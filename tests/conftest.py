"""Shared fixtures: isolated git environments, repositories and remotes.

Every test runs with its own HOME, no system git config and a fixed identity,
so the machine's own configuration can never leak into a result. Helpers live
in ``support.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from support import Project, make_project


@pytest.fixture(autouse=True)
def isolated_git_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("home")
    for name in list(os.environ):
        if name.startswith(("GIT_", "DIRECTIVE_RELEASE_")) or name in (
            "EMAIL",
            "XDG_CONFIG_HOME",
            "GITHUB_TOKEN",
            "GH_TOKEN",
        ):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test Author")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "author@example.test")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test Committer")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "committer@example.test")
    monkeypatch.setenv("NO_COLOR", "1")
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n[protocol \"file\"]\n\tallow = always\n")
    return home


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return make_project(tmp_path)
