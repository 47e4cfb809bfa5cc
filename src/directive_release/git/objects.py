"""Write the release's objects: one blob, the trees on its path, one commit.

Only the trees on the changed path are rewritten (O(depth), not O(repository)),
which is what keeps a release on a 100,000-file repository as fast as on a
small one. dulwich is imported here, lazily, because only the mutating path
needs its object store.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from ..errors import RepositoryError
from .repo import Repository

if TYPE_CHECKING:  # pragma: no cover
    from dulwich.object_store import BaseObjectStore

    from .identity import Identity


@functools.lru_cache(maxsize=4)
def _open(worktree: str):  # -> dulwich.repo.Repo
    from dulwich.repo import Repo

    return Repo(worktree)


def _store(repo: Repository) -> "BaseObjectStore":
    """The repository's object store (object format and alternates as configured)."""
    return _open(str(repo.worktree)).object_store


def _ascii(object_id: str) -> bytes:
    return object_id.encode("ascii")


@dataclass(frozen=True)
class TreeEntry:
    mode: int
    sha: str


def commit_tree_id(repo: Repository, commit_id: str) -> str:
    store = _store(repo)
    try:
        commit = store[_ascii(commit_id)]
    except KeyError as exc:
        raise RepositoryError(f"commit {commit_id} is missing from the object store") from exc
    return commit.tree.decode("ascii")


def tree_entry(repo: Repository, tree_id: str, path: bytes) -> TreeEntry | None:
    """The entry at ``path`` (slash-separated) in ``tree_id``, or None."""
    store = _store(repo)
    current = _ascii(tree_id)
    parts = path.split(b"/")
    for depth, name in enumerate(parts):
        tree = store[current]
        if name not in tree:
            return None
        mode, sha = tree[name]
        if depth == len(parts) - 1:
            return TreeEntry(mode, sha.decode("ascii"))
        current = sha
    return None


def hash_blob(repo: Repository, content: bytes) -> str:
    from dulwich.objects import Blob

    return _object_id(repo, Blob.from_string(content))


def write_blob(repo: Repository, content: bytes) -> str:
    from dulwich.objects import Blob

    blob = Blob.from_string(content)
    store = _store(repo)
    store.add_object(blob)
    return _object_id(repo, blob)


def _object_id(repo: Repository, obj) -> str:  # type: ignore[no-untyped-def]
    return obj.get_id(_store(repo).object_format).decode("ascii")


def replace_blob_in_tree(repo: Repository, tree_id: str, path: bytes, blob_id: str, mode: int) -> str:
    """Write the trees on ``path`` with the blob replaced; return the new root tree id."""
    store = _store(repo)
    parts = path.split(b"/")
    chain = [store[_ascii(tree_id)]]
    for name in parts[:-1]:
        sub_mode, sub_sha = chain[-1][name]
        chain.append(store[sub_sha])
    new_id = _ascii(blob_id)
    new_mode = mode
    for tree, name in zip(reversed(chain), reversed(parts)):
        tree[name] = (new_mode, new_id)
        store.add_object(tree)
        new_id = _ascii(_object_id(repo, tree))
        new_mode = 0o040000
    return new_id.decode("ascii")


def write_commit(
    repo: Repository,
    *,
    tree_id: str,
    parent: str,
    author: "Identity",
    committer: "Identity",
    message: str,
    sign: Callable[[bytes], bytes] | None = None,
) -> str:
    from dulwich.objects import Commit

    commit = Commit()
    commit.tree = _ascii(tree_id)
    commit.parents = [_ascii(parent)]
    commit.author = author.signature_bytes()
    commit.author_time = author.timestamp
    commit.author_timezone = author.tz_offset_seconds
    commit.committer = committer.signature_bytes()
    commit.commit_time = committer.timestamp
    commit.commit_timezone = committer.tz_offset_seconds
    commit.message = message.encode("utf-8")
    # dulwich picks the signature header (gpgsig / gpgsig-sha256) from the object format.
    commit.object_format = _store(repo).object_format
    if sign is not None:
        commit.gpgsig = sign(commit.raw_without_sig())
    _store(repo).add_object(commit)
    return _object_id(repo, commit)


def checkin_content(repo: Repository, path: bytes, worktree_bytes: bytes) -> bytes:
    """What git stores for these worktree bytes (CRLF handling per autocrlf/attributes).

    Check-in conversion only ever rewrites CRLF, so bytes without CR are stored
    as they are and the costly attribute machinery is skipped.
    """
    if b"\r" not in worktree_bytes:
        return worktree_bytes
    from dulwich.objects import Blob

    normalizer = _open(str(repo.worktree)).get_blob_normalizer()
    return normalizer.checkin_normalize(Blob.from_string(worktree_bytes), path).as_raw_string()
