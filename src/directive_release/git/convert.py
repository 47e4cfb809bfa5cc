"""The clean conversion git applies before hashing worktree bytes (convert.c
convert_to_git: filter, working-tree-encoding, CRLF, ident) and the gitattributes
lookup (attr.c) it depends on. Only loaded when the clean check must compare a
file's content, or a release stages pyproject.toml.

No dulwich: its ``filters.FilterBlobNormalizer`` (1.2.21) covers filter drivers and
CRLF (has_crlf_in_index included) but not the ``ident`` and ``working-tree-encoding``
attributes, and importing it would put dulwich's ~150 ms of imports on the release
path (/work/shared/notes/dulwich.md §3). The differential tests
(tests/git/test_status_differential.py: the ``attributes``, ``autocrlf`` and
``crlf_rewrite`` operations; tests/git/test_status.py) compare ours with git.

What it reads from its caller is :class:`ConversionContext`, a structural type
defined here (the clean check's context in :mod:`.status` is one), so this module
never imports :mod:`.status`, not even for types.
"""

from __future__ import annotations

import os
import re
import stat as stat_mod
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ..errors import RepositoryError, UnsupportedRepositoryError
from .index import R_OID

if TYPE_CHECKING:
    from typing import Protocol

    from .config import GitConfig
    from .index import IndexFile
    from .odb import ObjectReader
    from .repo import Repository

    class ConversionSettings(Protocol):
        @property
        def autocrlf(self) -> str:  # "true" | "false" | "input"
            ...

    class ConversionContext(Protocol):
        """What the conversion and the attributes lookup read: the repository, its
        worktree root (bytes ending in "/"), index, objects, configuration, core.*
        settings, and one :class:`Attributes` shared by every file checked."""

        @property
        def repo(self) -> Repository: ...

        @property
        def root(self) -> bytes: ...

        @property
        def index(self) -> IndexFile: ...

        @property
        def objects(self) -> ObjectReader: ...

        @property
        def config(self) -> GitConfig: ...

        @property
        def settings(self) -> ConversionSettings: ...

        @property
        def attributes(self) -> Attributes: ...


AttrValue = bytes | bool | None  # set (True), unset (False), a value, unspecified (None)
_ATTRS_WANTED = (b"text", b"crlf", b"eol", b"ident", b"filter", b"working-tree-encoding")


class Converter:
    def __init__(self, context: ConversionContext) -> None:
        self.context = context

    def to_git(self, path: bytes, data: bytes, index_oid: bytes) -> bytes:
        attributes = self.context.attributes.lookup(path)
        data = self._filter(path, data, attributes.get(b"filter"))
        encoding = attributes.get(b"working-tree-encoding")
        if isinstance(encoding, bytes) and encoding.upper() not in (b"UTF-8", b"UTF8"):
            data = _reencode_to_utf8(data, encoding.decode("ascii", "replace"))
        action = self._crlf_action(attributes)
        data = _crlf_to_git(data, action, lambda: self._index_has_crlf(index_oid))
        if attributes.get(b"ident") is True:
            data = re.sub(rb"\$Id:[^$\n]*\$", b"$Id$", data)  # ident_to_git()
        return data

    def _crlf_action(self, attributes: dict[bytes, bytes | bool]) -> str:
        """convert_attrs(): one of binary / text / auto, which is all checkin needs."""
        action = _crlf_from_attribute(attributes.get(b"text"))
        if action is None:
            action = _crlf_from_attribute(attributes.get(b"crlf"))
        if action is None and attributes.get(b"eol") in (b"lf", b"crlf"):
            action = "text"  # an eol attribute alone means text
        if action is None:
            autocrlf = self.context.settings.autocrlf
            action = "binary" if autocrlf == "false" else "auto"
        return action

    def _index_has_crlf(self, oid: bytes) -> bool:
        """has_crlf_in_index(): the staged blob is CRLF text (then git keeps CRLF)."""
        try:
            data = self.context.objects.read_typed(oid, "blob")
        except RepositoryError:
            return False
        if b"\r" not in data:
            return False
        stats = TextStats(data)
        return not stats.is_binary() and stats.crlf > 0

    def _filter(self, path: bytes, data: bytes, driver: AttrValue) -> bytes:
        if not isinstance(driver, bytes):
            return data
        name = driver.decode("utf-8", "replace")
        config = self.context.config
        command = config.get(f"filter.{name}.clean")
        if command is None:
            if config.get(f"filter.{name}.process") is not None:
                raise UnsupportedRepositoryError(
                    f"{os.fsdecode(path)}: filter '{name}' only has a long-running"
                    f" filter.{name}.process; set filter.{name}.clean to check it"
                )
            return data  # no such driver configured: git passes the content through
        import shlex
        import subprocess

        quoted = shlex.quote(os.fsdecode(path))
        result = subprocess.run(
            ["sh", "-c", command.replace("%f", quoted)],
            input=data,
            capture_output=True,
            cwd=self.context.repo.worktree,
        )
        if result.returncode != 0:
            if config.get_bool(f"filter.{name}.required", False):
                raise RepositoryError(f"{os.fsdecode(path)}: clean filter '{name}' failed")
            return data
        return result.stdout


def _crlf_from_attribute(value: AttrValue) -> str | None:
    """git_path_check_crlf()."""
    if value is True:
        return "text"
    if value is False:
        return "binary"
    if value == b"input":
        return "text"
    if value == b"auto":
        return "auto"
    return None


def _reencode_to_utf8(data: bytes, encoding: str) -> bytes:
    try:
        return data.decode(encoding).encode("utf-8")
    except (LookupError, UnicodeError):
        return data


class TextStats:
    """convert.c gather_stats()."""

    def __init__(self, data: bytes) -> None:
        self.crlf = data.count(b"\r\n")
        self.lonecr = data.count(b"\r") - self.crlf
        self.lonelf = data.count(b"\n") - self.crlf
        self.nul = data.count(0)
        control = sum(data.count(bytes([c])) for c in range(32) if c not in (8, 9, 10, 13, 27, 12))
        self.nonprintable = control + data.count(b"\x7f")
        if data.endswith(b"\x1a"):
            self.nonprintable -= 1
        printable = len(data) - control - data.count(b"\x7f") - data.count(b"\r") - data.count(b"\n")
        self.printable = printable

    def is_binary(self) -> bool:
        """convert_is_binary()."""
        return bool(self.lonecr or self.nul or (self.printable >> 7) < self.nonprintable)


def _crlf_to_git(data: bytes, action: str, index_has_crlf: Callable[[], bool]) -> bytes:
    """convert.c crlf_to_git() for the checkin direction."""
    if action == "binary" or not data:
        return data
    stats = TextStats(data)
    if not stats.crlf:
        return data
    if action == "auto":
        if stats.is_binary():
            return data
        if index_has_crlf():
            return data
        return data.replace(b"\r", b"")  # no lone CR here (that would be "binary")
    return data.replace(b"\r\n", b"\n")


# --- gitattributes (attr.c) --------------------------------------------------------


class _AttrRule:
    """One line of an attributes file."""

    def __init__(self, pattern: str, base: str, no_dir: bool, must_be_dir: bool,
                 attrs: list[tuple[bytes, AttrValue]]) -> None:
        self.pattern = pattern
        self.base = base  # directory of the attributes file, "" for the root
        self.no_dir = no_dir  # pattern has no slash: matches the basename
        self.must_be_dir = must_be_dir
        self.attrs = attrs


class Attributes:
    """git_check_attr() for the few attributes the clean conversion reads.

    Precedence, highest first: $GIT_DIR/info/attributes, then .gitattributes from the
    file's directory up to the root (worktree copy, else the index's), then
    core.attributesFile, then the system file; within a file, later lines win.
    """

    def __init__(self, context: ConversionContext) -> None:
        self.context = context
        self.macros: dict[bytes, list[tuple[bytes, AttrValue]]] = {
            b"binary": [(b"diff", False), (b"merge", False), (b"text", False)]
        }
        self._dir_rules: dict[str, list[_AttrRule]] = {}
        repo = context.repo
        env = os.environ
        self._system: list[_AttrRule] = []
        if not _env_true(env.get("GIT_ATTR_NOSYSTEM")):
            self._system = self._load_file(Path("/etc/gitattributes"), "", macros_allowed=True)
        global_path = context.config.get_path("core.attributesfile")
        if global_path is None:
            xdg = env.get("XDG_CONFIG_HOME") or os.path.join(env.get("HOME", ""), ".config")
            global_path = os.path.join(xdg, "git", "attributes")
        self._global = self._load_file(Path(global_path), "", macros_allowed=True)
        self._root = self._rules_for_dir("")
        self._info = self._load_file(repo.commondir / "info" / "attributes", "", macros_allowed=True)

    def _load_file(self, path: Path, base: str, *, macros_allowed: bool) -> list[_AttrRule]:
        try:
            data = path.read_bytes()
        except OSError:
            return []
        return self._parse(data, base, macros_allowed)

    def _rules_for_dir(self, directory: str) -> list[_AttrRule]:
        rules = self._dir_rules.get(directory)
        if rules is not None:
            return rules
        relative = (directory + "/" if directory else "") + ".gitattributes"
        full = self.context.root + os.fsencode(relative)
        data: bytes | None
        try:
            if stat_mod.S_ISLNK(os.lstat(full).st_mode):
                data = None  # git refuses in-tree .gitattributes symlinks
            else:
                with open(full, "rb") as handle:
                    data = handle.read()
        except OSError:
            data = self._from_index(os.fsencode(relative))
        rules = self._parse(data, directory, macros_allowed=not directory) if data else []
        self._dir_rules[directory] = rules
        return rules

    def _from_index(self, path: bytes) -> bytes | None:
        entry = self.context.index.position(path)
        if entry is None:
            return None
        try:
            return self.context.objects.read_typed(self.context.index.record(entry)[R_OID], "blob")
        except RepositoryError:
            return None

    def _parse(self, data: bytes, base: str, macros_allowed: bool) -> list[_AttrRule]:
        rules: list[_AttrRule] = []
        for raw_line in data.splitlines():
            line = raw_line.lstrip(b" \t\r\n")
            if not line or line.startswith(b"#"):
                continue
            if line.startswith(b'"'):
                pattern_bytes, rest = _unquote_c_style(line)
            else:
                parts = line.split(None, 1)
                pattern_bytes, rest = parts[0], parts[1] if len(parts) > 1 else b""
            attrs = [_parse_attr(token) for token in rest.split()]
            if pattern_bytes.startswith(b"[attr]"):
                if macros_allowed:
                    self.macros[pattern_bytes[6:]] = attrs
                continue
            if pattern_bytes.startswith(b"!"):
                continue  # negative patterns are ignored by git
            pattern = os.fsdecode(pattern_bytes)
            must_be_dir = pattern.endswith("/")
            pattern = pattern.rstrip("/") if must_be_dir else pattern
            rules.append(_AttrRule(pattern, base, "/" not in pattern, must_be_dir, attrs))
        return rules

    def lookup(self, path: bytes) -> dict[bytes, AttrValue]:
        text = os.fsdecode(path)
        directories = [""]
        parts = text.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            directories.append("/".join(parts[:depth]))
        stack = [self._system, self._global]
        stack.extend(self._rules_for_dir(d) for d in directories)
        stack.append(self._info)
        values: dict[bytes, AttrValue] = {}
        basename = parts and text.rsplit("/", 1)[1] or text
        # attr.c fill(): highest precedence first, last line first, first assignment wins.
        for rules in reversed(stack):
            for rule in reversed(rules):
                if _attr_rule_matches(rule, text, basename):
                    self._fill(values, rule.attrs)
        return {name: values[name] for name in _ATTRS_WANTED if values.get(name) is not None}

    def _fill(self, values: dict[bytes, AttrValue], attrs: list[tuple[bytes, AttrValue]], depth: int = 0) -> None:
        for name, value in reversed(attrs):
            if name in values:
                continue
            values[name] = value
            macro = self.macros.get(name)
            if macro is not None and value is True and depth < 20:
                self._fill(values, macro, depth + 1)


def _env_true(value: str | None) -> bool:
    return bool(value) and value.lower() in ("1", "true", "yes", "on")


def _parse_attr(token: bytes) -> tuple[bytes, AttrValue]:
    if token.startswith(b"!"):
        return token[1:], None  # explicitly unspecified: still counts as assigned
    if token.startswith(b"-"):
        return token[1:], False
    name, equals, value = token.partition(b"=")
    return (name, value) if equals else (name, True)


def _attr_rule_matches(rule: _AttrRule, path: str, basename: str) -> bool:
    """attr.c path_matches() for a file (never a directory here)."""
    from .config import wildmatch

    if rule.must_be_dir:
        return False
    if rule.no_dir:
        if rule.base and not path.startswith(rule.base + "/"):
            return False
        return wildmatch(rule.pattern, basename, pathname=False)
    pattern = rule.pattern[1:] if rule.pattern.startswith("/") else rule.pattern
    if rule.base:
        if not path.startswith(rule.base + "/"):
            return False
        path = path[len(rule.base) + 1 :]
    return wildmatch(pattern, path, pathname=True)


def _unquote_c_style(line: bytes) -> tuple[bytes, bytes]:
    """quote.c unquote_c_style() for a leading "..." pattern; returns (pattern, rest)."""
    escapes = {ord("a"): 7, ord("b"): 8, ord("t"): 9, ord("n"): 10, ord("v"): 11, ord("f"): 12, ord("r"): 13}
    out = bytearray()
    position = 1
    while position < len(line):
        byte = line[position]
        if byte == ord('"'):
            return bytes(out), line[position + 1 :]
        if byte == ord("\\") and position + 1 < len(line):
            position += 1
            byte = line[position]
            if byte in escapes:
                out.append(escapes[byte])
            elif ord("0") <= byte <= ord("3") and position + 2 < len(line):
                out.append(int(line[position : position + 3], 8))
                position += 2
            else:
                out.append(byte)
        else:
            out.append(byte)
        position += 1
    return bytes(out), b""
