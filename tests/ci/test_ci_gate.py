"""``directive-release-ci gate`` against a stub GitHub API serving documented response shapes.

Most cases run the CLI entry point in-process so the retry sleep can be
recorded instead of waited; a few run the installed console script.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ci_support import SENTINEL, StubResponse, StubServer, assert_no_secret, read_outputs, run_ci

from directive_release.ci.commands import main

SHA = "9f2c1e0d8b7a6c5d4e3f2a1b0c9d8e7f6a5b4c3d"
BEFORE = "1111111111111111111111111111111111111111"
REPO = "acme/widget"
PULLS = f"/repos/{REPO}/commits/{SHA}/pulls?per_page=100"

PYPROJECT = """\
[project]
name = "widget"
version = "1.4.0"

[tool.directive-release]
{settings}
"""


def pull(number: int = 42, *, head: str = "release/v1.4.0", base: str = "main",
         merged: bool = True, merge_sha: str | None = SHA, drop_merge_sha: bool = False,
         state: str | None = None) -> dict[str, Any]:
    """A ``pull-request-simple`` as GET /repos/{o}/{r}/commits/{sha}/pulls returns it."""
    item: dict[str, Any] = {
        "number": number,
        "state": state or ("closed" if merged else "open"),
        "draft": False,
        "merged_at": "2026-11-20T10:00:00Z" if merged else None,
        "merge_commit_sha": merge_sha,
        "head": {"label": f"acme:{head}", "ref": head, "sha": "2" * 40, "repo": {"full_name": REPO}},
        "base": {"label": f"acme:{base}", "ref": base, "sha": BEFORE},
        "user": {"login": "dev"},
        "author_association": "MEMBER",
        "auto_merge": None,
    }
    if drop_merge_sha:  # API version 2026-03-10 removes the field
        del item["merge_commit_sha"]
    return item


def push_event(*, ref: str = "refs/heads/main", after: str = SHA, forced: bool = False, deleted: bool = False,
               messages: tuple[str, ...] = ("Merge pull request #42 from acme/release/v1.4.0\n\nRelease 1.4.0",),
               ) -> dict[str, Any]:
    commits = [
        {"id": (SHA if i == len(messages) - 1 else f"{i + 3}" * 40), "distinct": True, "message": message,
         "committer": {"name": "GitHub", "email": "noreply@github.com", "username": "web-flow"}}
        for i, message in enumerate(messages)
    ]
    return {
        "ref": ref, "before": BEFORE, "after": after, "created": False, "deleted": deleted, "forced": forced,
        "base_ref": None, "commits": commits, "head_commit": commits[-1] if commits else None,
        "repository": {"full_name": REPO, "default_branch": "main"}, "sender": {"login": "dev"},
    }


@dataclass
class GateRun:
    code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str
    sleeps: list[float]


@pytest.fixture
def run_gate(tmp_path: Path, github_stub: StubServer, capsys: pytest.CaptureFixture[str]):
    def run(event: dict[str, Any] | None = None, *, settings: str = "", args: tuple[str, ...] = (),
            env: dict[str, str] | None = None) -> GateRun:
        project = tmp_path / "project"
        project.mkdir(exist_ok=True)
        (project / "pyproject.toml").write_text(PYPROJECT.format(settings=settings))
        event_path = tmp_path / "event.json"
        event_path.write_text(json.dumps(event if event is not None else push_event()))
        output, summary = tmp_path / "output.txt", tmp_path / "summary.md"
        for path in (output, summary):
            path.unlink(missing_ok=True)
        environ = {
            "GITHUB_EVENT_NAME": "push",
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_SHA": SHA,
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_API_URL": github_stub.url,
            "GITHUB_TOKEN": SENTINEL,
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
            **(env or {}),
        }
        sleeps: list[float] = []
        code = main(["--project", str(project), "gate", *args], environ=environ, sleep=sleeps.append)
        captured = capsys.readouterr()
        result = GateRun(code, captured.out, captured.err, read_outputs(output),
                         summary.read_text() if summary.exists() else "", sleeps)
        # The token must never leak, whatever happened.
        assert_no_secret(result.stdout, result.stderr, output.read_text() if output.exists() else "", result.summary)
        return result

    return run


def assert_release(run: GateRun, version: str = "1.4.0", pr: int = 42) -> None:
    assert run.code == 0, run.stderr
    assert run.outputs == {"release": "true", "version": version, "pr": str(pr), "tag": f"v{version}"}
    assert f"#{pr}" in run.summary and version in run.summary


def assert_not_release(run: GateRun) -> None:
    assert run.code == 0, run.stderr
    assert run.outputs == {"release": "false", "version": "", "pr": "", "tag": ""}
    assert "Not a release" in run.summary


# --- the three merge methods -------------------------------------------------------------------


def test_merge_commit_of_a_release_pr_is_a_release(run_gate, github_stub: StubServer) -> None:
    github_stub.route(PULLS, StubResponse(body=[pull()]))
    run = run_gate()
    assert_release(run)
    assert run.sleeps == []
    (request,) = github_stub.requests
    assert request.headers["accept"] == "application/vnd.github+json"
    assert request.headers["x-github-api-version"] == "2022-11-28"
    assert request.headers["authorization"] == f"Bearer {SENTINEL}"
    assert request.headers["user-agent"]


def test_squash_merge_is_a_release(run_gate, github_stub: StubServer) -> None:
    github_stub.route(PULLS, StubResponse(body=[pull()]))
    assert_release(run_gate(push_event(messages=("Release 1.4.0 (#42)",))))


def test_rebase_merge_is_a_release_on_its_last_commit(run_gate, github_stub: StubServer) -> None:
    # Rebase: several new commits; `after` (the last) is the PR's merge_commit_sha.
    github_stub.route(PULLS, StubResponse(body=[pull()]))
    run = run_gate(push_event(messages=("feat: a", "fix: b", "chore(release): v1.4.0")))
    assert_release(run)
    assert [r.path for r in github_stub.requests] == [PULLS]


def test_missing_merge_commit_sha_under_newer_api_versions_is_unknown_not_a_mismatch(run_gate, github_stub) -> None:
    github_stub.route(PULLS, StubResponse(body=[pull(drop_merge_sha=True)]))
    assert_release(run_gate())


def test_custom_base_branch_and_prefix_from_pyproject(run_gate, github_stub: StubServer) -> None:
    github_stub.route(PULLS, StubResponse(body=[pull(head="rel-1.4.0", base="trunk")]))
    run = run_gate(push_event(ref="refs/heads/trunk"),
                   settings='base-branch = "trunk"\nbranch-prefix = "rel-"\ntag-format = "widget-{version}"')
    assert run.code == 0, run.stderr
    assert run.outputs["release"] == "true" and run.outputs["tag"] == "widget-1.4.0"


# --- pushes that are not releases ---------------------------------------------------------------


def test_a_non_release_pr_is_not_a_release(run_gate, github_stub: StubServer) -> None:
    github_stub.route(PULLS, StubResponse(body=[pull(7, head="feature/foo")]))
    run = run_gate()
    assert_not_release(run)
    assert "#7" in run.summary and "feature/foo" in run.summary


@pytest.mark.parametrize(
    "item",
    [pull(merged=False), pull(base="develop"), pull(merge_sha="f" * 40)],
    ids=["unmerged", "wrong-base", "other-merge-commit"],
)
def test_unmerged_wrong_base_or_other_merge_commit_is_not_a_release(run_gate, github_stub, item) -> None:
    github_stub.route(PULLS, StubResponse(body=[item]))
    run = run_gate()
    assert_not_release(run)
    assert "#42" in run.summary


def test_forged_merge_message_without_a_pr_is_not_a_release(run_gate, github_stub: StubServer) -> None:
    # Anyone can push a commit whose message imitates a release merge: GitHub's record decides.
    github_stub.route(PULLS, StubResponse(body=[]))
    run = run_gate(push_event(messages=("Merge pull request #42 from acme/release/v1.4.0",)))
    assert_not_release(run)
    assert len(github_stub.requests) == 4  # first ask + 3 retries
    assert run.sleeps and all(delay > 0 for delay in run.sleeps)
    assert 10 <= sum(run.sleeps) <= 16  # "retry over ~15 s", without waiting for it here
    assert "::warning::" in run.stdout


def test_empty_list_then_present_is_retried(run_gate, github_stub: StubServer) -> None:
    github_stub.route(PULLS, StubResponse(body=[]), StubResponse(body=[]), StubResponse(body=[pull()]))
    run = run_gate()
    assert_release(run)
    assert len(run.sleeps) == 2 and len(github_stub.requests) == 3


def test_two_pages_are_both_read(run_gate, github_stub: StubServer) -> None:
    page2 = f"/repos/{REPO}/commits/{SHA}/pulls?per_page=100&page=2"
    github_stub.route(PULLS, StubResponse(
        body=[pull(9, head="release/v9.9.9", merged=False), pull(10, head="feature/x")],
        headers={"Link": f'<{{base}}{page2}>; rel="next", <{{base}}{page2}>; rel="last"'},
    ))
    github_stub.route(page2, StubResponse(body=[pull(42)], headers={"Link": f'<{{base}}{PULLS}>; rel="first"'}))
    run = run_gate()
    assert_release(run, pr=42)
    assert [r.path for r in github_stub.requests] == [PULLS, page2]
    assert all(r.headers["authorization"] == f"Bearer {SENTINEL}" for r in github_stub.requests)


def test_push_to_another_branch_asks_nothing(run_gate, github_stub: StubServer) -> None:
    run = run_gate(push_event(ref="refs/heads/feature/x"))
    assert_not_release(run)
    assert github_stub.requests == []


def test_forced_push_is_never_a_release(run_gate, github_stub: StubServer) -> None:
    github_stub.route(PULLS, StubResponse(body=[pull()]))
    run = run_gate(push_event(forced=True))
    assert_not_release(run)
    assert "::warning::" in run.stdout


def test_another_event_is_not_a_release(run_gate, github_stub: StubServer) -> None:
    assert_not_release(run_gate(env={"GITHUB_EVENT_NAME": "workflow_dispatch"}))
    assert github_stub.requests == []


# --- failures: never a guess -----------------------------------------------------------------------


def assert_failed(run: GateRun, *needles: str, code: int = 1) -> None:
    assert run.code == code
    assert run.stderr.startswith("directive-release-ci: ") and "Traceback" not in run.stderr
    assert "release" not in run.outputs  # no answer at all rather than a wrong one
    for needle in needles:
        assert needle in run.stderr


@pytest.mark.parametrize(
    "response",
    [
        StubResponse(403, {"message": "API rate limit exceeded for installation ID 1."},
                     {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1900000000"}),
        StubResponse(429, {"message": "too many"}, {"Retry-After": "60"}),
    ],
    ids=["403", "429"],
)
def test_rate_limit_fails_the_job(run_gate, github_stub: StubServer, response: StubResponse) -> None:
    github_stub.route(PULLS, response)
    assert_failed(run_gate(), "rate limit")


def test_server_error_fails_the_job(run_gate, github_stub: StubServer) -> None:
    github_stub.route(PULLS, StubResponse(500, {"message": "Server Error"}))
    assert_failed(run_gate(), "HTTP 500")


def test_forbidden_names_the_missing_permission(run_gate, github_stub: StubServer) -> None:
    github_stub.route(PULLS, StubResponse(403, {"message": "Resource not accessible by integration"}))
    assert_failed(run_gate(), "pull-requests: read")


def test_error_message_echoing_the_token_is_masked(run_gate, github_stub: StubServer) -> None:
    github_stub.route(PULLS, StubResponse(401, {"message": f"Bad credentials: {SENTINEL}"}))
    run = run_gate()
    assert_failed(run, "HTTP 401", "***")


def test_version_mismatch_fails_the_job(run_gate, github_stub: StubServer) -> None:
    github_stub.route(PULLS, StubResponse(body=[pull(head="release/v1.5.0")]))
    assert_failed(run_gate(), "1.5.0", "1.4.0")


def test_release_branch_that_is_not_a_version_fails(run_gate, github_stub: StubServer) -> None:
    github_stub.route(PULLS, StubResponse(body=[pull(head="release/v1.4")]))
    assert_failed(run_gate(), "release/v1.4")


def test_two_release_prs_for_one_commit_fail(run_gate, github_stub: StubServer) -> None:
    github_stub.route(PULLS, StubResponse(body=[pull(42, drop_merge_sha=True), pull(43, drop_merge_sha=True)]))
    assert_failed(run_gate(), "#42", "#43")


def test_event_for_another_commit_fails(run_gate, github_stub: StubServer) -> None:
    assert_failed(run_gate(push_event(after="e" * 40)), "GITHUB_SHA", code=2)
    assert github_stub.requests == []


def test_malformed_answer_fails(run_gate, github_stub: StubServer) -> None:
    github_stub.route(PULLS, StubResponse(body=[{"number": 42}]))
    assert_failed(run_gate(), "refusing to guess")


def test_pagination_to_another_host_never_receives_the_token(run_gate, github_stub, other_stub) -> None:
    github_stub.route(PULLS, StubResponse(body=[], headers={"Link": f'<{other_stub.url}/steal?page=2>; rel="next"'}))
    assert_failed(run_gate(), "another origin")
    assert other_stub.requests == []


def test_redirect_is_not_followed_with_the_token(run_gate, github_stub, other_stub) -> None:
    github_stub.route(PULLS, StubResponse(301, None, {"Location": f"{other_stub.url}/elsewhere"}))
    assert_failed(run_gate(), "redirected")
    assert other_stub.requests == []


def test_unreachable_api_fails(run_gate, github_stub: StubServer) -> None:
    from ci_support import free_port

    assert_failed(run_gate(env={"GITHUB_API_URL": f"http://127.0.0.1:{free_port()}"}), "cannot connect")


# --- the installed console script ------------------------------------------------------------------


def _script_env(tmp_path: Path, stub: StubServer, event: dict[str, Any]) -> dict[str, str]:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT.format(settings=""))
    (tmp_path / "event.json").write_text(json.dumps(event))
    return {
        "GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": str(tmp_path / "event.json"), "GITHUB_SHA": SHA,
        "GITHUB_REPOSITORY": REPO, "GITHUB_API_URL": stub.url, "GITHUB_TOKEN": SENTINEL,
        "GITHUB_OUTPUT": str(tmp_path / "out.txt"), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
    }


def test_console_script_release(tmp_path: Path, github_stub: StubServer) -> None:
    github_stub.route(PULLS, StubResponse(body=[pull()]))
    result = run_ci("gate", cwd=tmp_path, env=_script_env(tmp_path, github_stub, push_event()))
    assert result.returncode == 0, result.stderr
    assert read_outputs(tmp_path / "out.txt")["release"] == "true"
    assert "release=true" in result.stdout
    assert_no_secret(result.stdout, result.stderr, (tmp_path / "out.txt").read_text(),
                     (tmp_path / "summary.md").read_text())


def test_console_script_failure_is_one_line_without_the_token(tmp_path: Path, github_stub: StubServer) -> None:
    github_stub.route(PULLS, StubResponse(500, {"message": f"oops {SENTINEL}"}))
    result = run_ci("gate", cwd=tmp_path, env=_script_env(tmp_path, github_stub, push_event()))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("directive-release-ci: ")
    assert not (tmp_path / "out.txt").exists()
    assert_no_secret(result.stdout, result.stderr)
