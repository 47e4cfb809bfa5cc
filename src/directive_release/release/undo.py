"""Undo as data: the records a release writes before each change, and the one replayer.

Before a step changes anything it writes a small record of exactly what it is
about to change and what it expects to leave there: a ref and the ids before
and after, HEAD's branch before and after, the config keys it adds, a file's
hashes before and after (and the version literal it swaps, never the file's
content), a reflog line it appends, the remote branch it pushes. The same
records serve the in-process unwind (an error, Ctrl-C, SIGTERM) and
``--recover`` after a SIGKILL or a power cut: :func:`replay` walks them in
reverse and **compares before it restores**: it touches a ref, key or file only
if it still holds what the release left there. Anything changed since (by the
user, by another git command) is kept, and the report says so in one line.

A record written for a change that never happened is harmless: the thing still
holds its "before" value, and the replayer leaves it alone. Records carry no
credential in any form: a remote is recorded by its name only, and the URL is
looked up (with its credentials) again when the push must be taken back.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Callable, NamedTuple

from ..errors import ReleaseError
from ..git import refs
from ..git.repo import Repository, read_ref

Record = dict[str, Any]

# A recorded path is relative to one of three roots: the work tree, the (per-worktree) git
# dir or the common dir shared by linked worktrees. Paths are stored relative so a
# repository moved between a kill and --recover is still recovered.


def base_path(repo: Repository, name: str) -> Path:
    """The root a record's ``base`` names."""
    return {"worktree": repo.worktree, "gitdir": repo.gitdir, "commondir": repo.commondir}[name]


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _latin1(data: bytes) -> str:
    """Bytes as JSON-safe text, losslessly (every byte is one latin-1 character)."""
    return data.decode("latin-1")


# --- the records: each says what a step is about to change ---------------------------


def ref_record(ref: str, old: str | None, new: str) -> Record:
    """``ref`` will move from ``old`` (None: created) to ``new``."""
    return {"kind": "ref", "ref": ref, "old": old, "new": new}


def head_record(old_ref: str, new_ref: str) -> Record:
    """HEAD will point at branch ``new_ref`` instead of ``old_ref``."""
    return {"kind": "head", "old": old_ref, "new": new_ref}


def append_record(base: str, path: str, offset: int, line: bytes, *, created: bool) -> Record:
    """``line`` will be appended to the append-only file ``path`` (a reflog), now ``offset`` bytes long
    (``created``: the file does not exist yet)."""
    return {"kind": "append", "base": base, "path": path, "offset": offset, "data": _latin1(line),
            "created": created}


def file_edit_record(base: str, path: str, before: bytes, after: bytes, info: os.stat_result) -> Record:
    """A file will change from ``before`` to ``after``, which differ in one short span (a version literal).

    Only that span and the hashes of both versions are recorded, never the rest of the
    file: a file can hold anything (an index URL with a token), and the undo rebuilds
    ``before`` from whatever is there if, and only if, it is still exactly ``after``.
    """
    start = 0
    limit = min(len(before), len(after))
    while start < limit and before[start] == after[start]:
        start += 1
    end = 0
    while end < limit - start and before[-1 - end] == after[-1 - end]:
        end += 1
    return {"kind": "file", "base": base, "path": path, "offset": start,
            "old": _latin1(before[start:len(before) - end]), "new": _latin1(after[start:len(after) - end]),
            "before": digest(before), "after": digest(after), "mode": info.st_mode & 0o7777,
            "atime_ns": info.st_atime_ns, "mtime_ns": info.st_mtime_ns}


def scratch_file_record(base: str, path: str, orig: str | None, after: bytes) -> Record:
    """git's own scratch file (COMMIT_EDITMSG: the last commit message) will be replaced by ``after``;
    the one it replaces is kept as ``orig`` beside the journal (a hard link, never a copy in the
    journal: a message can say anything), None if there was none."""
    return {"kind": "scratch", "base": base, "path": path, "orig": orig, "after": digest(after)}


def index_record(orig: str, before: bytes, after: bytes, staged: list[tuple[bytes, str]]) -> Record:
    """The index will change from ``before`` (kept as ``orig`` beside the journal) to ``after``,
    which stages each ``(path, oid)`` of ``staged``."""
    return {"kind": "index", "orig": orig, "before": digest(before), "after": digest(after),
            "staged": [[_latin1(path), oid] for path, oid in staged]}


def config_record(section: str, subsection: str, keys: list[tuple[str, str]]) -> Record:
    """These keys will be added to ``[section "subsection"]`` of the repository's config."""
    return {"kind": "config", "section": section, "subsection": subsection, "keys": [list(k) for k in keys]}


def remote_ref_record(remote: str, ref: str, old: str | None, new: str) -> Record:
    """``ref`` on the remote named ``remote`` will move from ``old`` (None: created) to ``new``."""
    return {"kind": "remote_ref", "remote": remote, "ref": ref, "old": old, "new": new}


def lock_record(base: str, path: str) -> Record:
    """``path.lock`` will be taken (and held across steps, as the index lock is)."""
    return {"kind": "lock", "base": base, "path": path}


def retract_record(seq: int) -> Record:
    """The change announced by record ``seq`` is over (a lock released) or never happened."""
    return {"kind": "retract", "seq": seq}


# --- the replayer -----------------------------------------------------------------------


class Report(NamedTuple):
    """What an undo did (``done``), what it left alone because it changed since (``kept``),
    and what it could not do (``problems``)."""

    done: list[str]
    kept: list[str]
    problems: list[str]


class Context(NamedTuple):
    """What the replayer needs beyond the records.

    ``live_locks``: in-process, the locks this release still holds (rolled back, not
    removed by name). ``push_back(remote, ref, commit)``: deletes a remote branch if it
    still holds ``commit`` and says what it found ("deleted", "absent", "moved (now at …)");
    it resolves the remote, with its credentials, at that moment. ``started_ns``: when the release began; ``--recover`` removes only lock
    files at least that new.
    """

    repo: Repository
    live_locks: dict[str, refs.LockFile]
    push_back: Callable[[str, str, str], str]
    started_ns: int
    recovering: bool


def pending(records: list[Record]) -> list[tuple[int, Record]]:
    """The records still to undo, newest first (retracted ones and the bookkeeping left out)."""
    retracted = {record["seq"] for record in records if record.get("kind") == "retract"}
    return [(seq, record) for seq, record in reversed(list(enumerate(records)))
            if seq not in retracted and record.get("kind") not in ("retract", "start", "completed")]


def replay(records: list[Record], context: Context) -> Report:
    """Undo every pending record, newest first; keep going past a failure (say it, do the rest)."""
    report = Report([], [], [])
    todo = pending(records)
    adopted = _adopted_branch(todo, context.repo)
    if adopted is not None:
        # HEAD, the index and the work tree are one checkout: the user works on the release
        # branch now (it moved since), so all three stay as they are, together.
        report.kept.append(f"HEAD, the index and the work tree (you are on {_short_ref(adopted)},"
                           " which moved since the release)")
        todo = [(seq, record) for seq, record in todo if record.get("kind") not in _CHECKOUT]
    for _seq, record in todo:
        undo = _UNDO.get(record.get("kind", ""))
        if undo is None:
            report.problems.append(f"unknown undo record {record.get('kind')!r}")
            continue
        try:
            undo(record, context, report)
        except (ReleaseError, OSError) as exc:
            report.problems.append(_problem(record, exc))
    return report


# The records that together make the checkout: HEAD's branch (and its reflog lines), the index,
# the work-tree files.
_CHECKOUT = ("head", "append", "index", "file")


def _adopted_branch(todo: list[tuple[int, Record]], repo: Repository) -> str | None:
    """The release branch, if HEAD is on it and it holds a commit the release never put there."""
    for _seq, record in todo:
        if record.get("kind") != "head" or refs.read_symbolic_head(repo) != record["new"]:
            continue
        ours = {value for _s, r in todo if r.get("kind") == "ref" and r["ref"] == record["new"]
                for value in (r["old"], r["new"])}
        current = read_ref(repo, record["new"])
        if current is not None and current not in ours:
            return record["new"]
    return None


def _problem(record: Record, exc: BaseException) -> str:
    text = str(exc) if isinstance(exc, ReleaseError) else f"{getattr(exc, 'filename', '') or ''} {exc.strerror or exc}".strip()
    return f"{describe(record)}: {text}"


def describe(record: Record) -> str:
    kind = record.get("kind")
    if kind in ("ref", "remote_ref"):
        where = f" on {record['remote']}" if kind == "remote_ref" else ""
        return f"{_short_ref(record['ref'])}{where}"
    if kind == "head":
        return "HEAD"
    if kind == "config":
        return f'[{record["section"]} "{record["subsection"]}"] in .git/config'
    if kind == "index":
        return "the index"
    return str(record.get("path", kind))


def _short_ref(ref: str) -> str:
    for prefix in ("refs/heads/", "refs/tags/"):
        if ref.startswith(prefix):
            return ref[len(prefix):]
    return ref


def _undo_ref(record: Record, context: Context, report: Report) -> None:
    repo, ref, old, new = context.repo, record["ref"], record["old"], record["new"]
    current = read_ref(repo, ref)
    if current == new:
        if old is None:
            refs.delete_ref(repo, ref, expected=new)
            report.done.append(f"deleted {_short_ref(ref)}")
        else:
            refs.move_ref_back(repo, ref, from_id=new, to_id=old)
    elif current != old:
        now = "deleted" if current is None else f"now at {current[:7]}"
        report.kept.append(f"{_short_ref(ref)} ({now}, moved since the release)")


def _undo_head(record: Record, context: Context, report: Report) -> None:
    current = refs.read_symbolic_head(context.repo)
    if current == record["new"]:
        refs.set_symbolic_head(context.repo, record["old"])
        report.done.append(f"switched back to {_short_ref(record['old'])}")
    elif current != record["old"]:
        report.kept.append(f"HEAD (now on {_short_ref(current) if current else 'a detached commit'},"
                           " switched since the release)")


def _undo_append(record: Record, context: Context, report: Report) -> None:
    refs.remove_appended(base_path(context.repo, record["base"]) / record["path"], record["offset"],
                         record["data"].encode("latin-1"), created=record["created"])


def _undo_file(record: Record, context: Context, report: Report) -> None:
    import stat

    from ..git.lockfile import write_file

    path = base_path(context.repo, record["base"]) / record["path"]
    try:
        info = path.lstat()
    except FileNotFoundError:
        report.kept.append(f"{record['path']} (deleted since the release)")
        return
    if not stat.S_ISREG(info.st_mode):
        report.kept.append(f"{record['path']} (replaced since the release)")
        return
    current = path.read_bytes()
    found = digest(current)
    if found == record["before"]:
        return
    if found != record["after"]:
        report.kept.append(f"{record['path']} (changed since the release)")
        return
    offset, old, new = record["offset"], record["old"].encode("latin-1"), record["new"].encode("latin-1")
    before = current[:offset] + old + current[offset + len(new):]
    if digest(before) != record["before"]:  # cannot happen unless the record was altered
        raise ReleaseError(f"{record['path']}: the journal does not rebuild the original; left as it is")
    write_file(path, before, mode=record["mode"])
    os.utime(path, ns=(record["atime_ns"], record["mtime_ns"]))
    report.done.append(f"restored {record['path']}")


def _undo_scratch(record: Record, context: Context, report: Report) -> None:
    path = base_path(context.repo, record["base"]) / record["path"]
    try:
        current = path.read_bytes()
    except FileNotFoundError:
        return
    if digest(current) == record["after"]:
        orig = record["orig"]
        data = None if orig is None else (context.repo.gitdir / "directive-release" / orig).read_bytes()
        refs.restore_file(path, data)


def _undo_index(record: Record, context: Context, report: Report) -> None:
    repo = context.repo
    orig_path = repo.gitdir / "directive-release" / record["orig"]
    current = read_optional(repo.index_path)
    if current is None or digest(current) == record["before"]:
        return
    try:
        original = orig_path.read_bytes()
    except FileNotFoundError:
        report.problems.append("the index: its copy from before the release is missing")
        return
    if digest(current) != record["after"]:
        staged = {path.encode("latin-1"): oid for path, oid in record["staged"]}
        if _same_entries_except(repo, current, original, {}):
            return  # rewritten since (git refreshed it, or checked out the original branch): as before
        if not _same_entries_except(repo, current, original, staged):
            report.kept.append("the index (changed since the release)")
            return
    refs.restore_file(repo.index_path, original)
    report.done.append("restored the index")


def _same_entries_except(repo: Repository, current: bytes, original: bytes, staged: dict[bytes, str]) -> bool:
    """True if ``current`` has the same entries as ``original`` (stat data aside), except that each path
    of ``staged`` holds its new object id (an empty ``staged``: exactly the original entries)."""
    from ..git.index import parse_index_bytes

    length = repo.hash_hex_length
    try:
        now = {(e.path, e.stage): (e.mode, e.sha)
               for e in parse_index_bytes(repo.index_path, current, hash_hex_length=length).entries}
        then = {(e.path, e.stage): (e.mode, e.sha)
                for e in parse_index_bytes(repo.index_path, original, hash_hex_length=length).entries}
    except ReleaseError:
        return False
    for path, oid in staged.items():
        was = then.get((path, 0))
        if was is None:
            return False
        then[(path, 0)] = (was[0], oid)
    return now == then


def _undo_config(record: Record, context: Context, report: Report) -> None:
    from ..git.config_edit import remove_keys

    kept = remove_keys(context.repo.commondir / "config", record["section"], record["subsection"],
                       [tuple(pair) for pair in record["keys"]])
    section = f'{record["section"]}.{record["subsection"]}'
    if kept:
        report.kept.append(f"{', '.join(f'{section}.{key}' for key in kept)} in .git/config (changed since the release)")
    else:
        report.done.append(f"removed {section}.* from .git/config")


def _undo_remote_ref(record: Record, context: Context, report: Report) -> None:
    if record["old"] is not None:  # the release only ever creates remote branches
        raise ReleaseError("cannot move a remote branch back")
    outcome = context.push_back(record["remote"], record["ref"], record["new"])
    name = f"{_short_ref(record['ref'])} on {record['remote']}"
    if outcome == "deleted":
        report.done.append(f"deleted {name}")
    elif outcome.startswith("moved"):
        report.kept.append(f"{name} ({outcome} since the release)")


def _undo_lock(record: Record, context: Context, report: Report) -> None:
    target = base_path(context.repo, record["base"]) / record["path"]
    live = context.live_locks.get(str(target))
    if live is not None:
        live.rollback()
        return
    if not context.recovering:
        return  # in-process, a lock not in live_locks was never taken, or is released
    lock = target.with_name(target.name + ".lock")
    try:
        if lock.lstat().st_mtime_ns >= context.started_ns - CLOCK_SLACK_NS:
            lock.unlink()
            report.done.append(f"removed {_display(context.repo, lock)}")
    except FileNotFoundError:
        pass


# File-system time stamps come from a coarser clock than time.time_ns(): allow for it.
CLOCK_SLACK_NS = 2_000_000_000


def _display(repo: Repository, path: Path) -> str:
    return str(path.relative_to(repo.worktree)) if path.is_relative_to(repo.worktree) else str(path)


def read_optional(path: Path) -> bytes | None:
    """A file's bytes, or None if it does not exist."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


_UNDO: dict[str, Callable[[Record, Context, Report], None]] = {
    "ref": _undo_ref,
    "head": _undo_head,
    "append": _undo_append,
    "file": _undo_file,
    "scratch": _undo_scratch,
    "index": _undo_index,
    "config": _undo_config,
    "remote_ref": _undo_remote_ref,
    "lock": _undo_lock,
}
