"""Helpers for the version-source tests: small real projects in real git repositories."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from support import git

BIN = Path(sys.executable).parent
HOOK = BIN / "directive-release-check"


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    return root


def repo(root: Path, files: dict[str, str | bytes], *, track: bool = True) -> Path:
    """A git repository holding ``files``, all of them added to the index (tracked) unless told not to."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q")
    write_tree(root, files)
    if track:
        git(root, "add", "-A")
    return root


def tracked(root: Path) -> set[str]:
    return set(git(root, "ls-files", "-z").split("\0")) - {""}


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file's bytes under ``root`` (not .git), to prove nothing changed."""
    result: dict[str, bytes] = {}
    for directory, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in files:
            path = Path(directory) / name
            if path.is_file() and not path.is_symlink():
                result[str(path.relative_to(root))] = path.read_bytes()
    return result


def run_hook(cwd: Path, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """The installed console script, as pre-commit runs it; a time-out fails the test (a hang)."""
    return subprocess.run([str(HOOK), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def apply(root: Path, edits: list) -> None:
    for edit in edits:
        (root / edit.path).write_bytes(edit.new_bytes)


_IMPORT_PROBE = (
    "import sys\n"
    "before = set(sys.modules)\n"
    "from directive_release.check import main\n"
    "assert main(['pyproject.toml']) == 0\n"
    "print(' '.join(sorted(set(sys.modules) - before)))\n"
)


def hook_success_imports(cwd: Path) -> list[str]:
    """The modules a passing ``directive-release-check pyproject.toml`` loads in ``cwd`` (fresh process)."""
    result = subprocess.run([sys.executable, "-c", _IMPORT_PROBE], cwd=cwd, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def third_party(modules: list[str]) -> list[str]:
    """The modules neither from the standard library nor ours."""
    return [name for name in modules if name.split(".")[0] not in sys.stdlib_module_names
            and name.split(".")[0] != "directive_release"]
