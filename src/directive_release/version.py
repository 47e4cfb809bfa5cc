"""Pure semantic versions: parse, validate, bump. Standard library only, no I/O.

The release flow and the pre-commit hook share these rules, so a version the
hook accepts is exactly a version the release flow can bump. Only plain
``MAJOR.MINOR.PATCH`` is accepted: pre-release and build suffixes are out of
scope (PEP 440 spells ``1.0.0-rc.1`` as ``1.0.0rc1``, which would change the
artefact names, and PyPI rejects ``+local`` versions).
"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple

Part = Literal["major", "minor", "patch"]
PARTS: tuple[Part, ...] = ("major", "minor", "patch")

_FIELD_NAMES = ("major", "minor", "patch")
_ASCII_DIGITS = re.compile(r"[0-9]+", re.ASCII)


class InvalidVersion(ValueError):
    """The text is not ``MAJOR.MINOR.PATCH``; ``reason`` says why in a few words."""

    def __init__(self, text: str, reason: str) -> None:
        self.text = text
        self.reason = reason
        super().__init__(f"version {_quote(text)} is not MAJOR.MINOR.PATCH ({reason})")


def _quote(text: str) -> str:
    # JSON-like quoting keeps control characters and odd whitespace visible.
    escaped = text.encode("unicode_escape").decode("ascii").replace('"', '\\"')
    return f'"{escaped}"'


class Version(NamedTuple):
    major: int
    minor: int
    patch: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    def bump(self, part: Part) -> Version:
        if part == "major":
            return Version(self.major + 1, 0, 0)
        if part == "minor":
            return Version(self.major, self.minor + 1, 0)
        if part == "patch":
            return Version(self.major, self.minor, self.patch + 1)
        raise ValueError(f"unknown part {part!r}; expected one of {', '.join(PARTS)}")


def _reason(text: str) -> str | None:
    """Why ``text`` is not a plain MAJOR.MINOR.PATCH, or None if it is one."""
    if text == "":
        return "empty string"
    if text != text.strip():
        return "leading or trailing whitespace"
    if any(ch.isspace() for ch in text):
        return "contains whitespace"
    if text[0] in "vV":
        return "no 'v' prefix allowed, write it without"
    core, plus, _build = text.partition("+")
    if plus:
        return "build metadata ('+...') is not supported; PyPI rejects local versions"
    pre_match = re.match(r"^([0-9]+\.[0-9]+\.[0-9]+)(.+)$", core, re.ASCII)
    if pre_match and pre_match.group(2)[0] in "-abrc.dp" and not re.fullmatch(r"(\.[0-9]+)+", pre_match.group(2)):
        return "pre-release and dev/post versions are not supported by the release flow"
    fields = core.split(".")
    if len(fields) != 3:
        return f"expected 3 dot-separated numbers, found {len(fields)} part{'s' if len(fields) != 1 else ''}"
    for name, field in zip(_FIELD_NAMES, fields):
        if field == "":
            return f"empty {name}"
        if not _ASCII_DIGITS.fullmatch(field):
            if all(ch.isdigit() for ch in field):
                return f"non-ASCII digits in {name}"
            return f"{name} {_quote(field)} is not a number"
        if len(field) > 1 and field[0] == "0":
            return f"leading zero in {name}"
    return None


def parse(text: str) -> Version:
    """Parse ``MAJOR.MINOR.PATCH`` (ASCII digits, no leading zeros, nothing else)."""
    if not isinstance(text, str):
        raise InvalidVersion(str(text), f"expected a string, found {type(text).__name__}")
    reason = _reason(text)
    if reason is not None:
        raise InvalidVersion(text, reason)
    major, minor, patch = (int(field) for field in text.split("."))
    return Version(major, minor, patch)


def is_valid(text: str) -> bool:
    return isinstance(text, str) and _reason(text) is None


def bump(text: str, part: Part) -> str:
    return str(parse(text).bump(part))
