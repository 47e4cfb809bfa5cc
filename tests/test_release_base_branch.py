"""The base branch: where it comes from, and a release only from it, up to date with the remote's.

A bare remote and a second clone that pushes meanwhile, as colleagues do; the git
binary is the oracle for every count and every result; each refusal leaves the
work tree, its .git and the remote byte for byte as they were.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from support import Project, git, make_project, run_cli

sys.path.insert(0, str(Path(__file__).resolve().parent / "reliability"))
from reliability_support import whole_state  # noqa: E402

from directive_release.git.odb import ObjectReader  # noqa: E402
from directive_release.git.repo import discover  # noqa: E402
from directive_release.git.history import ahead_behind  # noqa: E402
from directive_release.release.base import WALK_LIMIT  # noqa: E402


def _colleague(tmp_path: Path, project: Project, name: str = "colleague") -> Path:
    """A second clone of the remote, as another maintainer has it."""
    assert project.remote is not None
    clone = tmp_path / name
    git(tmp_path, "clone", "-q", project.remote.as_uri(), str(clone))
    return clone


def _commit(where: Path, message: str) -> str:
    git(where, "commit", "-q", "--allow-empty", "-m", message)
    return git(where, "rev-parse", "HEAD").strip()


def _oracle_counts(project: Project, ours: str, theirs: str) -> tuple[int, int]:
    left, right = project.git("rev-list", "--count", "--left-right", f"{ours}...{theirs}").split()
    return int(left), int(right)


def _refused(project: Project, *args: str) -> str:
    """Run a release that must be refused: one line, exit 1, not a byte changed anywhere."""
    before, snapshot = whole_state(project), project.snapshot()
    result = run_cli(*args, cwd=project.path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout == ""
    line = result.stderr
    assert line.count("\n") == 1 and line.startswith("directive-release: "), line
    assert "Traceback" not in line and "every step was undone" not in line
    assert whole_state(project) == before
    assert project.snapshot() == snapshot
    return line.strip()


# --- behind, diverged, ahead ---------------------------------------------------------------


def test_behind_a_colleagues_push_not_fetched_is_refused(project: Project, tmp_path: Path) -> None:
    clone = _colleague(tmp_path, project)
    for number in range(3):
        _commit(clone, f"fix: theirs {number}")
    git(clone, "push", "-q", "origin", "main")
    line = _refused(project, "patch", "--yes")
    # their commits are not in this repository: behind, whatever else
    assert "main is behind origin/main" in line and "pull first" in line


def test_behind_after_a_fetch_says_by_how_many(project: Project, tmp_path: Path) -> None:
    clone = _colleague(tmp_path, project)
    for number in range(3):
        _commit(clone, f"fix: theirs {number}")
    git(clone, "push", "-q", "origin", "main")
    project.git("fetch", "-q", "origin")
    assert _oracle_counts(project, "main", "origin/main") == (0, 3)
    for args in (("patch", "--yes"), ("patch", "--dry-run"), ("minor", "--yes", "--json")):
        line = _refused(project, *args)
        assert line == "directive-release: main is 3 commits behind origin/main; pull first (git pull origin main)"
    project.git("pull", "-q", "--ff-only", "origin", "main")
    released = run_cli("patch", "--yes", cwd=project.path)
    assert released.returncode == 0, released.stderr
    assert "main is up to date with origin/main" in released.stdout


def test_diverged_is_refused_with_both_counts(project: Project, tmp_path: Path) -> None:
    clone = _colleague(tmp_path, project)
    for number in range(3):
        _commit(clone, f"fix: theirs {number}")
    git(clone, "push", "-q", "origin", "main")
    for number in range(2):
        _commit(project.path, f"feat: ours {number}")
    project.git("fetch", "-q", "origin")
    assert _oracle_counts(project, "main", "origin/main") == (2, 3)
    line = _refused(project, "patch", "--yes")
    assert "main has diverged from origin/main (2 commits here, 3 commits there); pull first" in line


def test_diverged_without_fetch_is_behind(project: Project, tmp_path: Path) -> None:
    clone = _colleague(tmp_path, project)
    _commit(clone, "fix: theirs")
    git(clone, "push", "-q", "origin", "main")
    _commit(project.path, "feat: ours")
    line = _refused(project, "patch", "--dry-run")
    assert "main is behind origin/main" in line and "pull first" in line


def test_ahead_is_released_and_the_plan_counts_the_unpushed_commits(project: Project) -> None:
    for number in range(2):
        _commit(project.path, f"feat: ours {number}")
    dry = run_cli("minor", "--dry-run", "--json", cwd=project.path)
    assert dry.returncode == 0, dry.stderr
    summary = json.loads(dry.stdout)
    assert summary["unpushed_commits"] == 2 == _oracle_counts(project, "main", "origin/main")[0]
    assert summary["base_branch"] == "main" and summary["base_branch_source"] == "origin's default branch"
    assert "main is 2 commits ahead of origin/main: the release branch carries them too" in dry.stderr
    result = run_cli("minor", "--yes", cwd=project.path)
    assert result.returncode == 0, result.stderr
    assert project.git("rev-list", "--count", "origin/main..release/v0.5.0").strip() == "3"
    assert project.remote is not None
    assert git(project.remote, "rev-parse", "refs/heads/release/v0.5.0").strip() == project.git(
        "rev-parse", "release/v0.5.0").strip()


def test_no_push_skips_the_comparison_and_says_so(project: Project, tmp_path: Path) -> None:
    clone = _colleague(tmp_path, project)
    _commit(clone, "fix: theirs")
    git(clone, "push", "-q", "origin", "main")
    result = run_cli("patch", "--yes", "--no-push", cwd=project.path)
    assert result.returncode == 0, result.stderr
    assert "not compared with origin/main (--no-push)" in result.stdout
    assert "git push -u origin release/v0.4.2, then open a pull request from release/v0.4.2 into main" in result.stdout


# --- the branch HEAD is on -----------------------------------------------------------------------


def test_other_branch_is_refused_naming_both(project: Project) -> None:
    project.git("switch", "-q", "-c", "feature/x")
    _commit(project.path, "feat: x")
    line = _refused(project, "patch", "--yes")
    assert line == ("directive-release: HEAD is on feature/x, not on the base branch main (origin's default"
                    " branch); switch to it (git switch main), or release the maintenance branch feature/x"
                    " itself with --base-branch feature/x")
    configured = make_project(project.path.parent.parent / "configured", pyproject=(
        project.path / "pyproject.toml").read_text() + '\n[tool.directive-release]\nbase-branch = "develop"\n')
    line = _refused(configured, "patch", "--dry-run", "--no-push")
    assert "HEAD is on main, not on the base branch develop (base-branch in [tool.directive-release])" in line
    # a base branch named by the user refuses before the remote is contacted: an unreachable one does not matter
    configured.git("remote", "set-url", "origin", "git://127.0.0.1:9/nowhere.git")
    line = _refused(configured, "patch", "--yes")
    assert "HEAD is on main, not on the base branch develop" in line


def test_maintenance_branch_with_base_branch_option(project: Project, tmp_path: Path) -> None:
    project.git("switch", "-q", "-c", "1.x")
    project.git("push", "-q", "origin", "1.x")
    clone = _colleague(tmp_path, project)  # meanwhile main moves on
    _commit(clone, "feat: 2.0 work")
    git(clone, "push", "-q", "origin", "main")
    assert "not on the base branch main" in _refused(project, "patch", "--yes")
    result = run_cli("patch", "--yes", "--json", "--base-branch", "1.x", cwd=project.path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["base_branch"] == "1.x" and summary["base_branch_source"] == "--base-branch"
    assert "Base branch 1.x (--base-branch); 1.x is up to date with origin/1.x." in result.stderr
    assert "Next: open a pull request from release/v0.4.2 into 1.x on origin." in result.stderr
    assert result.stderr.rstrip().endswith("to get back: git switch 1.x")
    assert project.git("merge-base", "--is-ancestor", "1.x", "release/v0.4.2", check=False) == ""
    # the maintenance branch, behind its remote, is refused like main
    project.git("switch", "-q", "1.x")
    git(clone, "fetch", "-q", "origin")
    git(clone, "switch", "-q", "1.x")
    _commit(clone, "fix: backport")
    git(clone, "push", "-q", "origin", "1.x")
    project.git("fetch", "-q", "origin")
    line = _refused(project, "minor", "--yes", "--base-branch", "1.x")
    assert line.endswith("1.x is 1 commit behind origin/1.x; pull first (git pull origin 1.x)")


def test_base_branch_missing_on_the_remote_is_refused(project: Project) -> None:
    project.git("switch", "-q", "-c", "2.x")
    line = _refused(project, "patch", "--yes", "--base-branch", "2.x")
    assert "the base branch 2.x does not exist on origin" in line and "git push -u origin 2.x" in line


# --- where the name comes from ------------------------------------------------------------------


def _master_project(tmp_path: Path) -> Project:
    """A remote whose default branch is master (commitizen's own, among many), cloned."""
    seed = make_project(tmp_path / "seed", with_remote=False)
    seed.git("branch", "-m", "master")
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "master", str(remote))
    seed.git("push", "-q", remote.as_uri(), "master")
    work = tmp_path / "clone"
    git(tmp_path, "clone", "-q", remote.as_uri(), str(work))
    return Project(work, remote)


def test_remote_default_branch_master(tmp_path: Path) -> None:
    project = _master_project(tmp_path)
    (project.path / ".git" / "refs" / "remotes" / "origin" / "HEAD").unlink()  # only the listing can say
    result = run_cli("patch", "--yes", cwd=project.path)
    assert result.returncode == 0, result.stderr
    assert "Base branch master (origin's default branch); master is up to date with origin/master." in result.stdout
    assert "Next: open a pull request from release/v0.4.2 into master on origin." in result.stdout
    assert result.stdout.rstrip().endswith("You are on release/v0.4.2 now; to get back: git switch master")
    assert "main" not in result.stdout.replace("remote", "")


def test_detached_head_is_told_the_real_base_branch(tmp_path: Path) -> None:
    project = _master_project(tmp_path)
    project.git("switch", "-q", "--detach", "HEAD")
    line = _refused(project, "patch", "--yes")
    assert line == ("directive-release: HEAD is detached; check out the branch to release from"
                    " (git switch master)")


def test_no_push_takes_the_local_remote_head(tmp_path: Path) -> None:
    project = _master_project(tmp_path)
    assert project.git("symbolic-ref", "refs/remotes/origin/HEAD").strip() == "refs/remotes/origin/master"
    result = run_cli("patch", "--dry-run", "--no-push", cwd=project.path)
    assert result.returncode == 0, result.stderr
    assert "Base branch master (refs/remotes/origin/HEAD); not compared with origin/master (--no-push)." in result.stdout


def test_init_default_branch_then_main(tmp_path: Path) -> None:
    project = make_project(tmp_path, with_remote=False)
    project.git("branch", "-m", "trunk")
    project.git("config", "init.defaultBranch", "trunk")
    result = run_cli("patch", "--dry-run", "--no-push", cwd=project.path)
    assert result.returncode == 0, result.stderr
    assert "Base branch trunk (init.defaultBranch)" in result.stdout
    project.git("config", "init.defaultBranch", "")
    line = _refused(project, "patch", "--dry-run", "--no-push")
    assert "HEAD is on trunk, not on the base branch main (the default: neither refs/remotes/origin/HEAD" in line


def test_missing_remote_names_no_push(tmp_path: Path) -> None:
    project = make_project(tmp_path, with_remote=False)
    line = _refused(project, "patch", "--yes")
    assert "no remote named 'origin'" in line
    assert "git remote add origin <url>" in line and "--no-push" in line


# --- the count itself, against git on a history with merges ----------------------------------


@pytest.mark.parametrize("same_second", [False, True])
def test_ahead_behind_matches_git_rev_list_on_merges(project: Project, tmp_path: Path, same_second: bool,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    if same_second:  # every commit at one time stamp: dates cannot order the walk
        monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-01-01T00:00:00+0000")
    clone = _colleague(tmp_path, project)
    for number in range(4):
        _commit(clone, f"theirs {number}")
    git(clone, "push", "-q", "origin", "main")
    project.git("switch", "-q", "-c", "side")
    _commit(project.path, "side 1")
    project.git("switch", "-q", "main")
    _commit(project.path, "ours 1")
    project.git("merge", "-q", "--no-edit", "--no-ff", "side")
    project.git("fetch", "-q", "origin")
    project.git("merge", "-q", "--no-edit", "origin/main~2")  # part of theirs merged in
    _commit(project.path, "ours 2")
    repo = discover(project.path)
    reader = ObjectReader(repo)
    for ours, theirs in (("main", "origin/main"), ("origin/main", "main"), ("side", "origin/main"),
                         ("main", "main~1"), ("main~1", "main")):
        ids = [project.git("rev-parse", name).strip() for name in (ours, theirs)]
        assert ahead_behind(reader, *ids, WALK_LIMIT) == _oracle_counts(project, ours, theirs), (ours, theirs)
    assert ahead_behind(reader, project.git("rev-parse", "main").strip(),
                        project.git("rev-parse", "origin/main").strip(), limit=3) is None


@pytest.mark.parametrize("option", ["--base-branch=-x", "--base-branch=a..b"])
def test_bad_base_branch_option_is_refused(project: Project, option: str) -> None:
    before = project.snapshot()
    result = run_cli("patch", "--dry-run", option, cwd=project.path)
    assert result.returncode in (1, 2), result.stderr
    assert result.stderr.count("\n") == 1 and "base" in result.stderr
    assert project.snapshot() == before


# --- one contact with the remote ------------------------------------------------------------------


def test_the_comparison_uses_the_one_ref_listing(tmp_path: Path) -> None:
    """Over smart HTTP every request is seen: the dry run lists the remote's refs once, and that one
    answer names the default branch (master here) and the commit the comparison refuses."""
    from servers import make_bare, start_http_server

    project = make_project(tmp_path / "p", with_remote=False)
    project.git("branch", "-m", "master")
    with start_http_server(tmp_path / "http") as server:
        bare = make_bare(server.project_root)
        git(bare, "symbolic-ref", "HEAD", "refs/heads/master")
        project.git("remote", "add", "origin", server.url())
        project.git("push", "-q", str(bare), "master")
        dry = run_cli("patch", "--dry-run", cwd=project.path)
        assert dry.returncode == 0, dry.stderr
        assert "Base branch master (origin's default branch); master is up to date with origin/master." in dry.stdout
        _one_listing(server.requests)
        clone = tmp_path / "colleague"
        git(tmp_path, "clone", "-q", str(bare), str(clone))
        _commit(clone, "fix: theirs")
        git(clone, "push", "-q", "origin", "master")
        server.requests.clear()
        project.remote = bare
        line = _refused(project, "patch", "--yes")
        assert "master is behind origin/master" in line
        _one_listing(server.requests)


def _one_listing(requests: list) -> None:
    """One ls-remote: the advertisement (GET info/refs) and, in protocol v2, its one ls-refs POST."""
    shape = [(request.method, request.path.split("?")[0].rsplit("/", 1)[-1]) for request in requests]
    assert shape in ([("GET", "refs")], [("GET", "refs"), ("POST", "git-upload-pack")]), shape
