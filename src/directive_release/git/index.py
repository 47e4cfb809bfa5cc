"""Read git's index file fast, and rewrite one entry of it the way ``git add`` would.

Format: Documentation/gitformat-index.txt in git. No dulwich: ``dulwich.index.Index``
(1.2.21) takes ~290 ms to open 20,001 entries where this reader takes ~7 ms
(/work/shared/notes/dulwich.md §3), misreads names of 0xFFF bytes and more
(tests/git/test_index.py::test_long_paths), and cannot read a split or a sparse
index at all (ChecksumMismatch: test_split_index_just_split, test_sparse_index),
while git reads both as a matter of course. Reading keeps the file's bytes and finds
each entry's path and offset (one pass); the fixed fields are unpacked where they
are used (``IndexFile.record``/``records``), and :class:`IndexEntry` objects are
built only when someone asks for ``entries``.

A split index (``core.splitIndex``: a ``link`` extension naming
``sharedindex.<id>``) is read as git reads it, merged into one plain index in
memory (:func:`_merge_split_index`); the plain-index path never looks for it. A
sparse index (``sdir``) is read as it is: its sparse directory entries (mode
040000, skip-worktree, path ending in "/") are entries like any other here, and
:mod:`.status` compares them as trees. :func:`update_single_entry` writes a split
index back whole, without ``link`` (git splits it again at its next write when
core.splitIndex says so), and a sparse index sparse, ``sdir`` kept.
"""

from __future__ import annotations

import bisect
import gc
import os
import struct
from itertools import repeat
from pathlib import Path
from typing import NamedTuple

from ..errors import RepositoryError, UnsupportedRepositoryError
from .odb import new_hash, object_id

FLAG_ASSUME_VALID = 0x8000
FLAG_EXTENDED = 0x4000
FLAG_STAGE_MASK = 0x3000
FLAG_NAME_MASK = 0x0FFF
EXT_FLAG_SKIP_WORKTREE = 0x4000
EXT_FLAG_INTENT_TO_ADD = 0x2000

_SIGNATURE = b"DIRC"
_HEADER = struct.Struct(">4sII")
# ctime s/ns, mtime s/ns, dev, ino, mode, uid, gid, size, object id, flags.
_FIXED = {20: struct.Struct(">10I20sH"), 32: struct.Struct(">10I32sH")}
_EXT_HEADER = struct.Struct(">4sI")
_U32 = 0xFFFFFFFF

# Extensions whose content depends on entry offsets or on the working tree as it
# was when git wrote them: a rewritten index must not carry them (git rebuilds
# them when it needs them).
_DROPPED_ON_REWRITE = {b"EOIE", b"IEOT", b"UNTR", b"FSMN"}
# Extensions that stay true when one entry's blob changes: REUC (optional), sdir
# (required: the index holds sparse directory entries, which a rewrite keeps).
_KEPT_ON_REWRITE = {b"REUC", b"sdir"}
# Required extensions (lowercase first letter) this reader knows: ``link`` (split
# index, merged with its shared index when read) and ``sdir`` (sparse index).
_REQUIRED_KNOWN = {b"link", b"sdir"}

# A record is what ``_FIXED.unpack_from`` returns:
# (ctime_s, ctime_ns, mtime_s, mtime_ns, dev, ino, mode, uid, gid, size, oid, flags)
Record = tuple[int, int, int, int, int, int, int, int, int, int, bytes, int]
R_CTIME_S, R_CTIME_NS, R_MTIME_S, R_MTIME_NS, R_DEV, R_INO, R_MODE = range(7)
R_UID, R_GID, R_SIZE, R_OID, R_FLAGS = range(7, 12)


class IndexEntry(NamedTuple):
    """One index entry, as ``git ls-files --debug`` shows it."""

    path: bytes
    mode: int
    sha: str
    ctime_ns: int
    mtime_ns: int
    dev: int
    ino: int
    uid: int
    gid: int
    size: int
    flags: int
    extended_flags: int

    @property
    def stage(self) -> int:
        return (self.flags & FLAG_STAGE_MASK) >> 12

    @property
    def assume_valid(self) -> bool:
        return bool(self.flags & FLAG_ASSUME_VALID)

    @property
    def skip_worktree(self) -> bool:
        return bool(self.extended_flags & EXT_FLAG_SKIP_WORKTREE)

    @property
    def intent_to_add(self) -> bool:
        return bool(self.extended_flags & EXT_FLAG_INTENT_TO_ADD)


class CacheTreeNode:
    """One node of the TREE extension: ``entry_count`` -1 means invalid (no id)."""

    __slots__ = ("name", "entry_count", "oid", "children")

    def __init__(self, name: bytes, entry_count: int, oid: bytes | None, children: list[CacheTreeNode]) -> None:
        self.name = name
        self.entry_count = entry_count
        self.oid = oid
        self.children = children

    def child(self, name: bytes) -> CacheTreeNode | None:
        for node in self.children:
            if node.name == name:
                return node
        return None


_READ_CACHE: dict[tuple[object, ...], "IndexFile"] = {}


class IndexFile:
    """A parsed index: ``paths`` and ``offsets`` (where each entry starts in ``raw``) in
    index order. The clean check unpacks what it needs straight from ``raw``; the full
    ``records`` and :class:`IndexEntry` objects are built only when asked for."""

    __slots__ = (
        "path",
        "version",
        "raw",
        "mtime_ns",
        "hash_size",
        "paths",
        "offsets",
        "extended",
        "entries_end",
        "extensions",
        "sources",
        "_records",
        "_entries",
    )

    def __init__(
        self,
        path: Path,
        version: int,
        raw: bytes,
        mtime_ns: int,
        hash_size: int,
        paths: list[bytes],
        offsets: list[int],
        extended: dict[int, int],
        entries_end: int,
        extensions: list[tuple[bytes, int, int]],
        records: "list[Record] | _PatchedRecords | None" = None,
        sources: "tuple[tuple[Path, bytes], ...]" = (),
    ) -> None:
        self.path = path
        self.version = version
        self.raw = raw
        self.mtime_ns = mtime_ns
        self.hash_size = hash_size
        self.paths = paths
        self.offsets = offsets
        # Extended flags, only for the (rare) entries that have any: position -> flags.
        self.extended = extended
        self.entries_end = entries_end
        # (signature, start of data, end of data) in ``raw``.
        self.extensions = extensions
        # A split index read as one: the files it was merged from (the index and its
        # shared index), whose checksums a rewrite verifies; () for a plain index.
        self.sources = sources
        self._records = records
        self._entries: tuple[IndexEntry, ...] | None = None

    @classmethod
    def read(cls, path: Path, *, hash_hex_length: int = 40) -> IndexFile:
        """Parse ``path``; a missing file is an empty index (a repository with no
        ``git add`` yet)."""
        hash_size = hash_hex_length // 2
        try:
            with open(path, "rb") as handle:
                info = os.fstat(handle.fileno())
                # Not ctime: hard-linking the index (the recovery journal does) changes it.
                key = (str(path), hash_size, info.st_ino, info.st_dev, info.st_size, info.st_mtime_ns)
                cached = _READ_CACHE.get(key)
                if cached is not None:
                    return cached
                mtime_ns = info.st_mtime_ns
                raw = handle.read()
        except FileNotFoundError:
            return cls(path, 2, b"", 0, hash_size, [], [], {}, 0, [])
        except OSError as exc:
            raise RepositoryError(f"{path}: cannot read the index ({exc.strerror})") from exc
        parsed = cls._parse_quietly(path, raw, mtime_ns, hash_size)
        # git replaces the index by rename, so the same inode, size and times mean the
        # same bytes: the checks and the release read it several times, parse it once.
        _READ_CACHE.clear()
        _READ_CACHE[key] = parsed
        return parsed

    @staticmethod
    def _parse_quietly(path: Path, raw: bytes, mtime_ns: int, hash_size: int) -> IndexFile:
        # Tens of thousands of new objects would trigger several collections, full
        # ones included in a fresh process; none of them is garbage.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return _parse(path, raw, mtime_ns, hash_size)
        finally:
            if collecting:
                gc.enable()

    def record(self, position: int) -> Record:
        """The fixed fields of one entry (see ``R_*`` for their positions)."""
        if self._records is not None:
            return self._records[position]
        return _FIXED[self.hash_size].unpack_from(self.raw, self.offsets[position])

    @property
    def records(self) -> list[Record]:
        if self._records is None:
            unpack = _FIXED[self.hash_size].unpack_from
            self._records = list(map(unpack, repeat(self.raw, len(self.offsets)), self.offsets))
        return self._records

    @property
    def entries(self) -> tuple[IndexEntry, ...]:
        if self._entries is None:
            self._entries = tuple(self._make_entry(i) for i in range(len(self.paths)))
        return self._entries

    def _make_entry(self, position: int) -> IndexEntry:
        rec = self.record(position)
        return IndexEntry(
            path=self.paths[position],
            mode=rec[R_MODE],
            sha=rec[R_OID].hex(),
            ctime_ns=rec[R_CTIME_S] * 1_000_000_000 + rec[R_CTIME_NS],
            mtime_ns=rec[R_MTIME_S] * 1_000_000_000 + rec[R_MTIME_NS],
            dev=rec[R_DEV],
            ino=rec[R_INO],
            uid=rec[R_UID],
            gid=rec[R_GID],
            size=rec[R_SIZE],
            flags=rec[R_FLAGS],
            extended_flags=self.extended.get(position, 0),
        )

    def position(self, path: bytes) -> int | None:
        """Position of the stage-0 entry for ``path`` (paths are sorted, stages after)."""
        at = bisect.bisect_left(self.paths, path)
        if at < len(self.paths) and self.paths[at] == path:
            if not self.record(at)[R_FLAGS] & FLAG_STAGE_MASK:
                return at
        return None

    def entry(self, path: bytes) -> IndexEntry | None:
        at = self.position(path)
        return None if at is None else self._make_entry(at)

    def extension(self, signature: bytes) -> bytes | None:
        for sig, start, end in self.extensions:
            if sig == signature:
                return self.raw[start:end]
        return None

    def cache_tree(self) -> CacheTreeNode | None:
        data = self.extension(b"TREE")
        if data is None:
            return None
        return _parse_cache_tree(data, self.hash_size, self.path)

    def cache_tree_root(self) -> str | None:
        """Root tree id from a valid TREE extension (git's own record that the
        index equals that tree), else None."""
        data = self.extension(b"TREE")
        if not data or data[0] != 0:
            return None
        newline = data.find(b"\n")
        counts = data[1:newline].split(b" ")
        if newline < 0 or len(counts) != 2 or not counts[0].isdigit():
            return None  # "-1": invalid
        oid = data[newline + 1 : newline + 1 + self.hash_size]
        return oid.hex() if len(oid) == self.hash_size else None


def parse_index_bytes(path: Path, raw: bytes, *, hash_hex_length: int = 40) -> IndexFile:
    """Parse index bytes held in memory (a copy kept for an undo), as :meth:`IndexFile.read` parses a file."""
    return IndexFile._parse_quietly(path, raw, 0, hash_hex_length // 2)


def _corrupt(path: Path, what: str) -> RepositoryError:
    return RepositoryError(
        f"{path}: index file is corrupt ({what}); rebuild it with: rm {path} && git reset"
    )


def _parse(path: Path, raw: bytes, mtime_ns: int, hash_size: int) -> IndexFile:
    if len(raw) < _HEADER.size + hash_size:
        raise _corrupt(path, "truncated")
    signature, version, count = _HEADER.unpack_from(raw, 0)
    if signature != _SIGNATURE:
        raise _corrupt(path, "bad signature")
    if version not in (2, 3, 4):
        raise UnsupportedRepositoryError(
            f"{path}: index version {version} is not supported;"
            " convert it with: git update-index --index-version 2"
        )
    # The checksum is not verified here: git's read_index() does not either (only fsck
    # does, since git 2.13: it costs ~35% of a read). update_single_entry() verifies it
    # before a rewrite would stamp a fresh checksum on a corrupt index.
    end = len(raw) - hash_size
    parse_entries = _parse_entries_v4 if version == 4 else _parse_entries_v2
    try:
        paths, offsets, extended, offset = parse_entries(raw, count, hash_size, version)
    except (ValueError, IndexError) as exc:
        raise _corrupt(path, f"bad entry: {exc}") from None
    if offset > end:
        raise _corrupt(path, "truncated entries")
    extensions = _parse_extensions(path, raw, offset, end)
    index = IndexFile(path, version, raw, mtime_ns, hash_size, paths, offsets, extended, offset, extensions)
    if any(signature == b"link" for signature, _, _ in extensions):
        return _merge_split_index(index)
    return index


def _parse_entries_v2(
    raw: bytes, count: int, hash_size: int, version: int
) -> tuple[list[bytes], list[int], dict[int, int], int]:
    """The hot loop of the clean check: only paths and offsets (measured at 100,000
    entries: 30 ms, against 80 ms for unpacking every entry's fields here; the clean
    check unpacks the few fields it compares in its own loop)."""
    size = _FIXED[hash_size].size
    flags_at = size - 2
    paths: list[bytes] = []
    offsets: list[int] = []
    extended: dict[int, int] = {}
    add_path = paths.append
    add_offset = offsets.append
    offset = _HEADER.size
    for position in range(count):
        # Literals, not the FLAG_* names: global look-ups cost ~10% of this loop.
        flags = (raw[offset + flags_at] << 8) | raw[offset + flags_at + 1]
        start = offset + size
        if flags & 0x4000:
            if version < 3:
                raise ValueError("extended flags in a version 2 index")
            extended[position] = (raw[start] << 8) | raw[start + 1]
            start += 2
        length = flags & 0xFFF
        stop = raw.index(0, start) if length == 0xFFF else start + length
        if raw[stop]:
            raise ValueError(f"entry {position} has no NUL after its path")
        add_offset(offset)
        add_path(raw[start:stop])
        # Entries are NUL-padded to a multiple of 8 bytes (1 to 8 NULs).
        offset += (stop - offset + 8) & ~7
    return paths, offsets, extended, offset


def _parse_entries_v4(
    raw: bytes, count: int, hash_size: int, version: int
) -> tuple[list[bytes], list[int], dict[int, int], int]:
    size = _FIXED[hash_size].size
    flags_at = size - 2
    paths: list[bytes] = []
    offsets: list[int] = []
    extended: dict[int, int] = {}
    previous = b""
    offset = _HEADER.size
    for position in range(count):
        flags = (raw[offset + flags_at] << 8) | raw[offset + flags_at + 1]
        start = offset + size
        if flags & FLAG_EXTENDED:
            extended[position] = (raw[start] << 8) | raw[start + 1]
            start += 2
        # Path = previous path minus N trailing bytes, plus a NUL-terminated suffix;
        # N is git's offset varint (each continuation adds one before shifting).
        byte = raw[start]
        strip = byte & 0x7F
        start += 1
        while byte & 0x80:
            byte = raw[start]
            start += 1
            strip = ((strip + 1) << 7) | (byte & 0x7F)
        if strip > len(previous):
            raise ValueError(f"entry {position} strips more than the previous path")
        stop = raw.index(0, start)
        previous = previous[: len(previous) - strip] + raw[start:stop]
        offsets.append(offset)
        paths.append(previous)
        offset = stop + 1
    return paths, offsets, extended, offset


def _parse_extensions(path: Path, raw: bytes, offset: int, end: int) -> list[tuple[bytes, int, int]]:
    extensions: list[tuple[bytes, int, int]] = []
    while offset < end:
        if offset + 8 > end:
            raise _corrupt(path, "truncated extension header")
        signature, size = _EXT_HEADER.unpack_from(raw, offset)
        start = offset + 8
        if start + size > end:
            raise _corrupt(path, f"extension {signature!r} runs past the end")
        if signature not in _REQUIRED_KNOWN and not b"A"[0] <= signature[0] <= b"Z"[0]:
            # Lowercase first letter: git says a reader that does not know it must stop.
            name = signature.decode("ascii", "replace")
            raise UnsupportedRepositoryError(
                f"{path}: required index extension '{name}' is not supported;"
                " rewrite the index with a git that knows it, without that feature"
            )
        extensions.append((signature, start, start + size))
        offset = start + size
    return extensions


# --- split index (split-index.c) ----------------------------------------------


_EWAH_HEADER = struct.Struct(">II")

# An entry of a merged index: the index holding its fields, its position there, its path.
_Item = tuple["IndexFile", int, bytes]


def _ewah_bits(data: bytes, offset: int, path: Path) -> tuple[list[int], int]:
    """ewah_read_mmap() + ewah_each_bit(): the set positions, ascending, and where the
    bitmap ends. Layout: bit count, word count (u32), words (u64), last-RLW index (u32);
    each run-length word holds its run bit (bit 0), how many words of it follow (bits
    1-32) and how many literal words come after it (bits 33-63)."""
    try:
        _bit_size, words = _EWAH_HEADER.unpack_from(data, offset)
        start = offset + 8
        end = start + 8 * words + 4
        if end > len(data):
            raise ValueError
        buffer = struct.unpack_from(f">{words}Q", data, start)
    except (struct.error, ValueError):
        raise _corrupt(path, "bad link extension bitmap") from None
    bits: list[int] = []
    position = 0
    pointer = 0
    while pointer < words:
        word = buffer[pointer]
        run = ((word >> 1) & 0xFFFFFFFF) * 64
        if word & 1:
            bits.extend(range(position, position + run))
        position += run
        pointer += 1
        for _ in range(word >> 33):
            if pointer >= words:
                raise _corrupt(path, "bad link extension bitmap")
            literal = buffer[pointer]
            while literal:
                low = literal & -literal
                bits.append(position + low.bit_length() - 1)
                literal ^= low
            position += 64
            pointer += 1
    return bits, end


def _merge_split_index(split: IndexFile) -> IndexFile:
    """read_index_from() + merge_base_index(): the index git sees when ``split`` (an
    index with a ``link`` extension) is read. Its shared index ``sharedindex.<id>``
    (beside it, named by its trailing checksum) minus the entries the delete bitmap
    names, the entries the replace bitmap names replaced in order by the split file's
    first (nameless) entries, and its other entries added in index order.

    The result is a plain index (version 2, or 3 when an entry has extended flags)
    with the split file's extensions but ``link``, its mtime and path; its trailer is
    all zeros (no checksum of its own: :func:`verify_checksum` then checks
    ``sources``, the two files it was made of)."""
    path, hash_size = split.path, split.hash_size
    data = split.extension(b"link") or b""
    if len(data) < hash_size:
        raise _corrupt(path, "link extension too short")
    base_oid = data[:hash_size]
    replaced: list[int] = []
    deleted: list[int] = []
    if len(data) > hash_size:
        deleted, offset = _ewah_bits(data, hash_size, path)
        replaced, offset = _ewah_bits(data, offset, path)
        if offset != len(data):
            raise _corrupt(path, "garbage at the end of link extension")
    extensions = [(sig, split.raw[start:end]) for sig, start, end in split.extensions if sig != b"link"]
    if base_oid == bytes(hash_size):  # no shared index: this file holds every entry
        if replaced or deleted:
            raise _corrupt(path, "link extension without a shared index has bitmaps")
        items = [(split, at, name) for at, name in enumerate(split.paths)]
        return _assemble(split, items, extensions, ((path, split.raw),))
    shared_path = path.parent / f"sharedindex.{base_oid.hex()}"
    try:
        shared_raw = shared_path.read_bytes()
    except OSError as exc:
        raise RepositoryError(
            f"{shared_path}: cannot read the shared index of the split index {path} ({exc.strerror})"
        ) from exc
    shared = _parse(shared_path, shared_raw, 0, hash_size)
    if shared.sources or shared_raw[-hash_size:] != base_oid:
        raise _corrupt(path, f"its link extension names {shared_path.name}, which holds another index")
    base: list[_Item | None] = [(shared, at, name) for at, name in enumerate(shared.paths)]
    for number, position in enumerate(replaced):
        if position >= len(base) or number >= len(split.paths) or split.paths[number]:
            raise _corrupt(path, "bad replacement in link extension")
        base[position] = (split, number, shared.paths[position])
    for position in deleted:
        item = base[position] if position < len(base) else None
        if item is None or item[0] is split:
            raise _corrupt(path, "bad deletion in link extension")
        base[position] = None
    items = [item for item in base if item is not None]
    if len(replaced) < len(split.paths):
        # add_index_entry(): a new entry replaces the one of its name and stage, and a
        # stage-0 one every stage of its name; then all in index order (name, stage).
        added: dict[tuple[bytes, int], _Item] = {}
        for number in range(len(replaced), len(split.paths)):
            name = split.paths[number]
            if not name:
                raise _corrupt(path, "an added entry of the split index has no name")
            added[(name, _stage(split, number))] = (split, number, name)
        merged = {name for name, stage in added if stage == 0}
        keyed = [((name, _stage(owner, at)), (owner, at, name)) for owner, at, name in items
                 if name not in merged]
        keyed = [pair for pair in keyed if pair[0] not in added]
        keyed.extend(added.items())
        keyed.sort(key=lambda pair: pair[0])
        items = [item for _, item in keyed]
    return _assemble(split, items, extensions, ((path, split.raw), (shared_path, shared_raw)), shared)


def _stage(index: IndexFile, position: int) -> int:
    return (index.record(position)[R_FLAGS] & FLAG_STAGE_MASK) >> 12


def _assemble(
    split: IndexFile,
    items: list[_Item],
    extensions: list[tuple[bytes, bytes]],
    sources: tuple[tuple[Path, bytes], ...],
    shared: IndexFile | None = None,
) -> IndexFile:
    """One plain index of ``items``, built with its paths and offsets (no second parse).
    Entries keep their bytes where their index's version and path allow, consecutive
    ones in one slice (the common case: untouched entries of a v2/v3 shared index)."""
    hash_size = split.hash_size
    fixed = _FIXED[hash_size].size - 2  # everything before the flags
    version = 3 if split.extended or (shared is not None and shared.extended) else 2
    parts = [_HEADER.pack(_SIGNATURE, version, len(items))]
    paths: list[bytes] = []
    offsets: list[int] = []
    extended: dict[int, int] = {}
    offset = _HEADER.size
    run_owner: IndexFile | None = None
    run_start = run_end = 0
    for number, (owner, at, name) in enumerate(items):
        start = owner.offsets[at]
        offsets.append(offset)
        paths.append(name)
        ext = owner.extended.get(at, 0) if owner.extended else 0
        if ext:
            extended[number] = ext
        if owner.version != 4 and owner.paths[at] == name:
            end = owner.offsets[at + 1] if at + 1 < len(owner.offsets) else owner.entries_end
            if owner is run_owner and start == run_end:
                run_end = end
            else:
                if run_owner is not None:
                    parts.append(run_owner.raw[run_start:run_end])
                run_owner, run_start, run_end = owner, start, end
            offset += end - start
            continue
        if run_owner is not None:
            parts.append(run_owner.raw[run_start:run_end])
            run_owner = None
        flags = owner.record(at)[R_FLAGS] & (FLAG_ASSUME_VALID | FLAG_STAGE_MASK)
        flags |= (FLAG_EXTENDED if ext else 0) | min(len(name), FLAG_NAME_MASK)
        entry = owner.raw[start:start + fixed] + struct.pack(">H", flags)
        if ext:
            entry += struct.pack(">H", ext)
        entry += name
        entry += b"\0" * (8 - len(entry) % 8)
        parts.append(entry)
        offset += len(entry)
    if run_owner is not None:
        parts.append(run_owner.raw[run_start:run_end])
    entries_end = offset
    table: list[tuple[bytes, int, int]] = []
    for signature, data in extensions:
        parts.append(_EXT_HEADER.pack(signature, len(data)) + data)
        table.append((signature, offset + 8, offset + 8 + len(data)))
        offset += 8 + len(data)
    parts.append(bytes(hash_size))
    return IndexFile(split.path, version, b"".join(parts), split.mtime_ns, hash_size, paths, offsets,
                     extended, entries_end, table, sources=sources)


def _parse_cache_tree(data: bytes, hash_size: int, path: Path) -> CacheTreeNode:
    """TREE extension: pre-order nodes ``name NUL count SP subtrees LF [oid]``."""
    position = 0

    def node() -> CacheTreeNode:
        nonlocal position
        nul = data.index(0, position)
        newline = data.index(b"\n", nul)
        name = data[position:nul]
        count_text, _, sub_text = data[nul + 1 : newline].partition(b" ")
        count, subtrees = int(count_text), int(sub_text)
        position = newline + 1
        oid = None
        if count >= 0:
            oid = data[position : position + hash_size]
            position += hash_size
        return CacheTreeNode(name, count, oid, [node() for _ in range(subtrees)])

    try:
        root = node()
    except (ValueError, IndexError, RecursionError):
        raise _corrupt(path, "bad TREE extension") from None
    return root


def _serialize_cache_tree(root: CacheTreeNode) -> bytes:
    parts: list[bytes] = []

    def emit(node: CacheTreeNode) -> None:
        parts.append(b"%s\0%d %d\n" % (node.name, node.entry_count, len(node.children)))
        if node.entry_count >= 0 and node.oid is not None:
            parts.append(node.oid)
        for child in node.children:
            emit(child)

    emit(root)
    return b"".join(parts)


# --- the one-entry update ----------------------------------------------------


def verify_checksum(index: IndexFile, prefix_digest: object = None) -> None:
    """Raise unless the trailing checksum matches (an index never written is fine).
    ``prefix_digest``: a hash object already fed ``raw[:n]``; it is fed the rest.
    A split index read as one: the checksums of the files it was made of."""
    if index.sources:
        for path, raw in index.sources:
            verify_checksum(IndexFile(path, 2, raw, 0, index.hash_size, [], [], {}, 0, []))
        return
    raw, hash_size = index.raw, index.hash_size
    if not raw:
        return
    trailer = raw[-hash_size:]
    # index.skipHash (git 2.40+) writes an all-zero trailer: git skips the check too.
    if trailer == bytes(hash_size):
        return
    if prefix_digest is None:
        digest = new_hash(hash_size)
        digest.update(memoryview(raw)[:-hash_size])
    else:
        digest = prefix_digest
    if digest.digest() != trailer:  # type: ignore[attr-defined]
        raise _corrupt(index.path, "checksum mismatch")


def _directory_tree_body(
    index: IndexFile,
    prefix: bytes,
    node: CacheTreeNode,
    override: tuple[bytes, bytes] | None,
) -> bytes | None:
    """The tree object git would write for directory ``prefix`` (``b""`` or ``b"a/b/"``)
    from the index entries directly in it and its subdirectories' cache-tree ids
    (``override`` = a subdirectory's freshly computed id); None when an id it needs is
    unknown or the directory holds entries no tree can record (conflicts, ``add -N``)."""
    paths, records = index.paths, index.records
    at = bisect.bisect_left(paths, prefix)
    items: list[tuple[bytes, bytes]] = []  # (git's tree sort key, serialized entry)
    while at < len(paths) and paths[at].startswith(prefix):
        rest = paths[at][len(prefix) :]
        slash = rest.find(b"/")
        if slash >= 0:
            name = rest[:slash]
            if override is not None and override[0] == name:
                oid: bytes | None = override[1]
            else:
                child = node.child(name)
                oid = child.oid if child is not None and child.entry_count >= 0 else None
            if oid is None and slash == len(rest) - 1 and records[at][R_MODE] == 0o040000:
                oid = records[at][R_OID]  # a sparse directory entry: its tree, whole
            if oid is None:
                return None
            items.append((name + b"/", b"40000 %s\0%s" % (name, oid)))
            # Jump past everything under this subdirectory ('0' sorts right after '/').
            at = bisect.bisect_left(paths, prefix + name + b"0", at)
            continue
        record = records[at]
        if record[R_FLAGS] & FLAG_STAGE_MASK or index.extended.get(at, 0) & EXT_FLAG_INTENT_TO_ADD:
            return None
        items.append((rest, b"%o %s\0%s" % (record[R_MODE], rest, record[R_OID])))
        at += 1
    items.sort()
    return b"".join(entry for _, entry in items)


def _refresh_cache_tree(
    index: IndexFile, root: CacheTreeNode, path: bytes, new_root_tree: str | None
) -> None:
    """Update, in place, the cache-tree nodes on ``path`` after its entry changed.

    Git's invariant is that a valid node has only valid subtrees. The new ids of the
    directories on the path are computed from the (already updated) entries and the
    untouched siblings' ids; they are kept only if the computed root equals
    ``new_root_tree`` (the caller wrote those trees), else the path is invalidated
    exactly as ``git update-index`` does.
    """
    chain = [root]
    components = path.split(b"/")[:-1]
    for name in components:
        child = chain[-1].child(name)
        if child is None:
            break
        chain.append(child)
    complete = len(chain) == len(components) + 1
    if new_root_tree is not None and complete and all(n.entry_count >= 0 for n in chain):
        computed: list[bytes] = []
        override: tuple[bytes, bytes] | None = None
        for depth in range(len(chain) - 1, -1, -1):
            prefix = b"".join(name + b"/" for name in components[:depth])
            body = _directory_tree_body(index, prefix, chain[depth], override)
            if body is None:
                break
            oid = object_id("tree", body, index.hash_size)
            computed.append(oid)
            if depth:
                override = (components[depth - 1], oid)
        if len(computed) == len(chain) and computed[-1].hex() == new_root_tree:
            for node, oid in zip(reversed(chain), computed, strict=True):
                node.oid = oid
            return
    for node in chain:
        node.entry_count = -1
        node.oid = None


def _encode_entry(index: IndexFile, position: int, record: Record) -> tuple[int, int, bytes]:
    """(start, end, new bytes) of the entry at ``position`` rewritten with ``record``
    (no extended flags); a v4 path keeps its prefix compression, which only depends on
    the previous path."""
    start = index.offsets[position]
    end = index.offsets[position + 1] if position + 1 < len(index.offsets) else index.entries_end
    body = _FIXED[index.hash_size].pack(*record)
    if index.version == 4:
        old_flags = index.record(position)[R_FLAGS]
        name_at = start + len(body) + (2 if old_flags & FLAG_EXTENDED else 0)
        return start, end, body + index.raw[name_at:end]
    entry = body + index.paths[position]
    return start, end, entry + b"\0" * (8 - len(entry) % 8)


class _PatchedRecords:
    """``index``'s records with the one at ``position`` replaced, unpacked on demand."""

    def __init__(self, index: IndexFile, position: int, record: Record) -> None:
        self.index, self.position, self.record = index, position, record

    def __getitem__(self, position: int) -> Record:
        return self.record if position == self.position else self.index.record(position)

    def __len__(self) -> int:
        return len(self.index.offsets)


def update_single_entry(
    index: IndexFile,
    path: bytes,
    *,
    sha: str,
    mode: int,
    st: os.stat_result,
    new_root_tree: str | None,
) -> bytes:
    """Serialized new index (same version) with one stage-0 entry replaced (sha, mode,
    stat data from ``st``), as ``git add`` of that content would leave it.

    The TREE extension stays valid: the directories on ``path`` get correct new ids
    when ``new_root_tree`` (the tree of the new index, already in the object store)
    confirms them, else they are invalidated like ``git update-index`` does.
    Extensions that would go stale or whose offsets move (EOIE, IEOT, UNTR, FSMN) and
    unknown optional ones are dropped; REUC and a sparse index's ``sdir`` are kept
    (sparse directory entries stay as they are). An index read from a split index is
    written whole, version 2 or 3, without ``link``. The checksum is verified first
    (never a fresh one over corrupt bytes; for a split index, both files'), then
    recomputed.
    """
    position = index.position(path)
    if position is None:
        raise RepositoryError(
            f"{index.path}: {path.decode('utf-8', 'replace')} has no stage-0 entry to update"
        )
    if len(sha) != index.hash_size * 2:
        raise ValueError(f"object id {sha!r} does not match the repository's hash")
    ctime_ns, mtime_ns = st.st_ctime_ns, st.st_mtime_ns
    record: Record = (
        (ctime_ns // 1_000_000_000) & _U32,
        ctime_ns % 1_000_000_000,
        (mtime_ns // 1_000_000_000) & _U32,
        mtime_ns % 1_000_000_000,
        st.st_dev & _U32,
        st.st_ino & _U32,
        mode,
        st.st_uid & _U32,
        st.st_gid & _U32,
        st.st_size & _U32,
        bytes.fromhex(sha),
        # A fresh entry, as git makes one: stage 0, no assume-valid, no extended flags.
        min(len(path), FLAG_NAME_MASK),
    )
    start, end, new_entry = _encode_entry(index, position, record)

    # The cache tree is computed against the updated entries (only the directories on
    # ``path`` are looked at, so records are unpacked on demand, not all 100,000).
    records = _PatchedRecords(index, position, record)
    updated = IndexFile(
        index.path,
        index.version,
        index.raw,
        index.mtime_ns,
        index.hash_size,
        index.paths,
        index.offsets,
        {k: v for k, v in index.extended.items() if k != position},
        index.entries_end,
        index.extensions,
        records,
    )
    raw = index.raw
    parts = [raw[:start], new_entry, raw[end : index.entries_end]]
    for signature, data_start, data_end in index.extensions:
        if signature == b"TREE":
            root = _parse_cache_tree(raw[data_start:data_end], index.hash_size, index.path)
            _refresh_cache_tree(updated, root, path, new_root_tree)
            data = _serialize_cache_tree(root)
            parts.append(_EXT_HEADER.pack(signature, len(data)) + data)
        elif signature in _KEPT_ON_REWRITE:
            parts.append(raw[data_start - 8 : data_end])
        # Everything else (EOIE, IEOT, UNTR, FSMN, unknown optional) is dropped.
    # The old and the new index share every byte before the entry: hash those once.
    prefix = new_hash(index.hash_size)
    prefix.update(memoryview(raw)[:start])
    old = prefix.copy()
    if raw:
        old.update(memoryview(raw)[start:-index.hash_size])
    verify_checksum(index, old)
    new = prefix
    for part in parts[1:]:
        new.update(part)
    return b"".join(parts) + new.digest()
