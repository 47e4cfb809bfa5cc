"""The index reader against git (``ls-files -s --debug``) and dulwich, and the
one-entry update against what ``git update-index`` writes for the same file."""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
import time
from pathlib import Path

import pytest

from directive_release.errors import RepositoryError, UnsupportedRepositoryError
from directive_release.git.index import IndexFile, update_single_entry, verify_checksum

from .conftest import run_git, write


def git_entries(repo: Path, index: Path | None = None) -> list[dict[str, object]]:
    """``git ls-files -s --debug`` parsed: every stage, every stat field."""
    env = {"GIT_INDEX_FILE": str(index)} if index else None
    out = run_git(repo, "-c", "core.quotePath=false", "ls-files", "-s", "--debug", env=env)
    lines = out.splitlines()
    entries = []
    for at in range(0, len(lines), 6):
        head, ctime, mtime, dev_ino, uid_gid, size_flags = lines[at : at + 6]
        meta, path = head.split("\t", 1)
        mode, sha, stage = meta.split()
        entries.append({
            "path": path.encode(),
            "mode": int(mode, 8),
            "sha": sha,
            "stage": int(stage),
            "ctime": tuple(int(x) for x in ctime.split(": ")[1].split(":")),
            "mtime": tuple(int(x) for x in mtime.split(": ")[1].split(":")),
            "dev": int(dev_ino.split()[1]),
            "ino": int(dev_ino.split()[3]),
            "uid": int(uid_gid.split()[1]),
            "gid": int(uid_gid.split()[3]),
            "size": int(size_flags.split()[1]),
            "flags": int(size_flags.split()[3], 16),
        })
    return entries


def our_entries(index: IndexFile) -> list[dict[str, object]]:
    return [
        {
            "path": e.path,
            "mode": e.mode,
            "sha": e.sha,
            "stage": e.stage,
            "ctime": divmod(e.ctime_ns, 10**9),
            "mtime": divmod(e.mtime_ns, 10**9),
            "dev": e.dev,
            "ino": e.ino,
            "uid": e.uid,
            "gid": e.gid,
            "size": e.size,
            # git's in-memory flags: on-disk flags without the name length, extended
            # flags shifted into the upper half.
            "flags": (e.flags & 0xF000) | (e.extended_flags << 16),
        }
        for e in index.entries
    ]


def read(repo: Path, hash_hex_length: int = 40) -> IndexFile:
    return IndexFile.read(repo / ".git" / "index", hash_hex_length=hash_hex_length)


def assert_matches_git_and_dulwich(repo: Path, hash_hex_length: int = 40) -> IndexFile:
    from dulwich.index import ConflictedIndexEntry, Index
    from dulwich.object_format import get_object_format

    index = read(repo, hash_hex_length)
    assert our_entries(index) == git_entries(repo)
    fmt = get_object_format("sha1" if hash_hex_length == 40 else "sha256")
    theirs = Index(str(repo / ".git" / "index"), object_format=fmt)
    for path, entry in theirs.items():
        if isinstance(entry, ConflictedIndexEntry):
            continue
        ours = index.entry(path)
        assert ours is not None
        assert (ours.mode, ours.sha, ours.size, ours.ino, ours.extended_flags) == (
            entry.mode, entry.sha.decode(), entry.size, entry.ino, entry.extended_flags
        )
        assert divmod(ours.mtime_ns, 10**9) == tuple(entry.mtime)
    return index


def test_v2(base_repo: Path) -> None:
    index = assert_matches_git_and_dulwich(base_repo)
    assert index.version == 2
    assert len(index.entries) == 9
    assert index.cache_tree_root() == run_git(base_repo, "rev-parse", "HEAD^{tree}").strip()
    link = index.entry(b"link")
    assert link is not None and link.mode == 0o120000 and link.size == len("README.md")
    assert index.entry(b"missing") is None


def test_v3_extended_flags(base_repo: Path) -> None:
    write(base_repo / "new.txt", "new\n")
    run_git(base_repo, "add", "-N", "new.txt")
    run_git(base_repo, "update-index", "--skip-worktree", "README.md")
    run_git(base_repo, "update-index", "--assume-unchanged", "run.sh")
    index = assert_matches_git_and_dulwich(base_repo)
    assert index.version == 3
    ita, skipped, assumed = index.entry(b"new.txt"), index.entry(b"README.md"), index.entry(b"run.sh")
    assert ita is not None and ita.intent_to_add and not ita.skip_worktree
    assert skipped is not None and skipped.skip_worktree and not skipped.intent_to_add
    assert assumed is not None and assumed.assume_valid and not assumed.skip_worktree
    assert index.cache_tree_root() is None  # git invalidates the root for an intent-to-add


def test_v4_prefix_compressed_paths(base_repo: Path) -> None:
    run_git(base_repo, "update-index", "--skip-worktree", "src/pkg/core.py")
    run_git(base_repo, "update-index", "--index-version", "4")
    index = assert_matches_git_and_dulwich(base_repo)
    assert index.version == 4
    v2 = base_repo.parent / "v2"
    shutil.copytree(base_repo, v2, symlinks=True)
    run_git(v2, "update-index", "--index-version", "2")
    assert read(v2).paths == index.paths and read(v2).records == index.records


def test_long_paths(base_repo: Path) -> None:
    blob = run_git(base_repo, "hash-object", "-w", "--stdin", input=b"deep\n").strip()
    long_path = "/".join(["d" * 200] * 25) + "/file.txt"  # 5,034 bytes: name length 0xFFF
    run_git(base_repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},{long_path}")
    index = read(base_repo)  # (dulwich misreads names of 0xFFF bytes and more)
    assert our_entries(index) == git_entries(base_repo)
    entry = index.entry(long_path.encode())
    assert entry is not None and entry.flags & 0xFFF == 0xFFF
    run_git(base_repo, "update-index", "--index-version", "4")
    assert read(base_repo).entry(long_path.encode()) is not None


def test_sha256(tmp_path: Path) -> None:
    repo = tmp_path / "sha256"
    run_git(tmp_path, "init", "-q", "--object-format=sha256", "-b", "main", str(repo))
    write(repo / "a.txt", "a\n")
    write(repo / "dir/b.txt", "b\n")
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-q", "-m", "one")
    index = assert_matches_git_and_dulwich(repo, hash_hex_length=64)
    assert len(index.entries[0].sha) == 64
    assert index.cache_tree_root() == run_git(repo, "rev-parse", "HEAD^{tree}").strip()
    with pytest.raises(RepositoryError, match="corrupt"):
        read(repo, 40)  # a SHA-1 reading of a SHA-256 index cannot make sense of it


def test_conflict_stages(base_repo: Path) -> None:
    run_git(base_repo, "checkout", "-q", "-b", "other")
    write(base_repo / "README.md", "# other\n")
    run_git(base_repo, "commit", "-q", "-am", "other")
    run_git(base_repo, "checkout", "-q", "main")
    write(base_repo / "README.md", "# main\n")
    run_git(base_repo, "commit", "-q", "-am", "main")
    run_git(base_repo, "merge", "other", check=False)
    index = assert_matches_git_and_dulwich(base_repo)
    stages = [e.stage for e in index.entries if e.path == b"README.md"]
    assert stages == [1, 2, 3]
    assert index.entry(b"README.md") is None  # no stage-0 entry while unmerged


def test_missing_index_is_empty(tmp_path: Path) -> None:
    index = IndexFile.read(tmp_path / "index")
    assert index.entries == () and index.cache_tree_root() is None


# --- split index (core.splitIndex, the link extension) ------------------------------

# git's in-memory flags the on-disk format does not hold: CE_UPDATE_IN_BASE and the
# like, which ``ls-files --debug`` shows for a split index.
_ON_DISK_FLAGS = 0xF000 | 0x60000000


def on_disk(entries: list[dict[str, object]]) -> list[dict[str, object]]:
    return [entry | {"flags": int(entry["flags"]) & _ON_DISK_FLAGS} for entry in entries]  # type: ignore[call-overload]


def shared_indexes(repo: Path) -> list[Path]:
    return sorted((repo / ".git").glob("sharedindex.*"))


def split_changes(repo: Path) -> None:
    """One of each: an entry replaced (staged content), one deleted, one added, one
    with extended flags, and a conflict (three stages added, the stage-0 one gone)."""
    write(repo / "src/pkg/core.py", "def f():\n    return 2\n")
    run_git(repo, "add", "src/pkg/core.py")
    run_git(repo, "rm", "-q", "--cached", "docs/a b.txt")
    write(repo / "docs/new.txt", "new\n")
    run_git(repo, "add", "docs/new.txt")
    run_git(repo, "update-index", "--skip-worktree", "run.sh")
    blob = run_git(repo, "hash-object", "-w", "--stdin", input=b"theirs\n").strip()
    conflict = f"0 {'0' * 40}\tREADME.md\n100644 {blob} 2\tREADME.md\n100644 {blob} 3\tREADME.md\n"
    run_git(repo, "update-index", "--index-info", input=conflict.encode())


def test_split_index_just_split(base_repo: Path) -> None:
    run_git(base_repo, "update-index", "--split-index")
    assert len(shared_indexes(base_repo)) == 1
    index = read(base_repo)
    assert b"link" in base_repo.joinpath(".git/index").read_bytes()
    assert our_entries(index) == on_disk(git_entries(base_repo))
    assert len(index.entries) == 9
    assert index.cache_tree_root() == run_git(base_repo, "rev-parse", "HEAD^{tree}").strip()
    assert [path.name for path, _ in index.sources] == ["index", shared_indexes(base_repo)[0].name]
    from dulwich.index import Index  # why index.py is not dulwich's (its docstring names this test)

    with pytest.raises(Exception, match="Checksum mismatch"):
        Index(str(base_repo / ".git" / "index"))


def test_split_index_replaced_deleted_added(base_repo: Path) -> None:
    run_git(base_repo, "config", "splitIndex.maxPercentChange", "100")  # never re-split
    run_git(base_repo, "update-index", "--split-index")
    shared = shared_indexes(base_repo)
    split_changes(base_repo)
    assert shared_indexes(base_repo) == shared  # still the same shared index: the changes are in .git/index
    raw = (base_repo / ".git" / "index").read_bytes()
    assert struct.unpack(">I", raw[raw.index(b"link") + 4 :][:4])[0] > 20  # bitmaps after the id
    index = read(base_repo)
    assert our_entries(index) == on_disk(git_entries(base_repo))
    assert index.entry(b"docs/a b.txt") is None and index.entry(b"docs/new.txt") is not None
    assert [e.stage for e in index.entries if e.path == b"README.md"] == [2, 3]
    assert index.entry(b"run.sh").skip_worktree  # type: ignore[union-attr]
    assert index.version == 3


@pytest.mark.parametrize("version", [2, 4])
def test_split_index_after_git_resplits(base_repo: Path, version: int) -> None:
    """core.splitIndex with splitIndex.maxPercentChange=0: git writes a new shared index
    at every write, so the link names another file each time."""
    run_git(base_repo, "config", "core.splitIndex", "true")
    run_git(base_repo, "config", "splitIndex.maxPercentChange", "0")
    run_git(base_repo, "update-index", "--index-version", str(version))
    first = shared_indexes(base_repo)
    split_changes(base_repo)
    write(base_repo / "docs/later.txt", "later\n")
    run_git(base_repo, "add", "docs/later.txt")
    assert shared_indexes(base_repo) != first
    index = read(base_repo)
    assert our_entries(index) == on_disk(git_entries(base_repo))
    assert index.entry(b"docs/later.txt") is not None


def test_split_index_sha256(tmp_path: Path) -> None:
    repo = tmp_path / "sha256"
    run_git(tmp_path, "init", "-q", "--object-format=sha256", "-b", "main", str(repo))
    write(repo / "a.txt", "a\n")
    write(repo / "dir/b.txt", "b\n")
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-q", "-m", "one")
    run_git(repo, "update-index", "--split-index")
    write(repo / "dir/b.txt", "changed\n")
    run_git(repo, "add", "-A")
    index = read(repo, 64)
    assert our_entries(index) == on_disk(git_entries(repo))
    assert index.entry(b"dir/b.txt").sha == run_git(repo, "rev-parse", ":dir/b.txt").strip()  # type: ignore[union-attr]


def test_split_index_missing_shared_index(base_repo: Path) -> None:
    run_git(base_repo, "update-index", "--split-index")
    shared = shared_indexes(base_repo)[0]
    shared.rename(shared.with_name("elsewhere"))
    with pytest.raises(RepositoryError) as caught:
        read(base_repo)
    message = str(caught.value)
    assert str(shared) in message and "shared index" in message and "\n" not in message
    assert run_git(base_repo, "status", "--porcelain", check=False) == ""  # git cannot read it either


def test_split_index_naming_another_index(base_repo: Path) -> None:
    """A shared index whose checksum is not the one the link names (git: "broken index")."""
    run_git(base_repo, "update-index", "--split-index")
    shared = shared_indexes(base_repo)[0]
    raw = bytearray(shared.read_bytes())
    raw[-1] ^= 1
    shared.write_bytes(bytes(raw))
    with pytest.raises(RepositoryError, match=r"\.git/index: index file is corrupt \(its link extension names"):
        read(base_repo)


@pytest.mark.parametrize("damage", ["short-link", "bitmap-past-end", "garbage-after-bitmaps"])
def test_split_index_bad_link_extension(base_repo: Path, damage: str) -> None:
    run_git(base_repo, "update-index", "--split-index")
    write(base_repo / "README.md", "# changed\n")
    run_git(base_repo, "add", "README.md")
    path = base_repo / ".git" / "index"
    raw = path.read_bytes()[:-20]
    at = raw.index(b"link")
    size = struct.unpack(">I", raw[at + 4 : at + 8])[0]
    data = raw[at + 8 : at + 8 + size]
    data = {"short-link": data[:10], "bitmap-past-end": data[:-3], "garbage-after-bitmaps": data + b"xy"}[damage]
    _rewrite(base_repo, raw[:at] + b"link" + struct.pack(">I", len(data)) + data + raw[at + 8 + size :])
    with pytest.raises(RepositoryError, match=r"\.git/index: index file is corrupt \(.*link extension"):
        read(base_repo)


def test_ewah_bitmaps_with_runs(base_repo: Path) -> None:
    """Enough deletions in a row that git's bitmap holds a run of ones, not only literals."""
    for number in range(300):
        write(base_repo / f"many/f{number:03d}.txt", f"{number}\n")
    run_git(base_repo, "add", "-A")
    run_git(base_repo, "commit", "-q", "-m", "many")
    run_git(base_repo, "config", "splitIndex.maxPercentChange", "100")  # never re-split
    run_git(base_repo, "update-index", "--split-index")
    run_git(base_repo, "rm", "-q", "--cached", "-r", "many")
    write(base_repo / "many/f150.txt", "back\n")
    run_git(base_repo, "add", "many/f150.txt")
    raw = (base_repo / ".git" / "index").read_bytes()
    link = raw[raw.index(b"link") + 8 + 20 :]
    count = struct.unpack_from(">I", link, 4)[0]
    words = struct.unpack_from(f">{count}Q", link, 8)
    runs_of_ones, pointer = 0, 0
    while pointer < len(words):  # the delete bitmap's run-length words
        runs_of_ones += (words[pointer] & 1) * ((words[pointer] >> 1) & 0xFFFFFFFF)
        pointer += 1 + (words[pointer] >> 33)
    assert runs_of_ones >= 3  # 300 deletions in a row: at least 3 whole words of ones as a run
    index = read(base_repo)
    assert our_entries(index) == on_disk(git_entries(base_repo))
    assert [p for p in index.paths if p.startswith(b"many/")] == [b"many/f150.txt"]


# --- sparse index (sparse-checkout --sparse-index: sdir, sparse directory entries) ----


def sparse_entries(repo: Path) -> list[dict[str, object]]:
    """``git ls-files --sparse``: the index as it is, sparse directories unexpanded."""
    out = run_git(repo, "ls-files", "--sparse", "-s")
    return [{"mode": int(line.split()[0], 8), "sha": line.split()[1], "path": line.split("\t", 1)[1].encode()}
            for line in out.splitlines()]


def test_sparse_index(base_repo: Path) -> None:
    run_git(base_repo, "sparse-checkout", "set", "--cone", "--sparse-index", "src")
    index = read(base_repo)
    assert b"sdir" in {sig for sig, _, _ in index.extensions}
    assert [{"mode": e.mode, "sha": e.sha, "path": e.path} for e in index.entries] == sparse_entries(base_repo)
    docs = index.entry(b"docs/")
    assert docs is not None and docs.mode == 0o040000 and docs.skip_worktree
    assert docs.sha == run_git(base_repo, "rev-parse", "HEAD:docs").strip()
    assert index.cache_tree_root() == run_git(base_repo, "rev-parse", "HEAD^{tree}").strip()
    from dulwich.index import Index  # why index.py is not dulwich's (its docstring names this test)

    with pytest.raises(Exception, match="Checksum mismatch"):
        Index(str(base_repo / ".git" / "index"))


def _rewrite(repo: Path, body: bytes) -> Path:
    path = repo / ".git" / "index"
    path.write_bytes(body + hashlib.sha1(body).digest())
    return path


def test_unknown_required_extension_refused(base_repo: Path) -> None:
    raw = (base_repo / ".git" / "index").read_bytes()[:-20]
    _rewrite(base_repo, raw + b"abcd" + struct.pack(">I", 3) + b"xyz")
    with pytest.raises(UnsupportedRepositoryError, match="required index extension 'abcd'"):
        read(base_repo)


def test_unknown_optional_extension_ignored(base_repo: Path) -> None:
    raw = (base_repo / ".git" / "index").read_bytes()[:-20]
    _rewrite(base_repo, raw + b"ZZZZ" + struct.pack(">I", 3) + b"xyz")
    assert len(read(base_repo).entries) == 9
    assert run_git(base_repo, "status", "--porcelain", "-uno") == ""  # git agrees


@pytest.mark.parametrize("version", [1, 5])
def test_unsupported_versions_refused(base_repo: Path, version: int) -> None:
    raw = bytearray((base_repo / ".git" / "index").read_bytes()[:-20])
    raw[4:8] = struct.pack(">I", version)
    _rewrite(base_repo, bytes(raw))
    with pytest.raises(UnsupportedRepositoryError, match=f"index version {version}.*--index-version"):
        read(base_repo)


def test_corrupt_checksum(base_repo: Path) -> None:
    path = base_repo / ".git" / "index"
    raw = bytearray(path.read_bytes())
    raw[40] ^= 1
    path.write_bytes(bytes(raw))
    index = read(base_repo)  # read like git's read_index(): the checksum is fsck's business ...
    run_git(base_repo, "status", "--porcelain", "-uno")  # git too reads it without complaint
    with pytest.raises(RepositoryError, match=r"\.git/index: index file is corrupt \(checksum mismatch\)"):
        verify_checksum(index)  # ... but never rewritten with a fresh checksum over corrupt bytes
    entry = index.entry(b"README.md")
    assert entry is not None
    with pytest.raises(RepositoryError, match=r"checksum mismatch"):
        update_single_entry(index, b"README.md", sha=entry.sha, mode=entry.mode,
                            st=os.lstat(base_repo / "README.md"), new_root_tree=None)


@pytest.mark.parametrize("keep", [0, 11, 100, -21])
def test_truncated(base_repo: Path, keep: int) -> None:
    path = base_repo / ".git" / "index"
    raw = path.read_bytes()
    truncated = raw[:keep] if keep >= 0 else raw[:keep]
    if len(truncated) > 32:
        truncated = truncated[:-20] + hashlib.sha1(truncated[:-20]).digest()
    path.write_bytes(truncated)
    with pytest.raises(RepositoryError, match="index file is corrupt"):
        read(base_repo)


def test_zero_trailer_is_accepted(base_repo: Path) -> None:
    # index.skipHash (git 2.40+) writes a null trailer; git then skips verification.
    path = base_repo / ".git" / "index"
    path.write_bytes(path.read_bytes()[:-20] + bytes(20))
    assert len(read(base_repo).entries) == 9


# --- update_single_entry --------------------------------------------------------------


def _new_tree(repo: Path, mode: int, sha: str, path: str) -> str:
    """What the release flow does: HEAD's tree with one blob replaced, written to the
    object store (here with git on a scratch index, leaving .git/index alone)."""
    scratch = repo / ".git" / "scratch-index"
    env = {"GIT_INDEX_FILE": str(scratch)}
    run_git(repo, "read-tree", "HEAD", env=env)
    run_git(repo, "update-index", "--add", "--cacheinfo", f"{mode:o},{sha},{path}", env=env)
    tree = run_git(repo, "write-tree", env=env).strip()
    scratch.unlink()
    return tree


def _git_update_index(repo: Path, path: str) -> Path:
    """The index git writes for ``git update-index <path>`` from the same starting index."""
    copy = repo / ".git" / "git-index"
    shutil.copyfile(repo / ".git" / "index", copy)
    run_git(repo, "update-index", "--", path, env={"GIT_INDEX_FILE": str(copy)})
    return copy


def _entries_section(data: bytes, hash_hex_length: int = 40) -> bytes:
    from directive_release.git.index import _parse  # the parser, on bytes

    index = _parse(Path(os.devnull), data, 0, hash_hex_length // 2)
    return data[12 : index.entries_end]


def _views(repo: Path, index: Path) -> dict[str, str]:
    """How git sees an index file: everything must be the same for ours and git's."""
    env = {"GIT_INDEX_FILE": str(index)}
    return {
        "ls-files": run_git(repo, "ls-files", "-s", "-z", env=env),
        "status": run_git(repo, "status", "--porcelain", "-z", "-uno", env=env),
        "diff-cached": run_git(repo, "diff", "--cached", "--name-status", "-z", env=env),
        "write-tree": run_git(repo, "write-tree", env=env),
    }


def _update_and_compare(repo: Path, path: str, content: str, *, mode: int = 0o100644,
                        hash_hex_length: int = 40, root_tree: str | None | bool = True) -> IndexFile:
    target = repo / path
    write(target, content)
    target.chmod(0o755 if mode == 0o100755 else 0o644)
    sha = run_git(repo, "hash-object", "-w", "--", path).strip()
    new_tree = _new_tree(repo, mode, sha, path)
    given = new_tree if root_tree is True else root_tree
    before = read(repo, hash_hex_length)
    data = update_single_entry(
        before, path.encode(), sha=sha, mode=mode, st=os.lstat(target), new_root_tree=given or None
    )
    expected = _git_update_index(repo, path)
    # Entries byte for byte as git writes them (same file, same stat data).
    assert _entries_section(data, hash_hex_length) == _entries_section(expected.read_bytes(), hash_hex_length)
    (repo / ".git" / "index").write_bytes(data)
    after = read(repo, hash_hex_length)
    assert after.version == before.version
    ours = _views(repo, repo / ".git" / "index")
    assert ours == _views(repo, expected)
    assert ours["write-tree"].strip() == new_tree
    assert path.encode() in ours["diff-cached"].encode()
    assert run_git(repo, "fsck", "--no-dangling", "--strict") == ""
    _assert_cache_tree_true(repo, after, new_tree)
    expected.unlink()
    return after


def _assert_cache_tree_true(repo: Path, index: IndexFile, tree: str) -> None:
    """Every valid cache-tree node names the right tree and counts the right entries."""
    listing = run_git(repo, "ls-tree", "-r", "-d", "--full-tree", tree).splitlines()
    tree_of = {b"": tree} | {
        line.split("\t", 1)[1].encode(): line.split()[2] for line in listing
    }
    root = index.cache_tree()
    assert root is not None

    def visit(node, prefix: bytes) -> int:  # type: ignore[no-untyped-def]
        valid = 0
        if node.entry_count >= 0:
            assert node.oid.hex() == tree_of[prefix.rstrip(b"/")], prefix
            under = [p for p in index.paths if p.startswith(prefix)]
            assert node.entry_count == len(under), prefix
            valid = 1
        for child in node.children:
            valid += visit(child, prefix + child.name + b"/")
        return valid

    assert visit(root, b"") >= 1


def test_update_nested_entry_keeps_cache_tree_valid(base_repo: Path) -> None:
    after = _update_and_compare(base_repo, "src/pkg/core.py", "def f():\n    return 2\n")
    root = after.cache_tree()
    assert root is not None and root.entry_count >= 0
    pkg = root.child(b"src").child(b"pkg")  # type: ignore[union-attr]
    assert pkg is not None and pkg.entry_count == 3  # recomputed, not invalidated
    run_git(base_repo, "commit", "-q", "-m", "release")
    assert run_git(base_repo, "status", "--porcelain", "-uno") == ""


def test_update_top_level_entry(base_repo: Path) -> None:
    _update_and_compare(base_repo, "pyproject.toml", '[project]\nname = "demo"\nversion = "0.5.0"\n')


def test_update_to_executable(base_repo: Path) -> None:
    _update_and_compare(base_repo, "README.md", "# demo\n", mode=0o100755)


@pytest.mark.parametrize("root_tree", [None, "0" * 40], ids=["no-root-tree", "wrong-root-tree"])
def test_update_without_a_confirmed_tree_invalidates_the_path(base_repo: Path, root_tree: str | None) -> None:
    after = _update_and_compare(base_repo, "src/pkg/core.py", "changed\n", root_tree=root_tree)
    root = after.cache_tree()
    assert root is not None and root.entry_count == -1 and after.cache_tree_root() is None
    src = root.child(b"src")
    assert src is not None and src.entry_count == -1
    docs = root.child(b"docs")
    assert docs is not None and docs.entry_count == 2  # off the path: untouched


def test_update_v3_entry_losing_extended_flags(base_repo: Path) -> None:
    run_git(base_repo, "update-index", "--skip-worktree", "README.md")
    write(base_repo / "docs/new.txt", "new\n")
    run_git(base_repo, "add", "-N", "docs/new.txt")
    assert read(base_repo).version == 3
    after = _update_and_compare(base_repo, "docs/new.txt", "shorter\n")
    entry = after.entry(b"docs/new.txt")
    assert entry is not None and entry.extended_flags == 0 and after.version == 3
    skipped = after.entry(b"README.md")
    assert skipped is not None and skipped.skip_worktree
    assert after.cache_tree_root() is None  # the intent-to-add had invalidated it


def test_update_v4(base_repo: Path) -> None:
    run_git(base_repo, "update-index", "--index-version", "4")
    after = _update_and_compare(base_repo, "docs/caf\u00e9.txt", "changed\n")
    assert after.version == 4


def test_update_sha256(tmp_path: Path) -> None:
    repo = tmp_path / "sha256"
    run_git(tmp_path, "init", "-q", "--object-format=sha256", "-b", "main", str(repo))
    write(repo / "a.txt", "a\n")
    write(repo / "dir/sub/b.txt", "b\n")
    write(repo / "dir/c.txt", "c\n")
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-q", "-m", "one")
    _update_and_compare(repo, "dir/sub/b.txt", "changed\n", hash_hex_length=64)


def test_update_drops_stale_extensions_and_keeps_reuc(base_repo: Path) -> None:
    # REUC: resolve a conflict; UNTR: untracked cache; EOIE/IEOT: offset tables.
    run_git(base_repo, "checkout", "-q", "-b", "other")
    write(base_repo / "docs/a b.txt", "other\n")
    run_git(base_repo, "commit", "-q", "-am", "other")
    run_git(base_repo, "checkout", "-q", "main")
    write(base_repo / "docs/a b.txt", "main\n")
    run_git(base_repo, "commit", "-q", "-am", "main")
    run_git(base_repo, "merge", "other", check=False)
    write(base_repo / "docs/a b.txt", "resolved\n")
    run_git(base_repo, "add", "docs/a b.txt")  # resolved, not committed: REUC records stages
    run_git(base_repo, "config", "core.untrackedCache", "true")
    run_git(base_repo, "-c", "index.recordEndOfIndexEntries=true", "-c", "index.recordOffsetTable=true",
            "-c", "index.threads=2", "update-index", "--untracked-cache")
    run_git(base_repo, "-c", "index.recordEndOfIndexEntries=true", "-c", "index.recordOffsetTable=true",
            "-c", "index.threads=2", "status", "--porcelain")
    before = read(base_repo)
    signatures = {sig for sig, _, _ in before.extensions}
    assert {b"TREE", b"REUC", b"UNTR", b"EOIE", b"IEOT"} <= signatures
    data = update_single_entry(
        before, b"README.md", sha=before.entry(b"README.md").sha,  # type: ignore[union-attr]
        mode=0o100644, st=os.lstat(base_repo / "README.md"), new_root_tree=None,
    )
    (base_repo / ".git" / "index").write_bytes(data)
    after = read(base_repo)
    kept = {sig for sig, _, _ in after.extensions}
    assert kept == {b"TREE", b"REUC"}
    assert after.extension(b"REUC") == before.extension(b"REUC")
    assert run_git(base_repo, "status", "--porcelain", "-uno") == 'M  "docs/a b.txt"\n'
    assert run_git(base_repo, "fsck", "--no-dangling") == ""


def test_update_unknown_path_refused(base_repo: Path) -> None:
    index = read(base_repo)
    with pytest.raises(RepositoryError, match="nothere.txt has no stage-0 entry"):
        update_single_entry(index, b"nothere.txt", sha="0" * 40, mode=0o100644,
                            st=os.lstat(base_repo / "README.md"), new_root_tree=None)


# --- update_single_entry on a split or sparse index ---------------------------------


def _git_update_index_tree(repo: Path, path: str) -> tuple[Path, str]:
    """git's own update of ``path`` on a copy of the index (beside it, so a split
    index finds its shared index), and the tree that index holds."""
    copy = _git_update_index(repo, path)
    tree = run_git(repo, "write-tree", env={"GIT_INDEX_FILE": str(copy)}).strip()
    return copy, tree


@pytest.mark.parametrize("how", ["update-index --split-index", "core.splitIndex"])
def test_update_split_index_writes_a_full_index(base_repo: Path, how: str) -> None:
    run_git(base_repo, "config", "splitIndex.maxPercentChange", "100")  # git keeps the link until we write
    if how == "core.splitIndex":
        run_git(base_repo, "config", "core.splitIndex", "true")
        run_git(base_repo, "status", "--porcelain")  # any write splits it
    else:
        run_git(base_repo, "update-index", "--split-index")
    later = time.time() + 5
    os.utime(base_repo / "docs/a b.txt", (later, later))
    run_git(base_repo, "add", "docs/a b.txt")  # same content, new stat data: a replaced entry in the split file
    run_git(base_repo, "commit", "-q", "--allow-empty", "-m", "cache tree valid again, as after any commit")
    index_path = base_repo / ".git" / "index"
    raw = index_path.read_bytes()
    assert b"link" in raw and struct.unpack(">I", raw[raw.index(b"link") + 4 :][:4])[0] > 20
    # Another size: git update-index on the copy must see the change whatever the timing.
    write(base_repo / "pyproject.toml", '[project]\nname = "demo"\nversion = "0.4.10"\n')
    sha = run_git(base_repo, "hash-object", "-w", "--", "pyproject.toml").strip()
    expected, tree = _git_update_index_tree(base_repo, "pyproject.toml")
    before = read(base_repo)
    data = update_single_entry(before, b"pyproject.toml", sha=sha, mode=0o100644,
                               st=os.lstat(base_repo / "pyproject.toml"), new_root_tree=tree)
    theirs = on_disk(git_entries(base_repo, expected))
    index_path.write_bytes(data)
    after = read(base_repo)
    assert b"link" not in {sig for sig, _, _ in after.extensions} and not after.sources  # a full index
    assert on_disk(git_entries(base_repo)) == theirs == our_entries(after)
    assert _views(base_repo, index_path) == _views(base_repo, expected)
    assert after.cache_tree_root() == tree
    _assert_cache_tree_true(base_repo, after, tree)
    assert run_git(base_repo, "fsck", "--no-dangling", "--strict") == ""
    assert run_git(base_repo, "diff", "--cached", "--name-only") == "pyproject.toml\n"
    if how == "core.splitIndex":  # git splits it again at its next write, and reads the same
        os.utime(base_repo / "README.md", (later, later))
        run_git(base_repo, "add", "README.md")
        assert b"link" in index_path.read_bytes()
        again = read(base_repo)
        assert again.sources and our_entries(again) == on_disk(git_entries(base_repo))
        assert [e["sha"] for e in our_entries(again)] == [e["sha"] for e in theirs]
    expected.unlink()


def test_update_split_index_refuses_a_corrupt_shared_index(base_repo: Path) -> None:
    """The checksum a rewrite verifies covers both files it was read from."""
    run_git(base_repo, "update-index", "--split-index")
    shared = shared_indexes(base_repo)[0]
    raw = bytearray(shared.read_bytes())
    raw[20] ^= 1  # inside an entry's ctime: the trailer (the name in the link) still matches
    shared.write_bytes(bytes(raw))
    path = base_repo / ".git" / "index"
    corrupt = IndexFile._parse_quietly(path, path.read_bytes(), 0, 20)  # read like git: no checksum check
    entry = corrupt.entry(b"README.md")
    assert entry is not None
    with pytest.raises(RepositoryError, match=r"sharedindex\.[0-9a-f]{40}: index file is corrupt \(checksum mismatch\)"):
        update_single_entry(corrupt, b"README.md", sha=entry.sha, mode=entry.mode,
                            st=os.lstat(base_repo / "README.md"), new_root_tree=None)


def test_update_sparse_index_keeps_it_sparse(base_repo: Path) -> None:
    run_git(base_repo, "sparse-checkout", "set", "--cone", "--sparse-index", "src")
    index_path = base_repo / ".git" / "index"
    sparse_before = sparse_entries(base_repo)
    # Another size: git update-index on the copy must see the change whatever the timing.
    write(base_repo / "pyproject.toml", '[project]\nname = "demo"\nversion = "0.4.10"\n')
    sha = run_git(base_repo, "hash-object", "-w", "--", "pyproject.toml").strip()
    tree = _new_tree(base_repo, 0o100644, sha, "pyproject.toml")
    before = read(base_repo)
    data = update_single_entry(before, b"pyproject.toml", sha=sha, mode=0o100644,
                               st=os.lstat(base_repo / "pyproject.toml"), new_root_tree=tree)
    expected = _git_update_index(base_repo, "pyproject.toml")
    index_path.write_bytes(data)
    after = read(base_repo)
    assert b"sdir" in {sig for sig, _, _ in after.extensions}
    sparse_after = sparse_entries(base_repo)  # the same entries, docs/ still one sparse directory
    assert [e for e in sparse_after if e["path"] != b"pyproject.toml"] == [
        e for e in sparse_before if e["path"] != b"pyproject.toml"]
    assert {"mode": 0o040000, "sha": run_git(base_repo, "rev-parse", "HEAD:docs").strip(),
            "path": b"docs/"} in sparse_after
    assert _views(base_repo, index_path) == _views(base_repo, expected)
    assert after.cache_tree_root() == tree
    _assert_cache_tree_true(base_repo, after, tree)
    assert run_git(base_repo, "fsck", "--no-dangling", "--strict") == ""
    assert run_git(base_repo, "diff", "--cached", "--name-only") == "pyproject.toml\n"
    expected.unlink()
