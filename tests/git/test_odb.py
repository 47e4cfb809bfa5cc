"""Objects we write are the objects git writes: same ids, same content, readable by git."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from directive_release.git.identity import Identity
from directive_release.git.objects import commit_body, replace_blob_in_tree, write_commit
from directive_release.git.odb import ObjectReader, parse_tree, serialize_tree, write_object
from directive_release.git.repo import discover
from support import git


@pytest.fixture(params=["sha1", "sha256"])
def repo_path(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    path = tmp_path / "r"
    path.mkdir()
    git(path, "init", "-q", "-b", "main", f"--object-format={request.param}")
    (path / "a").mkdir()
    (path / "a" / "b").mkdir()
    (path / "a" / "b" / "deep.txt").write_text("deep\n")
    (path / "a-file").write_text("sorts between a and a/\n")
    (path / "a.txt").write_text("x\n")
    (path / "pyproject.toml").write_text("[project]\nversion = '1.0.0'\n")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "init")
    return path


@pytest.mark.parametrize("content", [b"", b"hello\n", bytes(range(256)) * 100])
def test_blob_ids_match_git_hash_object(repo_path: Path, content: bytes) -> None:
    repo = discover(repo_path)
    oid = write_object(repo, "blob", content)
    expected = subprocess.run(["git", "hash-object", "--stdin"], input=content, cwd=repo_path,
                              capture_output=True, check=True).stdout.decode().strip()
    assert oid == expected
    assert subprocess.run(["git", "cat-file", "blob", oid], cwd=repo_path, capture_output=True,
                          check=True).stdout == content
    assert write_object(repo, "blob", content) == oid  # idempotent


def test_tree_serialization_matches_git_order(repo_path: Path) -> None:
    repo = discover(repo_path)
    reader = ObjectReader(repo)
    root = reader.commit_tree(git(repo_path, "rev-parse", "HEAD").strip())
    body = reader.read_typed(bytes.fromhex(root), "tree")
    entries = list(parse_tree(body, repo.hash_hex_length // 2))
    assert serialize_tree(list(reversed(entries))) == body
    assert write_object(repo, "tree", body) == root


@pytest.mark.parametrize("path", [b"pyproject.toml", b"a/b/deep.txt"])
def test_replace_blob_in_tree_equals_git_write_tree(repo_path: Path, path: bytes) -> None:
    repo = discover(repo_path)
    head = git(repo_path, "rev-parse", "HEAD").strip()
    blob = write_object(repo, "blob", b"changed\n")
    ours = replace_blob_in_tree(repo, ObjectReader(repo).commit_tree(head), path, blob, 0o100644)
    (repo_path / path.decode()).write_bytes(b"changed\n")
    git(repo_path, "add", path.decode())
    assert ours == git(repo_path, "write-tree").strip()
    assert subprocess.run(["git", "fsck", "--strict"], cwd=repo_path, capture_output=True).returncode == 0


def test_commit_matches_git_commit_tree(repo_path: Path) -> None:
    repo = discover(repo_path)
    head = git(repo_path, "rev-parse", "HEAD").strip()
    tree = git(repo_path, "rev-parse", "HEAD^{tree}").strip()
    who = Identity("Tést Name", "t@example.test", 1700000000, 5400)
    ours = write_commit(repo, tree_id=tree, parent=head, author=who, committer=who, message="msg\n")
    env = {"GIT_AUTHOR_NAME": "Tést Name", "GIT_AUTHOR_EMAIL": "t@example.test",
           "GIT_AUTHOR_DATE": "@1700000000 +0130", "GIT_COMMITTER_NAME": "Tést Name",
           "GIT_COMMITTER_EMAIL": "t@example.test", "GIT_COMMITTER_DATE": "@1700000000 +0130"}
    theirs = git(repo_path, "commit-tree", tree, "-p", head, "-m", "msg", env=env).strip()
    assert ours == theirs


def test_signature_header_layout() -> None:
    who = Identity("N", "e@x", 1, -3600)
    body = commit_body(tree_id="t" * 40, parent="p" * 40, author=who, committer=who, message="m\n",
                       signature=b"-----BEGIN X-----\n\nabc\n-----END X-----\n")
    assert body == (b"tree " + b"t" * 40 + b"\nparent " + b"p" * 40 + b"\nauthor N <e@x> 1 -0100\n"
                    b"committer N <e@x> 1 -0100\ngpgsig -----BEGIN X-----\n \n abc\n -----END X-----\n\nm\n")
