"""Suggest the part to bump from the commits merged since the last release.

The last release is the highest ``tag-format`` tag (``vX.Y.Z`` by default)
reachable from HEAD, or failing that the newest commit whose message is the
configured release message (``chore(release): vX.Y.Z``). The commits since
then are read with dulwich's walker (``git rev-list BASE..HEAD``), never with
``describe`` (which mistakes branches for tags and miscounts across merges).

Conventional Commits decide the part: a breaking change (``type!:`` or a
``BREAKING CHANGE:`` footer) -> major, ``feat`` -> minor, ``fix``/``perf`` ->
patch. Below 1.0.0 a breaking change suggests minor: in semver, 0.x promises
no stability, and moving to 1.0.0 declares the API stable, which is a decision
for the maintainer rather than a side effect of one commit message. Commits
that follow no convention suggest nothing beyond patch, and the reason says so.

Only called when the part is really asked for: it imports dulwich lazily.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import version as semver
from .settings import Settings
from .version import Part

if TYPE_CHECKING:  # pragma: no cover
    from dulwich.objects import Commit
    from dulwich.repo import Repo

    from .git.repo import Repository

# Reading more history than this would make the prompt slow on huge repositories;
# the suggestion then says how much it read.
COMMIT_LIMIT = 10_000

ARROW = "\N{RIGHTWARDS ARROW}"

# type(scope)!: subject -- the Conventional Commits 1.0.0 header.
_HEADER = re.compile(r"^(?P<type>[A-Za-z][A-Za-z0-9-]*)(?:\([^()\r\n]*\))?(?P<bang>!)?: \S")
# Footers are case-sensitive per the specification; BREAKING-CHANGE is its synonym.
_BREAKING_FOOTER = re.compile(r"^BREAKING[ -]CHANGE: ", re.MULTILINE)
# GitHub's squash merge appends " (#123)" to the subject of the pull request's title.
_PR_SUFFIX = r"(?: \(#[0-9]+\))?"
_SEMVER = r"(?P<version>[0-9]+\.[0-9]+\.[0-9]+)"
# A placeholder that cannot appear in a template, to split it around {version}.
_HOLE = "\x00"

# The order categories are listed in the reason line.
CATEGORIES = ("breaking", "feat", "fix", "perf", "other")


@dataclass(frozen=True)
class Suggestion:
    """The suggested part and the one line that explains it."""

    part: Part
    reason: str
    # Counts by kind: breaking, feat, fix, perf, other (conventional types that
    # bump nothing), unconventional, merge.
    commits: dict[str, int] = field(default_factory=dict)
    since: str | None = None  # the tag, or the release commit, the count starts after
    truncated: bool = False

    @property
    def conventional(self) -> bool:
        return any(self.commits.get(kind, 0) for kind in CATEGORIES)


def classify(message: str, parent_count: int) -> str:
    """One of CATEGORIES, "unconventional", or "merge" (merges are counted apart:
    the commits they bring in are walked and classified themselves)."""
    if parent_count > 1:
        return "merge"
    header = _HEADER.match(message)
    if header is None:
        return "unconventional"
    kind = header["type"].lower()  # types are case-insensitive in the specification
    body = message.split("\n", 1)[1] if "\n" in message else ""
    if header["bang"] or _BREAKING_FOOTER.search(body):
        return "breaking"
    if kind in ("feat", "fix", "perf"):
        return kind
    return "other"


def part_for(counts: dict[str, int], current_version: str) -> Part:
    """The part the counted commits call for."""
    if counts.get("breaking"):
        return "major" if semver.parse(current_version).major >= 1 else "minor"
    if counts.get("feat"):
        return "minor"
    return "patch"


def template_pattern(template: str) -> re.Pattern[str]:
    """A regex matching what ``template.format(version=X.Y.Z)`` renders, X.Y.Z captured."""
    rendered = template.format(version=_HOLE)
    before, _, after = rendered.partition(_HOLE)
    return re.compile(re.escape(before) + _SEMVER + re.escape(after))


def _tag_versions(repo: Repo, settings: Settings) -> dict[bytes, tuple[semver.Version, str]]:
    """Commit id -> (highest version, tag name) for every tag matching ``tag-format``."""
    pattern = template_pattern(settings.tag_format)
    found: dict[bytes, tuple[semver.Version, str]] = {}
    for raw_name in repo.refs.keys(base=b"refs/tags/"):
        name = raw_name.decode("utf-8", "replace")
        match = pattern.fullmatch(name)
        if match is None or not semver.is_valid(match["version"]):
            continue
        try:
            commit_id = repo.get_peeled(b"refs/tags/" + raw_name)
            if repo.object_store[commit_id].type_name != b"commit":
                continue  # a tag of a tree or blob marks no release
        except KeyError:
            continue  # a dangling tag: ignore it rather than fail the prompt
        candidate = (semver.parse(match["version"]), name)
        if commit_id not in found or candidate[0] > found[commit_id][0]:
            found[commit_id] = candidate
    return found


def _walk(repo: Repo, head: bytes, exclude: list[bytes]) -> Iterator[Commit]:
    """Commits reachable from ``head`` and not from ``exclude``, newest first, bounded."""
    for entry in repo.get_walker(include=[head], exclude=exclude, max_entries=COMMIT_LIMIT + 1):
        yield entry.commit


def _message(commit: Commit) -> str:
    encoding = commit.encoding.decode("ascii", "replace") if commit.encoding else "utf-8"
    try:
        return commit.message.decode(encoding, "replace")
    except LookupError:  # an encoding header Python does not know: read it as git would show it
        return commit.message.decode("utf-8", "replace")


@dataclass
class _Base:
    commit: bytes
    label: str


def _find_base(repo: Repo, head: bytes, settings: Settings) -> tuple[_Base | None, list[Commit], bool]:
    """The last release reachable from HEAD, plus the commits read looking for it."""
    tags = _tag_versions(repo, settings)
    best_overall = max((version for version, _name in tags.values()), default=None)
    release_message = template_pattern(settings.commit_message.split("\n", 1)[0].rstrip())
    best_tag: tuple[semver.Version, str, bytes] | None = None
    first_release_commit: _Base | None = None
    seen: list[Commit] = []
    truncated = False
    for commit in _walk(repo, head, []):
        if len(seen) == COMMIT_LIMIT:
            truncated = True
            break
        seen.append(commit)
        tagged = tags.get(commit.id)
        if tagged is not None and (best_tag is None or tagged[0] > best_tag[0]):
            best_tag = (tagged[0], tagged[1], commit.id)
            if tagged[0] == best_overall:
                break  # no tag anywhere is higher: the rest of history cannot change the answer
        if first_release_commit is None:
            subject = _message(commit).split("\n", 1)[0].rstrip()
            match = re.fullmatch(release_message.pattern + _PR_SUFFIX, subject)
            if match is not None and semver.is_valid(match["version"]):
                short = commit.id.decode("ascii")[:7]
                first_release_commit = _Base(commit.id, f'"{subject}" ({short})')
    if best_tag is not None:
        return _Base(best_tag[2], best_tag[1]), seen, truncated
    return first_release_commit, seen, truncated


def _count(commits: Iterable[Commit]) -> tuple[dict[str, int], bool]:
    counts: dict[str, int] = {}
    truncated = False
    for number, commit in enumerate(commits):
        if number == COMMIT_LIMIT:
            truncated = True
            break
        kind = classify(_message(commit), len(commit.parents))
        counts[kind] = counts.get(kind, 0) + 1
    return counts, truncated


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _reason(counts: dict[str, int], since: str | None, truncated: bool, part: Part, settings: Settings) -> str:
    changes = sum(count for kind, count in counts.items() if kind != "merge")
    merges = counts.get("merge", 0)
    if changes == 0 and merges == 0:
        return f"no commits since {since} {ARROW} {part}"
    total = _plural(changes, "commit").replace(" ", "+ ", 1) if truncated else _plural(changes, "commit")
    if merges:
        total += f" and {_plural(merges, 'merge')}"
    bound = f" (read only the newest {COMMIT_LIMIT:,})" if truncated else ""
    if since is None:
        message_shape = settings.message_for("X.Y.Z").split("\n", 1)[0]
        missing = f'no tag {settings.tag_for("X.Y.Z")}, no commit "{message_shape}"'
        if truncated:  # the last release may be further back than we read
            head = f"{total}{bound}, {missing} among them"
        else:
            head = f"first release ({missing}): {total}"
    else:
        head = f"{total} since {since}{bound}"
    if not any(counts.get(kind) for kind in CATEGORIES):
        return f"{head}, none in Conventional Commits form (feat:, fix:, ...) {ARROW} {part}, no suggestion"
    parts = [f"{counts[kind]:,} {kind}" for kind in CATEGORIES if counts.get(kind) and kind != "other"]
    others = counts.get("other", 0) + counts.get("unconventional", 0)
    if others:
        parts.append(f"{others:,} other")
    line = f"{head}: {', '.join(parts)} {ARROW} {part}"
    if counts.get("breaking") and part != "major":
        line += " (breaking below 1.0.0 bumps minor; choose major for 1.0.0)"
    return line


def suggest_part(repo: Repository, head_commit: str, settings: Settings, current_version: str) -> Suggestion:
    """Suggest the part to bump from the commits since the last release reachable from HEAD.

    Advisory only: a history dulwich cannot read (a missing or corrupt object)
    gives patch and a reason saying so, never an error that stops the release.
    """
    from dulwich.errors import MissingCommitError, ObjectFormatException

    try:
        dulwich_repo = repo.dulwich()
        try:
            counts, since, truncated = _counts_since_release(dulwich_repo, head_commit.encode("ascii"), settings)
        finally:
            dulwich_repo.close()
    except (KeyError, OSError, ValueError, MissingCommitError, ObjectFormatException) as exc:
        detail = type(exc).__name__ if isinstance(exc, KeyError) else str(exc) or type(exc).__name__
        return Suggestion(part="patch", reason=f"could not read the history ({detail}) {ARROW} patch, no suggestion")
    part = part_for(counts, current_version)
    return Suggestion(part=part, reason=_reason(counts, since, truncated, part, settings),
                      commits=counts, since=since, truncated=truncated)


def _counts_since_release(repo: Repo, head: bytes, settings: Settings) -> tuple[dict[str, int], str | None, bool]:
    base, seen, truncated = _find_base(repo, head, settings)
    if base is None:
        counts, _ = _count(seen)
        return counts, None, truncated
    counts, truncated = _count(_walk(repo, head, [base.commit]))
    return counts, base.label, truncated
