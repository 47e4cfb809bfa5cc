"""git's config file grammar: a port of ``config.c``'s ``git_parse_source()``, line numbers included.

The one parser of config text: :mod:`.config` loads git's files through it
(includes, conditions, scopes), :mod:`.repo` reads the few ``core``/``extensions``
keys discovery needs with it, and :mod:`.config_edit` recognises the keys a release
added. Standard library only, and it imports nothing of ours but the errors, so
every one of them can use it. No dulwich: ``dulwich.config.ConfigFile`` accepts
lines git refuses and reports no line numbers (tests/git/test_config.py holds the
grammar to ``git config --list``, errors included).
"""

from __future__ import annotations

import re

from ..errors import ConfigError

_SPACE = " \t\n\r"  # git's sane_ctype isspace()
_ALPHA = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_KEYCHARS = _ALPHA | frozenset("0123456789-")



class _Source:
    def __init__(self, text: str) -> None:
        self.text = text.replace("\r\n", "\n")  # get_next_char() folds CRLF anywhere
        self.pos = 0
        self.linenr = 1
        self.eof = False

    def next(self) -> str:
        if self.pos >= len(self.text):
            self.eof = True
            self.linenr += 1
            return "\n"
        c = self.text[self.pos]
        self.pos += 1
        if c == "\n":
            self.linenr += 1
        return c


_PLAIN_VALUE = re.compile(r'[^\n\\"#; \t\r]+')


def _parse_value(src: _Source) -> str | None:
    out: list[str] = []
    quote = comment = False
    space = 0
    length = 0
    while True:
        if not comment and not space and src.pos < len(src.text):
            # Fast path for the common run of ordinary characters.
            plain = _PLAIN_VALUE.match(src.text, src.pos)
            if plain:
                out.append(plain.group())
                length += plain.end() - plain.start()
                src.pos = plain.end()
        c = src.next()
        if c == "\n":
            if quote:
                src.linenr -= 1
                return None
            return "".join(out)
        if comment:
            continue
        if c in _SPACE and not quote:
            if length:
                space += 1
            continue
        if not quote and c in "#;":
            comment = True
            continue
        if space:
            out.append(" " * space)
            length += space
            space = 0
        if c == "\\":
            c = src.next()
            if c == "\n":
                continue
            escaped = {"t": "\t", "b": "\b", "n": "\n", "\\": "\\", '"': '"'}.get(c)
            if escaped is None:
                return None
            out.append(escaped)
            length += 1
            continue
        if c == '"':
            quote = not quote
            continue
        out.append(c)
        length += 1


def _get_extended_base_var(src: _Source, name: list[str], c: str) -> bool:
    while True:
        if c == "\n":
            src.linenr -= 1
            return False
        c = src.next()
        if c not in _SPACE:
            break
    if c != '"':
        return False
    name.append(".")
    while True:
        c = src.next()
        if c == "\n":
            src.linenr -= 1
            return False
        if c == '"':
            break
        if c == "\\":
            c = src.next()
            if c == "\n":
                src.linenr -= 1
                return False
        name.append(c)
    return src.next() == "]"


def _get_base_var(src: _Source) -> str | None:
    name: list[str] = []
    while True:
        c = src.next()
        if src.eof:
            return None
        if c == "]":
            return "".join(name)
        if c in _SPACE:
            return "".join(name) if _get_extended_base_var(src, name, c) else None
        if c not in _KEYCHARS and c != ".":
            return None
        name.append(c.lower())


def parse_config(text: str, origin: str) -> list[tuple[str, str | None, int]]:
    """``(key, value, line)`` for every entry of one file; ConfigError naming file and line."""
    src = _Source(text[1:] if text.startswith("\ufeff") else text)
    entries: list[tuple[str, str | None, int]] = []
    base = ""
    comment = False
    while True:
        c = src.next()
        if c == "\n":
            if src.eof:
                return entries
            comment = False
            continue
        if comment or c in _SPACE:
            continue
        if c in "#;":
            comment = True
            continue
        if c == "[":
            section = _get_base_var(src)
            if not section:
                break
            base = section + "."
            continue
        if c not in _ALPHA:
            break
        name = [c.lower()]
        while True:
            c = src.next()
            if src.eof or c not in _KEYCHARS:
                break
            name.append(c.lower())
        while c in " \t":
            c = src.next()
        value: str | None = None
        if c != "\n":
            if c != "=":
                break
            value = _parse_value(src)
            if value is None:
                break
        # The newline ending the entry was consumed: it belongs to this line.
        entries.append((base + "".join(name), value, src.linenr - 1))
    raise ConfigError(f"bad config line {src.linenr} in file {origin}")
