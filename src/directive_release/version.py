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
        self.suggestion = _suggestion(text)
        hint = f'; write "{self.suggestion}"' if self.suggestion else ""
        super().__init__(f"version {_quote(text)} is not MAJOR.MINOR.PATCH ({reason}){hint}")


def _suggestion(text: str) -> str | None:
    """The version a short one means: "1.2" -> "1.2.0", "1" -> "1.0.0" (other mistakes say how to fix
    them in their reason; a leading zero is not guessed away)."""
    fields = text.split(".")
    if 1 <= len(fields) < 3 and all(_ASCII_DIGITS.fullmatch(field) and (field == "0" or field[0] != "0")
                                    for field in fields):
        return ".".join(fields + ["0"] * (3 - len(fields)))
    return None


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


# ------------------------------------------------------------ the one wording
#
# Every command that finds a bad version (the release, the pre-commit hook, the
# CI helpers) prints these sentences, prefixed with ``path:line: ``.

EXPECTED = 'version = "MAJOR.MINOR.PATCH"'
NO_PROJECT_TABLE = f"no [project] table; expected [project] with {EXPECTED}"
NO_VERSION = f"[project] has no version; expected {EXPECTED}"
BOTH_STATIC_AND_DYNAMIC = 'version is both set and listed in dynamic (PEP 621 forbids that); remove "version" from dynamic'


def not_a_table(value: object) -> str:
    return f"project is {describe(value)}, not a table; expected [project] with {EXPECTED}"


def problem(value: object) -> str | None:
    """Why ``value`` (a parsed version) cannot be released, in the one wording; None when it can."""
    if not isinstance(value, str):
        return f"version is {describe(value)}, not a string; expected {EXPECTED} (in quotes)"
    try:
        parse(value)
    except InvalidVersion as error:
        return str(error) + _pep440_hint(value)
    return None


def _pep440_hint(text: str) -> str:
    """Say what PEP 440 makes of a pre-/post-/dev-release, whose artefacts get a different name."""
    try:
        from packaging.version import InvalidVersion as NotPep440
        from packaging.version import Version as Pep440Version
    except ImportError:  # optional: the hook itself needs only the standard library
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


def describe(value: object) -> str:
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
