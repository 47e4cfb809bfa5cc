"""The pack a push sends (git/pack.py): exactly what the remote lacks, found without scanning packs.

The git binary is the oracle: ``git rev-list --objects <new> --not <remote tips>`` for the
object set, ``git index-pack --strict`` and ``git fsck --strict`` for the pack, and the
receiving side keeps the pack it got (``transfer.unpackLimit=1``) so its objects can be
counted. Real servers on 127.0.0.1 (git daemon, smart HTTP); file:// is served in-process
(git/local_remote.py) writing into the bare repository.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from servers import make_bare, start_git_daemon, start_http_server
from support import Project, git, make_project, run_cli

import directive_release.git.transport as transport
from directive_release.git.config import load_config
from directive_release.git.odb import ObjectReader
from directive_release.git.pack import plan_push
from directive_release.git.remote import resolve_remote
from directive_release.git.repo import discover
from directive_release.git.transport import RefUpdate, list_remote_refs, push

BRANCH = "refs/heads/release/v9.9.9"


# --- helpers ----------------------------------------------------------------------------------


def _oracle(cwd: Path, new: list[str], tips: list[str]) -> set[str]:
    """``git rev-list --objects new --not tips``: the ids git's push would send."""
    out = git(cwd, "rev-list", "--objects", *new, "--not", *tips, "--")
    return {line.split(" ", 1)[0] for line in out.splitlines() if line}


def _plan(path: Path, new: list[str], tips: list[str]) -> tuple[set[str], list[str], int]:
    repo = discover(path)
    plan = plan_push(ObjectReader(repo), [bytes.fromhex(x) for x in new], [bytes.fromhex(x) for x in tips])
    ids = [oid.hex() for _, oid in plan.objects]
    return set(ids), ids, plan.objects_read


def _commit_files(project: Project, files: dict[str, str | None], message: str) -> str:
    for name, content in files.items():
        target = project.path / name
        if content is None:
            project.git("rm", "-q", name)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        project.git("add", name)
    project.git("commit", "-q", "-m", message)
    return project.git("rev-parse", "HEAD").strip()


def _head(project: Project, rev: str = "HEAD") -> str:
    return project.git("rev-parse", rev).strip()


def _packs(bare: Path) -> set[Path]:
    return set((bare / "objects" / "pack").glob("*.pack"))


def _pack_ids(pack: Path) -> list[str]:
    """Object ids in a pack, from its index (git show-index), duplicates kept."""
    with open(pack.with_suffix(".idx"), "rb") as handle:
        out = subprocess.run(["git", "show-index"], stdin=handle, capture_output=True, text=True, check=True)
    return [line.split()[1] for line in out.stdout.splitlines()]


def _check_pack_strict(pack: Path, before: Path, scratch: Path) -> None:
    """``git index-pack --strict`` on a copy of the received pack, inside a copy of the remote
    taken before the push: every object is fsck-checked and the pack plus what the remote
    had must hold everything the new objects point to."""
    scratch.mkdir(parents=True, exist_ok=True)
    copy = scratch / pack.name
    shutil.copyfile(pack, copy)
    result = subprocess.run(["git", "index-pack", "--strict", "-o", str(copy.with_suffix(".idx")), str(copy)],
                            cwd=before, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def _strict_receiver(bare: Path) -> None:
    """The receiving side checks every object (as index-pack --strict) and keeps the pack whole."""
    for key, value in (("receive.fsckObjects", "true"), ("transfer.fsckObjects", "true"),
                       ("transfer.unpackLimit", "1"), ("receive.unpackLimit", "1")):
        git(bare, "config", key, value)


def _deep_project(root: Path, files: int, *, remote: bool = True) -> Project:
    """A project with ``files`` files spread over nested folders (a/b/c/...), pushed to its remote."""
    project = make_project(root, with_remote=remote)
    for index in range(files):
        target = project.path / "src" / f"d{index % 7}" / f"e{index % 5}" / f"f{index}.txt"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f"file {index}\n")
    project.git("add", "-A")
    project.git("commit", "-q", "-m", "many files")
    if remote:
        project.git("push", "-q", "origin", "main")
    return project


# --- the object set against git's -----------------------------------------------------------------


def test_one_commit_on_the_remote_tip_sends_blob_trees_on_the_path_and_commit(tmp_path: Path) -> None:
    project = _deep_project(tmp_path / "p", 60)
    tip = _head(project)
    new = _commit_files(project, {"src/d3/e1/f31.txt": "changed\n"}, "one change")
    found, ordered, _reads = _plan(project.path, [new], [tip])
    assert found == _oracle(project.path, [new], [tip])
    assert len(found) == 1 + 4 + 1  # blob, trees (root, src, d3, e1), commit
    assert len(ordered) == len(found)  # nothing twice


def test_unpushed_commits_with_a_revert_a_deletion_and_a_new_folder(tmp_path: Path) -> None:
    project = _deep_project(tmp_path / "p", 40)
    tip = _head(project)
    _commit_files(project, {"src/d1/e1/f1.txt": "first edit\n"}, "edit")
    _commit_files(project, {"src/d1/e1/f1.txt": "file 1\n"}, "revert: the remote has this blob")
    _commit_files(project, {"src/d2/e2/f2.txt": None, "new/deep/x.txt": "x\n"}, "delete and add")
    _commit_files(project, {"README.md": "# demo\n\nmore\n"}, "top level")
    new = _head(project)
    found, ordered, _reads = _plan(project.path, [new], [tip])
    assert found == _oracle(project.path, [new], [tip])
    assert len(ordered) == len(found)


def test_merge_and_parent_behind_the_remote_tip(tmp_path: Path) -> None:
    """The pushed branch starts from an ancestor of the remote's tip: the walk stops there, as git's."""
    project = _deep_project(tmp_path / "p", 30)
    base = _head(project)
    project.git("checkout", "-q", "-b", "side")
    _commit_files(project, {"src/d0/e0/f0.txt": "side\n"}, "side work")
    project.git("checkout", "-q", "main")
    for index in range(5):  # the remote's main moves on; we have it (as after a fetch)
        _commit_files(project, {f"src/d4/e4/f{index}.txt": f"main {index}\n"}, f"main {index}")
    project.git("push", "-q", "origin", "main")
    remote_tip = _head(project)
    project.git("checkout", "-q", "side")
    project.git("merge", "-q", "--no-edit", "main")
    _commit_files(project, {"src/d5/new.txt": "after merge\n"}, "after merge")
    new = _head(project)
    found, _ordered, _reads = _plan(project.path, [new], [remote_tip])
    assert found == _oracle(project.path, [new], [remote_tip])
    # and from the old base only (the remote never saw main's five commits)
    found, _ordered, _reads = _plan(project.path, [new], [base])
    assert found == _oracle(project.path, [new], [base])


def test_empty_remote_gets_the_whole_history_and_annotated_tags(tmp_path: Path) -> None:
    project = _deep_project(tmp_path / "p", 20, remote=False)
    _commit_files(project, {"src/d1/e1/f1.txt": "two\n"}, "second")
    project.git("tag", "-a", "v1", "-m", "annotated")
    tag = _head(project, "refs/tags/v1")
    found, ordered, _reads = _plan(project.path, [tag], [])
    assert found == {line.split(" ", 1)[0] for line in project.git("rev-list", "--objects", "--all").splitlines()}
    assert tag in found and len(ordered) == len(found)


def test_several_packs_and_loose_objects(tmp_path: Path) -> None:
    project = _deep_project(tmp_path / "p", 50)
    project.git("repack", "-q", "-d")  # one pack
    tip = _head(project)
    _commit_files(project, {"src/d2/e3/f17.txt": "packed 2\n"}, "packed second")
    project.git("repack", "-q")  # a second pack, the first kept
    _commit_files(project, {"src/d2/e3/f17.txt": "loose\n", "src/d6/e0/f6.txt": "loose too\n"}, "loose")
    new = _head(project)
    assert len(list((project.path / ".git" / "objects" / "pack").glob("*.pack"))) >= 2
    found, ordered, _reads = _plan(project.path, [new], [tip])
    assert found == _oracle(project.path, [new], [tip])
    assert len(ordered) == len(found)


def test_objects_read_do_not_grow_with_the_repository(tmp_path: Path) -> None:
    """The old pack builder unpacked every packed object; this one reads the changed path only."""
    reads = []
    for files in (30, 1500):
        project = _deep_project(tmp_path / f"p{files}", files)
        project.git("gc", "-q")
        tip = _head(project)
        new = _commit_files(project, {"src/d3/e3/f3.txt": "changed\n"}, "one change")
        found, _ordered, objects_read = _plan(project.path, [new], [tip])
        assert found == _oracle(project.path, [new], [tip])
        reads.append((len(found), objects_read))
    assert reads[0] == reads[1]
    assert reads[0][1] <= 12  # two commits and the trees on one path, on each side


def test_push_over_git_daemon_sends_the_changed_path_only(tmp_path: Path) -> None:
    """One changed file five folders down: the blob, the trees on its path and the commit."""
    project = _deep_project(tmp_path / "p", 200)
    project.git("gc", "-q")
    with start_git_daemon(tmp_path / "daemon") as daemon:
        bare = make_bare(daemon.base_path)
        git(project.path, "push", "-q", str(bare), "main")
        new = _commit_files(project, {"src/d3/e1/f3.txt": "changed\n"}, "one change")
        repo = discover(project.path)
        config = load_config(repo)
        push(repo, config, resolve_remote(config, daemon.url()), [RefUpdate(BRANCH, None, new)])
    assert git(bare, "rev-parse", BRANCH).strip() == new
    assert len(transport.last_plan[-1].objects) == 6


PUSH_IN_A_FRESH_PROCESS = """
import sys
from pathlib import Path
from directive_release.git.config import load_config
from directive_release.git.remote import resolve_remote
from directive_release.git.repo import discover
from directive_release.git.transport import RefUpdate, list_remote_refs, push
repo = discover(Path(sys.argv[1]))
config = load_config(repo)
remote = resolve_remote(config, "origin")
assert sys.argv[2] not in list_remote_refs(repo, config, remote)
push(repo, config, remote, [RefUpdate(sys.argv[2], None, sys.argv[3])])
print(" ".join(sorted(name for name in sys.modules if name.split(".")[0] in ("dulwich", "urllib3"))))
"""


@pytest.mark.parametrize("kind", ["file", "git", "http"])
def test_push_loads_neither_dulwich_nor_urllib3(tmp_path: Path, kind: str) -> None:
    """Their imports were most of the push's cost (issue 13): the look-up and the push need neither."""
    import sys

    project = make_project(tmp_path / "p", with_remote=False)
    with _served(kind, tmp_path) as (url, bare, _server):
        project.git("remote", "add", "origin", url)
        git(project.path, "push", "-q", str(bare), "main")
        new = _commit_files(project, {"a.txt": "a\n"}, "a")
        result = subprocess.run([sys.executable, "-c", PUSH_IN_A_FRESH_PROCESS, str(project.path), BRANCH, new],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == ""
        assert git(bare, "rev-parse", BRANCH).strip() == new


# --- what the remote receives, on every transport ------------------------------------------------


@contextmanager
def _served(kind: str, tmp_path: Path) -> Iterator[tuple[str, Path, object]]:
    """(url, bare repository, server) for file://, git:// or smart HTTP."""
    if kind == "file":
        bare = make_bare(tmp_path / "srv")
        yield bare.as_uri(), bare, None
    elif kind == "git":
        with start_git_daemon(tmp_path / "daemon") as daemon:
            yield daemon.url(), make_bare(daemon.base_path), daemon
    else:
        with start_http_server(tmp_path / "http") as server:
            yield server.url(), make_bare(server.project_root), server


@pytest.mark.parametrize("kind", ["file", "git", "http"])
def test_release_pushes_unpushed_commits_in_one_strict_pack(tmp_path: Path, kind: str) -> None:
    """A release whose main is 3 commits ahead of the remote: one pack, fsck-clean, nothing twice."""
    project = make_project(tmp_path / "p", with_remote=False)
    with _served(kind, tmp_path) as (url, bare, _server):
        project.git("remote", "add", "origin", url)
        git(project.path, "push", "-q", str(bare), "main")
        remote_main = _head(project)
        project.git("repack", "-q", "-d")  # what the remote has is packed here; the rest stays loose
        for index in range(3):
            _commit_files(project, {f"pkg/mod{index}.py": f"VALUE = {index}\n", "README.md": f"# v{index}\n"},
                          f"feat: unpushed {index}")
        _strict_receiver(bare)
        before = _packs(bare)
        snapshot = tmp_path / "remote-before.git"
        shutil.copytree(bare, snapshot)
        result = run_cli("patch", "--yes", cwd=project.path)
        assert result.returncode == 0, result.stderr
        commit = _head(project, "release/v0.4.2")
        assert git(bare, "rev-parse", "refs/heads/release/v0.4.2").strip() == commit
        assert git(bare, "rev-parse", "refs/heads/main").strip() == remote_main
        assert git(bare, "rev-list", "--count", f"{remote_main}..{commit}").strip() == "4"
        fsck = subprocess.run(["git", "fsck", "--strict", "--no-dangling"], cwd=bare, capture_output=True,
                              text=True)
        assert fsck.returncode == 0, fsck.stdout + fsck.stderr
        received = _packs(bare) - before
        assert len(received) == 1
        (pack,) = received
        _check_pack_strict(pack, snapshot, tmp_path / "index-pack")
        ids = _pack_ids(pack)
        assert len(ids) == len(set(ids))
        assert set(ids) == _oracle(project.path, [commit], [remote_main])


def test_an_object_the_remote_has_is_not_sent_again(tmp_path: Path) -> None:
    """Changed and changed back: the blob the remote has is not in the pack; the counts match git's."""
    project = _deep_project(tmp_path / "p", 40)
    assert project.remote is not None
    tip = _head(project)
    _commit_files(project, {"src/d1/e1/f1.txt": "temporary\n"}, "edit")
    new = _commit_files(project, {"src/d1/e1/f1.txt": "file 1\n"}, "back")
    repo = discover(project.path)
    config = load_config(repo)
    before = _packs(project.remote)
    push(repo, config, resolve_remote(config, "origin"), [RefUpdate(BRANCH, None, new)])
    (pack,) = _packs(project.remote) - before
    ids = _pack_ids(pack)
    original_blob = project.git("rev-parse", f"{tip}:src/d1/e1/f1.txt").strip()
    assert original_blob not in ids
    assert sorted(ids) == sorted(_oracle(project.path, [new], [tip]))
    git(project.remote, "fsck", "--strict")


# --- how often the remote is contacted --------------------------------------------------------------


def test_file_push_lists_the_remote_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The push reads the remote's refs once (for its compare-and-swap); no confirming look-up after it."""
    from directive_release.git.local_remote import LocalRemote

    listed: list[str] = []
    original = LocalRemote.advertise

    def counting(self):  # type: ignore[no-untyped-def]
        listed.append(str(self.repo.gitdir))
        return original(self)

    monkeypatch.setattr(LocalRemote, "advertise", counting)
    project = make_project(tmp_path / "p")
    repo = discover(project.path)
    config = load_config(repo)
    remote = resolve_remote(config, "origin")
    assert BRANCH not in list_remote_refs(repo, config, remote)
    list_calls = len(listed)
    push(repo, config, remote, [RefUpdate(BRANCH, None, _commit_files(project, {"a.txt": "a\n"}, "a"))])
    assert len(listed) - list_calls == 1
    assert project.remote is not None
    assert git(project.remote, "rev-parse", BRANCH).strip() == _head(project)


def test_release_contacts_the_http_remote_as_often_as_git(tmp_path: Path) -> None:
    """Requests of a release (look-up, push) against those of ``git ls-remote`` + ``git push``."""
    counts = {}
    for who in ("ours", "git"):
        project = make_project(tmp_path / who, with_remote=False)
        with start_http_server(tmp_path / f"http-{who}") as server:
            bare = make_bare(server.project_root)
            project.git("remote", "add", "origin", server.url())
            git(project.path, "push", "-q", str(bare), "main")
            if who == "ours":
                result = run_cli("patch", "--yes", cwd=project.path)
                assert result.returncode == 0, result.stderr
            else:
                project.git("ls-remote", "origin")
                project.git("checkout", "-q", "-b", "release/v0.4.2")
                _commit_files(project, {"pyproject.toml": "changed\n"}, "release")
                project.git("push", "-q", "-u", "origin", "release/v0.4.2")
            assert git(bare, "rev-parse", "refs/heads/release/v0.4.2")
            counts[who] = [(r.method, r.path.split("?")[0].rsplit("/", 1)[-1]) for r in server.requests]
    assert len(counts["ours"]) <= len(counts["git"]), counts
    assert counts["ours"].count(("POST", "git-receive-pack")) == 1, counts
    assert counts["ours"].count(("GET", "refs")) == 2, counts  # one look-up, one push


def test_release_contacts_the_git_daemon_twice(tmp_path: Path) -> None:
    """One look-up (upload-pack), one push (receive-pack): the daemon's own log counts them."""
    project = make_project(tmp_path / "p", with_remote=False)
    with start_git_daemon(tmp_path / "daemon") as daemon:
        bare = make_bare(daemon.base_path)
        project.git("remote", "add", "origin", daemon.url())
        git(project.path, "push", "-q", str(bare), "main")
        log = tmp_path / f"git-daemon-{daemon.port}.log"
        before = log.read_text(errors="replace").count("Connection from")
        result = run_cli("patch", "--yes", cwd=project.path)
        assert result.returncode == 0, result.stderr
        text = log.read_text(errors="replace")
    assert text.count("Connection from") - before == 2
    assert text.count("Request upload-pack") == 1 and text.count("Request receive-pack") == 1


def test_file_push_reads_no_pack_of_the_remote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """file:// runs the receiving side in-process: dulwich's store used to name every pack the
    remote has (reading all their object ids) before moving the new one in; ours opens none."""
    from directive_release.git import odb

    opened: list[str] = []
    original = odb._Pack.__init__

    def counting(self, idx_path, *args, **kwargs):  # type: ignore[no-untyped-def]
        opened.append(str(idx_path))
        original(self, idx_path, *args, **kwargs)

    monkeypatch.setattr(odb._Pack, "__init__", counting)
    project = _deep_project(tmp_path / "p", 100)
    assert project.remote is not None
    project.git("gc", "-q")
    for index in range(3):  # the remote holds several packs
        _commit_files(project, {f"more/{index}.txt": f"{index}\n"}, f"more {index}")
        project.git("push", "-q", "origin", "main")
        git(project.remote, "repack", "-q")
    assert len(_packs(project.remote)) >= 3
    before = _packs(project.remote)
    tip = _head(project)
    new = _commit_files(project, {"src/d3/e3/f3.txt": "changed\n"}, "one change")
    repo = discover(project.path)
    config = load_config(repo)
    push(repo, config, resolve_remote(config, "origin"), [RefUpdate(BRANCH, None, new)])
    assert opened and [path for path in opened if str(project.remote) in path] == []
    (pack,) = _packs(project.remote) - before
    assert sorted(_pack_ids(pack)) == sorted(_oracle(project.path, [new], [tip]))
    assert oct(pack.stat().st_mode & 0o777) == oct(0o444)
    assert not list((project.remote / "objects" / "pack").glob("tmp_*"))
    git(project.remote, "fsck", "--strict")


def test_remote_ahead_with_objects_we_lack_and_an_annotated_tag(tmp_path: Path) -> None:
    """Tips the remote advertises that we do not have are skipped, as git skips them."""
    project = _deep_project(tmp_path / "p", 30)
    assert project.remote is not None
    tip = _head(project)
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", project.remote.as_uri(), str(other))
    (other / "theirs.txt").write_text("theirs\n")
    git(other, "add", "theirs.txt")
    git(other, "commit", "-q", "-m", "theirs")
    git(other, "push", "-q", "origin", "HEAD:refs/heads/theirs")
    new = _commit_files(project, {"src/d2/e2/f2.txt": "ours\n"}, "ours")
    project.git("tag", "-a", "v9.9.9", "-m", "annotated release tag")
    tag = _head(project, "refs/tags/v9.9.9")
    _strict_receiver(project.remote)
    with start_git_daemon(tmp_path / "daemon") as daemon:
        served = daemon.base_path / "r.git"
        shutil.copytree(project.remote, served)
        repo = discover(project.path)
        config = load_config(repo)
        before = _packs(served)
        push(repo, config, resolve_remote(config, daemon.url()),
             [RefUpdate(BRANCH, None, new), RefUpdate("refs/tags/v9.9.9", None, tag)])
    assert git(served, "rev-parse", "refs/tags/v9.9.9").strip() == tag
    (pack,) = _packs(served) - before
    assert sorted(_pack_ids(pack)) == sorted(_oracle(project.path, [new, tag], [tip]))
    git(served, "fsck", "--strict")


def test_push_from_a_shallow_clone(tmp_path: Path) -> None:
    """The shallow boundary's parents are not here: they are taken as on the remote, as git does."""
    project = _deep_project(tmp_path / "p", 30)
    assert project.remote is not None
    for index in range(3):
        _commit_files(project, {f"h{index}.txt": f"{index}\n"}, f"history {index}")
    project.git("push", "-q", "origin", "main")
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", project.remote.as_uri(), str(shallow))
    (shallow / "new.txt").write_text("new\n")
    git(shallow, "add", "new.txt")
    git(shallow, "commit", "-q", "-m", "from a shallow clone")
    new = git(shallow, "rev-parse", "HEAD").strip()
    repo = discover(shallow)
    config = load_config(repo)
    push(repo, config, resolve_remote(config, "origin"), [RefUpdate(BRANCH, None, new)])
    assert git(project.remote, "rev-parse", BRANCH).strip() == new
    git(project.remote, "fsck", "--strict")


def test_a_first_push_of_a_large_history_over_http_is_streamed_and_complete(tmp_path: Path) -> None:
    """An empty remote gets every object: past 1,000 objects the pack goes chunked, not held whole."""
    project = _deep_project(tmp_path / "p", 1100, remote=False)
    with start_http_server(tmp_path / "http") as server:
        bare = make_bare(server.project_root)
        project.git("remote", "add", "origin", server.url())
        repo = discover(project.path)
        config = load_config(repo)
        tip = _head(project)
        push(repo, config, resolve_remote(config, "origin"), [RefUpdate("refs/heads/main", None, tip)])
        posts = [r for r in server.requests if r.method == "POST"]
    assert len(transport.last_plan[-1].objects) > 1000
    assert [r.header("Transfer-Encoding") for r in posts] == [["chunked"]]
    assert git(bare, "rev-parse", "refs/heads/main").strip() == tip
    git(bare, "fsck", "--strict", "--no-dangling")
    assert git(bare, "rev-list", "--objects", "--all").count("\n") == \
        git(project.path, "rev-list", "--objects", "--all").count("\n")


def test_the_push_reuses_the_look_ups_http_connection_when_the_server_keeps_it(tmp_path: Path) -> None:
    """A keep-alive server: the release's look-up, advertisement and push share one TCP connection
    (git's ls-remote and push are two processes, two connections at least)."""
    project = make_project(tmp_path / "p", with_remote=False)
    with start_http_server(tmp_path / "http", keep_alive=True) as server:
        bare = make_bare(server.project_root)
        project.git("remote", "add", "origin", server.url())
        git(project.path, "push", "-q", str(bare), "main")
        result = run_cli("patch", "--yes", cwd=project.path)
        assert result.returncode == 0, result.stderr
        ours = [(r.method, r.path.split("?")[-1], r.peer_port) for r in server.requests]
    assert [(method, what) for method, what, _ in ours] == [
        ("GET", "service=git-upload-pack"), ("GET", "service=git-receive-pack"), ("POST", "/r.git/git-receive-pack")]
    assert len({port for _, _, port in ours}) == 1, ours
    assert git(bare, "rev-parse", "refs/heads/release/v0.4.2").strip() == _head(project, "release/v0.4.2")
