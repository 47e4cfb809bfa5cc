"""The remote side of a release: the look-up before any change, and taking a push back.

Both the in-process unwind and ``--recover`` take a pushed release branch back
the same way (:func:`take_back`): list the remote's refs and delete the branch
only if it still holds the release's commit, with the same time-out. The
remote is named in the journal, never described by its URL: ``--recover``
resolves the name (and its credentials) again from the configuration.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ..errors import RefExistsError, ReleaseError
from ..git import repo as gitrepo

if TYPE_CHECKING:  # pragma: no cover
    from ..git.config import GitConfig
    from ..git.remote import Remote

# Seconds to wait for the remote before calling it unreachable (the look-up, the push, the undo).
REMOTE_TIMEOUT = float(os.environ.get("DIRECTIVE_RELEASE_REMOTE_TIMEOUT", "30"))


def check_absent_on_remote(repo: gitrepo.Repository, git_config: "GitConfig", remote: "Remote",
                           branch: str, tag: str) -> dict[str, str]:
    """Refuse if the release branch or tag exists on the remote; the remote's refs otherwise."""
    from ..git.transport import list_remote_refs

    refs = list_remote_refs(repo, git_config, remote, timeout=REMOTE_TIMEOUT)
    if f"refs/heads/{branch}" in refs:
        raise RefExistsError(f"branch {branch} already exists on {remote.name} ({remote.display_url()})")
    if f"refs/tags/{tag}" in refs:
        raise RefExistsError(f"tag {tag} already exists on {remote.name}: this version was released already")
    other = gitrepo.conflicting_name(refs, f"refs/heads/{branch}")
    if other is not None:
        raise RefExistsError(f"branch {branch} cannot be created on {remote.name}: {other} exists there"
                             " (a ref cannot also be a folder of refs)")
    return refs


def take_back(repo: gitrepo.Repository, git_config: "GitConfig", remote: "Remote", ref: str, commit: str) -> str:
    """Delete ``ref`` on the remote if it still holds ``commit``: "deleted", "absent" or "moved (now at …)"."""
    from ..git.transport import RefUpdate, list_remote_refs, push

    branch = ref.removeprefix("refs/heads/")
    try:
        remote_refs = list_remote_refs(repo, git_config, remote, timeout=REMOTE_TIMEOUT)
    except ReleaseError as exc:
        raise ReleaseError(
            f"could not check whether {branch} reached {remote.name} ({exc}); if it did:"
            f" git push {remote.name} --delete {branch}"
        ) from exc
    found = remote_refs.get(ref)
    if found is None:
        return "absent"
    if found != commit:
        return f"moved (now at {found[:7]})"
    push(repo, git_config, remote, [RefUpdate(ref, commit, None)], timeout=REMOTE_TIMEOUT)
    return "deleted"


def push_back_with(repo: gitrepo.Repository, git_config: "GitConfig", remote: "Remote") -> Callable[[str, str, str], str]:
    """The in-process unwind's way back: the remote this release resolved while planning."""
    def push_back(name: str, ref: str, commit: str) -> str:
        return take_back(repo, git_config, remote, ref, commit)

    return push_back


def push_back_by_name(repo: gitrepo.Repository, started_ns: int) -> Callable[[str, str, str], str]:
    """``--recover``'s way back: the remote resolved by name from today's configuration."""
    def push_back(name: str, ref: str, commit: str) -> str:
        from ..git.config import load_config
        from ..git.remote import resolve_remote

        config = load_config(repo)
        remote = resolve_remote(config, name)
        _remove_local_remote_debris(repo, remote.push_url, ref, started_ns)
        return take_back(repo, config, remote, ref, commit)

    return push_back


def _remove_local_remote_debris(repo: gitrepo.Repository, url: str, ref: str, started_ns: int) -> None:
    """A file:// or path remote was served in the killed process itself: its stale ref and pack locks are ours."""
    from ..git.refs import _remove_empty_parents
    from ..git.remote import parse_url
    from .undo import CLOCK_SLACK_NS

    parts = parse_url(url)
    if parts.kind != "local":
        return
    root = Path(os.path.expanduser(parts.path))
    if not root.is_absolute():
        root = repo.worktree / root
    gitdir = root / ".git" if (root / ".git").is_dir() else root
    pack = gitdir / "objects" / "pack"
    # The receiving side (git/local_remote.py) writes tmp_pack_*/tmp_idx_* then renames them
    # (older versions, through dulwich, wrote tmp*.pack): a kill between the two leaves either.
    candidates = [gitdir / f"{ref}.lock", *pack.glob("*.lock"), *pack.glob("tmp*.pack"), *pack.glob("tmp_pack_*"),
                  *pack.glob("tmp_idx_*"), *(gitdir / "objects").glob("??/*.lock")]
    for path in candidates:
        try:
            if path.lstat().st_mtime_ns >= started_ns - CLOCK_SLACK_NS:
                path.unlink()
        except FileNotFoundError:
            continue
    _remove_empty_parents((gitdir / ref).parent, gitdir / "refs" / "heads")
