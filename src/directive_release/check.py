"""``directive-release-check``: the pre-commit hook that refuses a bad project version.

A ``pyproject.toml`` passes when its version, wherever the build backend keeps
it (a static ``[project].version``, or the file that hatchling, setuptools,
flit_core or pdm-backend read; see :mod:`directive_release.sources`), is a
string of the form ``MAJOR.MINOR.PATCH`` that :mod:`directive_release.version`
accepts, and every copy of it (``version-files``, the project's entry in
uv.lock) agrees. A version taken from git tags passes: there is nothing to
check. Every problem becomes one ``path:line: message`` line on stdout, in the
wording :mod:`directive_release.version` owns; the exit code is 0 when every
file passes, 1 when one does not, 2 for a usage error.

Every file is read through :func:`directive_release.sources.files.read_bytes`
(non-blocking open, regular files only, at most 10 MiB) and parsed with every
failure turned into one line: the hook runs on untrusted pull requests in CI.

The hook runs on every commit, so its cost is part of every ``git commit``. The
success path of a static version imports only ``os``, ``sys``, ``re``,
``tomllib`` and the small :mod:`directive_release.sources.files`; a dynamic
version adds the standard-library-only source resolver. The detailed reasons
(:mod:`directive_release.version`), the line finder, ``argparse`` and
``packaging`` are loaded only when there is something to explain.
"""

from __future__ import annotations

import os
import re
import sys
import tomllib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from .sources.files import SourceError, decode, parse_toml_text, read_bytes

if TYPE_CHECKING:  # argparse is imported only when an option is given
    import argparse

DEFAULT_FILE = "pyproject.toml"
EXPECTED = 'version = "MAJOR.MINOR.PATCH"'

# Accepts exactly what ``version.parse`` accepts (a property test holds the two
# together). It only ever says "valid": every rejection is explained by
# ``version.parse``, which stays the single source of the reasons.
_PLAIN_VERSION = re.compile(r"(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)", re.ASCII)


class Problem(NamedTuple):
    line: int
    message: str
    path: str | None = None  # another file than the one checked (a version file, uv.lock)


# ---------------------------------------------------------------- checking


def check_file(path: str) -> list[Problem]:
    """Every problem with the project version of the pyproject.toml at ``path`` and of every copy of it
    (version files, uv.lock); empty when all agree and are valid, or when the version comes from git tags."""
    try:
        data = read_bytes(path, path)
        text = decode(data, path)
        document = parse_toml_text(text, path)
    except SourceError as error:
        return [Problem(error.line or 1, error.reason)]
    if _passes(document):
        directory = os.path.dirname(path)
        if not _may_have_copies(document, directory):
            return []
        return _scan(path, data, document)
    project = document.get("project")
    if isinstance(project, dict) and "version" not in project and _is_dynamic(project):
        return _scan(path, data, document)
    return _explain(document, text)


def _is_dynamic(project: dict[str, Any]) -> bool:
    dynamic = project.get("dynamic")
    return isinstance(dynamic, list) and "version" in dynamic


def _may_have_copies(document: dict[str, Any], directory: str) -> bool:
    """Whether a static version may have copies to compare: listed version files, or a uv.lock here or
    at a uv workspace root above (a few ``stat`` calls; uv.lock is read only when it exists)."""
    tool = document.get("tool")
    if isinstance(tool, dict) and isinstance(tool.get("directive-release"), dict) \
            and "version-files" in tool["directive-release"]:
        return True
    current = directory = os.path.abspath(directory)
    if os.path.lexists(os.path.join(current, "uv.lock")):
        return True
    while not os.path.lexists(os.path.join(current, ".git")):  # up to the repository root
        parent = os.path.dirname(current)
        if parent == current:
            return False
        current = parent
        if os.path.lexists(os.path.join(current, "uv.lock")):  # a uv workspace's lock, perhaps
            from .sources.scan import find_lock, repository_root

            return find_lock(directory, repository_root(directory)) is not None
    return False


def _scan(path: str, data: bytes, document: dict[str, Any]) -> list[Problem]:
    """Resolve the version source (any backend) and compare every copy with it."""
    from .errors import ConfigError
    from .sources.scan import scan

    directory = os.path.dirname(path)
    try:
        result = scan(directory or ".", display_dir=directory, pyproject_raw=data,
                      document=document, pyproject_name=os.path.basename(path), lock_by_lines=True)
    except SourceError as error:
        return [Problem(error.line or 1, error.reason, None if error.path == path else error.path)]
    except ConfigError as error:
        message = str(error).removeprefix(f"{path}: ")
        return [Problem(key_lines(data.decode("utf-8")).get(("tool", "directive-release"), 1), message)]
    return [
        Problem(error.line or 1, error.reason, None if error.path == path else error.path)
        for error in result.problems
    ]


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
    """The problems of a parsed document whose static version did not pass the fast check."""
    from . import version as versions

    try:
        lines = key_lines(text)
    except RecursionError:
        lines = {}

    def line_of(*path: str) -> int:
        for depth in range(len(path), 0, -1):
            if path[:depth] in lines:
                return lines[path[:depth]]
        return 1

    if "project" not in document:
        return [Problem(1, versions.NO_PROJECT_TABLE)]
    project = document["project"]
    if not isinstance(project, dict):
        return [Problem(line_of("project"), versions.not_a_table(project))]
    if "version" not in project:
        return [Problem(line_of("project"), versions.NO_VERSION)]
    problems: list[Problem] = []
    if _is_dynamic(project):
        problems.append(Problem(line_of("project", "dynamic"), versions.BOTH_STATIC_AND_DYNAMIC))
    message = versions.problem(project["version"])
    if message is not None:
        problems.append(Problem(line_of("project", "version"), message))
    return problems


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

    parser = argparse.ArgumentParser(
        prog="directive-release-check",
        description=(
            "Check that each pyproject.toml's version, static or in the file the build backend "
            "reads (hatchling path, setuptools attr/file, flit_core, pdm file), has the form "
            "MAJOR.MINOR.PATCH (ASCII digits, no leading zeros, no prefix, no pre-release "
            "or build suffix), the only form the directive-release flow and PyPI both accept, "
            "and that its copies (version-files, uv.lock) agree. A version from git tags passes. "
            "Prints one 'path:line: message' line per problem."
        ),
        epilog="exit status: 0 every file is valid, 1 a file has a problem, 2 usage error",
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
        line = redact(f"{problem.path or path}:{problem.line}: {problem.message}").translate(_CONTROL_ESCAPES)
        sys.stdout.write(line.encode(encoding, "backslashreplace").decode(encoding) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    raise SystemExit(main())
