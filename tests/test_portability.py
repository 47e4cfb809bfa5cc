"""What the core may depend on: no /proc, no fork; on a system it cannot serve, one line at start."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from directive_release import cli

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "directive_release"


def _uses(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("/proc"):
            found.append(f"{path.name}:{node.lineno}: {node.value}")
        if isinstance(node, ast.Attribute) and node.attr in ("fork", "forkpty", "register_at_fork"):
            found.append(f"{path.name}:{node.lineno}: os.{node.attr}")
    return found


def test_the_core_needs_neither_proc_nor_fork() -> None:
    assert [use for path in sorted(PACKAGE.rglob("*.py")) for use in _uses(path)] == []


def test_the_check_sees_a_use(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("import os\nos.fork()\nopen('/proc/self/stat')\n")
    assert _uses(probe) == ["probe.py:2: os.fork", "probe.py:3: /proc/self/stat"]


def test_an_unsupported_system_is_refused_in_one_line_before_anything(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    assert cli.main(["-C", str(tmp_path), "patch", "--yes"]) == 1
    err = capsys.readouterr().err
    assert err == f"directive-release: {cli.UNSUPPORTED_PLATFORM}\n"
    assert list(tmp_path.iterdir()) == []
