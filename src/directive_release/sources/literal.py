"""Find the version literal in a text file, as each build backend finds it. Pure: text in, spans out.

Each finder returns every :class:`Literal` it matches, first first; the callers
refuse none (missing) and two (ambiguous), so the one literal edited is the one
the backend reads and no second copy is left behind.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Self

from .files import SourceError

# hatchling's default (hatchling/version/core.py), applied with re.MULTILINE as hatchling does.
HATCH_DEFAULT_PATTERN = r'(?i)^(__version__|VERSION) *= *([\'"])v?(?P<version>.+?)\2'
# pdm-backend's default for source = "file" (pdm/backend/hooks/version/__init__.py); group 1 is the version.
PDM_DEFAULT_PATTERN = r"^(?:__version__|VERSION)\s*=\s*[\"'](.+?)[\"']\s*(?:#.*)?$"
# A listed version file given by path only: one ``__version__ = "…"`` or ``VERSION = "…"`` assignment.
ASSIGNMENT_PATTERN = (
    r"^[ \t]*(?:__version__|VERSION)[ \t]*(?::[^=\n]*)?=[ \t]*(?P<quote>['\"])(?P<version>[^'\"\n]*)(?P=quote)"
)


class Record:
    """A small immutable value with named fields, equality and ``_replace``, like a NamedTuple.

    Used for the types the hook's success path creates: defining a ``typing.NamedTuple`` costs about
    0.2 ms at import, which the hook pays on every commit.
    """

    __slots__: ClassVar[tuple[str, ...]] = ()
    _defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        values = dict(zip(self.__slots__, args), **kwargs)
        for name in self.__slots__:
            object.__setattr__(self, name, values[name] if name in values else self._defaults[name])

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _fields(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Record) and type(self) is type(other) and self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{n}={getattr(self, n)!r}' for n in self.__slots__)})"

    def _replace(self, **changes: Any) -> Self:
        return type(self)(**{**dict(zip(self.__slots__, self._fields())), **changes})


class Literal(Record):
    """One version literal: its 1-based line, byte span in the file and text."""

    __slots__ = ("line", "start", "end", "value")
    line: int
    start: int
    end: int
    value: str


def compile_pattern(pattern: str, display: str, setting: str, *, group: str | int = "version",
                    keys: tuple[str, ...] = ()) -> re.Pattern[str]:
    """Compile a user's pattern (MULTILINE, as hatchling and pdm apply theirs) or refuse in one line."""
    try:
        compiled = re.compile(pattern, re.MULTILINE)
    except (re.error, RecursionError, OverflowError) as error:
        raise SourceError(display, None, f"{setting}: the pattern {pattern!r} is not a valid regular expression"
                                         f" ({error})", keys=keys) from None
    if isinstance(group, str) and group not in compiled.groupindex:
        raise SourceError(display, None, f"{setting}: the pattern {pattern!r} has no (?P<version>...) group",
                          keys=keys)
    if isinstance(group, int) and compiled.groups < group:
        raise SourceError(display, None, f"{setting}: the pattern {pattern!r} has no group ( ... )", keys=keys)
    return compiled


def find_by_pattern(text: str, compiled: re.Pattern[str], group: str | int = "version") -> list[Literal]:
    """Every match of ``compiled`` in ``text``, as byte spans of its version group."""
    found: list[Literal] = []
    for match in compiled.finditer(text):
        start, end = match.span(group)
        if start < 0:
            continue
        found.append(_literal(text, start, end))
    return found


def _literal(text: str, start: int, end: int) -> Literal:
    prefix = text[:start]
    byte_start = len(prefix.encode("utf-8"))
    value = text[start:end]
    return Literal(prefix.count("\n") + 1, byte_start, byte_start + len(value.encode("utf-8")), value)


def find_python_assignments(text: str, display: str, name: str = "__version__") -> list[Literal]:
    """Top-level ``name = "…"`` (or ``name: str = "…"``) string assignments, as setuptools' and
    flit's static readers (``ast``) see them. A non-string or non-literal value is refused."""
    import ast

    try:
        module = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        line = getattr(error, "lineno", None) or 1
        raise SourceError(display, line, f"not valid Python ({type(error).__name__}); cannot read {name}") from None
    lines = text.split("\n")
    found: list[Literal] = []
    for node in module.body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]
        else:
            continue
        if not any(isinstance(target, ast.Name) and target.id == name for target in targets):
            continue
        value = node.value
        if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
            raise SourceError(display, node.lineno, f"{name} is not a string literal; directive-release can only"
                                                    f' bump {name} = "MAJOR.MINOR.PATCH"')
        if value.end_lineno != value.lineno or value.end_col_offset is None:
            raise SourceError(display, value.lineno, f"{name} spans several lines; write it on one line")
        line_bytes = lines[value.lineno - 1].encode("utf-8")
        token = line_bytes[value.col_offset : value.end_col_offset].decode("utf-8")
        inner = _plain_string_body(token)
        if inner is None or inner != value.value:
            raise SourceError(display, value.lineno, f"{name} is written with escapes, a prefix or several parts;"
                                                     ' write it as one plain "MAJOR.MINOR.PATCH" string')
        quote_width = 3 if token[:3] in ('"""', "'''") else 1
        line_start = sum(len(line.encode("utf-8")) + 1 for line in lines[: value.lineno - 1])
        start = line_start + value.col_offset + quote_width
        found.append(Literal(value.lineno, start, start + len(inner.encode("utf-8")), inner))
    return found


def _plain_string_body(token: str) -> str | None:
    """The characters between the quotes of a plain (no prefix, no escape) string token."""
    for quote in ('"""', "'''", '"', "'"):
        if token.startswith(quote) and token.endswith(quote) and len(token) >= 2 * len(quote):
            body = token[len(quote) : len(token) - len(quote)]
            return None if "\\" in body else body
    return None
