"""Named scenarios: our clean check next to ``git status --porcelain -uno``.

Every scenario asserts the same lines as git (renames split into D/A) and that the
verdict (clean or not) is the expected one, so a scenario cannot pass by both sides
being wrong in the same direction without the expectation catching it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from directive_release.errors import UnsupportedRepositoryError
from directive_release.git.index import IndexFile
from directive_release.git.repo import discover, read_ref
from directive_release.git.status import tracked_changes, untracked_files

from .conftest import Oracle, run_git, write


def assert_dirty(oracle: Oracle, repo: Path, *expected: str) -> None:
    lines = oracle.compare(repo)
    assert lines, "expected a dirty tree"
    for line in expected:
        assert line in lines, f"{line!r} not in {lines}"


def assert_clean(oracle: Oracle, repo: Path) -> None:
    assert oracle.compare(repo) == []


def age_index(repo: Path, seconds: float = 5) -> None:
    """Make the index older than nothing in particular but newer than no file: move
    file times back so stat data stays authoritative (not racily clean)."""
    index = repo / ".git" / "index"
    st = index.stat()
    os.utime(index, ns=(st.st_atime_ns, st.st_mtime_ns + int(seconds * 1e9)))


def rewrite(path: Path, data: str) -> None:
    """Write ``data`` with an mtime in another second than the index entry's (and older
    than an aged index): git then re-reads the file instead of trusting stat data."""
    write(path, data)
    later = time.time_ns() + 2 * 10**9
    os.utime(path, ns=(later, later))


def test_clean(oracle: Oracle, base_repo: Path) -> None:
    assert_clean(oracle, base_repo)


def test_clean_does_not_import_dulwich(base_repo: Path) -> None:
    age_index(base_repo)
    code = (
        "import sys; from pathlib import Path;"
        "from directive_release.git.repo import discover, read_head;"
        "from directive_release.git.status import tracked_changes;"
        f"r = discover(Path({str(base_repo)!r})); print(tracked_changes(r, read_head(r).commit));"
        "print(sorted(m for m in sys.modules if m.startswith('dulwich')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["[]", "[]"]


def test_modify(oracle: Oracle, base_repo: Path) -> None:
    write(base_repo / "src/pkg/core.py", "def f():\n    return 2\n")
    assert_dirty(oracle, base_repo, " M src/pkg/core.py")


def test_delete(oracle: Oracle, base_repo: Path) -> None:
    (base_repo / "docs/a b.txt").unlink()
    assert_dirty(oracle, base_repo, ' D "docs/a b.txt"')


def test_delete_whole_folder(oracle: Oracle, base_repo: Path) -> None:
    shutil.rmtree(base_repo / "src")
    assert_dirty(oracle, base_repo, " D src/pkg/core.py")


@pytest.mark.parametrize("mode", [0o755, 0o644])
def test_chmod(oracle: Oracle, base_repo: Path, mode: int) -> None:
    target = base_repo / ("README.md" if mode == 0o755 else "run.sh")
    target.chmod(mode)
    assert_dirty(oracle, base_repo, f" M {target.name}")


def test_chmod_in_the_index_only(oracle: Oracle, base_repo: Path) -> None:
    run_git(base_repo, "update-index", "--chmod=+x", "README.md")
    assert_dirty(oracle, base_repo, "MM README.md")


def test_chmod_with_core_filemode_false(oracle: Oracle, base_repo: Path) -> None:
    run_git(base_repo, "config", "core.fileMode", "false")
    (base_repo / "README.md").chmod(0o755)
    (base_repo / "run.sh").chmod(0o644)
    assert_clean(oracle, base_repo)


def test_file_to_symlink(oracle: Oracle, base_repo: Path) -> None:
    (base_repo / "README.md").unlink()
    os.symlink("pyproject.toml", base_repo / "README.md")
    assert_dirty(oracle, base_repo, " T README.md")


def test_symlink_to_file_with_the_same_bytes(oracle: Oracle, base_repo: Path) -> None:
    (base_repo / "link").unlink()
    write(base_repo / "link", "README.md")
    assert_dirty(oracle, base_repo, " T link")


def test_symlink_retargeted(oracle: Oracle, base_repo: Path) -> None:
    (base_repo / "link").unlink()
    os.symlink("pyproject.toml", base_repo / "link")
    assert_dirty(oracle, base_repo, " M link")


def test_file_replaced_by_directory(oracle: Oracle, base_repo: Path) -> None:
    (base_repo / "README.md").unlink()
    write(base_repo / "README.md" / "inner.txt", "x\n")
    assert_dirty(oracle, base_repo, " D README.md")


def test_folder_replaced_by_symlink_to_a_copy(oracle: Oracle, base_repo: Path) -> None:
    # lstat through the symlink finds identical files; git still reports them deleted.
    os.rename(base_repo / "docs", base_repo / "docs-real")
    os.symlink("docs-real", base_repo / "docs")
    assert_dirty(oracle, base_repo, ' D "docs/a b.txt"')


def test_staged(oracle: Oracle, base_repo: Path) -> None:
    write(base_repo / "README.md", "# changed\n")
    run_git(base_repo, "add", "README.md")
    assert_dirty(oracle, base_repo, "M  README.md")


def test_stage_then_modify(oracle: Oracle, base_repo: Path) -> None:
    write(base_repo / "README.md", "# changed\n")
    run_git(base_repo, "add", "README.md")
    write(base_repo / "README.md", "# changed again\n")
    assert_dirty(oracle, base_repo, "MM README.md")


def test_staged_then_reverted_in_index(oracle: Oracle, base_repo: Path) -> None:
    write(base_repo / "README.md", "# changed\n")
    run_git(base_repo, "add", "README.md")
    write(base_repo / "README.md", "# demo\n")
    run_git(base_repo, "add", "README.md")
    assert_clean(oracle, base_repo)


def test_new_file_staged(oracle: Oracle, base_repo: Path) -> None:
    write(base_repo / "src/pkg/new.py", "x = 1\n")
    run_git(base_repo, "add", "src/pkg/new.py")
    assert_dirty(oracle, base_repo, "A  src/pkg/new.py")


def test_rm_cached(oracle: Oracle, base_repo: Path) -> None:
    run_git(base_repo, "rm", "-q", "--cached", "README.md")
    assert_dirty(oracle, base_repo, "D  README.md")


def test_intent_to_add(oracle: Oracle, base_repo: Path) -> None:
    write(base_repo / "new.txt", "new\n")
    run_git(base_repo, "add", "-N", "new.txt")
    assert_dirty(oracle, base_repo, " A new.txt")


def test_intent_to_add_then_deleted(oracle: Oracle, base_repo: Path) -> None:
    write(base_repo / "new.txt", "new\n")
    run_git(base_repo, "add", "-N", "new.txt")
    (base_repo / "new.txt").unlink()
    assert_dirty(oracle, base_repo)


def test_intent_to_add_over_removed_path(oracle: Oracle, base_repo: Path) -> None:
    run_git(base_repo, "rm", "-q", "--cached", "README.md")
    run_git(base_repo, "add", "-N", "README.md")
    assert_dirty(oracle, base_repo, "DA README.md")


def test_rename(oracle: Oracle, base_repo: Path) -> None:
    run_git(base_repo, "mv", "src/pkg/core.py", "src/pkg/engine.py")
    assert_dirty(oracle, base_repo, "D  src/pkg/core.py", "A  src/pkg/engine.py")


def test_touch_without_change(oracle: Oracle, base_repo: Path) -> None:
    age_index(base_repo)
    for path in ("README.md", "src/pkg/core.py", "link"):
        os.utime(base_repo / path, follow_symlinks=False)
    assert_clean(oracle, base_repo)


def test_rewrite_same_content(oracle: Oracle, base_repo: Path) -> None:
    write(base_repo / "src/pkg/core.py", "def f():\n    return 1\n")
    assert_clean(oracle, base_repo)


def _set_entry_oid(repo: Path, path: bytes, oid: str) -> None:
    """Patch one entry's object id in .git/index (stat data untouched)."""
    import hashlib

    index = IndexFile.read(repo / ".git" / "index")
    old = index.records[index.position(path)][10]
    raw = bytearray(index.raw[:-20])
    assert raw.count(old) == 1
    at = raw.index(old)
    raw[at : at + 20] = bytes.fromhex(oid)
    (repo / ".git" / "index").write_bytes(bytes(raw) + hashlib.sha1(raw).digest())


def _strip_extension(repo: Path, signature: bytes) -> None:
    import hashlib

    index = IndexFile.read(repo / ".git" / "index")
    parts = [index.raw[: index.entries_end]]
    parts += [index.raw[start - 8 : end] for sig, start, end in index.extensions if sig != signature]
    body = b"".join(parts)
    (repo / ".git" / "index").write_bytes(body + hashlib.sha1(body).digest())


@pytest.mark.parametrize("racy", [True, False])
def test_racy_same_size_edit(oracle: Oracle, base_repo: Path, racy: bool) -> None:
    """Stat data identical, content different: git re-reads the file only when the
    entry is not older than the index file (racy git); otherwise it trusts stat."""
    other = run_git(base_repo, "hash-object", "-w", "--stdin", input=b"# DEMO\n").strip()
    _set_entry_oid(base_repo, b"README.md", other)  # index now says "# DEMO", disk "# demo"
    entry_mtime = (base_repo / "README.md").stat().st_mtime_ns
    index = base_repo / ".git" / "index"
    os.utime(index, ns=(entry_mtime, entry_mtime if racy else entry_mtime + 10**10))
    # The index differs from HEAD either way (X = M); the worktree column shows the rule.
    if racy:
        assert_dirty(oracle, base_repo, "MM README.md")
    else:
        assert_dirty(oracle, base_repo, "M  README.md")  # git trusts the stat data; so do we


def test_smudged_entry_is_rehashed(oracle: Oracle, base_repo: Path) -> None:
    # git writes size 0 for racily clean entries; the content decides then.
    time.sleep(0.01)
    write(base_repo / "README.md", "# same size\n")
    run_git(base_repo, "add", "README.md")
    write(base_repo / "README.md", "# SAME SIZE\n")
    assert_dirty(oracle, base_repo, "MM README.md")


def test_assume_unchanged(oracle: Oracle, base_repo: Path) -> None:
    run_git(base_repo, "update-index", "--assume-unchanged", "README.md")
    write(base_repo / "README.md", "# changed behind git's back\n")
    assert_clean(oracle, base_repo)
    (base_repo / "README.md").unlink()
    assert_clean(oracle, base_repo)


def test_skip_worktree(oracle: Oracle, base_repo: Path) -> None:
    run_git(base_repo, "update-index", "--skip-worktree", "README.md")
    write(base_repo / "README.md", "# changed\n")
    assert_clean(oracle, base_repo)


def test_sparse_checkout(oracle: Oracle, base_repo: Path) -> None:
    run_git(base_repo, "sparse-checkout", "set", "--no-cone", "/src/")
    assert not (base_repo / "README.md").exists()
    assert_clean(oracle, base_repo)
    write(base_repo / "src/pkg/core.py", "changed\n")
    assert_dirty(oracle, base_repo, " M src/pkg/core.py")


# --- split index (core.splitIndex) and sparse index (sparse-checkout --sparse-index) ----


def split(repo: Path, how: str) -> None:
    """A split index as git leaves it: split once, or split by configuration (where git
    writes a new shared index at every write with maxPercentChange=0: "resplit")."""
    if how == "once":
        run_git(repo, "config", "splitIndex.maxPercentChange", "100")
        run_git(repo, "update-index", "--split-index")
    else:
        run_git(repo, "config", "core.splitIndex", "true")
        run_git(repo, "config", "splitIndex.maxPercentChange", "100" if how == "config" else "0")
        run_git(repo, "status", "--porcelain")  # a write: git splits the index
    assert b"link" in (repo / ".git" / "index").read_bytes()


def assert_split(repo: Path) -> None:
    """Still split when we look (the scenario did not turn it off)."""
    assert b"link" in (repo / ".git" / "index").read_bytes()


@pytest.mark.parametrize("how", ["once", "config", "resplit"])
def test_split_index_clean(oracle: Oracle, base_repo: Path, how: str) -> None:
    split(base_repo, how)
    assert_clean(oracle, base_repo)
    assert untracked_files(discover(base_repo), limit=None) == _git_untracked(base_repo) == []


@pytest.mark.parametrize("how", ["once", "config", "resplit"])
def test_split_index_modified_staged_deleted(oracle: Oracle, base_repo: Path, how: str) -> None:
    split(base_repo, how)
    shared = sorted((base_repo / ".git").glob("sharedindex.*"))
    write(base_repo / "src/pkg/core.py", "def f():\n    return 2\n")
    run_git(base_repo, "add", "src/pkg/core.py")  # staged (a replaced or re-shared entry)
    write(base_repo / "docs/new.txt", "new\n")
    run_git(base_repo, "add", "docs/new.txt")  # added
    run_git(base_repo, "rm", "-q", "--cached", "run.sh")  # deleted from the index, left on disk
    (base_repo / "README.md").unlink()  # deleted from the worktree
    write(base_repo / "pyproject.toml", "changed\n")  # modified, not staged
    assert_split(base_repo)
    if how == "resplit":
        assert sorted((base_repo / ".git").glob("sharedindex.*")) != shared  # git re-split meanwhile
    assert_dirty(oracle, base_repo, "M  src/pkg/core.py", "A  docs/new.txt", "D  run.sh", " D README.md",
                 " M pyproject.toml")
    assert untracked_files(discover(base_repo), limit=None) == _git_untracked(base_repo) == ["?? run.sh"]


def test_split_index_racily_clean_and_same_size_edit(oracle: Oracle, base_repo: Path) -> None:
    """An entry whose stat data lives in the split file (replaced), edited in place
    within the same second: only the content can tell, as for a plain index."""
    split(base_repo, "once")
    run_git(base_repo, "add", "README.md")
    write(base_repo / "README.md", "# DEMO\n")  # same size, same second as the index
    assert_split(base_repo)
    assert_dirty(oracle, base_repo, " M README.md")


def test_split_index_conflict(oracle: Oracle, base_repo: Path) -> None:
    split(base_repo, "once")
    blob = run_git(base_repo, "hash-object", "-w", "--stdin", input=b"theirs\n").strip()
    conflict = f"0 {'0' * 40}\tREADME.md\n100644 {blob} 2\tREADME.md\n100644 {blob} 3\tREADME.md\n"
    run_git(base_repo, "update-index", "--index-info", input=conflict.encode())
    assert_split(base_repo)
    assert_dirty(oracle, base_repo, "AA README.md")


def sparse(repo: Path, *cone: str) -> None:
    run_git(repo, "sparse-checkout", "set", "--cone", "--sparse-index", *cone)
    assert b"sdir" in (repo / ".git" / "index").read_bytes()


def test_sparse_index_clean(oracle: Oracle, base_repo: Path) -> None:
    sparse(base_repo, "src")
    assert not (base_repo / "docs").exists()
    assert_clean(oracle, base_repo)
    assert untracked_files(discover(base_repo), limit=None) == _git_untracked(base_repo) == []


def test_sparse_index_modified_staged_deleted_in_the_cone(oracle: Oracle, base_repo: Path) -> None:
    sparse(base_repo, "src")
    write(base_repo / "src/pkg/core.py", "def f():\n    return 2\n")
    write(base_repo / "src/pkg/new.py", "new\n")
    run_git(base_repo, "add", "src/pkg/new.py")
    (base_repo / "README.md").unlink()
    run_git(base_repo, "rm", "-q", "--cached", "run.sh")
    assert b"sdir" in (base_repo / ".git" / "index").read_bytes()
    assert_dirty(oracle, base_repo, " M src/pkg/core.py", "A  src/pkg/new.py", " D README.md", "D  run.sh")


def test_sparse_directory_differs_from_head(oracle: Oracle, base_repo: Path) -> None:
    """A sparse directory entry whose tree is not HEAD's (after reset --soft): the
    changes inside it are listed file by file, as git lists them."""
    sparse(base_repo, "src")
    old_head = run_git(base_repo, "rev-parse", "HEAD").strip()
    scratch = {"GIT_INDEX_FILE": str(base_repo / ".git" / "scratch")}
    run_git(base_repo, "read-tree", "HEAD", env=scratch)
    blob = run_git(base_repo, "hash-object", "-w", "--stdin", input=b"changed\n").strip()
    run_git(base_repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},docs/a b.txt",
            "--cacheinfo", f"100755,{blob},docs/deeper/new.txt", "--force-remove", "docs/caf\u00e9.txt",
            env=scratch)
    tree = run_git(base_repo, "write-tree", env=scratch).strip()
    commit = run_git(base_repo, "commit-tree", tree, "-p", "HEAD", "-m", "docs", env=scratch).strip()
    run_git(base_repo, "reset", "-q", "--hard", commit)
    run_git(base_repo, "reset", "-q", "--soft", old_head)
    assert "040000" in run_git(base_repo, "ls-files", "--sparse", "-s", "docs")  # still one sparse entry
    assert_dirty(oracle, base_repo, 'M  "docs/a b.txt"', "A  docs/deeper/new.txt", 'D  "docs/caf\\303\\251.txt"')


@pytest.mark.parametrize("order", ["split-then-sparse", "sparse-then-split", "sparse-nothing-collapsed"])
def test_split_and_sparse_together_refused_like_git(base_repo: Path, order: str) -> None:
    """git 2.39 cannot read a sparse index that is split (or meant to be): neither do we,
    in one line naming the index and the way out. (Split first, then made sparse, git
    reads it when the link's bitmaps happen to be empty, collapsing the shared index
    under them; where they are not, it dies or, positions shifted, misreads: refused.)"""
    if order == "split-then-sparse":
        split(base_repo, "resplit")
        run_git(base_repo, "sparse-checkout", "set", "--cone", "--sparse-index", "src")
    elif order == "sparse-then-split":
        sparse(base_repo, "src")
        run_git(base_repo, "config", "core.splitIndex", "true")
    else:  # every folder in the cone: marked sparse (sdir), no skip-worktree entry at all
        sparse(base_repo, "src", "docs")
        assert "S " not in run_git(base_repo, "ls-files", "-t")
        run_git(base_repo, "config", "core.splitIndex", "true")
    status = subprocess.run(["git", "status", "--porcelain"], cwd=base_repo, capture_output=True, text=True)
    if order != "split-then-sparse":
        assert status.returncode == 128, status.stdout  # git: fatal
    repo = discover(base_repo)
    with pytest.raises(UnsupportedRepositoryError) as caught:
        tracked_changes(repo, read_ref(repo, "HEAD") or "")
    message = str(caught.value)
    assert message.startswith(f"{base_repo / '.git' / 'index'}: a split index") and "\n" not in message
    advice = message.split("turn one off: ", 1)[1]
    subprocess.run(advice, shell=True, cwd=base_repo, check=True, capture_output=True)
    assert subprocess.run(["git", "status", "--porcelain"], cwd=base_repo, capture_output=True).returncode == 0
    assert tracked_changes(repo, read_ref(repo, "HEAD") or "") == []  # the advice works for both


@pytest.mark.parametrize("index_sparse", [True, False], ids=["sparse-index", "full-index"])
def test_sparse_checkout_files_present_outside_the_cone(oracle: Oracle, base_repo: Path,
                                                        index_sparse: bool) -> None:
    """git 2.36+ (repo_read_index: clear_skip_worktree_from_present_files): a skip-worktree
    file that exists in the worktree is compared after all, and tracked, not untracked;
    a sparse directory that exists is expanded for it."""
    run_git(base_repo, "sparse-checkout", "set", "--cone", "--sparse-index" if index_sparse else "--no-sparse-index",
            "src")
    write(base_repo / "docs/a b.txt", "spaced\n")  # the committed bytes: clean
    assert_clean(oracle, base_repo)
    write(base_repo / "docs/caf\u00e9.txt", "edited outside the cone\n")
    write(base_repo / "docs/untracked.txt", "x\n")
    assert_dirty(oracle, base_repo, ' M "docs/caf\\303\\251.txt"')
    assert untracked_files(discover(base_repo), limit=None) == _git_untracked(base_repo) == [
        "?? docs/untracked.txt"]
    run_git(base_repo, "config", "sparse.expectFilesOutsideOfPatterns", "true")  # git then trusts the bit
    assert_clean(oracle, base_repo)


def test_index_v4(oracle: Oracle, base_repo: Path) -> None:
    run_git(base_repo, "update-index", "--index-version", "4")
    assert IndexFile.read(base_repo / ".git" / "index").version == 4
    assert_clean(oracle, base_repo)
    write(base_repo / "docs/caf\u00e9.txt", "changed\n")
    assert_dirty(oracle, base_repo, ' M "docs/caf\\303\\251.txt"')


def test_untracked_cache(oracle: Oracle, base_repo: Path) -> None:
    run_git(base_repo, "config", "core.untrackedCache", "true")
    run_git(base_repo, "update-index", "--untracked-cache")
    run_git(base_repo, "status", "--porcelain")  # populates the UNTR extension
    assert IndexFile.read(base_repo / ".git" / "index").extension(b"UNTR") is not None
    assert_clean(oracle, base_repo)
    write(base_repo / "README.md", "# changed\n")
    assert_dirty(oracle, base_repo, " M README.md")


def test_merge_conflict(oracle: Oracle, base_repo: Path) -> None:
    run_git(base_repo, "checkout", "-q", "-b", "other")
    write(base_repo / "README.md", "# other\n")
    run_git(base_repo, "commit", "-q", "-am", "other")
    run_git(base_repo, "checkout", "-q", "main")
    write(base_repo / "README.md", "# main\n")
    (base_repo / "pyproject.toml").unlink()
    run_git(base_repo, "commit", "-q", "-am", "main")
    run_git(base_repo, "checkout", "-q", "other")
    write(base_repo / "pyproject.toml", "changed on other\n")
    run_git(base_repo, "commit", "-q", "-am", "other 2")
    run_git(base_repo, "checkout", "-q", "main")
    run_git(base_repo, "merge", "other", check=False)
    assert_dirty(oracle, base_repo, "UU README.md", "DU pyproject.toml")


def test_sha256_repository(oracle: Oracle, tmp_path: Path) -> None:
    repo = tmp_path / "sha256"
    run_git(tmp_path, "init", "-q", "--object-format=sha256", "-b", "main", str(repo))
    write(repo / "a.txt", "a\n")
    write(repo / "dir/b.txt", "b\n")
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-q", "-m", "one")
    assert_clean(oracle, repo)
    write(repo / "dir/b.txt", "changed\n")
    assert_dirty(oracle, repo, " M dir/b.txt")
    run_git(repo, "add", "-A")
    assert_dirty(oracle, repo, "M  dir/b.txt")


def test_linked_worktree(oracle: Oracle, base_repo: Path, tmp_path: Path) -> None:
    linked = tmp_path / "linked"
    run_git(base_repo, "worktree", "add", "-q", "-b", "feature", str(linked))
    assert_clean(oracle, linked)
    write(linked / "README.md", "# in the linked worktree\n")
    assert_dirty(oracle, linked, " M README.md")
    assert_clean(oracle, base_repo)


def test_thousands_of_packed_refs(oracle: Oracle, base_repo: Path) -> None:
    head = run_git(base_repo, "rev-parse", "HEAD").strip()
    commands = "".join(f"create refs/tags/v0.{i}.0 {head}\n" for i in range(3000))
    run_git(base_repo, "update-ref", "--stdin", input=commands.encode())
    run_git(base_repo, "pack-refs", "--all")
    assert_clean(oracle, base_repo)
    write(base_repo / "README.md", "# changed\n")
    assert_dirty(oracle, base_repo, " M README.md")


def test_packed_and_deltified_objects(oracle: Oracle, base_repo: Path) -> None:
    for i in range(5):
        write(base_repo / "README.md", f"# demo {i}\n" + "line\n" * 200)
        run_git(base_repo, "commit", "-q", "-am", f"c{i}")
    run_git(base_repo, "gc", "-q", "--aggressive")
    assert not any((base_repo / ".git/objects").glob("??/*"))
    _strip_extension(base_repo, b"TREE")  # no cache tree: every tree is read
    assert IndexFile.read(base_repo / ".git" / "index").cache_tree_root() is None
    assert_clean(oracle, base_repo)
    write(base_repo / "src/pkg/core.py", "changed\n")
    assert_dirty(oracle, base_repo, " M src/pkg/core.py")
    run_git(base_repo, "rm", "-q", "--cached", "src/pkg/core.py")
    assert_dirty(oracle, base_repo, "D  src/pkg/core.py")


# --- line endings --------------------------------------------------------------------


def test_autocrlf_true_crlf_in_worktree_of_lf_blob(oracle: Oracle, base_repo: Path) -> None:
    run_git(base_repo, "config", "core.autocrlf", "true")
    age_index(base_repo)
    write(base_repo / "README.md", "# demo\r\n")
    # Size differs: git says modified without reading (git diff would show nothing).
    assert_dirty(oracle, base_repo, " M README.md")


def test_autocrlf_same_size_content_normalises_equal(oracle: Oracle, tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    run_git(repo, "init", "-q", "-b", "main")
    run_git(repo, "config", "core.autocrlf", "true")
    write(repo / "a.txt", "one\r\ntwo\r\n")
    run_git(repo, "add", "a.txt")
    run_git(repo, "commit", "-q", "-m", "crlf normalised to lf in the blob")
    age_index(repo)
    rewrite(repo / "a.txt", "one\r\ntwo\r\n")  # same bytes, new mtime: re-hashed with conversion
    assert_clean(oracle, repo)
    run_git(repo, "config", "core.autocrlf", "false")
    rewrite(repo / "a.txt", "one\r\ntwo\r\n")
    assert_dirty(oracle, repo, " M a.txt")


def test_gitattributes_text_and_eol(oracle: Oracle, tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    run_git(repo, "init", "-q", "-b", "main")
    write(repo / ".gitattributes", "*.txt text eol=crlf\n*.bin binary\n*.auto text=auto\n")
    write(repo / "a.txt", "one\r\ntwo\r\n")
    write(repo / "b.bin", "one\r\ntwo\r\n")
    write(repo / "c.auto", "one\r\ntwo\r\n")
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-q", "-m", "attributes")
    age_index(repo)
    for name in ("a.txt", "b.bin", "c.auto"):
        rewrite(repo / name, "one\r\ntwo\r\n")
    assert_clean(oracle, repo)
    rewrite(repo / "b.bin", "one\r\ntwo\n\n")
    assert_dirty(oracle, repo, " M b.bin")


def test_attribute_change_makes_tracked_crlf_file_dirty(oracle: Oracle, tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    run_git(repo, "init", "-q", "-b", "main")
    write(repo / "a.txt", "one\r\ntwo\r\n")  # stored with CRLF (no conversion yet)
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-q", "-m", "crlf blob")
    age_index(repo)
    write(repo / ".git/info/attributes", "*.txt text\n")
    rewrite(repo / "a.txt", "one\r\ntwo\r\n")
    # "text" converts on checkin: the re-hashed content differs from the CRLF blob.
    assert_dirty(oracle, repo, " M a.txt")
    write(repo / ".git/info/attributes", "*.txt text=auto\n")
    # text=auto keeps CRLF when the index already has CRLF (safer autocrlf).
    assert_clean(oracle, repo)


def test_ident_attribute(oracle: Oracle, tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    run_git(repo, "init", "-q", "-b", "main")
    write(repo / ".gitattributes", "*.c ident\n")
    write(repo / "a.c", "/* $Id$ */\n")
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-q", "-m", "ident")
    run_git(repo, "rm", "-q", "--cached", "a.c")
    run_git(repo, "checkout", "HEAD", "--", "a.c")  # expands $Id$ in the worktree
    assert b"$Id: " in (repo / "a.c").read_bytes()
    age_index(repo)
    os.utime(repo / "a.c")
    assert_clean(oracle, repo)


# --- submodules -----------------------------------------------------------------------


@pytest.fixture
def with_submodule(base_repo: Path, tmp_path: Path) -> Path:
    library = tmp_path / "library"
    library.mkdir()
    run_git(library, "init", "-q", "-b", "main")
    write(library / "lib.py", "LIB = 1\n")
    run_git(library, "add", "-A")
    run_git(library, "commit", "-q", "-m", "lib")
    run_git(base_repo, "submodule", "add", "-q", str(library), "vendor/lib")
    run_git(base_repo, "commit", "-q", "-m", "add submodule")
    return base_repo


def test_submodule_clean(oracle: Oracle, with_submodule: Path) -> None:
    assert_clean(oracle, with_submodule)


def test_submodule_dirty_worktree(oracle: Oracle, with_submodule: Path) -> None:
    write(with_submodule / "vendor/lib/lib.py", "LIB = 2\n")
    assert_dirty(oracle, with_submodule, " M vendor/lib")


def test_submodule_untracked_file_is_ignored_with_uno(oracle: Oracle, with_submodule: Path) -> None:
    write(with_submodule / "vendor/lib/scratch.txt", "x\n")
    assert_clean(oracle, with_submodule)
    run_git(with_submodule, "config", "submodule.vendor/lib.ignore", "none")
    assert_dirty(oracle, with_submodule, " M vendor/lib")


def test_submodule_new_commit(oracle: Oracle, with_submodule: Path) -> None:
    sub = with_submodule / "vendor/lib"
    write(sub / "lib.py", "LIB = 3\n")
    run_git(sub, "commit", "-q", "-am", "newer")
    assert_dirty(oracle, with_submodule, " M vendor/lib")
    run_git(with_submodule, "add", "vendor/lib")
    assert_dirty(oracle, with_submodule, "M  vendor/lib")


@pytest.mark.parametrize("ignore", ["all", "dirty"])
def test_submodule_ignore_setting(oracle: Oracle, with_submodule: Path, ignore: str) -> None:
    run_git(with_submodule, "config", "-f", ".gitmodules", "submodule.vendor/lib.ignore", ignore)
    run_git(with_submodule, "commit", "-q", "-am", "ignore setting")
    write(with_submodule / "vendor/lib/lib.py", "LIB = 2\n")
    assert_clean(oracle, with_submodule)
    run_git(with_submodule / "vendor/lib", "commit", "-q", "-am", "newer")
    lines = oracle.compare(with_submodule)
    assert (lines == []) == (ignore == "all")
    run_git(with_submodule, "add", "vendor/lib")  # staged gitlinks show whatever the setting
    assert_dirty(oracle, with_submodule, "M  vendor/lib")


def test_submodule_uninitialised(oracle: Oracle, with_submodule: Path, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    run_git(tmp_path, "clone", "-q", str(with_submodule), str(clone))
    assert (clone / "vendor/lib").is_dir() and not any((clone / "vendor/lib").iterdir())
    assert_clean(oracle, clone)
    (clone / "vendor/lib").rmdir()
    assert_dirty(oracle, clone, " D vendor/lib")


# --- the result's shape ------------------------------------------------------------------


def test_limit_keeps_git_order(base_repo: Path) -> None:
    for name in ("README.md", "pyproject.toml", "run.sh", "src/pkg/core.py"):
        write(base_repo / name, "changed\n")
    repo = discover(base_repo)
    head = read_ref(repo, "HEAD") or ""
    everything = tracked_changes(repo, head, limit=None)
    assert tracked_changes(repo, head, limit=2) == everything[:2]
    assert tracked_changes(repo, head) == everything[:20]
    assert len(everything) == 4


def test_read_only(base_repo: Path) -> None:
    index = base_repo / ".git" / "index"
    before = index.read_bytes(), index.stat().st_mtime_ns
    for path in ("README.md", "src/pkg/core.py"):
        os.utime(base_repo / path)
    write(base_repo / "pyproject.toml", "changed\n")
    repo = discover(base_repo)
    tracked_changes(repo, read_ref(repo, "HEAD") or "")
    assert (index.read_bytes(), index.stat().st_mtime_ns) == before
    assert not list((base_repo / ".git").glob("*.lock"))


# --- untracked files ----------------------------------------------------------------------


def _git_untracked(repo: Path) -> list[str]:
    out = run_git(repo, "--no-optional-locks", "status", "--porcelain")
    return [line for line in out.splitlines() if line.startswith("??")]


def test_untracked_files_like_git(base_repo: Path) -> None:
    write(base_repo / ".gitignore", "*.log\nbuild/\n!keep.log\n")
    write(base_repo / "notes.txt", "x\n")
    write(base_repo / "debug.log", "x\n")
    write(base_repo / "keep.log", "x\n")
    write(base_repo / "build/out.txt", "x\n")
    write(base_repo / "newdir/deeper/file.txt", "x\n")
    write(base_repo / "src/pkg/extra.py", "x\n")
    write(base_repo / "only-ignored/x.log", "x\n")
    (base_repo / "empty-dir").mkdir()
    write(base_repo / ".git/info/exclude", "notes.txt\n")
    write(base_repo / "docs/new file \u00e9.txt", "x\n")
    repo = discover(base_repo)
    assert untracked_files(repo, limit=None) == _git_untracked(base_repo)
    assert untracked_files(repo, limit=2) == _git_untracked(base_repo)[:2]


def test_untracked_with_excludes_file_symlinks_and_negation(base_repo: Path, tmp_path: Path) -> None:
    excludes = tmp_path / "global-ignore"
    excludes.write_text("*.tmp\nsecret/\n")
    run_git(base_repo, "config", "core.excludesFile", str(excludes))
    write(base_repo / "src/.gitignore", "generated/\n*.pyc\n!keep.pyc\n")
    write(base_repo / "src/a.tmp", "x\n")
    write(base_repo / "src/pkg/mod.pyc", "x\n")
    write(base_repo / "src/pkg/keep.pyc", "x\n")
    write(base_repo / "src/generated/out.py", "x\n")
    write(base_repo / "secret/key", "x\n")
    write(base_repo / "data/only.tmp", "x\n")  # a folder holding only ignored files: hidden
    os.symlink("docs", base_repo / "docs-link")  # a symlink to a folder is a file to git
    repo = discover(base_repo)
    assert untracked_files(repo, limit=None) == _git_untracked(base_repo)


def test_untracked_nested_repository(base_repo: Path) -> None:
    nested = base_repo / "nested"
    nested.mkdir()
    run_git(nested, "init", "-q")
    repo = discover(base_repo)
    assert untracked_files(repo, limit=None) == _git_untracked(base_repo) == ["?? nested/"]


# --- the object reader behind the fast path (loose, packs, deltas, alternates) ------------


def _all_objects(repo: Path) -> list[tuple[str, str]]:
    out = run_git(repo, "cat-file", "--batch-all-objects", "--batch-check=%(objectname) %(objecttype)")
    return [tuple(line.split()) for line in out.splitlines()]  # type: ignore[misc]


def _assert_reader_matches_git(repo: Path) -> int:
    from directive_release.git.odb import ObjectReader as _ObjectReader

    reader = _ObjectReader(discover(repo))
    objects = _all_objects(repo)
    for oid, kind in objects:
        got_kind, data = reader.read(bytes.fromhex(oid))
        assert got_kind == kind, oid
        expected = subprocess.run(["git", "cat-file", kind, oid], cwd=repo, capture_output=True, check=True)
        assert data == expected.stdout, oid
    return len(objects)


@pytest.fixture
def history(base_repo: Path) -> Path:
    for i in range(6):
        write(base_repo / "README.md", f"# demo {i}\n" + "a line of text\n" * (50 + i))
        write(base_repo / "src/pkg/core.py", "def f():\n" + f"    return {i}\n" * 40)
        run_git(base_repo, "commit", "-q", "-am", f"change {i}")
    return base_repo


def test_object_reader_loose(history: Path) -> None:
    assert _assert_reader_matches_git(history) > 20


def test_object_reader_offset_deltas(history: Path) -> None:
    run_git(history, "repack", "-q", "-a", "-d", "-f", "--depth=50", "--window=50")
    assert not list((history / ".git/objects").glob("??/*"))
    assert _assert_reader_matches_git(history) > 20


def test_object_reader_reference_deltas(history: Path) -> None:
    run_git(history, "-c", "repack.useDeltaBaseOffset=false", "repack", "-q", "-a", "-d", "-f")
    assert _assert_reader_matches_git(history) > 20


def test_object_reader_sha256_pack(tmp_path: Path) -> None:
    repo = tmp_path / "sha256"
    run_git(tmp_path, "init", "-q", "--object-format=sha256", "-b", "main", str(repo))
    for i in range(4):
        write(repo / "a.txt", "text\n" * (20 + i))
        run_git(repo, "add", "-A")
        run_git(repo, "commit", "-q", "-m", f"c{i}")
    run_git(repo, "gc", "-q", "--aggressive")
    assert _assert_reader_matches_git(repo) >= 12


def test_alternates(oracle: Oracle, history: Path, tmp_path: Path) -> None:
    run_git(history, "gc", "-q")
    clone = tmp_path / "shared"
    run_git(tmp_path, "clone", "-q", "--shared", str(history), str(clone))
    assert (clone / ".git/objects/info/alternates").exists()
    _strip_extension(clone, b"TREE")  # trees must come through the alternate
    assert_clean(oracle, clone)
    run_git(clone, "rm", "-q", "--cached", "README.md")
    assert_dirty(oracle, clone, "D  README.md")


def test_replaced_head_commit(oracle: Oracle, base_repo: Path) -> None:
    # git reads HEAD through refs/replace/: the index is compared with the replacement.
    head = run_git(base_repo, "rev-parse", "HEAD").strip()
    write(base_repo / "README.md", "# replaced\n")
    run_git(base_repo, "add", "README.md")
    tree = run_git(base_repo, "write-tree").strip()
    other = run_git(base_repo, "commit-tree", tree, "-m", "replacement").strip()
    run_git(base_repo, "replace", head, other)
    assert_clean(oracle, base_repo)
    run_git(base_repo, "pack-refs", "--all")  # now from packed-refs
    assert_clean(oracle, base_repo)


def test_no_import_cycle_in_git_package() -> None:
    """Every relative import, type-only and function-level ones included: no module
    of git/ reaches itself (convert.py once typed against a private class of status)."""
    import ast

    import directive_release.git as package

    folder = Path(package.__file__).parent
    modules = {path.stem for path in folder.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for path in folder.glob("*.py"):
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                deps.update([node.module.split(".")[0]] if node.module else [a.name for a in node.names])
        graph[path.stem] = deps & modules
    assert "status" in graph["convert"] or "convert" in graph["status"]  # the pair is really examined
    for start in graph:
        seen: set[str] = set()
        todo = list(graph[start])
        while todo:
            module = todo.pop()
            assert module != start, f"git/{start}.py imports itself through {sorted(seen)}"
            if module not in seen:
                seen.add(module)
                todo.extend(graph[module])
