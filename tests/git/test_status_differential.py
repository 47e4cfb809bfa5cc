"""Differential test: random repositories and random operations on them; our clean
check must print what ``git status --porcelain -uno`` prints (renames split). Among
the operations: splitting the index (once, or by core.splitIndex with a re-split at
every write) and a cone-mode sparse index.

300 examples by default (about a minute); DIRECTIVE_LONGRUN=1 runs 3,000.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from directive_release.errors import UnsupportedRepositoryError

from .conftest import git_porcelain, our_porcelain, run_git

LONGRUN = os.environ.get("DIRECTIVE_LONGRUN") == "1"
EXAMPLES = 3000 if LONGRUN else 300

NAME_CHARS = "abcz_-. \u00e9\u00fc"
CONTENTS = [
    b"",
    b"x",
    b"x\n",
    b"hello world\n",
    b"line one\nline two\n",
    b"line one\r\nline two\r\n",
    b"mixed\r\nendings\n",
    b"lone\rcr\n",
    b"\x00\x01\x02binary\n",
    b"\x00\r\n\x00",
    b"$Id$\n",
    b"tab\tand \x1bescape\n",
    b"caf\xc3\xa9\n",
]


def names() -> st.SearchStrategy[str]:
    return st.text(alphabet=NAME_CHARS, min_size=1, max_size=5).filter(
        lambda n: n not in (".", "..") and not n.startswith(".git") and n.strip(" ") == n
    )


@st.composite
def trees(draw: st.DrawFn) -> dict[str, tuple[bytes, int]]:
    """path -> (content, mode) with no file/directory clashes."""
    folders = draw(st.lists(names(), min_size=0, max_size=3, unique=True))
    count = draw(st.integers(min_value=1, max_value=8))
    files: dict[str, tuple[bytes, int]] = {}
    for _ in range(count):
        depth = draw(st.integers(min_value=0, max_value=min(2, len(folders))))
        parts = [draw(st.sampled_from(folders)) for _ in range(depth)] + [draw(names())]
        path = "/".join(parts)
        prefixes = {"/".join(parts[:i]) for i in range(1, len(parts))}
        if path in files or prefixes & set(files) or any(p.startswith(path + "/") for p in files):
            continue
        content = draw(st.sampled_from(CONTENTS))
        mode = draw(st.sampled_from([0o644, 0o644, 0o755]))
        files[path] = (content, mode)
    return files


OPERATIONS = [
    "modify", "modify_same_size", "rewrite_same", "touch", "delete", "chmod", "to_symlink",
    "symlink_to_file", "to_dir", "stage", "stage_all", "rm_cached", "add_n", "mv", "autocrlf",
    "attributes", "filemode_false", "assume_unchanged", "skip_worktree", "index_v4", "untracked",
    "commit", "age_index", "checkout_file", "crlf_rewrite", "symlink_dir", "modify_keep_mtime",
    "age_files", "stat_config", "symlinks_false", "chmod_index", "split_index", "sparse_index",
]


@dataclass
class World:
    root: Path
    files: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    def git(self, *args: str, check: bool = False) -> None:
        run_git(self.root, *args, check=check)

    def pick(self, selector: int) -> str | None:
        return self.files[selector % len(self.files)] if self.files else None


def apply(world: World, op: str, selector: int, content: bytes, flag: int) -> None:
    root = world.root
    path = world.pick(selector)
    target = root / path if path else None
    world.log.append(f"{op} {path!r} {content!r} {flag}")
    if op == "modify" and target is not None and not target.is_dir():
        _replace_with_file(target, content)
    elif op == "modify_same_size" and target is not None and target.is_file() and not target.is_symlink():
        data = target.read_bytes()
        target.write_bytes(bytes(b ^ 1 for b in data) if data else b"")
    elif op == "rewrite_same" and target is not None and target.is_file() and not target.is_symlink():
        target.write_bytes(target.read_bytes())
    elif op == "touch" and target is not None and os.path.lexists(target):
        os.utime(target, follow_symlinks=False)
    elif op == "crlf_rewrite" and target is not None and target.is_file() and not target.is_symlink():
        target.write_bytes(target.read_bytes().replace(b"\n", b"\r\n"))
    elif op == "delete" and target is not None and os.path.lexists(target):
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        else:
            target.unlink()
    elif op == "chmod" and target is not None and target.is_file() and not target.is_symlink():
        target.chmod(target.stat().st_mode ^ 0o111)
    elif op == "to_symlink" and target is not None and os.path.lexists(target) and not target.is_dir():
        target.unlink()
        os.symlink(content.decode("utf-8", "replace").strip("\x00/") or "dangling", target)
    elif op == "symlink_to_file" and target is not None and target.is_symlink():
        link = os.readlink(target)
        target.unlink()
        target.write_bytes(os.fsencode(link) if flag % 2 else content)
    elif op == "symlink_dir" and path is not None and "/" in path:
        folder = root / path.rsplit("/", 1)[0]
        if folder.is_dir() and not folder.is_symlink():
            moved = folder.with_name(folder.name + "-real")
            if not moved.exists():
                os.rename(folder, moved)
                os.symlink(moved.name, folder)
    elif op == "to_dir" and target is not None and os.path.lexists(target) and not target.is_dir():
        target.unlink()
        target.mkdir()
        (target / "inner").write_bytes(content)
        if flag % 3 == 0:
            run_git(target, "init", "-q")
    elif op == "stage" and path is not None:
        world.git("add", "--", path)
    elif op == "stage_all":
        world.git("add", "-A")
    elif op == "rm_cached" and path is not None:
        world.git("rm", "-q", "-r", "--cached", "--", path)
    elif op == "add_n":
        new = f"new{flag % 5}.txt"
        (root / new).write_bytes(content)
        world.git("add", "-N", "--", new)
        world.files.append(new)
    elif op == "mv" and path is not None:
        new = f"moved{flag % 5}"
        world.git("mv", "-k", "--", path, new)
        if os.path.lexists(root / new):
            world.files.append(new)
    elif op == "autocrlf":
        world.git("config", "core.autocrlf", ["true", "false", "input"][flag % 3])
    elif op == "attributes":
        rules = ["* text=auto", "*.txt text", "* -text", "* text eol=crlf", "* eol=lf", "* binary",
                 "* ident", "*e* text", "[attr]mine text\n* mine"]
        (root / ".gitattributes").write_text(rules[flag % len(rules)] + "\n")
        if flag % 2:
            world.git("add", ".gitattributes")
    elif op == "filemode_false":
        world.git("config", "core.fileMode", "false" if flag % 2 else "true")
    elif op == "assume_unchanged" and path is not None:
        world.git("update-index", "--assume-unchanged", "--", path)
    elif op == "skip_worktree" and path is not None:
        world.git("update-index", "--skip-worktree", "--", path)
    elif op == "index_v4":
        world.git("update-index", "--index-version", str(2 + flag % 3))
    elif op == "untracked":
        (root / f"untracked{flag % 3}").write_bytes(content)
    elif op == "commit":
        world.git("add", "-A")
        world.git("commit", "-q", "--allow-empty", "-m", "step")
    elif op == "age_index":
        index = root / ".git" / "index"
        if index.exists():
            shift = [-3, 3, 0][flag % 3] * 10**9
            now = time.time_ns() + shift
            os.utime(index, ns=(now, now))
    elif op == "checkout_file" and path is not None:
        world.git("checkout", "-q", "--", path)
    elif op == "modify_keep_mtime" and target is not None and target.is_file() and not target.is_symlink():
        # Content changes, mtime put back: only ctime (and the racy rule) can tell.
        before = target.stat()
        data = target.read_bytes()
        target.write_bytes(bytes(b ^ 2 for b in data) if flag % 2 and data else content)
        os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    elif op == "age_files":
        # Every file's mtime moves: stat data no longer matches, everything is re-hashed.
        shift = [-5, 5][flag % 2] * 10**9
        for name in world.files:
            if os.path.lexists(root / name):
                st = os.lstat(root / name)
                os.utime(root / name, ns=(st.st_atime_ns, st.st_mtime_ns + shift), follow_symlinks=False)
    elif op == "stat_config":
        key, value = [("core.trustctime", "false"), ("core.checkStat", "minimal"),
                      ("core.trustctime", "true"), ("core.checkStat", "default")][flag % 4]
        world.git("config", key, value)
    elif op == "chmod_index" and path is not None:
        # The index's mode changes, the file (and its stat data) does not.
        world.git("update-index", "--chmod=" + ("+x" if flag % 2 else "-x"), "--", path)
    elif op == "split_index":
        # Split once, split by configuration (re-split at every write), or back to one file.
        if flag % 3 == 0:
            world.git("update-index", "--split-index")
        elif flag % 3 == 1:
            world.git("config", "core.splitIndex", "true")
            world.git("config", "splitIndex.maxPercentChange", "0")
            world.git("update-index", "--really-refresh")
        else:
            world.git("update-index", "--no-split-index")
    elif op == "sparse_index":
        # Cone mode with a sparse index: the picked file's top folder (or only the root
        # files), later writes outside the cone included; or no sparse checkout.
        if flag % 4 == 3:
            world.git("sparse-checkout", "disable")
        else:
            folder = path.split("/")[0] if path is not None and "/" in path else None
            world.git("sparse-checkout", "set", "--cone", "--sparse-index", *([folder] if folder else []))
    elif op == "symlinks_false":
        world.git("config", "core.symlinks", "false" if flag % 2 else "true")


def _replace_with_file(target: Path, content: bytes) -> None:
    if target.is_symlink():
        target.unlink()
    if not target.parent.is_dir():  # a folder a sparse checkout removed: put the file back
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError:
            return  # a file or a dangling symlink where the folder was
    target.write_bytes(content)


def build(root: Path, files: dict[str, tuple[bytes, int]]) -> World:
    root.mkdir()
    run_git(root, "init", "-q", "-b", "main")
    for path, (content, mode) in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        target.chmod(mode)
    run_git(root, "add", "-A")
    run_git(root, "commit", "-q", "-m", "base")
    return World(root, sorted(files))


operation = st.tuples(
    st.sampled_from(OPERATIONS),
    st.integers(min_value=0, max_value=50),
    st.sampled_from(CONTENTS),
    st.integers(min_value=0, max_value=50),
)

EXAMPLES_RUN = {"count": 0, "dirty": 0, "split": 0, "sparse": 0, "refused": 0}


def check_against_git(files: dict[str, tuple[bytes, int]], operations: list[tuple[str, int, bytes, int]]) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="status-diff-"))
    try:
        world = build(scratch / "repo", files)
        for op, selector, content, flag in operations:
            apply(world, op, selector, content, flag)
        git_reads_it = subprocess.run(["git", "--no-optional-locks", "status", "--porcelain", "-uno"],
                                      cwd=world.root, capture_output=True).returncode == 0
        try:
            ours = our_porcelain(world.root)
        except UnsupportedRepositoryError as refused:
            # Split and sparse together: git 2.39 dies reading such an index wherever a
            # directory collapses; we refuse the combination outright (stricter).
            assert "split index (core.splitIndex) with a sparse index" in str(refused), str(refused)
            assert not git_reads_it or b"sdir" not in (world.root / ".git" / "index").read_bytes()
            EXAMPLES_RUN["refused"] += 1
            return
        assert git_reads_it, "\n".join(["operations:", *world.log, f"ours: {ours}", "git: cannot read it"])
        theirs = git_porcelain(world.root)
        EXAMPLES_RUN["count"] += 1
        EXAMPLES_RUN["dirty"] += bool(theirs)
        index = world.root / ".git" / "index"
        raw = index.read_bytes() if index.exists() else b""  # no "link"/"sdir" can be a name here
        EXAMPLES_RUN["split"] += b"link" in raw
        EXAMPLES_RUN["sparse"] += b"sdir" in raw
        assert ours == theirs, "\n".join(["operations:", *world.log, f"ours: {ours}", f"git:  {theirs}"])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs the git binary as oracle")
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,
)
@given(files=trees(), operations=st.lists(operation, min_size=0, max_size=6))
def test_verdict_equals_git(files: dict[str, tuple[bytes, int]], operations: list[tuple[str, int, bytes, int]]) -> None:
    check_against_git(files, operations)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs the git binary as oracle")
@settings(
    max_examples=EXAMPLES // 3,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,
)
@given(
    files=trees(),
    before=st.lists(operation, min_size=0, max_size=3),
    index_format=st.tuples(st.sampled_from(["split_index", "sparse_index"]), st.integers(0, 50),
                           st.just(b""), st.sampled_from([0, 1, 2])),
    after=st.lists(operation, min_size=0, max_size=4),
)
def test_verdict_equals_git_on_split_and_sparse_indexes(
    files: dict[str, tuple[bytes, int]],
    before: list[tuple[str, int, bytes, int]],
    index_format: tuple[str, int, bytes, int],
    after: list[tuple[str, int, bytes, int]],
) -> None:
    """The same, with the index split (once or by configuration) or made sparse at some
    point: every later operation writes through git in that format."""
    check_against_git(files, [*before, index_format, *after])


def test_report_examples_run() -> None:
    """Runs after the property (file order): how many examples ran, how many dirty."""
    if EXAMPLES_RUN["count"]:
        print(f"\ndifferential: {EXAMPLES_RUN['count']} examples, {EXAMPLES_RUN['dirty']} dirty per git,"
              f" {EXAMPLES_RUN['split']} with a split index, {EXAMPLES_RUN['sparse']} with a sparse index,"
              f" {EXAMPLES_RUN['refused']} refused (split and sparse together)")
        assert EXAMPLES_RUN["dirty"] > 0  # the generator does produce dirty trees
        if EXAMPLES_RUN["count"] >= 100:  # ... and compares both index formats
            assert EXAMPLES_RUN["split"] > 0 and EXAMPLES_RUN["sparse"] > 0
        assert EXAMPLES_RUN["dirty"] < EXAMPLES_RUN["count"]  # ... and clean ones
