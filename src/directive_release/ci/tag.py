"""Tag the released merge commit: annotated ``vX.Y.Z``, created in pure Python, pushed.

Idempotent so a re-run of the workflow is safe: an existing tag (local or on
the remote) that leads to the same commit is success; one that leads
elsewhere is an error, never overwritten.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import RefExistsError, RepositoryError
from ..git.repo import Repository, discover
from .tag_remote import TagRemote

# The identity Actions itself uses for github-actions[bot] commits.
BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"
_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")


@dataclass(frozen=True)
class TagResult:
    tag: str
    tag_sha: str
    commit: str
    pushed: bool  # False: the remote already had it (a re-run)
    remote: str  # redacted, safe to print


def open_repo(start: Path) -> tuple[Repository, Any]:
    """The work tree containing ``start``: as found by ``git.repo.discover`` and as a dulwich Repo."""
    repository = discover(start)
    return repository, repository.dulwich()


def resolve_commit(repo: Any, commit: str | None, environ: Mapping[str, str]) -> bytes:
    """``--commit``, else ``$GITHUB_SHA``, else HEAD; it must be a commit in this clone."""
    from dulwich.objects import Commit

    text = (commit or environ.get("GITHUB_SHA") or "").strip().lower()
    if not text:
        try:
            return repo.refs[b"HEAD"]
        except KeyError:
            raise RepositoryError("HEAD has no commit; pass --commit SHA") from None
    if not _SHA.match(text):
        raise RepositoryError(f"{text!r} is not a full commit id; pass the 40-hex SHA of the merge commit")
    sha = text.encode("ascii")
    if sha not in repo.object_store or not isinstance(repo.object_store[sha], Commit):
        raise RepositoryError(f"commit {text[:12]} is not in this clone; check out the pushed commit first")
    return sha


def tagger_identity(repo: Any, environ: Mapping[str, str]) -> bytes:
    """``GIT_COMMITTER_*``, else ``user.*`` from git config, else github-actions[bot]."""
    config = repo.get_config_stack()

    def from_config(key: bytes) -> str | None:
        try:
            return config.get((b"user",), key).decode("utf-8")
        except KeyError:
            return None

    name = environ.get("GIT_COMMITTER_NAME") or from_config(b"name") or BOT_NAME
    email = environ.get("GIT_COMMITTER_EMAIL") or from_config(b"email") or BOT_EMAIL
    return f"{name} <{email}>".encode("utf-8")


def local_tag(repo: Any, ref: bytes, commit: bytes) -> bytes | None:
    """The local tag object for ``ref`` if it leads to ``commit``; None if absent; error if elsewhere."""
    from dulwich.object_store import peel_sha

    existing = repo.refs.as_dict().get(ref)
    if existing is None:
        return None
    target = peel_sha(repo.object_store, existing)[1].id
    if target != commit:
        raise RefExistsError(
            f"local tag {_name(ref)} points to {target.decode()[:12]}, not to {commit.decode()[:12]};"
            f" delete the stray local tag (git tag -d {_name(ref)}) or check --commit"
        )
    return existing


def create_local_tag(repo: Any, ref: bytes, commit: bytes, message: str, tagger: bytes, now: int) -> bytes:
    """Write a new annotated tag object and ``ref`` (only if ``ref`` is still absent)."""
    from dulwich.objects import Commit, Tag

    tag_object = Tag()
    tag_object.tagger = tagger
    tag_object.tag_time = now
    tag_object.tag_timezone = 0
    tag_object.name = _name(ref).encode("utf-8")
    tag_object.message = message.encode("utf-8")
    tag_object.object = (Commit, commit)
    repo.object_store.add_object(tag_object)
    if not repo.refs.add_if_new(ref, tag_object.id, message=b"directive-release-ci tag"):
        # Created by someone else between our read and our write: judge that one instead.
        existing = local_tag(repo, ref, commit)
        assert existing is not None
        return existing
    return tag_object.id


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
    from dulwich.refs import check_ref_format

    ref = b"refs/tags/" + tag.encode("utf-8")
    if not check_ref_format(ref):
        raise RefExistsError(f"tag name {tag!r} is not a valid git ref; check tag-format in [tool.directive-release]")
    repository, repo = open_repo(start)
    try:
        commit_sha = resolve_commit(repo, commit, environ)
        existing_local = local_tag(repo, ref, commit_sha)
        target = TagRemote(repository, repo, remote, environ)

        on_remote = target.existing(ref.decode())
        if on_remote is None:
            tag_sha = existing_local or create_local_tag(
                repo, ref, commit_sha, f"Release {version}\n", tagger_identity(repo, environ),
                int(time.time()) if now is None else now,
            )
            on_remote = target.push_new(ref.decode(), tag_sha.decode())
            if on_remote is None:
                return TagResult(tag, tag_sha.decode(), commit_sha.decode(), pushed=True, remote=target.shown)
        if on_remote.commit != commit_sha.decode():
            raise RefExistsError(
                f"tag {tag} on {target.shown} points to {on_remote.commit[:12]}, not to"
                f" {commit_sha.decode()[:12]}; a different commit was released as {version}:"
                " delete that tag or release a new version"
            )
        if existing_local is None and on_remote.sha.encode() in repo.object_store:
            # Keep the clone consistent with the remote: the same tag object, not a twin.
            repo.refs.add_if_new(ref, on_remote.sha.encode(), message=b"directive-release-ci tag (from remote)")
        return TagResult(tag, on_remote.sha, commit_sha.decode(), pushed=False, remote=target.shown)
    finally:
        repo.close()


def _name(ref: bytes) -> str:
    return ref.decode("utf-8", "replace").removeprefix("refs/tags/")
