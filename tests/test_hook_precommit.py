"""The check-version hook through the real pre-commit framework and a real ``git commit``.

The hook repository is a copy of this checkout's working tree (what pip needs
to install the project plus ``.pre-commit-hooks.yaml``), committed into a
temporary git repository, exactly what another project's
``.pre-commit-config.yaml`` would point at. pre-commit builds a virtualenv and
pip-installs the project into it for each ``try-repo`` (which always uses a
throw-away store) and once for the installed git hook (a store shared by the
session): three builds of a few seconds each, so these tests are marked slow
but stay in the default run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[1]
HOOK_FILES = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml")
BAD_MESSAGE = 'version "1.02.3" is not MAJOR.MINOR.PATCH (leading zero in minor)'


def pyproject(version: str) -> str:
    return f'[project]\nname = "consumer"\n# released by hand\nversion = "{version}"\n'


@pytest.fixture(scope="session")
def session_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An isolated environment for git and pre-commit, shared by the session so caches are reused.

    Session fixtures are set up before the per-test isolation of conftest.py,
    so this one builds its own: no system or user git config, a fixed identity.
    """
    home = tmp_path_factory.mktemp("precommit-home")
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    env = {name: value for name, value in os.environ.items() if not name.startswith(("GIT_", "PRE_COMMIT"))}
    env.update(
        HOME=str(home),
        XDG_CACHE_HOME=str(home / ".cache"),
        PRE_COMMIT_HOME=str(home / "pre-commit-store"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="Test Author",
        GIT_AUTHOR_EMAIL="author@example.test",
        GIT_COMMITTER_NAME="Test Committer",
        GIT_COMMITTER_EMAIL="committer@example.test",
        NO_COLOR="1",
    )
    env.pop("XDG_CONFIG_HOME", None)
    return env


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory, session_env: dict[str, str]) -> tuple[Path, str]:
    """This checkout's hook, committed in a fresh git repository: (path, commit)."""
    repo = tmp_path_factory.mktemp("hook-repo")
    for name in HOOK_FILES:
        shutil.copy2(REPO_ROOT / name, repo / name)
    shutil.copytree(REPO_ROOT / "src", repo / "src", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    run_git(repo, session_env, "init", "-q", "-b", "main")
    run_git(repo, session_env, "add", ".")
    run_git(repo, session_env, "commit", "-q", "-m", "hook repository")
    return repo, run_git(repo, session_env, "rev-parse", "HEAD").strip()


def run_git(cwd: Path, env: dict[str, str], *args: str) -> str:
    """The git binary, as a scenario builder (the session environment is passed whole)."""
    result = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"git {' '.join(args)} failed ({result.returncode}): {result.stderr}"
    return result.stdout


def pre_commit(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
    )


def consumer_repo(root: Path, env: dict[str, str], files: dict[str, str]) -> Path:
    root.mkdir()
    run_git(root, env, "init", "-q", "-b", "main")
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)
    run_git(root, env, "add", ".")
    return root


def output(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


def test_try_repo_fails_with_the_message_then_passes(
    tmp_path: Path, hook_repo: tuple[Path, str], session_env: dict[str, str]
) -> None:
    repo, commit = hook_repo
    consumer = consumer_repo(tmp_path / "consumer", session_env, {
        "pyproject.toml": pyproject("1.2.3"),
        "packages/b/pyproject.toml": pyproject("1.02.3"),
        "README.md": "# consumer\n",
    })

    failed = pre_commit(consumer, session_env, "try-repo", str(repo), "check-version", "--ref", commit, "--all-files")
    assert failed.returncode == 1, output(failed)
    reported = [line for line in failed.stdout.splitlines() if "pyproject.toml:" in line]
    assert reported == [f"packages/b/pyproject.toml:4: {BAD_MESSAGE}"]  # the good root file is not
    assert "Traceback" not in output(failed)

    (consumer / "packages/b/pyproject.toml").write_text(pyproject("1.3.0"))
    run_git(consumer, session_env, "add", ".")
    passed = pre_commit(consumer, session_env, "try-repo", str(repo), "check-version", "--ref", commit, "--all-files")
    assert passed.returncode == 0, output(passed)
    assert "Passed" in passed.stdout


def test_installed_hook_refuses_a_commit(
    tmp_path: Path, hook_repo: tuple[Path, str], session_env: dict[str, str]
) -> None:
    repo, commit = hook_repo
    config = f"repos:\n  - repo: {repo}\n    rev: {commit}\n    hooks:\n      - id: check-version\n"
    consumer = consumer_repo(tmp_path / "consumer", session_env, {
        ".pre-commit-config.yaml": config,
        "pyproject.toml": pyproject("1.2.3"),
        "README.md": "# consumer\n",
    })
    installed = pre_commit(consumer, session_env, "install")
    assert installed.returncode == 0, output(installed)

    def commit_all(message: str, *extra: str) -> subprocess.CompletedProcess[str]:
        run_git(consumer, session_env, "add", ".")
        return subprocess.run(
            ["git", "commit", "-q", "-m", message, *extra],
            cwd=consumer, env=session_env, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
        )

    def head() -> str:
        return run_git(consumer, session_env, "rev-parse", "HEAD").strip()

    first = commit_all("initial")
    assert first.returncode == 0, output(first)
    assert "check the project version" in output(first)  # the hook really ran
    good_head = head()

    (consumer / "pyproject.toml").write_text(pyproject("1.02.3"))
    refused = commit_all("bad version")
    assert refused.returncode == 1, output(refused)
    assert f"pyproject.toml:4: {BAD_MESSAGE}" in output(refused)
    assert head() == good_head

    # always_run: a bad version that got in some other way blocks the next commit, whatever it touches.
    assert commit_all("bad version, hook skipped", "--no-verify").returncode == 0
    (consumer / "README.md").write_text("# consumer, documented\n")
    blocked = commit_all("docs only")
    assert blocked.returncode == 1, output(blocked)
    assert f"pyproject.toml:4: {BAD_MESSAGE}" in output(blocked)

    (consumer / "pyproject.toml").write_text(pyproject("1.3.0"))
    fixed = commit_all("fix the version")
    assert fixed.returncode == 0, output(fixed)
    assert run_git(consumer, session_env, "log", "-1", "--format=%s").strip() == "fix the version"


def test_own_config_is_valid_and_its_local_hook_runs(tmp_path: Path, session_env: dict[str, str]) -> None:
    """The project's .pre-commit-config.yaml; its local hook run for real (the remote hooks need GitHub)."""
    import yaml  # pre-commit's own dependency

    config_path = REPO_ROOT / ".pre-commit-config.yaml"
    validated = pre_commit(REPO_ROOT, session_env, "validate-config", str(config_path))
    assert validated.returncode == 0, output(validated)
    manifest = pre_commit(REPO_ROOT, session_env, "validate-manifest", str(REPO_ROOT / ".pre-commit-hooks.yaml"))
    assert manifest.returncode == 0, output(manifest)

    config = yaml.safe_load(config_path.read_text())
    remote_ids = {hook["id"] for repo in config["repos"] if repo["repo"] != "local" for hook in repo["hooks"]}
    hygiene = {"trailing-whitespace", "end-of-file-fixer", "check-yaml", "check-toml", "check-merge-conflict"}
    assert hygiene <= remote_ids
    local_only = {"repos": [repo for repo in config["repos"] if repo["repo"] == "local"]}

    consumer = consumer_repo(tmp_path / "consumer", session_env, {
        ".pre-commit-config.yaml": yaml.safe_dump(local_only),
        "pyproject.toml": pyproject("1.2"),
    })
    env = {**session_env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{session_env['PATH']}"}
    failed = pre_commit(consumer, env, "run", "check-version", "--all-files")
    assert failed.returncode == 1, output(failed)
    assert 'pyproject.toml:4: version "1.2" is not MAJOR.MINOR.PATCH' in failed.stdout

    (consumer / "pyproject.toml").write_text(pyproject("1.2.0"))
    run_git(consumer, session_env, "add", ".")
    passed = pre_commit(consumer, env, "run", "check-version", "--all-files")
    assert passed.returncode == 0, output(passed)
