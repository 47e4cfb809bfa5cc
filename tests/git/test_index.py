"""The index reader against git (``ls-files -s --debug``) and dulwich, and the
one-entry update against what ``git update-index`` writes for the same file."""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
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


def test_split_index_refused(base_repo: Path) -> None:
    run_git(base_repo, "update-index", "--split-index")
    with pytest.raises(UnsupportedRepositoryError) as caught:
        read(base_repo)
    message = str(caught.value)
    assert "index" in message and "split index" in message
    assert "git update-index --no-split-index" in message and "\n" not in message


def test_sparse_index_refused(base_repo: Path) -> None:
    run_git(base_repo, "sparse-checkout", "set", "--cone", "--sparse-index", "src")
    with pytest.raises(UnsupportedRepositoryError, match=r"\.git/index: sparse index .*--no-sparse-index"):
        read(base_repo)


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
