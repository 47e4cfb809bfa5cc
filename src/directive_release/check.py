"""``directive-release-check``: the pre-commit hook that refuses a bad project version.

A ``pyproject.toml`` passes when ``[project].version`` is a static string of the
form ``MAJOR.MINOR.PATCH`` that :mod:`directive_release.version` accepts (ASCII
digits, no leading zeros, nothing else). Such a string is always canonical
under PEP 440, so PyPI and the release flow agree on it. Every problem becomes
one ``path:line: message`` line on stdout; the exit code is 0 when every file
passes, 1 when one does not, 2 for a usage error.

The hook runs on every commit, so its cost is part of every ``git commit``. The
success path therefore imports only ``sys``, ``re`` and ``tomllib`` (all of
which Python's own start-up or ``tomllib`` loads anyway): the detailed reasons
(:mod:`directive_release.version`), the line finder, ``argparse`` and
``packaging`` are loaded only when there is something to explain.
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:  # argparse is imported only when an option is given
    import argparse

DEFAULT_FILE = "pyproject.toml"
EXPECTED = 'version = "MAJOR.MINOR.PATCH"'

# Accepts exactly what ``version.parse`` accepts (a property test holds the two
# together). It only ever says "valid": every rejection is explained by
# ``version.parse``, which stays the single source of the reasons.
_PLAIN_VERSION = re.compile(r"(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)", re.ASCII)
_TOML_POSITION = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)$")
_UTF8_BOM = b"\xef\xbb\xbf"


class Problem(NamedTuple):
    line: int
    message: str


# ---------------------------------------------------------------- checking


def check_file(path: str) -> list[Problem]:
    """Every problem with the project version in the file at ``path`` (empty when valid)."""
    data = _read_bytes(path)
    if isinstance(data, Problem):
        return [data]
    text = _decode(data)
    if isinstance(text, Problem):
        return [text]
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        return [_toml_problem(error, text)]
    if _passes(document):
        return []
    return _explain(document, text)


def _read_bytes(path: str) -> bytes | Problem:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return Problem(1, "file not found; expected a pyproject.toml with a [project] table")
    except IsADirectoryError:
        return Problem(1, "is a directory; expected a pyproject.toml file")
    except NotADirectoryError:
        return Problem(1, "a parent of this path is not a directory; expected a pyproject.toml file")
    except PermissionError:
        return Problem(1, "cannot read the file (permission denied); make it readable")
    except OSError as error:
        return Problem(1, f"cannot read the file ({error.strerror or error}); expected a readable pyproject.toml")


def _decode(data: bytes) -> str | Problem:
    if data.startswith(_UTF8_BOM):
        # tomllib (and so pip, build and twine) rejects a byte order mark.
        return Problem(
            1, "starts with a UTF-8 byte order mark, which TOML parsers reject; save it as UTF-8 without BOM"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        byte = data[error.start]
        return Problem(line, f"not valid UTF-8 (byte 0x{byte:02x} at column {column}); TOML files must be UTF-8")


def _toml_problem(error: tomllib.TOMLDecodeError, text: str) -> Problem:
    message = str(error)
    position = _TOML_POSITION.search(message)
    if position is None:
        return Problem(1, f"invalid TOML: {message}")
    reason = message[: position.start()]
    if position.group(1) is None:  # "(at end of document)"
        return Problem(text.count("\n") + 1, f"invalid TOML: {reason} (at end of file)")
    return Problem(int(position.group(1)), f"invalid TOML: {reason} (column {position.group(2)})")


def _passes(document: dict[str, Any]) -> bool:
    """The fast check: a plain static version, not also listed as dynamic."""
    project = document.get("project")
    if not isinstance(project, dict):
        return False
    version = project.get("version")
    dynamic = project.get("dynamic")
    return (
        isinstance(version, str)
        and _PLAIN_VERSION.fullmatch(version) is not None
        and not (isinstance(dynamic, list) and "version" in dynamic)
    )


def _explain(document: dict[str, Any], text: str) -> list[Problem]:
    """The problems of a parsed document whose version did not pass the fast check."""
    lines = key_lines(text)

    def line_of(*path: str) -> int:
        for depth in range(len(path), 0, -1):
            if path[:depth] in lines:
                return lines[path[:depth]]
        return 1

    if "project" not in document:
        return [Problem(1, f"no [project] table; expected [project] with {EXPECTED}")]
    project = document["project"]
    if not isinstance(project, dict):
        return [Problem(
            line_of("project"), f"project is {_describe(project)}, not a table; expected [project] with {EXPECTED}"
        )]
    dynamic = project.get("dynamic")
    is_dynamic = isinstance(dynamic, list) and "version" in dynamic
    if "version" not in project:
        if is_dynamic:
            return [Problem(
                line_of("project", "dynamic"),
                f'version is dynamic (dynamic = ["version"]); the release flow needs a static {EXPECTED} in [project]',
            )]
        return [Problem(line_of("project"), f"[project] has no version; expected {EXPECTED}")]
    problems: list[Problem] = []
    if is_dynamic:
        problems.append(Problem(
            line_of("project", "dynamic"),
            'version is both set and listed in dynamic (PEP 621 forbids that); remove "version" from dynamic',
        ))
    version = project["version"]
    if not isinstance(version, str):
        problems.append(Problem(
            line_of("project", "version"),
            f'version is {_describe(version)}, not a string; expected {EXPECTED} (in quotes)',
        ))
        return problems
    message = _version_message(version)
    if message is not None:
        problems.append(Problem(line_of("project", "version"), message))
    return problems


def _version_message(text: str) -> str | None:
    from .version import InvalidVersion, parse

    try:
        parse(text)
    except InvalidVersion as error:
        return str(error) + _pep440_hint(text)
    return None


def _pep440_hint(text: str) -> str:
    """Say what PEP 440 makes of a pre-/post-/dev-release, whose artefacts get a different name."""
    try:
        from packaging.version import InvalidVersion as NotPep440
        from packaging.version import Version as Pep440Version
    except ImportError:  # the hook itself needs only the standard library
        return ""
    try:
        normalised = Pep440Version(text)
    except NotPep440:
        return ""
    suffixed = normalised.pre is not None or normalised.post is not None or normalised.dev is not None
    if not suffixed or str(normalised) == text:
        return ""
    return f'; PEP 440 reads it as "{normalised}"'


_TOML_TYPES = (
    (bool, "a boolean"),
    (str, "a string"),
    (int, "an integer"),
    (float, "a float"),
    (list, "an array"),
    (dict, "a table"),
)


def _describe(value: object) -> str:
    """A TOML-flavoured name for a parsed value, with the value when it is short."""
    for python_type, name in _TOML_TYPES:
        if isinstance(value, python_type):
            break
    else:  # datetime, date and time
        name = f"a {type(value).__name__}"
    if isinstance(value, list):
        return "an array of tables" if value and all(isinstance(item, dict) for item in value) else name
    if isinstance(value, dict):
        return name
    if isinstance(value, bool):
        return f"{name} ({str(value).lower()})"
    shown = f'"{value}"' if isinstance(value, str) else str(value)
    return f"{name} ({shown if len(shown) <= 40 else shown[:37] + '...'})"


# ---------------------------------------------------------- locating lines
#
# tomllib reports no positions, so the line of a key is found by a small lexer
# and parser of our own. It only runs on text tomllib has already accepted, but
# it must never raise on anything: an unexpected shape ends the scan and the
# caller falls back to a shorter key path or to line 1.


class _Token(NamedTuple):
    kind: str  # "bare", "string", "multiline", "punct", "newline" or "end"
    text: str
    line: int


_PUNCTUATION = frozenset("[]{}=.,")
_BARE_STOP = frozenset(" \t\r\n#\"'") | _PUNCTUATION


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """The 1-based line where each key path (and every prefix of it) first appears.

    ``[project]`` maps ``("project",)`` to the header's line; ``version = ...``
    under it maps ``("project", "version")`` to its own line, as do the dotted
    ``project.version = ...`` and the inline ``project = {version = ...}``.
    """
    return _KeyLineParser(list(_tokens(text))).run()


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    line = 1
    index = 0
    length = len(text)
    while index < length:
        char = text[index]
        start_line = line
        if char == "\n":
            tokens.append(_Token("newline", char, line))
            line += 1
            index += 1
        elif char in " \t\r":
            index += 1
        elif char == "#":
            newline = text.find("\n", index)
            index = length if newline < 0 else newline
        elif text.startswith(('"""', "'''"), index):
            end = _multiline_end(text, index)
            line += text.count("\n", index, end)
            tokens.append(_Token("multiline", text[index:end], start_line))
            index = end
        elif char in "\"'":
            end = _string_end(text, index)
            tokens.append(_Token("string", text[index:end], start_line))
            index = end
        elif char in _PUNCTUATION:
            tokens.append(_Token("punct", char, line))
            index += 1
        else:
            end = index
            while end < length and text[end] not in _BARE_STOP:
                end += 1
            tokens.append(_Token("bare", text[index:end], line))
            index = end
    tokens.append(_Token("end", "", line))
    return tokens


def _multiline_end(text: str, start: int) -> int:
    """Index just past the closing delimiter of the multi-line string opened at ``start``."""
    quote = text[start]
    index = start + 3
    while index < len(text):
        if quote == '"' and text[index] == "\\":
            index += 2
            continue
        if text.startswith(quote * 3, index):
            # Up to two quotes may sit right before the closing delimiter.
            run = 3
            while run < 5 and index + run < len(text) and text[index + run] == quote:
                run += 1
            return index + run
        index += 1
    return len(text)


def _string_end(text: str, start: int) -> int:
    """Index just past the closing quote of the one-line string opened at ``start``."""
    quote = text[start]
    index = start + 1
    while index < len(text) and text[index] != "\n":
        if quote == '"' and text[index] == "\\":
            index += 2
            continue
        if text[index] == quote:
            return index + 1
        index += 1
    return index


def _key_text(token: _Token) -> str:
    if token.kind == "bare":
        return token.text
    if token.text.startswith("'"):
        return token.text[1:-1]
    try:  # a basic string key may hold escapes: let tomllib decode it
        value = tomllib.loads(f"k = {token.text}")["k"]
    except tomllib.TOMLDecodeError:
        return token.text[1:-1]
    return value if isinstance(value, str) else token.text[1:-1]


class _KeyLineParser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.lines: dict[tuple[str, ...], int] = {}

    def run(self) -> dict[tuple[str, ...], int]:
        table: tuple[str, ...] = ()
        while self.peek().kind != "end":
            start = self.index
            token = self.peek()
            if token.kind == "newline":
                self.index += 1
                continue
            if token.kind == "punct" and token.text == "[":
                table = self.header()
            else:
                self.key_value(table)
            self.skip_to_newline()
            if self.index == start:  # never loop on a shape we do not know
                self.index += 1
        return self.lines

    def peek(self) -> _Token:
        return self.tokens[min(self.index, len(self.tokens) - 1)]

    def is_punct(self, char: str) -> bool:
        token = self.peek()
        return token.kind == "punct" and token.text == char

    def record(self, path: tuple[str, ...], line: int) -> None:
        for depth in range(1, len(path) + 1):
            self.lines.setdefault(path[:depth], line)

    def skip_to_newline(self) -> None:
        while self.peek().kind not in ("newline", "end"):
            self.index += 1

    def header(self) -> tuple[str, ...]:
        line = self.peek().line
        self.index += 1
        if self.is_punct("["):  # [[array.of.tables]]
            self.index += 1
        path = self.key()
        self.record(path, line)
        return path

    def key(self) -> tuple[str, ...]:
        parts: list[str] = []
        while True:
            token = self.peek()
            if token.kind in ("bare", "string"):
                parts.append(_key_text(token))
                self.index += 1
            elif token.kind == "punct" and token.text == ".":
                self.index += 1
            else:
                return tuple(parts)

    def key_value(self, table: tuple[str, ...]) -> None:
        line = self.peek().line
        key = self.key()
        if not key or not self.is_punct("="):
            return
        self.index += 1
        self.record(table + key, line)
        self.value(table + key)

    def value(self, path: tuple[str, ...] | None) -> None:
        """Consume one value; record the keys of inline tables when ``path`` is known."""
        if self.is_punct("{"):
            self.index += 1
            while not self.is_punct("}") and self.peek().kind not in ("newline", "end"):
                start = self.index
                line = self.peek().line
                key = self.key()
                if key and self.is_punct("="):
                    self.index += 1
                    if path is not None:
                        self.record(path + key, line)
                    self.value(None if path is None else path + key)
                if self.is_punct(","):
                    self.index += 1
                if self.index == start:
                    return
            if self.is_punct("}"):
                self.index += 1
        elif self.is_punct("["):
            self.index += 1
            while not self.is_punct("]") and self.peek().kind != "end":
                start = self.index
                if self.peek().kind == "newline" or self.is_punct(","):
                    self.index += 1
                else:
                    self.value(None)
                if self.index == start:
                    return
            if self.is_punct("]"):
                self.index += 1
        else:
            while self.peek().kind not in ("newline", "end") and not (
                self.peek().kind == "punct" and self.peek().text in ",]}"
            ):
                self.index += 1


# --------------------------------------------------------------- the command


def main(argv: Sequence[str] | None = None) -> int:
    files = _parse_arguments(sys.argv[1:] if argv is None else list(argv))
    failed = False
    for path in dict.fromkeys(files):  # a path given twice is checked once
        problems = check_file(path)
        if problems:
            failed = True
            _report(path, problems)
    return 1 if failed else 0


def _parse_arguments(arguments: list[str]) -> list[str]:
    if not any(argument.startswith("-") for argument in arguments):
        # Only file names: the common pre-commit call skips argparse's import.
        return arguments or [DEFAULT_FILE]
    return _argument_parser().parse_args(arguments).files or [DEFAULT_FILE]


def _argument_parser() -> argparse.ArgumentParser:
    import argparse

    from .helptext import HelpFormatter

    parser = argparse.ArgumentParser(
        prog="directive-release-check",
        formatter_class=HelpFormatter,
        description=(
            "Check that each pyproject.toml has a static [project].version of the form "
            "MAJOR.MINOR.PATCH (ASCII digits, no leading zeros, no prefix, no pre-release "
            "or build suffix), the only form the directive-release flow and PyPI both accept. "
            "Prints one 'path:line: message' line per problem."
        ),
        epilog=(
            "Exit status: 0 every file is valid, 1 a file has a problem, 2 usage error.\n\n"
            "Examples:\n"
            "  directive-release-check                   check ./pyproject.toml\n"
            "  directive-release-check */pyproject.toml  check every package of a monorepo\n"
            "  pre-commit run check-version --all-files  the same check as a pre-commit hook\n"
        ),
    )
    parser.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help=f"pyproject.toml files to check (default: {DEFAULT_FILE} in the current directory)",
    )
    return parser


_CONTROL_ESCAPES = {code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F)}


def _report(path: str, problems: list[Problem]) -> None:
    from .redact import redact

    # One problem, one line: control characters (a newline in a file name or a
    # value) are escaped, and so is whatever the terminal's encoding cannot show.
    encoding = sys.stdout.encoding or "utf-8"
    for problem in problems:
        line = redact(f"{path}:{problem.line}: {problem.message}").translate(_CONTROL_ESCAPES)
        sys.stdout.write(line.encode(encoding, "backslashreplace").decode(encoding) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    raise SystemExit(main())
