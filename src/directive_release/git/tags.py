"""Annotated release tags in a local repository, and the commit a tag leads to.

The one place the CI tag helper touches git objects: it creates the annotated
tag object and its ref only if the ref is absent, tells which commit an
existing tag leads to, and copies a tag object from a local (file://) remote
whose advertisement carries no peeled ``^{}`` entries.

No dulwich: the objects go through :mod:`.odb` (the one object reader and
writer), the ref through :mod:`.refs` (git's lock protocol, refusing an existing
ref), the tagger through :mod:`.identity` and the name through
:mod:`directive_release.refname`, the same owners the release uses. The tag
object's bytes are git's (``git cat-file tag`` and ``git fsck --strict`` read
them back in tests/ci/test_ci_tag.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from ..errors import IdentityError, RefExistsError, RepositoryError
from .odb import ObjectReader, write_object
from .repo import Repository, discover, read_ref

# The identity Actions itself uses for github-actions[bot] commits.
BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"
_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")


def valid_tag_ref(ref: str) -> bool:
    """Would git accept ``ref`` (``refs/tags/NAME``) as a ref name?"""
    from ..refname import ref_name_problem

    return ref_name_problem(ref) is None


def tag_name(ref: str) -> str:
    return ref.removeprefix("refs/tags/")


def _target(body: bytes) -> tuple[bytes, bytes]:
    """The ``object`` id (hex) and ``type`` a tag object's body names."""
    fields = dict(line.split(b" ", 1) for line in body.split(b"\n\n", 1)[0].split(b"\n") if b" " in line)
    try:
        return fields[b"object"], fields[b"type"]
    except KeyError:
        raise RepositoryError("a tag object without object/type lines") from None


class TagStore:
    """The work tree containing ``start``, opened for reading commits and writing one tag."""

    def __init__(self, start: Path) -> None:
        self.repository: Repository = discover(start)
        self._objects = ObjectReader(self.repository)

    def close(self) -> None:
        pass

    def __enter__(self) -> TagStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _kind(self, sha: str) -> str | None:
        try:
            return self._objects.read(bytes.fromhex(sha))[0]
        except RepositoryError:
            return None

    def resolve_commit(self, commit: str | None, environ: Mapping[str, str]) -> str:
        """``commit``, else ``$GITHUB_SHA``, else HEAD; it must be a commit in this clone."""
        text = (commit or environ.get("GITHUB_SHA") or "").strip().lower()
        if not text:
            head = read_ref(self.repository, "HEAD")
            if head is None:
                raise RepositoryError("HEAD has no commit; pass --commit SHA")
            return head
        if not _SHA.match(text):
            raise RepositoryError(f"{text!r} is not a full commit id; pass the 40-hex SHA of the merge commit")
        if self._kind(text) != "commit":
            raise RepositoryError(f"commit {text[:12]} is not in this clone; check out the pushed commit first")
        return text

    def tagger_identity(self, environ: Mapping[str, str]) -> str:
        """The committer git would record (``GIT_COMMITTER_*``, config), else github-actions[bot]."""
        from .config import load_config
        from .identity import resolve_identities

        try:
            _author, committer = resolve_identities(load_config(self.repository, environ), environ)
        except IdentityError:
            name = environ.get("GIT_COMMITTER_NAME") or BOT_NAME
            email = environ.get("GIT_COMMITTER_EMAIL") or BOT_EMAIL
            return f"{name} <{email}>"
        return f"{committer.name} <{committer.email}>"

    def has_object(self, sha: str) -> bool:
        return self._kind(sha) is not None

    def local_tag(self, ref: str, commit: str) -> str | None:
        """The local tag object for ``ref`` if it leads to ``commit``; None if absent; error if elsewhere."""
        existing = read_ref(self.repository, ref)
        if existing is None:
            return None
        target = self.peel(existing)
        if target != commit:
            name = tag_name(ref)
            raise RefExistsError(
                f"local tag {name} points to {target[:12]}, not to {commit[:12]};"
                f" delete the stray local tag (git tag -d {name}) or check --commit"
            )
        return existing

    def create(self, ref: str, commit: str, message: str, tagger: str, now: int) -> str:
        """Write a new annotated tag object and ``ref`` (only if ``ref`` is still absent)."""
        body = (f"object {commit}\ntype commit\ntag {tag_name(ref)}\ntagger {tagger} {now} +0000\n\n"
                f"{message}").encode("utf-8")
        sha = write_object(self.repository, "tag", body)
        if not self.add_ref_if_new(ref, sha, "directive-release-ci tag"):
            # Created by someone else between our read and our write: judge that one instead.
            existing = self.local_tag(ref, commit)
            assert existing is not None
            return existing
        return sha

    def add_ref_if_new(self, ref: str, sha: str, message: str) -> bool:
        from . import refs

        try:
            refs.create_ref(self.repository, ref, sha, reflog=None)
        except RefExistsError:
            return False
        return True

    def peel(self, sha: str) -> str:
        """The commit a tag object of this repository leads to."""
        current = sha.encode("ascii")
        for _depth in range(64):
            kind, body = self._objects.read(bytes.fromhex(current.decode("ascii")))
            if kind != "tag":
                return current.decode("ascii")
            current = _target(body)[0]
        raise RepositoryError(f"tag {sha[:12]}: a chain of more than 64 tags")

    def copy_tag_from(self, remote_path: str, sha: str) -> str:
        """Copy the tag object(s) ``sha`` from a local repository; return the commit it leads to."""
        root = Path(remote_path)
        gitdir = root / ".git" if (root / ".git").is_dir() else root
        remote = ObjectReader(Repository(root, gitdir, gitdir, self.repository.object_format))
        current = sha.encode("ascii")
        for _depth in range(64):
            kind, body = remote.read(bytes.fromhex(current.decode("ascii")))
            if kind != "tag":
                return current.decode("ascii")
            write_object(self.repository, "tag", body)
            current = _target(body)[0]
        raise RepositoryError(f"tag {sha[:12]}: a chain of more than 64 tags")
