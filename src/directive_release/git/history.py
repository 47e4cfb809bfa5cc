"""Read history for the suggestion: the last release reachable from HEAD, and the commits since.

No dulwich here, measured: reading the messages of 20,000 commits since a tag (one pack,
after ``git gc``) takes dulwich's ``Repo.get_walker`` 1.59 s against 0.23 s here, finding
the tag included (7x; ``python benchmarks/bench_picker.py``, on this 2-core machine under
load), and the picker has to be on screen within 2x of ``git log`` over that range plus
questionary's import. This module reads through :meth:`.odb.ObjectReader.read_commit`:
each pack opened and its index mapped once, commit objects only (never a tree or a blob),
the next object in the pack tried first. dulwich's walker also differs in behaviour: it
stops at nothing but a count or excluded commits, while the last release has to be found
on the way; and the commits since it must be git's own (``tests/git/test_history.py`` checks
them, in order, against ``git log`` on random histories with clock skew).

Two walks, both in git's order (newest committer date first, ties in the order reached):

1. from HEAD until the last release is found: the newest commit that carries a release
   (a tag, a release commit, the merge of a release branch, as the caller's rules say);
   an older one replaces it only when its version is higher and the first was not final
   (the caller's ``settled`` said no and some tag has a higher version): a stray lower tag
   on a newer commit is not the last release;
2. ``git rev-list HEAD ^RELEASE``: the commits HEAD has and the release has not, with
   rev-list's own stopping rule (``limit_list``: stop once every commit still queued is
   reachable from the release, after five more of them for clock skew), so a side branch
   older than the release but merged after it is counted, as git counts it.

Both stop at a deadline, looked at every 256 commits (``BATCH``: a walk reads at least that
many, so a deadline already past reads exactly one batch per walk); the result then says
how many commits were read. Commits named in ``.git/shallow`` have no parents (as git
treats them); a walk that ends there says so. What counts as a release is not decided
here: the caller passes the rules (``suggest.py``); this module only knows git's formats.

It also counts how far HEAD and the remote's base branch have moved apart
(:func:`ahead_behind`, ``git rev-list --count --left-right``) for the release's base-branch
check. Every commit header is read by :func:`.odb.parse_commit_header`, as the push's walk
(:mod:`.pack`) reads them.
"""

from __future__ import annotations

import binascii
import heapq
import time
import zlib
from collections.abc import Callable
from typing import Generic, NamedTuple, TypeVar

from ..errors import RepositoryError
from .odb import ObjectReader, parse_commit_header, peel_tags
from .repo import Repository, loose_refs, read_packed_refs

V = TypeVar("V")

# Commits read between two looks at the clock.
BATCH = 256
# git's SLOP (revision.c): commits still popped once everything queued is uninteresting.
_SLOP = 5


class Release(NamedTuple, Generic[V]):
    """The commit the last release was made from, and how it was recognised."""

    commit: str  # hex id
    version: V
    kind: str  # "tag", "commit" (its subject is a release message) or "merge" (of a release branch)
    name: str  # the tag's name, or the commit's subject


class Since(NamedTuple, Generic[V]):
    """What was read: the last release (None if none was found) and the commits since."""

    release: Release[V] | None
    # (message, number of parents) of each commit in RELEASE..HEAD (all read commits when
    # no release was found), newest first.
    commits: list[tuple[str, int]]
    complete: bool = True  # False: the deadline stopped a walk; ``commits`` is what was read by then
    read: int = 0  # commits read: those walked when no release was found, else every one parsed
    seconds: float = 0.0
    shallow: bool = False  # the walk reached a commit whose parents this clone does not have


class _Commit:
    __slots__ = ("parents", "date", "raw")

    def __init__(self, parents: tuple[bytes, ...], date: int, raw: bytes) -> None:
        self.parents = parents
        self.date = date
        self.raw = raw  # the whole body: headers, blank line, message


class _Graph:
    """Commits parsed once, shared by both walks."""

    def __init__(self, repo: Repository) -> None:
        self.reader = ObjectReader(repo)
        self.hex_length = repo.hash_hex_length
        self.commits: dict[bytes, _Commit] = {}
        self.shallow = _shallow(repo)
        self.reached_shallow = False

    def get(self, oid: bytes) -> _Commit:
        commit = self.commits.get(oid)
        if commit is None:
            try:
                data = self.reader.read_commit(oid)
            except (zlib.error, ValueError, IndexError, KeyError) as exc:  # a corrupt pack
                raise RepositoryError(f"commit {oid.hex()}: cannot read it ({exc})") from exc
            commit = self.commits[oid] = self._parse(oid, data)
        return commit

    def _parse(self, oid: bytes, data: bytes) -> _Commit:
        try:
            _tree, parents, date = parse_commit_header(data, self.hex_length)
        except (ValueError, binascii.Error) as exc:
            raise RepositoryError(f"commit {oid.hex()}: malformed ({exc})") from exc
        if oid in self.shallow:
            if parents:
                self.reached_shallow = True
            parents = []
        return _Commit(tuple(parents), date, data)


def message(raw: bytes) -> str:
    """A commit's message as ``git log`` shows it: in its ``encoding`` header's charset, else UTF-8."""
    end = raw.find(b"\n\n")
    if end < 0:
        return ""
    return _decode(raw, end, raw[end + 2 :])


def subject(raw: bytes) -> str:
    """The first line of the message, without trailing blanks."""
    end = raw.find(b"\n\n")
    if end < 0:
        return ""
    line_end = raw.find(b"\n", end + 2)
    return _decode(raw, end, raw[end + 2 : line_end if line_end >= 0 else len(raw)]).rstrip()


def _decode(raw: bytes, header_end: int, text: bytes) -> str:
    at = raw.find(b"\nencoding ", 0, header_end)
    if at >= 0:
        name = raw[at + 10 : header_end].split(b"\n", 1)[0].decode("ascii", "replace").strip()
        try:
            return text.decode(name, "replace")
        except LookupError:  # a charset Python does not know: show it as git would, as UTF-8
            pass
    return text.decode("utf-8", "replace")


def read_since_release(
    repo: Repository,
    head: str,
    *,
    tag_version: Callable[[str], V | None],
    commit_version: Callable[[str], V | None],
    settled: Callable[[V], bool],
    deadline: float,
    subject_starts: tuple[bytes, ...] | None = None,
) -> Since[V]:
    """The last release reachable from ``head`` and the commits since it, newest first.

    ``tag_version(name)`` gives the version a tag under refs/tags/ names, or None if it marks
    no release; ``commit_version(subject)`` likewise for a commit's subject (a merge is a
    release also when its second parent's subject is one). The newest release found is the
    last one when ``settled(version)`` or when no tag at all has a higher version; otherwise
    an older one with a higher version replaces it (a stray lower tag is not the last
    release). ``deadline`` is a ``time.monotonic()`` value, looked at every ``BATCH`` commits.
    ``subject_starts``, if given, are the only ways a release's subject can start (in UTF-8):
    other subjects are not even decoded. Raises RepositoryError on a missing or malformed object.
    """
    started = time.monotonic()
    graph = _Graph(repo)
    tags = _tagged_commits(repo, graph.reader, tag_version)
    highest_tag = max((version for version, _name in tags.values()), default=None)

    def final(version: V) -> bool:
        return settled(version) or highest_tag is None or not highest_tag > version  # type: ignore[operator]

    def version_of(raw: bytes) -> V | None:
        if subject_starts is not None:
            start = raw.find(b"\n\n") + 2
            if start < 2 or not raw.startswith(subject_starts, start):
                return None
        return commit_version(subject(raw))

    head_id = bytes.fromhex(head)
    release, complete, popped = _find_release(graph, head_id, tags, version_of, final, deadline)
    if release is None or not complete:
        read = len(popped)
        if release is not None:  # out of time past a release that was not final: the commits up to it
            popped = popped[: popped.index(bytes.fromhex(release.commit))]
        return Since(release, _messages(graph, popped), complete, read,
                     time.monotonic() - started, graph.reached_shallow and release is None)
    at = popped.index(bytes.fromhex(release.commit))
    if all(len(graph.commits[oid].parents) == 1 for oid in popped[:at]):
        # One line of commits from HEAD down to the release: exactly what rev-list would list.
        return Since(release, _messages(graph, popped[:at]), True, len(graph.commits), time.monotonic() - started)
    since, complete = _rev_list(graph, head_id, bytes.fromhex(release.commit), deadline)
    return Since(release, _messages(graph, since), complete, len(graph.commits), time.monotonic() - started)


def _messages(graph: _Graph, oids: list[bytes]) -> list[tuple[str, int]]:
    commits = graph.commits
    return [(message(commits[oid].raw), len(commits[oid].parents)) for oid in oids]


def _find_release(
    graph: _Graph,
    head: bytes,
    tags: dict[bytes, tuple[V, str]],
    version_of: Callable[[bytes], V | None],
    final: Callable[[V], bool],
    deadline: float,
) -> tuple[Release[V] | None, bool, list[bytes]]:
    """Walk from HEAD, newest first, to the last release; also the commits popped, in order."""
    order = 0
    queue: list[tuple[int, int, bytes]] = [(-graph.get(head).date, order, head)]
    seen = {head}
    popped: list[bytes] = []
    found: Release[V] | None = None
    while queue:
        if len(popped) % BATCH == 0 and popped and time.monotonic() >= deadline:
            return found, False, popped
        _, _, oid = heapq.heappop(queue)
        popped.append(oid)
        commit = graph.commits[oid]
        candidate = _release_of(graph, oid, commit, tags, version_of)
        if candidate is not None and (found is None or candidate.version > found.version):  # type: ignore[operator]
            found = candidate
        if found is not None and final(found.version):
            return found, True, popped
        for parent in commit.parents:
            if parent not in seen:
                seen.add(parent)
                order += 1
                heapq.heappush(queue, (-graph.get(parent).date, order, parent))
    return found, True, popped


def _release_of(
    graph: _Graph,
    oid: bytes,
    commit: _Commit,
    tags: dict[bytes, tuple[V, str]],
    version_of: Callable[[bytes], V | None],
) -> Release[V] | None:
    candidates: list[Release[V]] = []
    tagged = tags.get(oid)
    if tagged is not None:
        candidates.append(Release(oid.hex(), tagged[0], "tag", tagged[1]))
    version = version_of(commit.raw)
    if version is not None:
        kind = "merge" if len(commit.parents) > 1 else "commit"
        candidates.append(Release(oid.hex(), version, kind, subject(commit.raw)))
    elif len(commit.parents) > 1:
        version = version_of(graph.get(commit.parents[1]).raw)
        if version is not None:
            candidates.append(Release(oid.hex(), version, "merge", subject(commit.raw)))
    if not candidates:
        return None
    # A tag names the release better than a message does; the highest version wins.
    return max(candidates, key=lambda release: (release.version, release.kind == "tag"))


def _rev_list(graph: _Graph, head: bytes, base: bytes, deadline: float) -> tuple[list[bytes], bool]:
    """``git rev-list head ^base`` as revision.c's limit_list() computes it, newest first;
    False if the deadline cut it short (the list then holds what was read by then)."""
    uninteresting: set[bytes] = {base}
    seen: set[bytes] = {head, base}
    # git marks through the parents of the commits this walk has parsed, not further (the
    # graph may hold more, from the first walk): the same marks give git's very result.
    parsed: set[bytes] = {head, base}
    queued: set[bytes] = set()
    order = 0
    queue: list[tuple[int, int, bytes]] = []
    for oid in (head, base):
        order += 1
        heapq.heappush(queue, (-graph.get(oid).date, order, oid))
        queued.add(oid)
    # How many queued commits are not (yet) uninteresting: everybody_uninteresting() is 0.
    interesting = 1

    def mark_parents_uninteresting(commit: _Commit) -> None:
        nonlocal interesting
        stack = list(commit.parents)
        while stack:
            oid = stack.pop()
            if oid in uninteresting:
                continue
            uninteresting.add(oid)
            if oid in queued:
                interesting -= 1
            if oid in parsed:
                stack.extend(graph.commits[oid].parents)

    mark_parents_uninteresting(graph.commits[base])  # handle_commit() does it for ^base

    slop = _SLOP
    last_date: int | None = None  # the date of the last commit listed (TIME_MAX before any)
    listed: list[bytes] = []
    popped = 0
    while queue:
        if popped % BATCH == 0 and popped and time.monotonic() >= deadline:
            return [oid for oid in listed if oid not in uninteresting], False
        popped += 1
        _, _, oid = heapq.heappop(queue)
        queued.discard(oid)
        commit = graph.commits[oid]
        is_uninteresting = oid in uninteresting
        if not is_uninteresting:
            interesting -= 1
        # process_parents()
        for parent_id in commit.parents:
            if is_uninteresting and parent_id not in uninteresting:
                uninteresting.add(parent_id)
                if parent_id in queued:
                    interesting -= 1
            parent = graph.get(parent_id)
            parsed.add(parent_id)
            if is_uninteresting:
                mark_parents_uninteresting(parent)
            if parent_id in seen:
                continue
            seen.add(parent_id)
            order += 1
            heapq.heappush(queue, (-parent.date, order, parent_id))
            queued.add(parent_id)
            if parent_id not in uninteresting:
                interesting += 1
        if is_uninteresting:
            # still_interesting(): go on while something queued is interesting or newer than
            # the last commit listed; then only SLOP more.
            if not queue:
                break
            if (last_date is not None and last_date <= -queue[0][0]) or interesting > 0:
                slop = _SLOP
                continue
            slop -= 1
            if slop:
                continue
            break
        last_date = commit.date
        listed.append(oid)
    # A commit listed before a later discovery made it uninteresting is not in the range.
    return [oid for oid in listed if oid not in uninteresting], True


def _shallow(repo: Repository) -> frozenset[bytes]:
    try:
        text = (repo.commondir / "shallow").read_text("ascii")
    except (OSError, UnicodeDecodeError):
        return frozenset()
    found = set()
    for line in text.split():
        try:
            found.add(bytes.fromhex(line))
        except ValueError:
            continue
    return frozenset(found)


def _tagged_commits(
    repo: Repository, reader: ObjectReader, tag_version: Callable[[str], V | None]
) -> dict[bytes, tuple[V, str]]:
    """Commit id -> (highest version, tag name) over the tags ``tag_version`` accepts, peeled;
    tags of trees or blobs, and dangling tags, mark no release and are left out."""
    refs: dict[str, tuple[bytes, bytes | None]] = {}  # name -> (object, peeled commit if known)
    packed = read_packed_refs(repo)
    for name, oid in packed.refs.items():
        if not name.startswith("refs/tags/"):
            continue
        try:
            peeled = packed.peeled.get(name)
            refs[name[10:]] = (bytes.fromhex(oid), bytes.fromhex(peeled) if peeled is not None else None)
        except ValueError:
            continue
    for name, content in loose_refs(repo, "refs/tags").items():
        try:
            refs[name[10:]] = (bytes.fromhex(content.decode("ascii")), None)
        except ValueError:
            continue  # not a ref git could read either (a symbolic ref to a tag is not a release)
    found: dict[bytes, tuple[V, str]] = {}
    for name, (oid, peeled) in refs.items():
        version = tag_version(name)
        if version is None:
            continue
        target = peeled if peeled is not None else _peel(reader, oid)
        if target is None:
            continue
        if target not in found or version > found[target][0]:  # type: ignore[operator]
            found[target] = (version, name)
    return found


def _peel(reader: ObjectReader, oid: bytes) -> bytes | None:
    """The commit a tag ref points to through annotated tags; None for a tree, a blob or a missing object."""
    peeled = peel_tags(reader, oid)
    return peeled[1] if peeled is not None and peeled[0] == "commit" else None


# The base branch's comparison (release/base.py): ahead and behind, as rev-list counts them.


def has_commit(reader: ObjectReader, commit: str) -> bool:
    """Is ``commit`` (hex) a commit in this repository's object database?"""
    try:
        reader.read_typed(bytes.fromhex(commit), "commit")
    except (RepositoryError, ValueError):
        return False
    return True


def ahead_behind(reader: ObjectReader, ours: str, theirs: str, limit: int) -> tuple[int, int] | None:
    """``git rev-list --count --left-right ours...theirs``: commits only in ours, only in theirs.

    Both histories are walked newest first, each commit marked with the side(s) it is
    reachable from; the walk stops once every commit still queued is reachable from both
    and older than every commit so far reachable from one side only (so none of those can
    still turn out to be an ancestor of both: commits made in the same second included).
    None when more than ``limit`` commits would have to be read, or history is missing
    (a shallow clone).
    """
    mine, other, both = 1, 2, 3
    flags: dict[str, int] = {}
    known: dict[str, tuple[int, list[str]]] = {}
    queue: list[tuple[int, int, str]] = []
    order = 0
    oldest_single: int | None = None  # the oldest date among one-sided commits; None: to recompute

    def mark(commit: str, flag: int) -> None:
        nonlocal order, oldest_single
        before = flags.get(commit, 0)
        after = before | flag
        if after == before:
            return
        flags[commit] = after
        if commit not in known:
            _tree, parents, when = parse_commit_header(reader.read_typed(bytes.fromhex(commit), "commit"),
                                                       reader.hash_size * 2)
            known[commit] = (when, [parent.hex() for parent in parents])
        oldest_single = None
        order += 1
        heapq.heappush(queue, (-known[commit][0], order, commit))

    try:
        mark(ours, mine)
        mark(theirs, other)
        read = 0
        while queue:
            if all(flags[commit] == both for _, _, commit in queue):
                if oldest_single is None:
                    singles = [known[commit][0] for commit, flag in flags.items() if flag != both]
                    oldest_single = min(singles) if singles else -1
                if -queue[0][0] < oldest_single:
                    break
            _, _, commit = heapq.heappop(queue)
            read += 1
            if read > limit:
                return None
            for parent in known[commit][1]:
                mark(parent, flags[commit])
    except (RepositoryError, ValueError, binascii.Error):
        return None
    ahead = sum(1 for flag in flags.values() if flag == mine)
    behind = sum(1 for flag in flags.values() if flag == other)
    return ahead, behind
