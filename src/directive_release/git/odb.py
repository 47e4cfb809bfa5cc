"""Just enough of git's object database: read commits and trees, write loose objects.

Reads loose objects and packs (v2 index, ofs/ref deltas), alternates and replace
refs; writes loose objects exactly as git does (zlib-deflated ``<type> <size>\\0``
+ body, named by its hash, created read-only via a temporary file and a rename).
No dulwich: importing ``dulwich.repo``/``dulwich.object_store`` costs ~150 ms
(notes/dulwich.md §3), about what a whole ``--no-push`` release costs on 20,000 files
next to git's ~1.0-1.3x (benchmarks/bench_release.py); reading two trees and a commit
needs a fraction of that. Every object we write is checked by ``git fsck --strict`` in
tests/test_release.py; tests/git/test_odb.py compares blob, tree and commit ids with git's.
Walking history (``read_commit``, for git/history.py) is 5-7x faster here than dulwich's
walker over the same 20,000 commits (``benchmarks/bench_picker.py`` prints both);
tests/git/test_history.py holds the walk to ``git log``.
"""

from __future__ import annotations

import mmap
import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

from ..errors import RepositoryError, UnsupportedRepositoryError
from .repo import Repository

_TYPE_NAMES = {1: "commit", 2: "tree", 3: "blob", 4: "tag"}
_OFS_DELTA, _REF_DELTA = 6, 7


class _Pack:
    def __init__(self, idx_path: Path, hash_size: int) -> None:
        self.hash_size = hash_size
        with open(idx_path, "rb") as handle:
            self.idx = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        if self.idx[:8] != b"\377tOc\0\0\0\2":
            raise UnsupportedRepositoryError(f"{idx_path}: pack index version 1 is not supported; run: git gc")
        self.fanout = struct.unpack_from(">256I", self.idx, 8)
        self.count = self.fanout[255]
        self.names_at = 8 + 1024
        self.offsets_at = self.names_at + self.count * (hash_size + 4)
        self.large_at = self.offsets_at + self.count * 4
        self.pack_path = idx_path.with_suffix(".pack")
        self._pack: mmap.mmap | None = None

    @property
    def pack(self) -> mmap.mmap:
        if self._pack is None:
            with open(self.pack_path, "rb") as handle:
                self._pack = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        return self._pack

    def offset_of(self, oid: bytes) -> int | None:
        first = oid[0]
        low = self.fanout[first - 1] if first else 0
        high = self.fanout[first]
        size, idx, names = self.hash_size, self.idx, self.names_at
        while low < high:
            middle = (low + high) // 2
            at = names + middle * size
            candidate = idx[at : at + size]
            if candidate < oid:
                low = middle + 1
            elif candidate > oid:
                high = middle
            else:
                (offset,) = struct.unpack_from(">I", idx, self.offsets_at + middle * 4)
                if offset & 0x80000000:
                    (offset,) = struct.unpack_from(">Q", idx, self.large_at + (offset & 0x7FFFFFFF) * 8)
                return offset
        return None


class ObjectReader:
    """Loose objects, pack files (v2 index, ofs/ref deltas), alternates and replace refs.
    Anything unexpected raises RepositoryError naming the object."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self.hash_size = repo.hash_hex_length // 2
        self.directories = _object_directories(repo.commondir / "objects")
        self._packs: list[_Pack] | None = None
        self._replacements: dict[bytes, bytes] | None = None
        self._following: tuple[_Pack, int] | None = None  # where the object after the last commit read starts
        self._hash = None  # hashlib's constructor for the repository's object hash, on first use
        self.objects_read = 0  # every read() counted: the push tests assert what a push costs

    def contains(self, oid: bytes) -> bool:
        """Is ``oid`` here (loose or in a pack)? An index look-up, nothing is inflated."""
        if any(pack.offset_of(oid) is not None for pack in self.packs):
            return True
        text = oid.hex()
        name = f"{os.sep}{text[:2]}{os.sep}{text[2:]}"
        if any(os.path.exists(f"{directory}{name}") for directory in self.directories):
            return True
        self._packs = None  # a pack may have appeared since we listed them
        return any(pack.offset_of(oid) is not None for pack in self.packs)

    def commit_tree(self, commit: str) -> str:
        data = self.read_typed(bytes.fromhex(commit), "commit")
        if not data.startswith(b"tree "):
            raise RepositoryError(f"commit {commit}: no tree line")
        return data[5 : 5 + self.hash_size * 2].decode("ascii")

    def read_typed(self, oid: bytes, expected: str) -> bytes:
        kind, data = self.read(self._replace(oid))
        if kind != expected:
            raise RepositoryError(f"object {oid.hex()} is a {kind}, expected a {expected}")
        return data

    def read_commit(self, oid: bytes) -> bytes:
        """A commit's body, for walking history, with two shortcuts (``benchmarks/bench_picker.py``
        measures them on 20,000 commits):

        - the object right after the previous commit read is tried first: ``git pack-objects``
          (clone, fetch, gc) writes commits in the order a walk visits them, so the next
          commit wanted is nearly always the next object in the pack; it is taken only if its
          hash is the id asked for (one SHA-1 of a few hundred bytes, against a binary search
          in the pack index);
        - then packs (where history lives), then loose objects: most of a history is packed,
          and :meth:`read` would try a loose file first for every commit.

        Replace refs are honoured, as git does for every read.
        """
        wanted = self._replace(oid)
        following = self._following
        if following is not None and wanted == oid:
            data = self._commit_at(following[0], following[1], oid)
            if data is not None:
                return data
        for pack in self.packs:
            offset = pack.offset_of(wanted)
            if offset is not None:
                data = self._commit_at(pack, offset, None)
                if data is not None:
                    return data
                break  # a delta, or not a commit: read() resolves it, or says what it is
        self._following = None
        return self.read_typed(wanted, "commit")

    def _commit_at(self, pack: _Pack, offset: int, expected: bytes | None) -> bytes | None:
        """The commit stored whole at ``offset`` (and, if ``expected``, hashing to it), else None.
        Remembers where the next object starts."""
        data = pack.pack
        if offset >= len(data) - self.hash_size:
            return None
        kind, size, position = _object_header(data, offset)
        if kind != 1:
            return None
        body, end = _inflate_to_end(data, position, size)
        if expected is not None:
            if self._hash is None:
                import hashlib

                self._hash = hashlib.sha256 if self.hash_size == 32 else hashlib.sha1
            digest = self._hash(b"commit %d\0" % size)
            digest.update(body)
            if digest.digest() != expected:
                return None
        self._following = (pack, end)
        return body

    def read(self, oid: bytes) -> tuple[str, bytes]:
        self.objects_read += 1
        found = self._read_loose(oid)
        if found is not None:
            return found
        for pack in self.packs:
            offset = pack.offset_of(oid)
            if offset is not None:
                kind, data = self._unpack(pack, offset)
                return _TYPE_NAMES[kind], data
        # A pack may have appeared since we listed them (gc running concurrently).
        self._packs = None
        for pack in self.packs:
            offset = pack.offset_of(oid)
            if offset is not None:
                kind, data = self._unpack(pack, offset)
                return _TYPE_NAMES[kind], data
        raise RepositoryError(f"object {oid.hex()} is missing from {self.repo.commondir / 'objects'}")

    @property
    def packs(self) -> list[_Pack]:
        if self._packs is None:
            packs = []
            for directory in self.directories:
                pack_dir = directory / "pack"
                try:
                    names = sorted(os.listdir(pack_dir))
                except OSError:
                    continue
                for name in names:
                    if name.endswith(".idx") and (pack_dir / (name[:-4] + ".pack")).exists():
                        packs.append(_Pack(pack_dir / name, self.hash_size))
            self._packs = packs
        return self._packs

    def _read_loose(self, oid: bytes) -> tuple[str, bytes] | None:
        text = oid.hex()
        for directory in self.directories:
            try:
                with open(directory / text[:2] / text[2:], "rb") as handle:
                    raw = zlib.decompress(handle.read())
            except FileNotFoundError:
                continue
            except (OSError, zlib.error) as exc:
                raise RepositoryError(f"object {text}: cannot read loose object ({exc})") from exc
            header, _, data = raw.partition(b"\0")
            kind, _, _size = header.partition(b" ")
            return kind.decode("ascii", "replace"), data
        return None

    def _unpack(self, pack: _Pack, offset: int) -> tuple[int, bytes]:
        # Walk the delta chain down to its base iteratively (chains can be thousands long).
        deltas: list[bytes] = []
        data = pack.pack
        while True:
            kind, size, position = _object_header(data, offset)
            if kind == _OFS_DELTA:
                byte = data[position]
                position += 1
                distance = byte & 0x7F
                while byte & 0x80:
                    byte = data[position]
                    position += 1
                    distance = ((distance + 1) << 7) | (byte & 0x7F)
                deltas.append(_inflate(data, position, size))
                offset -= distance
                continue
            if kind == _REF_DELTA:
                base_oid = data[position : position + self.hash_size]
                deltas.append(_inflate(data, position + self.hash_size, size))
                base_kind, base = self.read(base_oid)
                kind = {v: k for k, v in _TYPE_NAMES.items()}[base_kind]
                break
            if kind not in _TYPE_NAMES:
                raise RepositoryError(f"{pack.pack_path}: bad object type {kind} at offset {offset}")
            base = _inflate(data, position, size)
            break
        for delta in reversed(deltas):
            base = _apply_delta(base, delta)
        return kind, base

    def _replace(self, oid: bytes) -> bytes:
        """refs/replace/<oid>, which git honours for every object read."""
        if self._replacements is None:
            self._replacements = _replace_refs(self.repo)
        return self._replacements.get(oid, oid)


def parse_commit_header(data: bytes, hex_length: int) -> tuple[bytes, list[bytes], int]:
    """A commit body's tree id, parent ids (raw bytes) and committer time; ValueError if malformed.

    The one reader of commit headers (the history walk, the push's walk and the base branch's
    comparison use it). Position-based: git writes ``tree``, then every ``parent``, then
    ``author`` and ``committer``, and the history walk reads tens of thousands of these.
    """
    from binascii import unhexlify

    if not data.startswith(b"tree "):
        raise ValueError("no tree line")
    tree = unhexlify(data[5 : 5 + hex_length])
    position = 6 + hex_length  # after "tree <hex>\n"
    parents: list[bytes] = []
    while data.startswith(b"parent ", position):
        parents.append(unhexlify(data[position + 7 : position + 7 + hex_length]))
        position += 8 + hex_length
    line_at = data.index(b"\ncommitter ", position - 1)
    line_end = data.find(b"\n", line_at + 1)
    if line_end < 0:
        line_end = len(data)
    stamp = data.rindex(b"> ", line_at, line_end) + 2
    space = data.find(b" ", stamp, line_end)
    return tree, parents, int(data[stamp : space if space >= 0 else line_end])


def peel_tags(reader: ObjectReader, oid: bytes) -> tuple[str, bytes] | None:
    """Follow annotated tags from ``oid`` to what they finally name: (its kind, its id);
    ``oid`` itself when it is no tag. None for a missing object, a tag without an
    ``object`` line or a chain of more than 64 tags."""
    for _ in range(64):
        try:
            kind, data = reader.read(oid)
        except RepositoryError:
            return None
        if kind != "tag":
            return kind, oid
        if not data.startswith(b"object "):
            return None
        try:
            oid = bytes.fromhex(data[7 : data.index(b"\n")].decode("ascii"))
        except ValueError:
            return None
    return None


def _object_header(data: mmap.mmap, offset: int) -> tuple[int, int, int]:
    """A packed object's type, inflated size and where its data starts (gitformat-pack: "size-encoding")."""
    byte = data[offset]
    kind = (byte >> 4) & 7
    size = byte & 15
    shift = 4
    position = offset + 1
    while byte & 0x80:
        byte = data[position]
        position += 1
        size |= (byte & 0x7F) << shift
        shift += 7
    return kind, size, position


def _object_directories(objects: Path) -> list[Path]:
    """objects/ plus objects/info/alternates, recursively (git allows 5 levels)."""
    found: list[Path] = []
    pending = [(objects, 0)]
    while pending:
        directory, depth = pending.pop(0)
        if directory in found:
            continue
        found.append(directory)
        if depth >= 5:
            continue
        try:
            lines = (directory / "info" / "alternates").read_text("utf-8").splitlines()
        except OSError:
            continue
        for line in lines:
            line = line.strip()
            if line and not line.startswith("#"):
                alternate = Path(line)
                pending.append(((directory / alternate).resolve(), depth + 1))
    return found


def _replace_refs(repo: Repository) -> dict[bytes, bytes]:
    if os.environ.get("GIT_NO_REPLACE_OBJECTS"):
        return {}
    found: dict[bytes, bytes] = {}
    try:
        packed = (repo.commondir / "packed-refs").read_bytes()
    except OSError:
        packed = b""
    if b" refs/replace/" in packed:
        for line in packed.splitlines():
            oid, _, name = line.partition(b" ")
            if name.startswith(b"refs/replace/"):
                try:
                    found[bytes.fromhex(name[13:].decode())] = bytes.fromhex(oid.decode())
                except ValueError:
                    continue
    loose = repo.commondir / "refs" / "replace"
    if loose.is_dir():
        for entry in loose.iterdir():
            try:
                target = entry.read_text("ascii").strip()
                found[bytes.fromhex(entry.name)] = bytes.fromhex(target)
            except (OSError, ValueError):
                continue
    return found


def _inflate(data: mmap.mmap, position: int, size: int) -> bytes:
    decompressor = zlib.decompressobj()
    chunk = max(size + 64, 4096)
    out = decompressor.decompress(data[position : position + chunk])
    while not decompressor.eof and position + chunk < len(data):
        position += chunk
        out += decompressor.decompress(data[position : position + chunk])
    if len(out) != size:
        raise RepositoryError(f"pack object at {position}: inflated to {len(out)} bytes, expected {size}")
    return out


def _inflate_to_end(data: mmap.mmap, position: int, size: int) -> tuple[bytes, int]:
    """Inflate one pack entry's data; also the offset where its compressed bytes end."""
    decompressor = zlib.decompressobj()
    chunk = size + 64  # zlib's overhead on a small object: a few bytes
    start = position
    out = decompressor.decompress(data[start : start + chunk])
    start += chunk
    while not decompressor.eof and start < len(data):
        out += decompressor.decompress(data[start : start + chunk])
        start += chunk
    if not decompressor.eof or len(out) != size:
        raise RepositoryError(f"pack object at {position}: inflated to {len(out)} bytes, expected {size}")
    return out, min(start, len(data)) - len(decompressor.unused_data)


def _apply_delta(base: bytes, delta: bytes) -> bytes:
    """patch-delta.c: copy-from-base and insert instructions after two size varints."""
    position = 0
    for _ in range(2):  # source size, then result size
        byte = 0x80
        while byte & 0x80:
            byte = delta[position]
            position += 1
    out = bytearray()
    end = len(delta)
    while position < end:
        op = delta[position]
        position += 1
        if op & 0x80:
            offset = length = 0
            for bit, shift in ((1, 0), (2, 8), (4, 16), (8, 24)):
                if op & bit:
                    offset |= delta[position] << shift
                    position += 1
            for bit, shift in ((16, 0), (32, 8), (64, 16)):
                if op & bit:
                    length |= delta[position] << shift
                    position += 1
            out += base[offset : offset + (length or 0x10000)]
        elif op:
            out += delta[position : position + op]
            position += op
        else:
            raise RepositoryError("corrupt delta (opcode 0)")
    return bytes(out)



def parse_tree(data: bytes, hash_size: int) -> Iterator[tuple[int, bytes, bytes]]:
    position = 0
    end = len(data)
    while position < end:
        space = data.index(b" ", position)
        nul = data.index(0, space)
        mode = int(data[position:space], 8)
        yield mode, data[space + 1 : nul], data[nul + 1 : nul + 1 + hash_size]
        position = nul + 1 + hash_size


def tree_sort_key(mode: int, name: bytes) -> bytes:
    """git orders tree entries by name, a directory as if its name ended in '/'."""
    return name + b"/" if mode == 0o040000 else name


def serialize_tree(entries: list[tuple[int, bytes, bytes]]) -> bytes:
    """A tree object's body from (mode, name, binary oid) entries, in git's order."""
    ordered = sorted(entries, key=lambda entry: tree_sort_key(entry[0], entry[1]))
    return b"".join(b"%o %s\0%s" % (mode, name, oid) for mode, name, oid in ordered)


def new_hash(hash_size: int):  # -> hashlib's hash object (not importable here without hashlib)
    """A fresh SHA-1 or SHA-256 (``hash_size`` 20 or 32 bytes): the repository's object hash.
    hashlib is loaded here, on first use: ~3 ms, and the clean check seldom hashes."""
    import hashlib

    return hashlib.sha256() if hash_size == 32 else hashlib.sha1()


def object_id(kind: str, body: bytes, hash_size: int) -> bytes:
    digest = new_hash(hash_size)
    digest.update(b"%s %d\0" % (kind.encode("ascii"), len(body)))
    digest.update(body)
    return digest.digest()


def write_object(repo: Repository, kind: str, body: bytes) -> str:
    """Store ``body`` as a loose object (unless the database has it already); return its hex id."""
    hash_size = repo.hash_hex_length // 2
    oid = object_id(kind, body, hash_size)
    hex_id = oid.hex()
    directory = repo.commondir / "objects" / hex_id[:2]
    target = directory / hex_id[2:]
    if target.exists():
        return hex_id
    directory.mkdir(exist_ok=True)
    data = zlib.compress(b"%s %d\0" % (kind.encode("ascii"), len(body)) + body)
    temporary = directory / f"tmp_obj_{os.getpid()}_{hex_id[2:10]}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return hex_id
