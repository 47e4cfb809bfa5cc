"""``directive-release-ci github-release``: the GitHub Release for a pushed tag, with the dists attached.

Through the REST API with the job's ``GITHUB_TOKEN`` (``contents: write``):

1. ``GET /repos/{o}/{r}/releases/tags/{tag}``: is there a release for the tag already?
2. none: ``POST /repos/{o}/{r}/releases`` with ``generate_release_notes: true`` and
   ``target_commitish`` = the released commit; then every built file is uploaded
   to the release's ``upload_url`` (the uploads host).
3. one exists: the tag it names must lead to the released commit
   (``GET /repos/{o}/{r}/commits/{tag}``), else this is an error (another commit was
   released under that tag). Its name, notes and files are left as they are; a file
   of ``dist/`` that it lacks (a run cut short during the uploads) is attached.

A re-run therefore changes nothing. Every API error is one line naming the call and
what to do; the token is never printed.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import RefExistsError, RemoteError, UsageError
from .github_api import GitHubClient

_HINTS = {
    403: "the token lacks permission (the job needs 'permissions: contents: write')",
    404: "repository not found, or the token cannot see it (check GITHUB_REPOSITORY and the job's permissions)",
}
_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class ReleaseResult:
    created: bool
    url: str
    release_id: int
    attached: tuple[str, ...]  # files uploaded by this run
    present: tuple[str, ...]  # files that were on the release already


@dataclass(frozen=True)
class ReleaseTarget:
    repository: str
    tag: str
    commit: str

    @classmethod
    def from_environ(cls, environ: dict[str, str], tag: str, commit: str | None) -> ReleaseTarget:
        repository = (environ.get("GITHUB_REPOSITORY") or "").strip()
        if not _REPOSITORY.match(repository):
            raise UsageError("GITHUB_REPOSITORY is not set to owner/name; run in a GitHub Actions job")
        sha = (commit or environ.get("GITHUB_SHA") or "").strip().lower()
        if not _SHA.match(sha):
            raise UsageError("no released commit: set GITHUB_SHA or pass --commit with the full commit id")
        return cls(repository, tag, sha)


def dist_to_attach(dist: Path) -> list[Path]:
    if not dist.is_dir():
        raise UsageError(f"{dist}: no such directory; download the dist artifact first")
    files = sorted(path for path in dist.iterdir() if path.is_file() and path.name.endswith((".whl", ".tar.gz")))
    if not files:
        raise UsageError(f"{dist}: no .whl or .tar.gz to attach; build first (python -m build)")
    return files


def publish_release(client: GitHubClient, target: ReleaseTarget, files: list[Path]) -> ReleaseResult:
    repo_path = f"/repos/{target.repository}"
    quoted_tag = urllib.parse.quote(target.tag, safe="")
    existing = client.get_json(f"{repo_path}/releases/tags/{quoted_tag}", hints=_HINTS, missing=(404,))
    created = False
    if existing is None:
        status, release = client.post_json(
            f"{repo_path}/releases",
            {
                "tag_name": target.tag,
                "target_commitish": target.commit,
                "name": target.tag,
                "generate_release_notes": True,
                "draft": False,
                "prerelease": False,
            },
            hints=_HINTS,
            accept=(201, 422),
        )
        created = status == 201
        if not created:
            # 422: most often a release for the tag created meanwhile (another run): judge that one.
            release = client.get_json(f"{repo_path}/releases/tags/{quoted_tag}", hints=_HINTS, missing=(404,))
            if release is None:
                raise RemoteError(
                    f"GitHub API POST {repo_path}/releases: HTTP 422 (Validation Failed); GitHub refused the"
                    f" release for {target.tag}: check that the tag name is valid and re-run the job"
                )
            _check_same_commit(client, repo_path, quoted_tag, target, release)
    else:
        release = existing
        _check_same_commit(client, repo_path, quoted_tag, target, release)
    release = _as_release(release)
    present_names = {str(asset.get("name")) for asset in release.get("assets", []) if isinstance(asset, dict)}
    attached: list[str] = []
    present: list[str] = []
    for path in files:
        if path.name in present_names:
            present.append(path.name)
            continue
        client.upload(str(release["upload_url"]), path.name, path.read_bytes(), hints=_HINTS)
        attached.append(path.name)
    return ReleaseResult(created, str(release.get("html_url", "")), int(release["id"]), tuple(attached), tuple(present))


def _as_release(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("id"), int) or not isinstance(body.get("upload_url"), str):
        raise RemoteError("GitHub API: the release answer has no id or upload_url; re-run the job")
    return body


def _check_same_commit(client: GitHubClient, repo_path: str, quoted_tag: str, target: ReleaseTarget,
                       release: Any) -> None:
    release = _as_release(release)
    commitish = str(release.get("target_commitish") or "")
    # 422 "No commit found for SHA: <tag>" is GitHub's answer for a ref that does not exist.
    commit = client.get_json(f"{repo_path}/commits/{quoted_tag}", hints=_HINTS, missing=(404, 422))
    if commit is None:
        # A draft for a tag that does not exist yet: its commit is its target_commitish.
        tagged = commitish.lower() if _SHA.match(commitish.lower()) else ""
    else:
        tagged = str(commit.get("sha", "")).lower() if isinstance(commit, dict) else ""
    if tagged != target.commit:
        shown = tagged[:12] if tagged else f"'{commitish}'"
        raise RefExistsError(
            f"the GitHub Release for {target.tag} is on {shown}, not on {target.commit[:12]};"
            " another commit was released under that tag: check the release and the tag"
        )
