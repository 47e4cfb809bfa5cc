"""Write the release's objects: one blob, the trees on its path, one commit.

Only the trees on the changed path are rewritten (O(depth), not O(repository)),
which is what keeps a release on a 100,000-file repository as fast as on a
small one. Objects are read and written by :mod:`.odb` (git's formats; why not
dulwich is said there).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from ..errors import RepositoryError
from .odb import ObjectReader, parse_tree, serialize_tree, write_object
from .repo import Repository

if TYPE_CHECKING:  # pragma: no cover
    from .identity import Identity

_TREE_MODE = 0o040000


def commit_tree_id(repo: Repository, commit_id: str) -> str:
    return ObjectReader(repo).commit_tree(commit_id)


def write_blob(repo: Repository, content: bytes) -> str:
    return write_object(repo, "blob", content)


def replace_blob_in_tree(repo: Repository, tree_id: str, path: bytes, blob_id: str, mode: int) -> str:
    """Write the trees on ``path`` with the blob replaced; return the new root tree id."""
    reader = ObjectReader(repo)
    hash_size = repo.hash_hex_length // 2
    parts = path.split(b"/")
    chain: list[list[tuple[int, bytes, bytes]]] = []
    current = bytes.fromhex(tree_id)
    for depth, name in enumerate(parts):
        entries = list(parse_tree(reader.read_typed(current, "tree"), hash_size))
        chain.append(entries)
        if depth < len(parts) - 1:
            found = [oid for entry_mode, entry_name, oid in entries
                     if entry_name == name and entry_mode == _TREE_MODE]
            if not found:
                raise RepositoryError(f"{path.decode(errors='replace')}: no such directory in HEAD's tree")
            current = found[0]
    new_oid, new_mode = bytes.fromhex(blob_id), mode
    for entries, name in zip(reversed(chain), reversed(parts)):
        kept = [entry for entry in entries if entry[1] != name]
        body = serialize_tree([*kept, (new_mode, name, new_oid)])
        new_oid, new_mode = bytes.fromhex(write_object(repo, "tree", body)), _TREE_MODE
    return new_oid.hex()


def _signature_header(repo: Repository) -> bytes:
    return b"gpgsig-sha256" if repo.object_format == "sha256" else b"gpgsig"


def commit_body(*, tree_id: str, parent: str, author: "Identity", committer: "Identity", message: str,
                signature: bytes | None = None, signature_header: bytes = b"gpgsig") -> bytes:
    """A commit object's body in git's layout (the signature, if any, last among the headers)."""
    headers = [
        b"tree " + tree_id.encode("ascii"),
        b"parent " + parent.encode("ascii"),
        b"author " + author.ident_bytes(),
        b"committer " + committer.ident_bytes(),
    ]
    if signature is not None:
        lines = signature.rstrip(b"\n").split(b"\n")
        headers.append(signature_header + b" " + b"\n ".join(lines))
    return b"\n".join(headers) + b"\n\n" + message.encode("utf-8")


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
    fields = dict(tree_id=tree_id, parent=parent, author=author, committer=committer, message=message)
    body = commit_body(**fields)  # type: ignore[arg-type]
    if sign is not None:
        body = commit_body(**fields, signature=sign(body), signature_header=_signature_header(repo))  # type: ignore[arg-type]
    return write_object(repo, "commit", body)


def checkin_content(repo: Repository, path: bytes, worktree_bytes: bytes) -> bytes:
    """What git stores for these worktree bytes: the clean check's own conversion, so the
    staged blob is exactly what ``git status`` (and our check) will compare against."""
    from .status import convert_to_git

    return convert_to_git(repo, path, worktree_bytes)
