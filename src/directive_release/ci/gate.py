"""Is this push to the base branch the merge of a ``release/vX.Y.Z`` pull request?

The answer comes from GitHub's record of the pull request, never from the
commit message (anyone can write "Merge pull request #42 from .../release/v9.9.9").
A pull request counts when it is merged, targets the base branch, comes from a
branch with the release prefix and, when GitHub still reports it, has the
pushed commit as its merge commit (merge, squash and rebase merges all end
with the pushed SHA). Then the version in the branch name must equal the
version in the merged ``pyproject.toml``.

Errors are never read as "not a release": an API failure, a rate limit, two
candidate pull requests or a version mismatch fail the job instead.
"""

from __future__ import annotations

import json
import re
import sys
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ..errors import ReleaseError, RemoteError, UsageError, VersionError
from ..version import InvalidVersion, parse
from .actions import markdown_code
from .github_api import GitHubClient
from .project import ProjectInfo

# GitHub links a merge commit to its pull request asynchronously: an empty
# list right after the merge is normal. Seconds to wait before each retry
# (14 s in all, after the first attempt).
RETRY_DELAYS: tuple[float, ...] = (2.0, 4.0, 8.0)

_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class GateEnvironment:
    """The parts of the Actions environment the gate reads."""

    event_path: Path
    event_name: str | None
    sha: str
    repository: str
    api_url: str
    token: str | None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> GateEnvironment:
        missing = [
            name for name in ("GITHUB_EVENT_PATH", "GITHUB_SHA", "GITHUB_REPOSITORY") if not environ.get(name)
        ]
        if missing:
            raise UsageError(
                f"{', '.join(missing)} not set; run 'directive-release-ci gate' in a GitHub Actions push job"
            )
        sha = environ["GITHUB_SHA"].strip().lower()
        if not _SHA.match(sha):
            raise UsageError("GITHUB_SHA is not a full commit id")
        repository = environ["GITHUB_REPOSITORY"].strip()
        if not _REPOSITORY.match(repository):
            raise UsageError(f"GITHUB_REPOSITORY={repository!r} is not owner/name")
        api_url = environ.get("GITHUB_API_URL") or "https://api.github.com"
        if not api_url.startswith(("https://", "http://")):
            raise UsageError("GITHUB_API_URL must be an http(s) URL")
        return cls(
            event_path=Path(environ["GITHUB_EVENT_PATH"]),
            event_name=environ.get("GITHUB_EVENT_NAME") or None,
            sha=sha,
            repository=repository,
            api_url=api_url,
            token=environ.get("GITHUB_TOKEN") or None,
        )


@dataclass(frozen=True)
class GateResult:
    release: bool
    reason: str
    version: str = ""
    pr: int | None = None
    head_ref: str = ""
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def outputs(self, tag: str) -> dict[str, str]:
        return {
            "release": "true" if self.release else "false",
            "version": self.version,
            "pr": str(self.pr) if self.pr is not None else "",
            "tag": tag if self.release else "",
        }

    def summary(self, base_branch: str, sha: str) -> str:
        lines = ["### directive-release gate", ""]
        if self.release:
            lines.append(
                f"**Release {self.version}**: pull request #{self.pr} ({markdown_code(self.head_ref)}"
                f" into {markdown_code(base_branch)}) was merged as `{sha[:12]}`; build, publish and tag follow."
            )
        else:
            lines.append(f"**Not a release**: {self.reason}. Build and checks only.")
        if self.notes:
            lines.append("")
            lines.extend(f"- {note}" for note in self.notes)
        return "\n".join(lines) + "\n"


def read_event(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"GITHUB_EVENT_PATH={path}: no such file") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"GITHUB_EVENT_PATH={path}: not a readable JSON event ({exc})") from None
    if not isinstance(data, dict):
        raise UsageError(f"GITHUB_EVENT_PATH={path}: the event is not a JSON object")
    return data


def decide(
    env: GateEnvironment,
    project: ProjectInfo,
    *,
    base_branch: str,
    client: GitHubClient,
    sleep: Callable[[float], None],
    retry_delays: Sequence[float] = RETRY_DELAYS,
    log: TextIO | None = None,
) -> GateResult:
    """Decide whether the pushed commit is the merge of a release pull request."""
    out = log if log is not None else sys.stderr
    event = read_event(env.event_path)
    skip = _not_a_release_push(env, event, base_branch)
    if skip is not None:
        return skip

    prefix = project.settings.branch_prefix
    pulls = _pulls_for_commit(env, client, sleep, retry_delays, out)
    matches: list[dict[str, Any]] = []
    notes: list[str] = []
    seen: set[int] = set()
    for pull in pulls:
        number = _number(pull)
        if number in seen:
            continue
        seen.add(number)
        why_not = _why_not_release(pull, env.sha, base_branch, prefix)
        if why_not is None:
            matches.append(pull)
        else:
            notes.append(f"#{number}: {why_not}")

    if not matches:
        warnings = []
        if not pulls and _mentions_release_branch(event, prefix):
            warnings.append(
                "the pushed commit's message mentions a release branch, but GitHub lists no pull request"
                " for it; if this was a release merge, re-run this workflow"
            )
        reason = (
            "no pull request is linked to this commit (a direct push)"
            if not pulls
            else "no linked pull request is a merged release pull request"
        )
        return GateResult(release=False, reason=reason, notes=notes, warnings=warnings)
    if len(matches) > 1:
        numbers = ", ".join(f"#{_number(p)}" for p in matches)
        raise ReleaseError(
            f"pull requests {numbers} all claim commit {env.sha[:12]} as a release merge; refusing to guess"
        )

    pull = matches[0]
    number = _number(pull)
    head_ref: str = pull["head"]["ref"]
    claimed = head_ref[len(prefix):]
    try:
        parse(claimed)
    except InvalidVersion as exc:
        raise VersionError(
            f"pull request #{number}: branch {head_ref!r} does not name a release: {exc};"
            f" release branches are {prefix}X.Y.Z"
        ) from None
    if claimed != project.version:
        raise VersionError(
            f"pull request #{number} merged {head_ref!r} but {project.path.name} has version"
            f" {project.version}; the release branch must set [project] version = \"{claimed}\""
        )
    return GateResult(
        release=True,
        reason="merged release pull request",
        version=claimed,
        pr=number,
        head_ref=head_ref,
        notes=notes,
    )


def _not_a_release_push(env: GateEnvironment, event: Mapping[str, Any], base_branch: str) -> GateResult | None:
    if env.event_name is not None and env.event_name != "push":
        return GateResult(release=False, reason=f"the event is {env.event_name!r}, not a push")
    ref = event.get("ref")
    if not isinstance(ref, str):
        raise UsageError(f"GITHUB_EVENT_PATH={env.event_path}: not a push event (no 'ref')")
    if ref != f"refs/heads/{base_branch}":
        return GateResult(release=False, reason=f"the push is to {markdown_code(ref)}, not to {markdown_code(base_branch)}")
    if event.get("deleted") is True:
        return GateResult(release=False, reason="the push deleted the branch")
    after = event.get("after")
    if not isinstance(after, str) or after.lower() != env.sha:
        raise UsageError(
            f"GITHUB_EVENT_PATH={env.event_path}: the push event's 'after' is not GITHUB_SHA={env.sha[:12]};"
            " refusing to guess which commit was pushed"
        )
    if event.get("forced") is True:
        return GateResult(
            release=False,
            reason="the push was forced (history rewritten); releases only follow a merged pull request",
            warnings=["forced push to the base branch: no release; merge a release pull request instead"],
        )
    return None


def _pulls_for_commit(
    env: GateEnvironment,
    client: GitHubClient,
    sleep: Callable[[float], None],
    retry_delays: Sequence[float],
    log: TextIO,
) -> list[Any]:
    owner, name = env.repository.split("/", 1)
    path = f"/repos/{urllib.parse.quote(owner)}/{urllib.parse.quote(name)}/commits/{env.sha}/pulls"
    pulls = client.get_list(path, {"per_page": "100"})
    for delay in retry_delays:
        if pulls:
            break
        log.write(f"no pull request linked to {env.sha[:12]} yet; asking GitHub again in {delay:g} s\n")
        sleep(delay)
        pulls = client.get_list(path, {"per_page": "100"})
    for pull in pulls:
        _check_shape(pull)
    return pulls


def _check_shape(pull: Any) -> None:
    """Fail loudly on an answer we do not understand instead of skipping it."""
    ok = (
        isinstance(pull, dict)
        and isinstance(pull.get("number"), int)
        and isinstance(pull.get("head"), dict)
        and isinstance(pull["head"].get("ref"), str)
        and isinstance(pull.get("base"), dict)
        and isinstance(pull["base"].get("ref"), str)
        and (pull.get("merged_at") is None or isinstance(pull.get("merged_at"), str))
        and (pull.get("merge_commit_sha") is None or isinstance(pull.get("merge_commit_sha"), str))
    )
    if not ok:
        raise RemoteError("GitHub API: a pull request in the answer lacks number/head.ref/base.ref; refusing to guess")


def _number(pull: Mapping[str, Any]) -> int:
    return int(pull["number"])


def _why_not_release(pull: Mapping[str, Any], sha: str, base_branch: str, prefix: str) -> str | None:
    if not pull.get("merged_at"):
        return "not merged"
    base = pull["base"]["ref"]
    if base != base_branch:
        return f"merged into {markdown_code(base)}, not {markdown_code(base_branch)}"
    head = pull["head"]["ref"]
    if not head.startswith(prefix):
        return f"branch {markdown_code(head)} is not a release branch ({markdown_code(prefix + 'X.Y.Z')})"
    # Absent under newer API versions: unknown, not a mismatch.
    merge_sha = pull.get("merge_commit_sha")
    if merge_sha and merge_sha.lower() != sha:
        return f"merged as {markdown_code(merge_sha[:12])}, not as the pushed commit"
    return None


def _mentions_release_branch(event: Mapping[str, Any], prefix: str) -> bool:
    head = event.get("head_commit")
    message = head.get("message") if isinstance(head, dict) else None
    return isinstance(message, str) and prefix in message
