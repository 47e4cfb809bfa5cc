"""The receiving side of a local remote (a path or ``file://``), served in-process.

git runs ``git-upload-pack``/``git-receive-pack`` in the remote directory for these;
we cannot run the git binary, and serving the remote here is what dulwich's
``LocalGitClient`` did, for ~55 ms of ``dulwich.client`` imports and a pack intake
that named every pack the remote had (issue 13). Here, with this package's readers:

- :func:`advertise`: what ``git ls-remote`` shows: HEAD (and the branch it names),
  every loose and packed ref, symbolic refs resolved, ``^{}`` for refs to tags.
- :func:`receive`: what ``receive-pack`` does for a push: the pack moves in as
  ``objects/pack/tmp_pack_*`` then ``pack-<checksum>.pack`` and, last (it makes the
  pack visible), its ``.idx``; each ref then moves with a compare-and-swap under its
  ``.lock`` (:mod:`.refs`). ``receive.denyCurrentBranch``, ``receive.denyDeleteCurrent``
  and ``receive.denyDeletes`` are honoured as git's defaults have them.

Not done, as with dulwich before: the remote's hooks (pre-receive, update,
post-receive) do not run, ``receive.denyNonFastForwards`` is not checked and no
reflog is written on the remote. Use git://, ssh or http to exercise server-side
hooks. A remote in another object format is refused before anything is written.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..errors import LockError, RefExistsError, RepositoryError, UnsupportedRepositoryError
from .config import GitConfig
from .odb import ObjectReader, peel_tags
from .pack import pack_index, pack_stream
from .refs import create_ref, delete_ref, read_symbolic_head, update_ref
from .repo import loose_refs, open_remote, read_packed_refs
from .wire import Advertisement, ProtocolError


class LocalRemote:
    """A repository opened as a push target: its layout, bareness and settings."""

    def __init__(self, path: str) -> None:
        try:
            self.repo, self.bare = open_remote(Path(path))
        except RepositoryError as exc:
            # The caller names the remote; say what is wrong with it (an unsupported format, or none).
            reason = str(exc).split(": ", 1)[-1] if isinstance(exc, UnsupportedRepositoryError) else \
                "not a git repository (check the remote URL)"
            raise ProtocolError(reason) from None
        self._config: GitConfig | None = None

    def _settings(self) -> GitConfig:
        """The configuration git's receive-pack in the remote would read: system, global, the remote's."""
        if self._config is None:
            from .config import load_config

            self._config = load_config(self.repo)
        return self._config

    def _policy(self, key: str, default: str) -> str:
        """A ``receive.deny*`` value: refuse/ignore/warn/updateInstead, or a boolean (a bare key is true)."""
        value = self._settings().get(key)
        if value is None:
            return default
        value = value.strip().lower()
        if value in ("", "true", "yes", "on", "1"):
            return "refuse"
        if value in ("false", "no", "off", "0"):
            return "ignore"
        return value

    # --- ls-remote ---------------------------------------------------------------------

    def advertise(self) -> Advertisement:
        """Every ref to its id, as ``git ls-remote`` lists them (HEAD first)."""
        packed = read_packed_refs(self.repo)
        loose = loose_refs(self.repo)
        refs: dict[str, str] = {}
        symrefs: dict[str, str] = {}
        try:
            head_content: bytes | None = (self.repo.gitdir / "HEAD").read_bytes().strip()
        except OSError:
            head_content = None
        head = self._resolve("HEAD", head_content, loose, packed.refs)
        if head is not None:
            refs["HEAD"] = head[1]
            if head[0] != "HEAD":
                symrefs["HEAD"] = head[0]
        reader: ObjectReader | None = None
        for name in sorted(set(loose) | set(packed.refs)):
            resolved = self._resolve(name, loose.get(name), loose, packed.refs)
            if resolved is None:
                continue
            oid = resolved[1]
            refs[name] = oid
            if name not in loose and (name in packed.peeled or packed.fully_peeled):
                if name in packed.peeled:  # git wrote the peeled value after the ref: no object read
                    refs[name + "^{}"] = packed.peeled[name]
                continue
            reader = reader or ObjectReader(self.repo)
            peeled = peel_tags(reader, bytes.fromhex(oid))
            if peeled is not None and peeled[1].hex() != oid:  # a tag: it named something else
                refs[name + "^{}"] = peeled[1].hex()
        capabilities: dict[str, str | None] = {"object-format": self.repo.object_format}
        return Advertisement(refs, symrefs, capabilities)

    def _resolve(self, name: str, content: bytes | None, loose: dict[str, bytes],
                 packed: dict[str, str]) -> tuple[str, str] | None:
        """(the ref finally named, its id) following ``ref:`` links, or None when dangling."""
        seen: set[str] = set()
        while True:
            if content is None:
                oid = packed.get(name)
                return (name, oid) if oid is not None else None
            if content.startswith(b"ref:"):
                if name in seen or len(seen) > 5:
                    return None
                seen.add(name)
                name = content[4:].strip().decode("utf-8", "replace")
                content = loose.get(name)
                continue
            if len(content) != self.repo.hash_hex_length:
                return None
            return name, content.decode("ascii", "replace")

    # --- push --------------------------------------------------------------------------

    def refusal(self, ref: str, new: str | None) -> str | None:
        """Why receive-pack's settings refuse this update (git's wording), or None."""
        checked_out = not self.bare and read_symbolic_head(self.repo) == ref  # an unborn branch too
        if new is None:
            if self._policy("receive.denyDeletes", "ignore") == "refuse":
                return "deletion prohibited"
            if checked_out and self._policy("receive.denyDeleteCurrent", "refuse") == "refuse":
                return "deletion of the current branch prohibited"
            return None
        if checked_out and self._policy("receive.denyCurrentBranch", "refuse") not in ("ignore", "warn"):
            return "branch is currently checked out"  # updateInstead too: no work tree is updated here
        return None

    def receive(self, reader: ObjectReader, objects: Sequence[tuple[int, bytes]],
                updates: Iterable[tuple[str, str | None, str | None]]) -> dict[str, str | None]:
        """Move the pack in, then each ref: ref to None (done) or the reason it was not."""
        if objects:
            self._move_in_pack(reader, objects)
        statuses: dict[str, str | None] = {}
        for ref, old, new in updates:
            try:
                if new is None:
                    delete_ref(self.repo, ref, expected=old)
                elif old is None:
                    create_ref(self.repo, ref, new, reflog=None)
                else:
                    update_ref(self.repo, ref, new, old=old, reflog=None)
                statuses[ref] = None
            except (RefExistsError, RepositoryError, LockError) as exc:
                statuses[ref] = f"failed to update ref ({exc})"
            except OSError as exc:
                statuses[ref] = f"failed to update ref ({exc.strerror})"
        return statuses

    def _move_in_pack(self, reader: ObjectReader, objects: Sequence[tuple[int, bytes]]) -> None:
        """``tmp_pack_*`` then ``pack-<checksum>.pack``, then (visible last) its ``.idx``, read-only."""
        pack_dir = self.repo.commondir / "objects" / "pack"
        pack_dir.mkdir(parents=True, exist_ok=True)

        def create(prefix: str) -> tuple[int, Path]:
            name = pack_dir / f"{prefix}{os.getpid()}_{os.urandom(6).hex()}"
            return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444), name

        entries: list[tuple[bytes, int, int]] = []
        checksum = b""
        temporaries: list[Path] = []
        try:
            fd, pack_temporary = create("tmp_pack_")
            temporaries.append(pack_temporary)
            with os.fdopen(fd, "wb") as handle:
                for chunk in pack_stream(reader, objects, entries):
                    handle.write(chunk)
                    checksum = chunk
                if self._fsync():
                    handle.flush()
                    os.fsync(handle.fileno())
            fd, index_temporary = create("tmp_idx_")
            temporaries.append(index_temporary)
            with os.fdopen(fd, "wb") as handle:
                handle.write(pack_index(entries, checksum, reader.hash_size))
            base = pack_dir / f"pack-{checksum.hex()}"
            os.replace(pack_temporary, base.with_suffix(".pack"))
            temporaries.remove(pack_temporary)
            os.replace(index_temporary, base.with_suffix(".idx"))
            temporaries.remove(index_temporary)
        finally:
            for name in temporaries:
                try:
                    name.unlink()
                except OSError:
                    pass

    def _fsync(self) -> bool:
        """git fsyncs a received pack unless ``core.fsync`` names components without packs."""
        value = (self._settings().get("core.fsync") or "default").lower()
        return any(word in value for word in ("pack", "objects", "committed", "all", "default"))
