"""``directive-release-ci github-release`` against a stub GitHub API on 127.0.0.1: created once with
generated notes and the dists attached, a re-run is a no-op, a release on another commit fails,
API errors are one line each, and the job token never shows."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest
from ci_support import SENTINEL, FakeReleases, StubResponse, StubServer, assert_no_secret, read_outputs, run_ci

REPO = "acme/widget"
SHA = "9f2c1e0d8b7a6c5d4e3f2a1b0c9d8e7f6a5b4c3d"
OTHER = "1111111111111111111111111111111111111111"
TAG = "v1.4.0"


@pytest.fixture
def release_project(tmp_path: Path) -> Path:
    project = tmp_path / "widget"
    (project / "dist").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[project]\nname = "widget"\nversion = "1.4.0"\n')
    (project / "dist" / "widget-1.4.0.tar.gz").write_bytes(b"sdist bytes \x00\x01")
    (project / "dist" / "widget-1.4.0-py3-none-any.whl").write_bytes(b"wheel bytes \xff")
    (project / "dist" / "notes.txt").write_text("not a distribution")
    return project


def _release(project: Path, stub: StubServer, *args: str, token: str = SENTINEL,
             sha: str = SHA) -> subprocess.CompletedProcess[str]:
    output = project.parent / "github-output.txt"
    output.unlink(missing_ok=True)
    summary = project.parent / "summary.md"
    result = run_ci("--project", str(project), "github-release", "--dist", str(project / "dist"), *args, env={
        "GITHUB_TOKEN": token, "GITHUB_API_URL": stub.url, "GITHUB_REPOSITORY": REPO, "GITHUB_SHA": sha,
        "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary),
    })
    assert_no_secret(result.stdout, result.stderr, output.read_text() if output.exists() else "",
                     summary.read_text() if summary.exists() else "")
    assert "Traceback" not in result.stderr
    return result


def _dist_digests(project: Path) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
            for path in (project / "dist").iterdir() if path.name.endswith((".whl", ".tar.gz"))}


def test_release_is_created_once_with_notes_and_the_dists(release_project: Path, github_stub: StubServer) -> None:
    fake = FakeReleases(github_stub, REPO, SENTINEL)
    fake.tags[TAG] = SHA
    first = _release(release_project, github_stub)
    assert first.returncode == 0, first.stderr
    assert "created the GitHub Release v1.4.0 with 2 file(s)" in first.stderr
    release = fake.releases[TAG]
    assert release["target_commitish"] == SHA and release["generate_release_notes"] is True
    assert release["draft"] is False and release["name"] == TAG
    attached = {name: hashlib.sha256(data).hexdigest() for name, data in fake.assets[release["id"]].items()}
    assert attached == _dist_digests(release_project)
    outputs = read_outputs(release_project.parent / "github-output.txt")
    assert outputs == {"release-url": release["html_url"], "release-id": "1", "created": "true"}
    for request in github_stub.requests:
        assert request.headers["authorization"] == f"Bearer {SENTINEL}"
        assert request.headers["x-github-api-version"] == "2022-11-28"

    posts = len([r for r in github_stub.requests if r.method == "POST"])
    second = _release(release_project, github_stub)
    assert second.returncode == 0, second.stderr
    assert "exists with every file: nothing to do" in second.stderr
    assert len([r for r in github_stub.requests if r.method == "POST"]) == posts  # nothing written
    assert read_outputs(release_project.parent / "github-output.txt")["created"] == "false"
    assert len(fake.releases) == 1


def test_an_interrupted_run_gets_its_missing_file_attached(release_project: Path, github_stub: StubServer) -> None:
    fake = FakeReleases(github_stub, REPO, SENTINEL)
    fake.tags[TAG] = SHA
    fake.releases[TAG] = {"id": 7, "tag_name": TAG, "target_commitish": "main", "html_url": "u",
                          "upload_url": f"{github_stub.url}/uploads/repos/{REPO}/releases/7/assets{{?name,label}}"}
    fake.assets[7] = {"widget-1.4.0.tar.gz": b"already there"}
    result = _release(release_project, github_stub)
    assert result.returncode == 0, result.stderr
    assert "attached 1 missing file(s)" in result.stderr
    assert fake.assets[7]["widget-1.4.0.tar.gz"] == b"already there"  # never replaced
    assert set(fake.assets[7]) == set(_dist_digests(release_project))


def test_a_release_whose_tag_leads_elsewhere_fails(release_project: Path, github_stub: StubServer) -> None:
    fake = FakeReleases(github_stub, REPO, SENTINEL)
    fake.tags[TAG] = OTHER
    fake.releases[TAG] = {"id": 3, "tag_name": TAG, "target_commitish": "main", "html_url": "u",
                          "upload_url": f"{github_stub.url}/uploads/repos/{REPO}/releases/3/assets{{?name,label}}"}
    fake.assets[3] = {}
    result = _release(release_project, github_stub)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"directive-release-ci: the GitHub Release for {TAG} is on {OTHER[:12]}, not on {SHA[:12]};"
        " another commit was released under that tag: check the release and the tag"
    ]
    assert fake.assets[3] == {}
    assert not [r for r in github_stub.requests if r.method == "POST"]


def test_a_draft_on_another_commit_without_a_tag_fails(release_project: Path, github_stub: StubServer) -> None:
    fake = FakeReleases(github_stub, REPO, SENTINEL)
    fake.releases[TAG] = {"id": 4, "tag_name": TAG, "target_commitish": OTHER, "html_url": "u",
                          "upload_url": f"{github_stub.url}/uploads/repos/{REPO}/releases/4/assets{{?name,label}}"}
    result = _release(release_project, github_stub)
    assert result.returncode == 1 and f"is on {OTHER[:12]}, not on {SHA[:12]}" in result.stderr


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (403, "HTTP 403 (Resource not accessible by integration); the token lacks permission"
              " (the job needs 'permissions: contents: write')"),
        (404, "HTTP 404 (Not Found); repository not found, or the token cannot see it"),
        (500, "HTTP 500 (boom); GitHub could not answer; re-run the job"),
        (502, "HTTP 502 (boom); GitHub could not answer; re-run the job"),
    ],
)
def test_api_errors_are_one_line(release_project: Path, github_stub: StubServer, status: int, expected: str) -> None:
    message = {403: "Resource not accessible by integration", 404: "Not Found"}.get(status, "boom")
    # The lookup answers 404 (no release yet); the create call fails with the status under test.
    github_stub.route(f"POST /repos/{REPO}/releases", StubResponse(status, {"message": message}))
    result = _release(release_project, github_stub)
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"directive-release-ci: GitHub API POST {github_stub.url}/repos/{REPO}/releases: {expected}")


def test_lookup_errors_other_than_404_are_errors_not_absence(release_project: Path, github_stub: StubServer) -> None:
    github_stub.route(f"/repos/{REPO}/releases/tags/{TAG}", StubResponse(403, {"message": "Forbidden"}))
    result = _release(release_project, github_stub)
    assert result.returncode == 1 and "HTTP 403" in result.stderr and len(result.stderr.splitlines()) == 1
    assert not [r for r in github_stub.requests if r.method == "POST"]


def test_an_upload_url_on_another_host_gets_no_token(release_project: Path, github_stub: StubServer,
                                                     other_stub: StubServer) -> None:
    github_stub.route(f"POST /repos/{REPO}/releases", StubResponse(201, {
        "id": 9, "html_url": "u", "upload_url": f"{other_stub.url}/repos/{REPO}/releases/9/assets{{?name,label}}"}))
    result = _release(release_project, github_stub)
    assert result.returncode == 1 and "refusing to send the token there" in result.stderr
    assert other_stub.requests == []


def test_wrong_token_and_missing_environment(release_project: Path, github_stub: StubServer) -> None:
    FakeReleases(github_stub, REPO, SENTINEL)
    wrong = _release(release_project, github_stub, token=SENTINEL[::-1])
    assert wrong.returncode == 1 and "HTTP 401" in wrong.stderr and SENTINEL[::-1] not in wrong.stderr
    none = run_ci("--project", str(release_project), "github-release", env={"GITHUB_TOKEN": ""})
    assert none.returncode == 2 and none.stderr.startswith("directive-release-ci: GITHUB_TOKEN is not set")


def test_nothing_to_attach_is_refused(release_project: Path, github_stub: StubServer) -> None:
    for path in (release_project / "dist").iterdir():
        path.unlink()
    result = _release(release_project, github_stub)
    assert result.returncode == 2 and "no .whl or .tar.gz to attach" in result.stderr
    assert github_stub.requests == []


def test_a_release_created_meanwhile_by_another_run_is_judged_not_duplicated(
        release_project: Path, github_stub: StubServer) -> None:
    upload = f"{github_stub.url}/uploads/repos/{REPO}/releases/5/assets{{?name,label}}"
    release = {"id": 5, "tag_name": TAG, "target_commitish": SHA, "html_url": "u", "upload_url": upload,
               "assets": [{"name": "widget-1.4.0.tar.gz"}, {"name": "widget-1.4.0-py3-none-any.whl"}]}
    # Absent when looked up, then the create call loses the race (422), then it is there.
    github_stub.route(f"/repos/{REPO}/releases/tags/{TAG}", StubResponse(404, {"message": "Not Found"}),
                      StubResponse(200, release))
    github_stub.route(f"POST /repos/{REPO}/releases",
                      StubResponse(422, {"message": "Validation Failed", "errors": [{"code": "already_exists"}]}))
    github_stub.route(f"/repos/{REPO}/commits/{TAG}", StubResponse(200, {"sha": SHA}))
    result = _release(release_project, github_stub)
    assert result.returncode == 0, result.stderr
    assert "exists with every file: nothing to do" in result.stderr
    github_stub.route(f"/repos/{REPO}/releases/tags/{TAG}", StubResponse(404, {"message": "Not Found"}))
    refused = _release(release_project, github_stub)
    assert refused.returncode == 1 and "HTTP 422 (Validation Failed); GitHub refused the release" in refused.stderr
    assert len(refused.stderr.splitlines()) == 1
