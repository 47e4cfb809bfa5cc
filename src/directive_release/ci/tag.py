"""Tag the released merge commit: annotated ``vX.Y.Z``, created in pure Python, pushed.

Idempotent so a re-run of the workflow is safe: an existing tag (local or on
the remote) that leads to the same commit is success; one that leads
elsewhere is an error, never overwritten.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import RefExistsError
from ..git.tags import TagStore, valid_tag_ref
from .tag_remote import TagRemote


@dataclass(frozen=True)
class TagResult:
    tag: str
    tag_sha: str
    commit: str
    pushed: bool  # False: the remote already had it (a re-run)
    remote: str  # redacted, safe to print


def tag_release(
    start: Path,
    *,
    tag: str,
    version: str,
    commit: str | None,
    remote: str,
    environ: Mapping[str, str],
    now: int | None = None,
) -> TagResult:
    """Make ``tag`` -> the commit exist on the remote; a tag already leading there is success."""
    ref = "refs/tags/" + tag
    if not valid_tag_ref(ref):
        raise RefExistsError(f"tag name {tag!r} is not a valid git ref; check tag-format in [tool.directive-release]")
    with TagStore(start) as store:
        commit_sha = store.resolve_commit(commit, environ)
        existing_local = store.local_tag(ref, commit_sha)
        target = TagRemote(store, remote, environ)

        on_remote = target.existing(ref)
        if on_remote is None:
            tag_sha = existing_local or store.create(
                ref, commit_sha, f"Release {version}\n", store.tagger_identity(environ),
                int(time.time()) if now is None else now,
            )
            on_remote = target.push_new(ref, tag_sha)
            if on_remote is None:
                return TagResult(tag, tag_sha, commit_sha, pushed=True, remote=target.shown)
        if on_remote.commit != commit_sha:
            raise RefExistsError(
                f"tag {tag} on {target.shown} points to {on_remote.commit[:12]}, not to"
                f" {commit_sha[:12]}; a different commit was released as {version}:"
                " delete that tag or release a new version"
            )
        if existing_local is None and store.has_object(on_remote.sha):
            # Keep the clone consistent with the remote: the same tag object, not a twin.
            store.add_ref_if_new(ref, on_remote.sha, "directive-release-ci tag (from remote)")
        return TagResult(tag, on_remote.sha, commit_sha, pushed=False, remote=target.shown)
