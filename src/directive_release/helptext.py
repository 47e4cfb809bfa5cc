"""``--help`` for every command: wrapped to the terminal, never breaking a word or a command.

One formatter serves ``directive-release`` (and ``init``), ``directive-release-check`` and
``directive-release-ci``. Text is written unwrapped, in three shapes, and fitted to the
terminal's width (at most :data:`MAX_WIDTH` columns) when help is shown:

- prose: a paragraph of plain lines, re-wrapped;
- a title: an unindented line ending in ``:`` (``Examples:``), kept as it is;
- rows: indented lines ``TERM  EXPLANATION`` (two spaces or more between): the term (a
  command, an exit code) is never broken; the explanation wraps beside it, or below it
  when the terminal is too narrow. An indented line with no such gap is a command and
  is kept whole.

Words are never split, not at hyphens either (``directive-release``), and a
```quoted command``` stays on one line. Standard library only: ``--help`` must be fast,
and argparse is loaded anyway.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import textwrap
from typing import NoReturn

MAX_WIDTH = 100
_KEEP = "\x00"  # stands for a space inside `...` while wrapping
_ROW = re.compile(r"^( +)(\S(?:.*?\S)?)( {2,})(\S.*)$")
_MIN_BESIDE = 24  # an explanation narrower than this goes below its term


def terminal_columns() -> int:
    """What shutil.get_terminal_size() answers, without importing shutil: $COLUMNS, the terminal, else 80."""
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return 80


def help_width(columns: int | None = None) -> int:
    """The width help is wrapped to: the terminal's, at most MAX_WIDTH, one column spare."""
    return max(min(terminal_columns() if columns is None else columns, MAX_WIDTH) - 1, 20)


def wrap(text: str, width: int, initial: str = "", subsequent: str = "") -> list[str]:
    """Wrap prose without ever breaking a word or a `quoted command`."""
    parts = text.split("`")
    for index in range(1, len(parts), 2):
        parts[index] = parts[index].replace(" ", _KEEP)
    lines = textwrap.wrap("`".join(parts), width, initial_indent=initial, subsequent_indent=subsequent,
                          break_long_words=False, break_on_hyphens=False)
    return [line.replace(_KEEP, " ") for line in lines] or [initial.rstrip()]


def _row(line: str, width: int) -> list[str]:
    match = _ROW.match(line)
    if match is None:  # an indented line without an explanation is a command: never wrapped
        return [line.rstrip()]
    indent, term, gap, explanation = match.groups()
    column = len(indent) + len(term) + len(gap)
    if width - column >= _MIN_BESIDE:
        beside = wrap(explanation, width - column)
        return [f"{indent}{term}{gap}{beside[0]}", *(" " * column + rest for rest in beside[1:])]
    below = indent + "    "
    return [f"{indent}{term}", *wrap(explanation, width, below, below)]


def fill(text: str, width: int, indent: str = "") -> str:
    """Fit prose, titles and rows (see the module docstring) into ``width`` columns."""
    out: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text.strip("\n")):
        prose: list[str] = []

        def flush() -> None:
            if prose:
                out.extend(wrap(" ".join(prose), width, indent, indent))
                prose.clear()

        for line in paragraph.splitlines():
            if line.startswith(" "):
                flush()
                out.extend(_row(indent + line, width))
            elif line.rstrip().endswith(":") and not prose:
                out.append(indent + line.rstrip())
            else:
                prose.append(line.strip())
        flush()
        out.append("")
    return "\n".join(out).rstrip("\n")


class HelpFormatter(argparse.HelpFormatter):
    """argparse's, wrapped by :func:`fill` to the terminal (at most MAX_WIDTH columns)."""

    def __init__(self, prog: str, width: int | None = None) -> None:
        super().__init__(prog, width=help_width() if width is None else width,
                         max_help_position=30)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return fill(text, width, indent)

    def _split_lines(self, text: str, width: int) -> list[str]:
        return wrap(" ".join(text.split()), width)


class Parser(argparse.ArgumentParser):
    """argparse with this formatter, and a usage error as our one-line error instead of a usage dump."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> "NoReturn":
        from .errors import UsageError

        raise UsageError(f"{message} (see {self.prog} --help)")
