"""A rehearsal of the workflow ``directive-release init`` generates: its jobs' run: steps in order,
as the runner would run them, against the stub GitHub API (gate, GitHub Release), a real pypiserver
(published?, twine upload) and a bare remote (tag). Run twice: the second run publishes nothing and
changes nothing. See rehearsal.py for what stands in for each action."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest
from ci_support import SENTINEL, FakeReleases, StubResponse, StubServer, assert_no_secret, git, tool
from rehearsal import Run, Runner, rehearse

REPO = "acme/ci-demo"
PYPI_TOKEN = "pypi-SENTINELpypitoken0123456789"
PYPROJECT = """\
[build-system]
requires = ["hatchling>=1.18"]
build-backend = "hatchling.build"

[project]
name = "ci-demo-pkg"
version = "0.1.0"
description = "A package released by the rehearsal."
readme = "README.md"
requires-python = ">=3.11"
license = "MIT"
"""


class RemoteTags(dict):
    """The fake GitHub's view of tags: whatever the bare remote has, peeled to the commit."""

    def __init__(self, remote: Path) -> None:
        super().__init__()
        self.remote = remote

    def get(self, tag: str, default=None):  # type: ignore[override]
        result = subprocess.run(["git", "rev-parse", "--verify", "-q", f"refs/tags/{tag}^{{commit}}"],
                                cwd=self.remote, capture_output=True, text=True)
        return result.stdout.strip() if result.returncode == 0 else default

    def setdefault(self, tag: str, default=None):  # type: ignore[override]
        return self.get(tag) or default


def _project(tmp_path: Path, init_args: list[str]) -> tuple[Path, Path, str]:
    """A project set up with init, committed and pushed to a bare remote: (clone, remote, sha)."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    project = tmp_path / "project"
    (project / "src" / "ci_demo_pkg").mkdir(parents=True)
    (project / "pyproject.toml").write_text(PYPROJECT)
    (project / "README.md").write_text("# ci-demo-pkg\n\nReleased by a rehearsal.\n")
    (project / "src" / "ci_demo_pkg" / "__init__.py").write_text('"""Demo."""\n')
    git(project, "init", "-q", "-b", "main")
    git(project, "remote", "add", "origin", f"https://github.com/{REPO}.git")
    result = subprocess.run([tool("directive-release"), "init", "--yes", *init_args], cwd=project,
                            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    git(project, "add", "-A")
    git(project, "-c", "user.name=Dev", "-c", "user.email=dev@example.test", "commit", "-q", "-m", "Release 0.1.0")
    git(project, "push", "-q", str(remote), "main")
    return project, remote, git(project, "rev-parse", "HEAD").strip()


def _pull(sha: str) -> dict:
    return {"number": 42, "state": "closed", "draft": False, "merged_at": "2026-11-20T10:00:00Z",
            "merge_commit_sha": sha,
            "head": {"label": "acme:release/v0.1.0", "ref": "release/v0.1.0", "sha": "2" * 40, "repo": {"full_name": REPO}},
            "base": {"label": "acme:main", "ref": "main", "sha": "1" * 40},
            "user": {"login": "dev"}, "author_association": "MEMBER", "auto_merge": None}


def _state(remote: Path, packages: Path, fake: FakeReleases) -> dict:
    return {
        "refs": git(remote, "for-each-ref", "--format=%(refname) %(objectname)"),
        "index": {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(packages.iterdir())},
        "releases": {tag: dict(release) for tag, release in fake.releases.items()},
        "assets": {number: dict(files) for number, files in fake.assets.items()},
    }


def _assert_clean(run: Run) -> None:
    for text in run.texts():
        assert_no_secret(text)
        assert PYPI_TOKEN not in text
    failures = [(log.job, log.name, log.output[-2000:]) for log in run.steps if log.status == "failure"]
    assert failures == []


def _rehearse_twice(tmp_path: Path, github_stub: StubServer, pypi_server, init_args: list[str]):
    project, remote, sha = _project(tmp_path, init_args)
    github_stub.route(f"/repos/{REPO}/commits/{sha}/pulls?per_page=100", StubResponse(body=[_pull(sha)]))
    fake = FakeReleases(github_stub, REPO, SENTINEL)
    fake.tags = RemoteTags(remote)
    runner = Runner(remote=remote, sha=sha, repository=REPO, api_url=github_stub.url, token=SENTINEL,
                    secrets={"PYPI_API_TOKEN": PYPI_TOKEN}, work=tmp_path / "runs", upload_url=f"{pypi_server.url}/")
    workflow = project / ".github" / "workflows" / "release.yml"

    first = rehearse(workflow, runner, "first")
    _assert_clean(first)
    assert {name: job.result for name, job in first.jobs.items()} == dict.fromkeys(
        ["gate", "build", "published", "publish", "tag", "github-release"], "success")
    assert first.jobs["gate"].outputs == {"release": "true", "version": "0.1.0", "tag": "v0.1.0"}
    assert first.jobs["published"].outputs["published"] == "false"
    after_first = _state(remote, pypi_server.packages, fake)
    assert set(after_first["index"]) == {"ci_demo_pkg-0.1.0.tar.gz", "ci_demo_pkg-0.1.0-py3-none-any.whl"}
    assert git(remote, "cat-file", "-t", "v0.1.0").strip() == "tag"
    assert git(remote, "rev-parse", "v0.1.0^{commit}").strip() == sha
    (release,) = fake.releases.values()
    assert release["tag_name"] == "v0.1.0" and release["target_commitish"] == sha
    assert release["generate_release_notes"] is True
    # The files attached are the files published.
    assert {name: hashlib.sha256(data).hexdigest() for name, data in fake.assets[release["id"]].items()} \
        == after_first["index"]
    summaries = "".join(log.files.get("GITHUB_STEP_SUMMARY", "") for log in first.steps)
    assert "directive-release tag" in summaries and "directive-release github-release" in summaries

    posts_before = len([r for r in github_stub.requests if r.method != "GET"])
    second = rehearse(workflow, runner, "second")
    _assert_clean(second)
    assert all(job.result == "success" for job in second.jobs.values())
    assert second.jobs["published"].outputs["published"] == "true"
    assert _state(remote, pypi_server.packages, fake) == after_first
    assert len([r for r in github_stub.requests if r.method != "GET"]) == posts_before
    return first, second


@pytest.mark.slow
def test_token_variant_rehearsed_twice(tmp_path: Path, github_stub: StubServer, pypi_server) -> None:
    first, second = _rehearse_twice(tmp_path, github_stub, pypi_server, [
        "--token", "--index-url", pypi_server.simple_url, "--repository-url", f"{pypi_server.url}/"])
    assert first.step("publish", "Upload the missing files").status == "success"  # real twine upload
    assert second.step("publish", "Upload the missing files").status == "skipped"
    assert first.publish_inputs == second.publish_inputs == []
    assert "already" in second.step("tag", "Create and push the annotated tag").output
    assert "nothing to do" in second.step("github-release", "Create the GitHub Release with the files attached").output


@pytest.mark.slow
def test_trusted_publishing_variant_rehearsed_twice(tmp_path: Path, github_stub: StubServer, pypi_server) -> None:
    first, second = _rehearse_twice(tmp_path, github_stub, pypi_server, ["--index-url", pypi_server.simple_url])
    (record,) = first.publish_inputs  # the pinned action: inputs checked, a real twine upload stood in
    assert record["permissions"] == {"id-token": "write"}
    assert record["environment"] == {"name": "pypi", "url": "https://pypi.org/p/ci-demo-pkg"}
    assert record["inputs"] == {"packages-dir": "dist/", "attestations": "true", "skip-existing": "true"}
    assert record["files"] == ["ci_demo_pkg-0.1.0-py3-none-any.whl", "ci_demo_pkg-0.1.0.tar.gz"]
    assert second.publish_inputs == []
    assert second.step("publish", "Upload with attestations").status == "skipped"


@pytest.mark.slow
def test_a_gate_that_says_no_runs_build_only(tmp_path: Path, github_stub: StubServer, pypi_server) -> None:
    project, remote, sha = _project(tmp_path, ["--token", "--index-url", pypi_server.simple_url,
                                               "--repository-url", f"{pypi_server.url}/"])
    github_stub.route(f"/repos/{REPO}/commits/{sha}/pulls?per_page=100",
                      StubResponse(body=[dict(_pull(sha), head={"ref": "feature/x", "label": "acme:feature/x",
                                                                "sha": "3" * 40, "repo": None})]))
    runner = Runner(remote=remote, sha=sha, repository=REPO, api_url=github_stub.url, token=SENTINEL,
                    secrets={"PYPI_API_TOKEN": PYPI_TOKEN}, work=tmp_path / "runs", upload_url=f"{pypi_server.url}/")
    run = rehearse(project / ".github" / "workflows" / "release.yml", runner, "only")
    assert run.jobs["gate"].outputs["release"] == "false"
    assert [run.jobs[name].result for name in ("published", "publish", "tag", "github-release")] == ["skipped"] * 4
    assert list(pypi_server.packages.iterdir()) == []
    assert git(remote, "tag").strip() == ""


# --- the harness itself can fail ----------------------------------------------------------------------


def _tiny_runner(tmp_path: Path) -> Runner:
    return Runner(remote=tmp_path, sha="0" * 40, repository=REPO, api_url="http://127.0.0.1:9", token=SENTINEL,
                  secrets={}, work=tmp_path / "runs", upload_url="http://127.0.0.1:9/")


def test_harness_passes_outputs_and_env_and_skips_after_a_failure(tmp_path: Path) -> None:
    workflow = tmp_path / "w.yml"
    workflow.write_text("""\
on: push
permissions: {}
env:
  GREETING: hello
jobs:
  first:
    runs-on: ubuntu-latest
    outputs:
      said: ${{ steps.say.outputs.said }}
    steps:
      - id: say
        run: |
          echo "said=$GREETING" >> "$GITHUB_OUTPUT"
          { echo "multi<<EOF_1"; echo "a"; echo "b"; echo "EOF_1"; } >> "$GITHUB_OUTPUT"
          echo "LATER=set" >> "$GITHUB_ENV"
      - name: reads env
        run: test "$LATER" = set
  second:
    needs: first
    if: needs.first.outputs.said == 'hello'
    runs-on: ubuntu-latest
    steps:
      - name: fails
        run: exit 3
      - name: never
        run: echo never
  third:
    needs: [second]
    runs-on: ubuntu-latest
    steps:
      - run: echo never
""")
    run = rehearse(workflow, _tiny_runner(tmp_path), "tiny")
    assert run.jobs["first"].result == "success" and run.jobs["first"].outputs == {"said": "hello"}
    assert run.step("first", "reads env").status == "success"
    assert run.step("second", "fails").status == "failure" and run.step("second", "never").status == "skipped"
    assert run.jobs["second"].result == "failure" and run.jobs["third"].result == "skipped"


def test_harness_refuses_what_it_cannot_rehearse(tmp_path: Path) -> None:
    workflow = tmp_path / "w.yml"
    workflow.write_text("on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n"
                        "      - env:\n          M: ${{ github.event.head_commit.message }}\n        run: echo\n")
    with pytest.raises(AssertionError, match="cannot evaluate"):
        rehearse(workflow, _tiny_runner(tmp_path), "a")
    workflow.write_text("on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: someone/else@v1\n")
    with pytest.raises(AssertionError, match="no stand-in"):
        rehearse(workflow, _tiny_runner(tmp_path), "b")
