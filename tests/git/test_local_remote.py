"""A path or file:// remote served in-process (git/local_remote.py) and the pack writer
(git/pack.py), against the git binary: ``git ls-remote``, ``git index-pack``, ``git push``."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from servers import make_bare
from support import Project, git

from directive_release.errors import RemoteError
from directive_release.git.config import GitConfig, load_config
from directive_release.git.odb import ObjectReader
from directive_release.git.pack import pack_index, pack_stream, plan_push
from directive_release.git.remote import Remote, resolve_remote
from directive_release.git.repo import Repository, discover
from directive_release.git.transport import RefUpdate, list_remote_refs, push

BRANCH = "refs/heads/release/v2.0.0"


def _ls_remote(cwd: Path, url: str) -> dict[str, str]:
    out = git(cwd, "ls-remote", url)
    return {name: sha for sha, name in (line.split("\t") for line in out.splitlines())}


def _listed(project: Project, url: str) -> dict[str, str]:
    repo = discover(project.path)
    config = load_config(repo)
    return dict(list_remote_refs(repo, config, resolve_remote(config, url)))


def _head(path: Path, rev: str = "HEAD") -> str:
    return git(path, "rev-parse", rev).strip()


def _rich_remote(project: Project, tmp_path: Path) -> Path:
    """A non-bare clone with loose and packed refs, annotated tags (one of a tag), a lightweight
    tag, a symbolic ref (refs/remotes/origin/HEAD) and a ref that is a lock file."""
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(project.path), str(other))
    git(other, "config", "user.name", "T")
    git(other, "config", "user.email", "t@example.invalid")
    git(other, "tag", "-a", "v1", "-m", "annotated")
    git(other, "tag", "-a", "v1-of-tag", "v1", "-m", "a tag of a tag")
    git(other, "tag", "light")
    git(other, "branch", "feature/a")
    git(other, "pack-refs", "--all")
    git(other, "commit", "-q", "--allow-empty", "-m", "later")
    git(other, "tag", "-a", "v2", "-m", "loose annotated")
    git(other, "branch", "feature/b")
    (other / ".git" / "refs" / "heads" / "half.lock").write_text(_head(other) + "\n")
    return other


def test_listing_matches_git_ls_remote_on_a_rich_non_bare_remote(project: Project, tmp_path: Path) -> None:
    other = _rich_remote(project, tmp_path)
    listed = _listed(project, str(other))
    assert listed == _ls_remote(project.path, str(other))
    assert "refs/tags/v1-of-tag^{}" in listed and "refs/remotes/origin/HEAD" in listed
    assert _listed(project, other.as_uri()) == listed


def test_listing_matches_git_on_a_bare_remote_packed_without_peeled_lines(project: Project,
                                                                           tmp_path: Path) -> None:
    """packed-refs written by an old git (no ``peeled`` trait): the tags are read to peel them."""
    bare = make_bare(tmp_path / "srv")
    project.git("tag", "-a", "v0", "-m", "old")
    project.git("push", "-q", str(bare), "main", "v0")
    git(bare, "pack-refs", "--all")
    packed = bare / "packed-refs"
    lines = [line for line in packed.read_text().splitlines() if not line.startswith(("#", "^"))]
    packed.write_text("\n".join(lines) + "\n")
    listed = _listed(project, str(bare))
    assert listed == _ls_remote(project.path, str(bare))
    assert "refs/tags/v0^{}" in listed


def test_git_enters_the_same_repository_for_a_path_without_its_suffix(project: Project, tmp_path: Path) -> None:
    """git tries path/.git, path, path.git/.git, path.git: so do we."""
    bare = make_bare(tmp_path / "srv", "named.git")
    project.git("push", "-q", str(bare), "main")
    without_suffix = str(tmp_path / "srv" / "named")
    assert _listed(project, without_suffix) == _ls_remote(project.path, without_suffix)


def _non_bare_clone_behind(project: Project, tmp_path: Path) -> tuple[Path, str]:
    """A clone with main checked out (its commit returned), and the project one commit ahead of it."""
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(project.path), str(other))
    before = _head(other)
    project.git("commit", "-q", "--allow-empty", "-m", "ahead")
    return other, before


def test_push_to_the_checked_out_branch_is_refused_as_git_refuses_it(project: Project, tmp_path: Path) -> None:
    other, before = _non_bare_clone_behind(project, tmp_path)
    repo = discover(project.path)
    config = load_config(repo)
    oracle = subprocess.run(["git", "push", str(other), "main"], cwd=project.path, capture_output=True, text=True)
    assert oracle.returncode != 0 and "branch is currently checked out" in oracle.stderr
    with pytest.raises(RemoteError) as error:
        push(repo, config, resolve_remote(config, str(other)),
             [RefUpdate("refs/heads/main", before, _head(project.path))])
    assert "rejected: branch is currently checked out" in str(error.value)
    assert _head(other) == before
    assert not list((other / ".git" / "objects" / "pack").glob("pack-*.pack"))  # nothing moved in
    git(other, "config", "receive.denyCurrentBranch", "ignore")
    push(repo, config, resolve_remote(config, str(other)), [RefUpdate("refs/heads/main", before, _head(project.path))])
    assert _head(other, "refs/heads/main") == _head(project.path)


def _release_branch_pushed(project: Project) -> tuple[Repository, GitConfig, Remote, str]:
    """BRANCH pushed at HEAD to the project's own file:// remote ("origin")."""
    repo = discover(project.path)
    config = load_config(repo)
    remote = resolve_remote(config, "origin")
    head = _head(project.path)
    push(repo, config, remote, [RefUpdate(BRANCH, None, head)])
    return repo, config, remote, head


def test_delete_refusals_follow_receive_settings(project: Project, tmp_path: Path) -> None:
    assert project.remote is not None
    repo, config, remote, head = _release_branch_pushed(project)
    git(project.remote, "config", "receive.denyDeletes", "true")
    with pytest.raises(RemoteError, match="rejected: deletion prohibited"):
        push(repo, config, remote, [RefUpdate(BRANCH, head, None)])
    assert _head(project.remote, BRANCH) == head
    git(project.remote, "config", "receive.denyDeletes", "false")
    push(repo, config, remote, [RefUpdate(BRANCH, head, None)])
    assert BRANCH not in _ls_remote(project.path, str(project.remote))


def test_a_remote_of_the_other_object_format_is_refused_before_anything_is_written(project: Project,
                                                                                     tmp_path: Path) -> None:
    bare = tmp_path / "sha256.git"
    git(tmp_path, "init", "-q", "--bare", "--object-format=sha256", str(bare))
    repo = discover(project.path)
    config = load_config(repo)
    with pytest.raises(RemoteError) as error:
        push(repo, config, resolve_remote(config, str(bare)), [RefUpdate(BRANCH, None, _head(project.path))])
    assert "sha256" in str(error.value) and "sha1" in str(error.value)
    assert not list((bare / "objects").rglob("*.pack"))


def test_a_directory_that_is_no_repository_is_one_line(project: Project, tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    repo = discover(project.path)
    config = load_config(repo)
    with pytest.raises(RemoteError) as error:
        push(repo, config, resolve_remote(config, str(tmp_path / "plain")), [RefUpdate(BRANCH, None, _head(project.path))])
    message = str(error.value)
    assert "not a git repository" in message and "\n" not in message


@pytest.mark.parametrize("object_format", ["sha1", "sha256"])
def test_pack_and_index_are_byte_for_byte_what_git_index_pack_writes(tmp_path: Path, object_format: str) -> None:
    """The whole history as one pack: ``git index-pack --strict`` accepts it and its .idx is ours, byte for byte."""
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q", f"--object-format={object_format}")
    for index in range(40):
        (work / f"f{index}.txt").write_text("x" * (index * 37) + "\n")
    (work / "big.bin").write_bytes(bytes(range(256)) * 300)
    git(work, "add", "-A")
    git(work, "-c", "user.name=T", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "files")
    repo = discover(work)
    reader = ObjectReader(repo)
    tip = bytes.fromhex(_head(work))
    plan = plan_push(reader, [tip], [])
    entries: list[tuple[bytes, int, int]] = []
    chunks = list(pack_stream(reader, plan.objects, entries))
    pack = tmp_path / "out.pack"
    pack.write_bytes(b"".join(chunks))
    result = subprocess.run(["git", "index-pack", "--strict", f"--object-format={object_format}", str(pack)],
                            cwd=work, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert pack_index(entries, chunks[-1], reader.hash_size) == pack.with_suffix(".idx").read_bytes()
    expected = set(git(work, "rev-list", "--objects", "--all").split())
    expected = {word for word in expected if len(word) == len(_head(work))}
    assert {oid.hex() for oid, _, _ in entries} == expected


def test_one_refused_ref_stops_every_ref_and_is_the_one_named(project: Project, tmp_path: Path) -> None:
    other, before = _non_bare_clone_behind(project, tmp_path)
    repo = discover(project.path)
    config = load_config(repo)
    with pytest.raises(RemoteError) as error:
        push(repo, config, resolve_remote(config, str(other)),
             [RefUpdate(BRANCH, None, _head(project.path)), RefUpdate("refs/heads/main", before, _head(project.path))])
    assert "push of refs/heads/main" in str(error.value) and "checked out" in str(error.value)
    assert BRANCH not in _ls_remote(project.path, str(other))


def test_receive_settings_come_from_the_global_config_and_a_bare_key_too(project: Project, tmp_path: Path) -> None:
    """receive-pack reads the user's global config as well as the remote's (git is the oracle)."""
    assert project.remote is not None
    repo, config, remote, head = _release_branch_pushed(project)
    git(tmp_path, "config", "--global", "receive.denyDeletes", "true")
    oracle = subprocess.run(["git", "push", "--dry-run", str(project.remote), f":{BRANCH}"], cwd=project.path,
                            capture_output=True, text=True)
    refused_by_git = subprocess.run(["git", "push", str(project.remote), f":{BRANCH}"], cwd=project.path,
                                    capture_output=True, text=True)
    assert oracle.returncode == 0 and refused_by_git.returncode != 0 and "deletion prohibited" in refused_by_git.stderr
    with pytest.raises(RemoteError, match="rejected: deletion prohibited"):
        push(repo, config, remote, [RefUpdate(BRANCH, head, None)])
    git(tmp_path, "config", "--global", "--unset", "receive.denyDeletes")
    with open(project.remote / "config", "a") as handle:
        handle.write("[receive]\n\tdenyDeletes\n")  # a bare key: true
    with pytest.raises(RemoteError, match="rejected: deletion prohibited"):
        push(repo, config, remote, [RefUpdate(BRANCH, head, None)])
    assert _head(project.remote, BRANCH) == head
