"""Fixtures for the reliability suite (helpers live in ``reliability_support``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reliability_support import Copyable, copyable_project

HOOK_OK = "#!/bin/sh\nexit 0\n"


@pytest.fixture
def hooked_template(tmp_path: Path) -> Copyable:
    """A project over file:// with pre-commit and commit-msg hooks: every step of the plan runs."""
    template = copyable_project(tmp_path)
    hooks = template.template.path / ".git" / "hooks"
    for name in ("pre-commit", "commit-msg"):
        (hooks / name).write_text(HOOK_OK)
        (hooks / name).chmod(0o755)
    return template


@pytest.fixture
def plain_template(tmp_path: Path) -> Copyable:
    """A project over file:// with no hooks."""
    return copyable_project(tmp_path)
