"""The two prompts: choose the part to bump, confirm the plan.

Imported only when a prompt is really shown: questionary and prompt_toolkit
take about half a second to import, which the non-interactive path must not
pay. Both prompts draw on and read from the terminal; Ctrl-C, Esc and end of
input all mean "cancel" and come back as ``None`` (the caller exits 130 and
nothing has changed yet). ``.unsafe_ask()`` is used because ``.ask()``
swallows Ctrl-C into a printed message and a ``None`` that looks like an answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .version import PARTS, Part, bump

if TYPE_CHECKING:  # pragma: no cover
    from questionary import Question

    from .suggest import Suggestion

# The order of the list: the smallest step first, as most releases are patches.
CHOICE_ORDER: tuple[Part, ...] = ("patch", "minor", "major")
assert set(CHOICE_ORDER) == set(PARTS)


def choice_title(part: Part, old_version: str, arrow: str, *, suggested: bool) -> str:
    """``patch  0.4.1 → 0.4.2``, marked when it is the suggestion."""
    title = f"{part}  {old_version} {arrow} {bump(old_version, part)}"
    return f"{title}  (suggested)" if suggested else title


def choose_part(old_version: str, suggestion: Suggestion, arrow: str) -> Part | None:
    """Ask which part to bump, the suggested one preselected; None if cancelled."""
    from questionary import Choice, select

    choices = [
        Choice(title=choice_title(part, old_version, arrow, suggested=part == suggestion.part), value=part)
        for part in CHOICE_ORDER
    ]
    question = select(
        "Bump which part?",
        choices=choices,
        default=suggestion.part,
        instruction="(arrow keys, Enter to choose, Esc or Ctrl-C to cancel)",
    )
    answer = _ask(question)
    return answer if answer in CHOICE_ORDER else None


def confirm(message: str) -> bool | None:
    """Ask yes/no, default No (Enter alone declines); None if cancelled."""
    from questionary import confirm as yes_no

    answer = _ask(yes_no(message, default=False, auto_enter=True))
    return answer if isinstance(answer, bool) else None


def _ask(question: Question) -> Any:
    _cancel_on_escape(question)
    _follow_colour_rule(question)
    try:
        return question.unsafe_ask()
    except (KeyboardInterrupt, EOFError):
        return None


def _follow_colour_rule(question: Question) -> None:
    """No colour, no emphasis (the highlighted choice's reverse video, the bold question) where
    :func:`directive_release.output.colour_enabled` says so: NO_COLOR, TERM=dumb. The pointer
    (») still marks the choice."""
    import sys

    from .output import colour_enabled

    if colour_enabled(sys.stdout):
        return
    from prompt_toolkit.styles import StyleTransformation
    from prompt_toolkit.styles.base import DEFAULT_ATTRS

    class _Plain(StyleTransformation):
        def transform_attrs(self, attrs: Any) -> Any:
            return DEFAULT_ATTRS

    question.application.style_transformation = _Plain()


def _cancel_on_escape(question: Question) -> None:
    """Esc cancels like Ctrl-C (questionary binds only Ctrl-C and Ctrl-Q).

    prompt_toolkit tells a lone Esc from the start of an arrow key's escape
    sequence by waiting ``ttimeoutlen`` (0.5 s) for more bytes; that default is
    kept so that arrow keys over a slow connection never read as Esc.
    """
    from prompt_toolkit.key_binding import KeyBindings, merge_key_bindings
    from prompt_toolkit.keys import Keys

    bindings = KeyBindings()

    @bindings.add(Keys.Escape, eager=True)
    def _cancel(event: Any) -> None:
        event.app.exit(exception=KeyboardInterrupt, style="class:aborting")

    application = question.application
    existing = application.key_bindings
    application.key_bindings = bindings if existing is None else merge_key_bindings([existing, bindings])
