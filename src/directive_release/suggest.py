"""Suggest the part to bump from the commits merged since the last release.

Pure rules over what :mod:`.git.history` reads (the only module here that touches git's
files): which tag, commit or merge is a release, how a commit's message counts, and the one
line that explains the result. :func:`suggest_part` is the only function that reads, and it
does so through ``git.history``.

The last release is the newest of: a ``tag-format`` tag reachable from HEAD (the highest
such version, so a stray lower tag on a newer commit is passed over), a release commit (its
subject is the ``commit-message``, with or without GitHub's squash suffix `` (#12)``), or
the merge of a release branch (GitHub's ``Merge pull request #12 from owner/release/v1.2.3``,
git's ``Merge branch 'release/v1.2.3'``, or any merge whose second parent is a release
commit). A release PR merged but not yet tagged is therefore the last release: only the
commits after it count. The walk has no count limit: it stops at the last release, or at a
deadline (2 s on the way to the picker), and then the line says how far it read.

Conventional Commits decide the part: a breaking change (``type!:`` or a
``BREAKING CHANGE:`` footer) -> major, ``feat`` -> minor, any other change -> patch.
Types are case-insensitive and only the subject line can be a header. ``docs``, ``ci``,
``chore``, ``test``, ``build`` and ``style`` have no SemVer effect: when every commit since
the release is one of them there is nothing to release (commitizen and python-semantic-release
agree); the line says so and the picker still preselects patch. A merge commit counts by
its own subject when that is a Conventional Commit (teams that merge with the PR title);
git's and GitHub's default merge texts are not read (the commits they bring in are).

Below 1.0.0 a breaking change suggests minor: in semver, 0.x promises no stability, and
moving to 1.0.0 declares the API stable, which is a decision for the maintainer rather than
a side effect of one commit message. Commits that follow no convention suggest nothing
beyond patch, and the reason says so.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from . import version as semver
from .errors import ReleaseError
from .settings import Settings
from .version import Part

if TYPE_CHECKING:  # pragma: no cover
    from .git.repo import Repository

# How long the suggestion may read history on the way to the picker, and for --part auto
# (no one is waiting at a prompt there, and a part chosen from half the history is wrong).
PICKER_SECONDS = 2.0
AUTO_SECONDS = 10.0

ARROW = "\N{RIGHTWARDS ARROW}"

# type(scope)!: subject -- the Conventional Commits 1.0.0 header, on the first line only.
_HEADER = re.compile(r"(?P<type>[A-Za-z][A-Za-z0-9-]*)(?:\([^()\r\n]*\))?(?P<bang>!)?: \S")
# Footers are case-sensitive per the specification; BREAKING-CHANGE is its synonym.
_BREAKING_FOOTER = re.compile(r"^BREAKING[ -]CHANGE: ", re.MULTILINE)
# GitHub's squash merge appends " (#123)" to the subject of the pull request's title.
_PR_SUFFIX = r"(?: \(#[0-9]+\))?"
_SEMVER = r"(?P<version>[0-9]+\.[0-9]+\.[0-9]+)"
# A placeholder that cannot appear in a template, to split it around {version}.
_HOLE = "\x00"

# The texts git, GitHub, GitLab, Bitbucket and Azure DevOps write for a merge by default.
_DEFAULT_MERGE = re.compile(
    r"Merge (?:(?:remote-tracking )?branch(?:es)? '|tags? '|commits? '|pull request #[0-9]+ from "
    r"|[0-9a-f]{7,64} into [0-9a-f]{7,64}$|(?:https?|git|ssh|file)://)"
    r"|Merged in \S|Merged PR [0-9]+: "
)

# The order categories are listed in the reason line.
CATEGORIES = ("breaking", "feat", "fix", "perf", "other")
# Conventional types with no SemVer effect: only these since the release = nothing to release.
NO_EFFECT_TYPES = frozenset({"build", "chore", "ci", "docs", "style", "test"})


@dataclass(frozen=True)
class Suggestion:
    """The suggested part and the one line that explains it."""

    part: Part
    reason: str
    # Counts by kind: breaking, feat, fix, perf, other (any other conventional type),
    # unconventional, merge (git's or GitHub's default merge text).
    commits: dict[str, int] = field(default_factory=dict)
    since: str | None = None  # the tag, or the release commit, the count starts after
    truncated: bool = False  # the deadline stopped the walk
    # Of the "other" commits, those of a type with no SemVer effect, by type (docs, ci, ...).
    no_effect: dict[str, int] = field(default_factory=dict)
    shallow: bool = False  # no release found, and the clone's history is cut short
    unreadable: bool = False  # the history could not be read (the reason says why)

    @property
    def conventional(self) -> bool:
        return any(self.commits.get(kind, 0) for kind in CATEGORIES)

    @property
    def changes(self) -> int:
        """Commits since the release, merges with a default text left out."""
        return sum(count for kind, count in self.commits.items() if kind != "merge")

    @property
    def nothing_to_release(self) -> bool:
        """Every commit since the release (all of it read) has no SemVer effect, or there is none."""
        return (not self.truncated and not self.unreadable and not self.shallow
                and self.changes == sum(self.no_effect.values()))


def classify(message: str, parent_count: int) -> str:
    """One of CATEGORIES, "unconventional", or "merge" (a merge with a default text: the
    commits it brings in are walked and classified themselves)."""
    subject = message.split("\n", 1)[0]
    if parent_count > 1 and _DEFAULT_MERGE.match(subject):
        return "merge"
    header = _HEADER.match(subject)
    if header is None:
        return "unconventional"
    kind = header["type"].lower()  # types are case-insensitive in the specification
    body = message.split("\n", 1)[1] if "\n" in message else ""
    if header["bang"] or _BREAKING_FOOTER.search(body):
        return "breaking"
    if kind in ("feat", "fix", "perf"):
        return kind
    return "other"


def commit_type(message: str) -> str | None:
    """The Conventional Commits type of the subject, lower-cased, or None."""
    header = _HEADER.match(message)
    return header["type"].lower() if header is not None else None


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


class ReleaseRules:
    """Which tags, subjects and merges mark a release, from ``[tool.directive-release]``."""

    def __init__(self, settings: Settings) -> None:
        self._tag = template_pattern(settings.tag_format)
        first_line = settings.commit_message.split("\n", 1)[0].rstrip()
        message = template_pattern(first_line)
        before = first_line.format(version=_HOLE).partition(_HOLE)[0]
        # How a release's subject starts: the message's text before {version}, or a merge.
        self.subject_starts: tuple[bytes, ...] | None = (before.encode("utf-8"), b"Merge ") if before else None
        self._message = re.compile(message.pattern + _PR_SUFFIX)
        branch = re.escape(settings.branch_prefix) + _SEMVER
        self._merges = (
            re.compile(rf"Merge pull request #[0-9]+ from [^\s/]+/{branch}"),  # GitHub
            # git (a local or remote-tracking branch, pulled from a URL, into another), GitLab
            re.compile(rf"Merge (?:remote-tracking )?branch '(?:[^'\s]*/)?{branch}'(?: of \S+)?(?: into '?[^'\s]+'?)?"),
        )

    def tag_version(self, name: str) -> semver.Version | None:
        """The version a tag's name (under refs/tags/) releases, or None."""
        return _valid(self._tag.fullmatch(name))

    def subject_version(self, subject: str) -> semver.Version | None:
        """The version a commit's subject releases (a release commit, or the merge of a
        release branch), or None."""
        found = self._message.fullmatch(subject)
        if found is None and subject.startswith("Merge "):
            found = self._merges[0].fullmatch(subject) or self._merges[1].fullmatch(subject)
        return _valid(found)


def _valid(match: re.Match[str] | None) -> semver.Version | None:
    if match is None or not semver.is_valid(match["version"]):
        return None
    return semver.parse(match["version"])


def tally(commits: Iterable[tuple[str, int]]) -> tuple[dict[str, int], dict[str, int]]:
    """Counts by kind (see :class:`Suggestion`), and the no-effect types among "other"."""
    counts: dict[str, int] = {}
    no_effect: dict[str, int] = {}
    for message, parent_count in commits:
        kind = classify(message, parent_count)
        counts[kind] = counts.get(kind, 0) + 1
        if kind == "other":
            kind_type = commit_type(message)
            if kind_type in NO_EFFECT_TYPES:
                no_effect[kind_type] = no_effect.get(kind_type, 0) + 1  # type: ignore[index]
    return counts, no_effect


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _types(no_effect: dict[str, int]) -> str:
    """docs/ci: the types, most frequent first."""
    return "/".join(sorted(no_effect, key=lambda name: (-no_effect[name], name)))


def _total(counts: dict[str, int], truncated: bool) -> str:
    changes = sum(count for kind, count in counts.items() if kind != "merge")
    total = _plural(changes, "commit").replace(" ", "+ ", 1) if truncated else _plural(changes, "commit")
    merges = counts.get("merge", 0)
    if merges:
        total += f" and {_plural(merges, 'merge')}"
    return total


def describe(suggestion: Suggestion, *, read: int = 0, seconds: float = 0.0, settings: Settings | None = None) -> str:
    """The one line shown above the picker."""
    settings = settings or Settings()
    counts, since, truncated, part = suggestion.commits, suggestion.since, suggestion.truncated, suggestion.part
    changes = suggestion.changes
    merges = counts.get("merge", 0)
    if changes == 0 and merges == 0 and since is not None:
        return f"no commits since {since} {ARROW} {part}"
    total = _total(counts, truncated)
    bound = f" (read only the newest {read:,} in {seconds:.1f} s)" if truncated else ""
    if since is None:
        message_shape = settings.message_for("X.Y.Z").split("\n", 1)[0]
        missing = f'no tag {settings.tag_for("X.Y.Z")}, no commit "{message_shape}"'
        if truncated:  # the last release may be further back than we read
            head = f"{total}{bound}, {missing} among them"
        elif suggestion.shallow:
            head = f"{total} in this shallow clone, {missing} among them (git fetch --unshallow reads the rest)"
        else:
            head = f"first release ({missing}): {total}"
    else:
        head = f"{total} since {since}{bound}"
    if suggestion.nothing_to_release:
        what = f"all {_types(suggestion.no_effect)}" if changes else "no other commit"
        return f"{head}, {what} {ARROW} nothing to release ({part} preselected)"
    if not suggestion.conventional:
        return f"{head}, none in Conventional Commits form (feat:, fix:, ...) {ARROW} {part}, no suggestion"
    parts = [f"{counts[kind]:,} {kind}" for kind in CATEGORIES if counts.get(kind) and kind != "other"]
    others = counts.get("other", 0) + counts.get("unconventional", 0)
    if others:
        parts.append(f"{others:,} other")
    line = f"{head}: {', '.join(parts)} {ARROW} {part}"
    if counts.get("breaking") and part != "major":
        line += " (breaking below 1.0.0 bumps minor; choose major for 1.0.0)"
    return line


def suggest_part(repo: Repository, head_commit: str, settings: Settings, current_version: str,
                 *, seconds: float = PICKER_SECONDS) -> Suggestion:
    """Suggest the part to bump from the commits since the last release reachable from HEAD.

    Advisory only: a history that cannot be read (a missing or corrupt object) gives patch
    and a reason saying so, never an error that stops the release. ``seconds`` bounds the
    reading (0 reads one batch of ``git.history.BATCH`` commits per walk).
    """
    from .git.history import read_since_release

    rules = ReleaseRules(settings)
    current = semver.parse(current_version) if semver.is_valid(current_version) else None
    try:
        read = read_since_release(
            repo, head_commit,
            tag_version=rules.tag_version,
            commit_version=rules.subject_version,
            settled=lambda version: current is not None and version >= current,
            deadline=time.monotonic() + seconds,
            subject_starts=rules.subject_starts,
        )
    except (OSError, ReleaseError) as exc:
        detail = str(exc) or type(exc).__name__
        return Suggestion(part="patch", reason=f"could not read the history ({detail}) {ARROW} patch, no suggestion",
                          unreadable=True)
    counts, no_effect = tally(read.commits)
    since = None
    if read.release is not None:
        release = read.release
        since = release.name if release.kind == "tag" else f'"{release.name}" ({release.commit[:7]})'
    part = part_for(counts, current_version)
    draft = Suggestion(part=part, reason="", commits=counts, since=since, truncated=not read.complete,
                       no_effect=no_effect, shallow=read.shallow)
    return replace(draft, reason=describe(draft, read=read.read, seconds=read.seconds, settings=settings))


def automatic_part(suggestion: Suggestion) -> Part:
    """``--part auto``: the suggested part, or ReleaseError (exit 1) with one line saying why none."""
    since = f" since {suggestion.since}" if suggestion.since else ""
    what = "give the part instead (--part patch, minor or major)"
    if suggestion.unreadable or suggestion.truncated or suggestion.shallow:
        raise ReleaseError(f"cannot choose the part: {_plain(suggestion.reason)}; {what}")
    if suggestion.nothing_to_release:
        counts = suggestion.commits
        if suggestion.changes:
            detail = f"{_total(counts, False)}, all {_types(suggestion.no_effect)}"
        elif counts.get("merge"):
            detail = f"{_plural(counts['merge'], 'merge')}, no other commit"
        else:
            detail = "no commits"
        raise ReleaseError(f"nothing to release{since}: {detail}")
    if not suggestion.conventional:
        raise ReleaseError(f"cannot choose the part: {_total(suggestion.commits, False)}{since},"
                           f" none in Conventional Commits form (feat:, fix:, ...); {what}")
    return suggestion.part


def _plain(reason: str) -> str:
    """The reason without its conclusion (the arrow and what follows)."""
    return reason.split(f" {ARROW} ", 1)[0]
