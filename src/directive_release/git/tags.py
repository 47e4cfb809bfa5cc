"""Annotated release tags in a local repository, and the commit a tag leads to.

The one place the CI tag helper touches git objects: it creates the annotated
tag object and its ref only if the ref is absent, tells which commit an
existing tag leads to, and copies a tag object from a local (file://) remote
whose advertisement carries no peeled ``^{}`` entries. dulwich is imported
here only, lazily, as everywhere in ``git/``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import RefExistsError, RepositoryError
from .repo import Repository, discover

# The identity Actions itself uses for github-actions[bot] commits.
BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"
_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")


def valid_tag_ref(ref: str) -> bool:
    """Would git accept ``ref`` (``refs/tags/NAME``) as a ref name?"""
    from dulwich.refs import check_ref_format

    return bool(check_ref_format(ref.encode("utf-8")))


def tag_name(ref: str) -> str:
    return ref.removeprefix("refs/tags/")


class TagStore:
    """The work tree containing ``start``, opened for reading commits and writing one tag."""

    def __init__(self, start: Path) -> None:
        self.repository: Repository = discover(start)
        self._repo: Any = self.repository.dulwich()

    def close(self) -> None:
        self._repo.close()

    def __enter__(self) -> TagStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def resolve_commit(self, commit: str | None, environ: Mapping[str, str]) -> str:
        """``commit``, else ``$GITHUB_SHA``, else HEAD; it must be a commit in this clone."""
        from dulwich.objects import Commit

        repo = self._repo
        text = (commit or environ.get("GITHUB_SHA") or "").strip().lower()
        if not text:
            try:
                return repo.refs[b"HEAD"].decode("ascii")
            except KeyError:
                raise RepositoryError("HEAD has no commit; pass --commit SHA") from None
        if not _SHA.match(text):
            raise RepositoryError(f"{text!r} is not a full commit id; pass the 40-hex SHA of the merge commit")
        sha = text.encode("ascii")
        if sha not in repo.object_store or not isinstance(repo.object_store[sha], Commit):
            raise RepositoryError(f"commit {text[:12]} is not in this clone; check out the pushed commit first")
        return text

    def tagger_identity(self, environ: Mapping[str, str]) -> str:
        """``GIT_COMMITTER_*``, else ``user.*`` from git config, else github-actions[bot]."""
        config = self._repo.get_config_stack()

        def from_config(key: bytes) -> str | None:
            try:
                return config.get((b"user",), key).decode("utf-8")
            except KeyError:
                return None

        name = environ.get("GIT_COMMITTER_NAME") or from_config(b"name") or BOT_NAME
        email = environ.get("GIT_COMMITTER_EMAIL") or from_config(b"email") or BOT_EMAIL
        return f"{name} <{email}>"

    def has_object(self, sha: str) -> bool:
        return sha.encode("ascii") in self._repo.object_store

    def local_tag(self, ref: str, commit: str) -> str | None:
        """The local tag object for ``ref`` if it leads to ``commit``; None if absent; error if elsewhere."""
        from dulwich.object_store import peel_sha

        existing = self._repo.refs.as_dict().get(ref.encode("utf-8"))
        if existing is None:
            return None
        target = peel_sha(self._repo.object_store, existing)[1].id.decode("ascii")
        if target != commit:
            name = tag_name(ref)
            raise RefExistsError(
                f"local tag {name} points to {target[:12]}, not to {commit[:12]};"
                f" delete the stray local tag (git tag -d {name}) or check --commit"
            )
        return existing.decode("ascii")

    def create(self, ref: str, commit: str, message: str, tagger: str, now: int) -> str:
        """Write a new annotated tag object and ``ref`` (only if ``ref`` is still absent)."""
        from dulwich.objects import Commit, Tag

        tag_object = Tag()
        tag_object.tagger = tagger.encode("utf-8")
        tag_object.tag_time = now
        tag_object.tag_timezone = 0
        tag_object.name = tag_name(ref).encode("utf-8")
        tag_object.message = message.encode("utf-8")
        tag_object.object = (Commit, commit.encode("ascii"))
        self._repo.object_store.add_object(tag_object)
        if not self._repo.refs.add_if_new(ref.encode("utf-8"), tag_object.id, message=b"directive-release-ci tag"):
            # Created by someone else between our read and our write: judge that one instead.
            existing = self.local_tag(ref, commit)
            assert existing is not None
            return existing
        return tag_object.id.decode("ascii")

    def add_ref_if_new(self, ref: str, sha: str, message: str) -> bool:
        return bool(self._repo.refs.add_if_new(ref.encode("utf-8"), sha.encode("ascii"), message=message.encode()))

    def peel(self, sha: str) -> str:
        """The commit a tag object of this repository leads to."""
        from dulwich.object_store import peel_sha

        return peel_sha(self._repo.object_store, sha.encode("ascii"))[1].id.decode("ascii")

    def copy_tag_from(self, remote_path: str, sha: str) -> str:
        """Copy the tag object(s) ``sha`` from a local repository; return the commit it leads to."""
        from dulwich.repo import Repo

        store = self._repo.object_store
        with Repo(remote_path) as remote_repo:
            current = remote_repo.object_store[sha.encode("ascii")]
            while current.type_name == b"tag":
                store.add_object(current)
                current = remote_repo.object_store[current.object[1]]
            return current.id.decode("ascii")
