"""Where the command's words go, in which colours, and the ``--json`` object.

Human text goes to stdout, except under ``--json``: then stdout carries
exactly one JSON object (on success only) and every human line goes to
stderr, so ``directive-release patch --yes --json | jq`` always parses.
Colour is used only on a terminal and never when ``NO_COLOR`` is set to any
non-empty value (https://no-color.org) or ``TERM=dumb``. Standard library
only: this module is on the fast, non-interactive path.
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
    """Colour only on a terminal, and not when NO_COLOR is non-empty or TERM=dumb."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR") or env.get("TERM") == "dumb":
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


class Console:
    """The two streams the command writes to, and whether each may be coloured."""

    def __init__(self, human: TextIO, errors: TextIO, colour: bool, errors_colour: bool) -> None:
        self.human = human  # plans, progress and results: stdout, or stderr under --json
        self.errors = errors  # one-line failures and cancellations: always stderr
        self.colour = colour
        self.errors_colour = errors_colour

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
        print(self.paint(text, *styles), file=self.human, flush=True)

    def error(self, text: str, *styles: str) -> None:
        print(self.paint(text, *styles, colour=self.errors_colour), file=self.errors, flush=True)

    @property
    def arrow(self) -> str:
        """→ where the terminal can show it, -> elsewhere."""
        return "\N{RIGHTWARDS ARROW}" if can_encode(self.human, "\N{RIGHTWARDS ARROW}") else "->"


def release_summary(plan: Plan, outcome: Outcome | None, suggestion: Suggestion | None = None) -> dict[str, Any]:
    """The ``--json`` object: what was (or, with --dry-run, would be) released.

    Keys are stable: old_version, new_version, branch, base_branch, message,
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
        "base_branch": plan.settings.base_branch,
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
