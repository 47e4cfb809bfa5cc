"""Where the command's words go, in which colours, and the ``--json`` object.

Human text goes to stdout, except under ``--json``: then stdout carries
exactly one JSON object (on success only) and every human line goes to
stderr, so ``directive-release patch --yes --json | jq`` always parses.
Colour and emphasis (bold, dim, the picker's reverse video) follow one rule,
:func:`colour_enabled`, in every command: never when ``NO_COLOR`` is set to
any non-empty value (https://no-color.org); always when ``FORCE_COLOR`` is
(https://force-color.org); never with ``TERM=dumb``; else only on a terminal.
On a terminal, lines are wrapped to its width between words, never inside
one. Standard library only: this module is on the fast, non-interactive path.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:  # pragma: no cover
    from .release import Outcome, Plan
    from .suggest import Suggestion

# SGR parameters of the few styles we use.
_STYLES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}


def colour_enabled(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """NO_COLOR (non-empty) wins, then FORCE_COLOR (non-empty), then TERM=dumb; else: is it a terminal?"""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    if env.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty is not None and isatty())
    except ValueError:  # a closed stream
        return False


def can_encode(stream: TextIO, text: str) -> bool:
    """Whether ``stream`` can print ``text`` (an arrow on a latin-1 terminal cannot)."""
    encoding = getattr(stream, "encoding", None) or "ascii"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


ARROW = "\N{RIGHTWARDS ARROW}"


def terminal_width(stream: TextIO) -> int | None:
    """The columns of the terminal ``stream`` writes to, or None when it is no terminal."""
    try:
        if not stream.isatty():
            return None
        return os.get_terminal_size(stream.fileno()).columns or None
    except (AttributeError, ValueError, OSError):
        return None


def _wrapped(text: str, width: int) -> list[str]:
    """A long line on a terminal, wrapped between words (a plan step's lines hang under its text)."""
    import re

    from .helptext import wrap

    match = re.match(r"^( *(?:\d+\. )?)", text)
    hang = " " * len(match.group(1)) if match else ""
    return wrap(text[len(hang):], width, text[:len(hang)], hang)


def plain_arrows(stream: TextIO, text: str) -> str:
    """One arrow style everywhere: → where ``stream`` can show it, -> elsewhere."""
    if ARROW in text and not can_encode(stream, ARROW):
        return text.replace(ARROW, "->")
    return text


class Console:
    """The two streams the command writes to, and whether each may be coloured."""

    def __init__(self, human: TextIO, errors: TextIO, colour: bool, errors_colour: bool) -> None:
        self.human = human  # plans, progress and results: stdout, or stderr under --json
        self.errors = errors  # one-line failures and cancellations: always stderr
        self.colour = colour
        self.errors_colour = errors_colour
        self.width = terminal_width(human)  # None: not a terminal, lines are never wrapped

    @classmethod
    def create(cls, *, json_mode: bool) -> Console:
        human = sys.stderr if json_mode else sys.stdout
        return cls(human=human, errors=sys.stderr, colour=colour_enabled(human),
                   errors_colour=colour_enabled(sys.stderr))

    def paint(self, text: str, *styles: str, colour: bool | None = None) -> str:
        if not (self.colour if colour is None else colour) or not styles:
            return text
        codes = ";".join(_STYLES[style] for style in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"

    def line(self, text: str = "", *styles: str) -> None:
        text = plain_arrows(self.human, text)
        if self.width is not None and any(len(part) >= self.width for part in text.split("\n")):
            text = "\n".join(wrapped for part in text.split("\n")
                             for wrapped in (_wrapped(part, self.width - 1) if len(part) >= self.width else [part]))
        print(self.paint(text, *styles), file=self.human, flush=True)

    def error(self, text: str, *styles: str) -> None:
        print(self.paint(plain_arrows(self.errors, text), *styles, colour=self.errors_colour), file=self.errors,
              flush=True)

    @property
    def arrow(self) -> str:
        """→ where the terminal can show it, -> elsewhere."""
        return "\N{RIGHTWARDS ARROW}" if can_encode(self.human, "\N{RIGHTWARDS ARROW}") else "->"


def release_summary(plan: Plan, outcome: Outcome | None, suggestion: Suggestion | None = None) -> dict[str, Any]:
    """The ``--json`` object: what was (or, with --dry-run, would be) released.

    Keys are stable: old_version, new_version, branch, base_branch (and where that name came
    from: base_branch_source; base_status: the line comparing it with the remote's;
    unpushed_commits: how many commits the release branch carries that the remote's base
    branch lacks, null with --no-push), message,
    commit (full id, null on a dry run), remote and remote_url (null with
    --no-push), pushed, pull_request_url (GitHub remotes, else null), dry_run,
    files (each file the release changes: path, line, old and new line), plan (the step
    lines, as --dry-run prints them, without their indentation), suggested_part and
    suggestion (the part the commits since the last release call for and the one line
    that says why; null unless the run computed them, as --part auto does).
    """
    from .redact import redact

    return {
        "old_version": plan.old_version,
        "new_version": plan.new_version,
        "branch": plan.branch,
        "base_branch": plan.base_branch,
        "base_branch_source": plan.base.source if plan.base is not None else None,
        "base_status": plan.base_status,
        "unpushed_commits": plan.unpushed,
        "message": plan.message,
        "commit": None if outcome is None else outcome.commit_id,
        "remote": plan.remote_name,
        "remote_url": redact(plan.remote_display) if plan.remote_display else None,
        "pushed": outcome is not None and outcome.pushed,
        "pull_request_url": redact(plan.pull_request_url) if plan.pull_request_url else None,
        "dry_run": outcome is None,
        "files": [{"path": edit.path, "line": edit.line, "old": edit.old_line.strip(), "new": edit.new_line.strip()}
                  for edit in plan.edits],
        "plan": [redact(line.strip()) for line in plan.describe()],
        "suggested_part": suggestion.part if suggestion is not None else None,
        "suggestion": suggestion.reason if suggestion is not None else None,
    }


def write_json(document: Mapping[str, Any], stream: TextIO | None = None) -> None:
    """One JSON object on one line, then a newline: nothing else ever goes to stdout under --json."""
    target = sys.stdout if stream is None else stream
    import json  # only under --json

    target.write(json.dumps(document, ensure_ascii=False) + "\n")
    target.flush()
