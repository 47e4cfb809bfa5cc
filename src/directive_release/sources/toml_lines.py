"""Where each key of a TOML document is written: tomllib reports no positions.

A small lexer and parser of our own finds the 1-based line of every key path.
It only runs on text tomllib has already accepted, but it must never raise on
anything: an unexpected shape ends the scan and the caller falls back to a
shorter key path or to line 1. Standard library only; used by the hook, the
version sources and pyproject.py for the line of a message.
"""

from __future__ import annotations

import tomllib
from typing import NamedTuple


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
