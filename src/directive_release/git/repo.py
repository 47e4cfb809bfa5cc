"""Find a repository the way git does, and read what a release must check first.

No dulwich: ``dulwich.repo.Repo.discover`` follows neither ``commondir`` with git's
rules for linked worktrees nor ``extensions.*`` (it opens repositories git refuses),
and importing ``dulwich.repo`` costs ~150 ms (notes/dulwich.md §3). Pure file reads,
tested against git in tests/test_release_refusals.py (bare, linked worktree, unknown
extension) and tests/git/test_status_differential.py.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from ..errors import RepositoryError, UnsupportedRepositoryError

_HEX = re.compile(rb"^[0-9a-f]{40}([0-9a-f]{24})?$")

# Extensions (repositoryformatversion 1) whose meaning we honour or which do not
# change how objects, refs or the index are stored on disk.
_KNOWN_EXTENSIONS = {
    "objectformat",
    "worktreeconfig",
    "preciousobjects",
    "partialclone",
    "noop",
    "noop-v1",
}


class Repository(NamedTuple):
    """A repository: where its files, its git dir and its shared dir are.

    The release runs in a work tree (:func:`discover` refuses a bare repository); a
    local remote opened by :func:`open_remote` may be bare, its ``worktree`` then its git dir.
    """

    worktree: Path
    gitdir: Path
    commondir: Path
    object_format: str = "sha1"

    @property
    def index_path(self) -> Path:
        return self.gitdir / "index"

    @property
    def hash_hex_length(self) -> int:
        return 64 if self.object_format == "sha256" else 40

    def dulwich(self):  # -> dulwich.repo.Repo, imported lazily (costly)
        from dulwich.repo import Repo

        return Repo(str(self.worktree))


def _read_gitfile(path: Path) -> Path:
    text = path.read_text(encoding="utf-8", errors="replace").strip()
    if not text.startswith("gitdir:"):
        raise RepositoryError(f"{path}: not a git file (expected 'gitdir: <path>')")
    target = Path(text[len("gitdir:") :].strip())
    if not target.is_absolute():
        target = path.parent / target
    return target.resolve()


def _looks_like_gitdir(path: Path) -> bool:
    return (path / "HEAD").is_file() and (path / "objects").is_dir() or (
        (path / "HEAD").is_file() and (path / "commondir").is_file()
    )


def _commondir_of(gitdir: Path) -> Path:
    marker = gitdir / "commondir"
    if marker.is_file():
        target = Path(marker.read_text(encoding="utf-8").strip())
        if not target.is_absolute():
            target = gitdir / target
        return target.resolve()
    return gitdir


def _read_config_values(config_path: Path) -> dict[str, str]:
    """The ``[core]``/``[extensions]`` keys discovery needs, read by git's own grammar
    (:func:`.config.parse_config`, the one config reader; the release loads it anyway)."""
    from .config_syntax import parse_config

    try:
        text = config_path.read_bytes().decode("utf-8", "surrogateescape")
    except OSError:
        return {}
    return {key: "true" if value is None else value for key, value, _line in parse_config(text, str(config_path))}


def discover(start: Path) -> Repository:
    """Walk up from ``start`` to the first work tree (linked worktrees included)."""
    try:
        current = start.resolve(strict=True)
    except OSError as exc:
        raise RepositoryError(f"{start}: no such directory") from exc
    if not current.is_dir():
        raise RepositoryError(f"{start}: not a directory")
    for candidate in (current, *current.parents):
        dotgit = candidate / ".git"
        if dotgit.is_dir() and _looks_like_gitdir(dotgit):
            gitdir = dotgit
        elif dotgit.is_file():
            gitdir = _read_gitfile(dotgit)
            if not gitdir.is_dir():
                raise RepositoryError(f"{dotgit}: points to missing git dir {gitdir}")
        elif _looks_like_gitdir(candidate) and candidate.name != ".git":
            raise RepositoryError(
                f"{candidate} is a bare repository; run directive-release in a working tree"
            )
        else:
            continue
        return _make_repository(candidate, gitdir)
    raise RepositoryError(
        f"not a git repository (or any parent up to /): {current}"
    )


def open_remote(path: Path) -> tuple[Repository, bool]:
    """The repository a local remote (a path, ``file://``) names, and whether it is bare.

    git's ``enter_repo`` order: ``path/.git``, ``path``, ``path.git/.git``, ``path.git``.
    A bare repository's ``worktree`` is its git dir (it has no work tree).
    """
    for candidate in (path / ".git", path, Path(f"{path}.git") / ".git", Path(f"{path}.git")):
        if candidate.is_file() and candidate.name == ".git":
            gitdir = _read_gitfile(candidate)
        elif candidate.is_dir() and _looks_like_gitdir(candidate):
            gitdir = candidate
        else:
            continue
        bare = candidate.name != ".git"
        repository = _make_repository(candidate.parent if not bare else gitdir, gitdir, allow_bare=True)
        config = _read_config_values(repository.commondir / "config")
        flag = config.get("core.bare")
        if flag is not None:
            bare = flag.lower() in ("true", "yes", "on", "1")
        return repository, bare
    raise RepositoryError(f"{path}: not a git repository")


def _make_repository(worktree: Path, gitdir: Path, *, allow_bare: bool = False) -> Repository:
    commondir = _commondir_of(gitdir)
    config = _read_config_values(commondir / "config")
    if not allow_bare and config.get("core.bare", "false").lower() in ("true", "yes", "on", "1"):
        raise RepositoryError(f"{commondir} is a bare repository; run in a working tree")
    try:
        format_version = int(config.get("core.repositoryformatversion", "0") or "0")
    except ValueError:
        format_version = 0
    if format_version > 1:
        raise UnsupportedRepositoryError(
            f"{commondir}/config: repositoryformatversion {format_version} is not supported"
        )
    object_format = "sha1"
    if format_version == 1:
        for key, value in config.items():
            if not key.startswith("extensions."):
                continue
            name = key.split(".", 1)[1]
            if name == "objectformat":
                object_format = value.lower()
            elif name == "refstorage" and value.lower() == "files":
                continue
            elif name not in _KNOWN_EXTENSIONS:
                raise UnsupportedRepositoryError(
                    f"{commondir}/config: extensions.{name} is not supported"
                    " (directive-release refuses rather than risk a wrong answer)"
                )
    if object_format not in ("sha1", "sha256"):
        raise UnsupportedRepositoryError(
            f"{commondir}/config: extensions.objectformat={object_format} is not supported"
        )
    return Repository(worktree.resolve(), gitdir.resolve(), commondir, object_format)


class HeadState(NamedTuple):
    """What HEAD points at: the branch ref (``refs/heads/x``) and its commit id."""

    ref: str
    commit: str

    @property
    def branch(self) -> str:
        return self.ref.removeprefix("refs/heads/")


def read_ref(repo: Repository, ref: str) -> str | None:
    """The object id a ref names (loose file, then packed-refs), or None."""
    base = repo.gitdir if ref == "HEAD" or not ref.startswith("refs/") else repo.commondir
    if ref.startswith("refs/") and ref.split("/")[1] in ("bisect", "worktree", "rewritten"):
        base = repo.gitdir
    loose = base / ref
    try:
        data = loose.read_bytes().strip()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        data = b""
    if data.startswith(b"ref:"):
        return read_ref(repo, data[4:].strip().decode("utf-8", "replace"))
    if data:
        if not _HEX.match(data):
            raise RepositoryError(f"{loose}: not a valid ref")
        return data.decode("ascii")
    return packed_refs(repo).get(ref)


class PackedRefs(NamedTuple):
    """``packed-refs``: each ref's id, the id git wrote after a tag's line (``^``: the object
    the tag finally names), and whether the header says every tag was peeled that way."""

    refs: dict[str, str]
    peeled: dict[str, str]
    fully_peeled: bool


def read_packed_refs(repo: Repository) -> PackedRefs:
    """The one reader of ``packed-refs`` (refs, ls-remote's ``^{}`` lines, release tags)."""
    try:
        data = (repo.commondir / "packed-refs").read_bytes()
    except FileNotFoundError:
        return PackedRefs({}, {}, False)
    refs: dict[str, str] = {}
    peeled: dict[str, str] = {}
    last: str | None = None
    for line in data.splitlines():
        if not line or line[:1] == b"#":
            continue
        if line[:1] == b"^":
            if last is not None:
                peeled[last] = line[1:].decode("ascii")
            continue
        sha, _, name = line.partition(b" ")
        last = name.decode("utf-8", "replace")
        refs[last] = sha.decode("ascii")
    header = data.split(b"\n", 1)[0]
    return PackedRefs(refs, peeled, header.startswith(b"# pack-refs with:") and b" fully-peeled" in header)


def packed_refs(repo: Repository) -> dict[str, str]:
    return read_packed_refs(repo).refs


def loose_refs(repo: Repository, under: str = "refs") -> dict[str, bytes]:
    """Every loose ref file below ``under`` (``refs/tags``...): full name to its stripped content,
    an id or ``ref: <target>``; lock files are not refs."""
    found: dict[str, bytes] = {}
    root = repo.commondir
    for directory, subdirectories, files in os.walk(root / under):
        subdirectories.sort()
        for name in files:
            if name.endswith(".lock"):
                continue
            path = os.path.join(directory, name)
            try:
                with open(path, "rb") as handle:
                    content = handle.read().strip()
            except OSError:
                continue
            found[os.path.relpath(path, root).replace(os.sep, "/")] = content
    return found


def ref_exists(repo: Repository, ref: str) -> bool:
    return read_ref(repo, ref) is not None


def conflicting_ref(repo: Repository, ref: str) -> str | None:
    """An existing ref that makes ``ref`` impossible to create, or None.

    Refs are files, so ``refs/heads/a`` and ``refs/heads/a/b`` cannot both exist (git:
    "'refs/heads/a' exists; cannot create 'refs/heads/a/b'"), loose or packed.
    """
    parts = ref.split("/")
    for end in range(3, len(parts)):
        prefix = "/".join(parts[:end])
        if read_ref(repo, prefix) is not None:
            return prefix
    below = repo.commondir / ref
    if below.is_dir():
        for path in sorted(below.rglob("*")):
            if path.is_file() and not path.name.endswith(".lock"):
                return str(path.relative_to(repo.commondir))
    nested = sorted(name for name in packed_refs(repo) if name.startswith(ref + "/"))
    return nested[0] if nested else None


def conflicting_name(names: Iterable[str], ref: str) -> str | None:
    """The same directory/file conflict among a list of ref names (e.g. a remote's refs)."""
    prefixes = {"/".join(ref.split("/")[:end]) for end in range(3, ref.count("/") + 1)}
    for name in names:
        if name in prefixes or name.startswith(ref + "/"):
            return name
    return None


def read_head(repo: Repository) -> HeadState:
    """HEAD must be a branch with at least one commit."""
    try:
        data = (repo.gitdir / "HEAD").read_bytes().strip()
    except OSError as exc:
        raise RepositoryError(f"{repo.gitdir}/HEAD: cannot read ({exc.strerror})") from exc
    if not data.startswith(b"ref:"):
        raise RepositoryError(
            "HEAD is detached; check out the branch to release from (git switch main)"
        )
    ref = data[4:].strip().decode("utf-8", "replace")
    from ..refname import ref_name_problem

    problem = ref_name_problem(ref)
    if problem is not None or not ref.startswith("refs/heads/"):
        # git refuses such a HEAD too; reading it would follow a path outside the refs.
        raise RepositoryError(f"{repo.gitdir}/HEAD: points to {ref!r}, not a valid branch ({problem or 'not under refs/heads/'})")
    commit = read_ref(repo, ref)
    if commit is None:
        raise RepositoryError(
            f"branch {ref.removeprefix('refs/heads/')} has no commits yet; commit first"
        )
    return HeadState(ref=ref, commit=commit)


_IN_PROGRESS = (
    ("MERGE_HEAD", "a merge", "git merge --continue or git merge --abort"),
    ("rebase-merge", "a rebase", "git rebase --continue or git rebase --abort"),
    ("rebase-apply", "a rebase or am", "git rebase --continue/--abort or git am --abort"),
    ("CHERRY_PICK_HEAD", "a cherry-pick", "git cherry-pick --continue or --abort"),
    ("REVERT_HEAD", "a revert", "git revert --continue or git revert --abort"),
    ("BISECT_LOG", "a bisect", "git bisect reset"),
)


def check_no_operation_in_progress(repo: Repository) -> None:
    for name, what, how in _IN_PROGRESS:
        if (repo.gitdir / name).exists():
            raise RepositoryError(f"{what} is in progress ({name}); finish it first: {how}")


def is_path_inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def env_git_dir_overrides() -> list[str]:
    """Environment variables that would make git look elsewhere; we refuse them."""
    return [name for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE") if os.environ.get(name)]
