"""``[tool.directive-release]`` in pyproject.toml: validated settings with defaults.

Shared by the release flow and the CI helpers. Pure: takes the parsed table,
returns a frozen :class:`Settings` or raises :class:`ConfigError` listing the
valid keys.
"""

from __future__ import annotations

import posixpath
from typing import Any, Mapping, NamedTuple

from .errors import ConfigError

TABLE = "tool.directive-release"


class Settings(NamedTuple):
    remote: str = "origin"
    base_branch: str = "main"
    branch_prefix: str = "release/v"
    tag_format: str = "v{version}"
    commit_message: str = "chore(release): v{version}"
    untracked_blocks: bool = False
    version_files: tuple[str, ...] = ()

    def branch_for(self, version: str) -> str:
        return f"{self.branch_prefix}{version}"

    def tag_for(self, version: str) -> str:
        return self.tag_format.format(version=version)

    def message_for(self, version: str) -> str:
        return self.commit_message.format(version=version)


_KEYS = {name.replace("_", "-"): name for name in Settings._fields}
_TEMPLATES = ("tag-format", "commit-message")


def valid_keys() -> str:
    return ", ".join(sorted(_KEYS))


def settings_from_table(table: Mapping[str, Any] | None, *, source: str = "pyproject.toml") -> Settings:
    """Build :class:`Settings` from the ``[tool.directive-release]`` table (or None)."""
    if table is None:
        return Settings()
    if not isinstance(table, Mapping):
        raise ConfigError(f"{source}: [{TABLE}] must be a table; valid keys: {valid_keys()}")
    values: dict[str, Any] = {}
    for key, value in table.items():
        name = _KEYS.get(key)
        if name is None:
            raise ConfigError(f"{source}: [{TABLE}] unknown key {key!r}; valid keys: {valid_keys()}")
        if key == "version-files":
            values[name] = _check_version_files(source, value)
            continue
        expected = bool if isinstance(Settings._field_defaults[name], bool) else str
        if type(value) is not expected and not (expected is str and isinstance(value, str)):
            raise ConfigError(
                f"{source}: [{TABLE}] {key} must be a {'boolean' if expected is bool else 'string'},"
                f" not {type(value).__name__}; valid keys: {valid_keys()}"
            )
        if expected is str:
            value = str(value)
            if not value:
                raise ConfigError(f"{source}: [{TABLE}] {key} must not be empty")
        if expected is str:
            _check_characters(source, key, value)
        if key in _TEMPLATES:
            _check_template(source, key, value)
        if key in _NAMES:
            _check_name(source, key, value, _NAMES[key])
        values[name] = value
    return Settings(**values)


# Names git must accept as they are: a remote's name (never a URL or a path: a committed
# file must not be able to send the release elsewhere) and the base branch.
_NAMES = {"remote": "refs/remotes/{}/HEAD", "base-branch": "refs/heads/{}"}


def _check_characters(source: str, key: str, value: str) -> None:
    allowed = "\n\t" if key == "commit-message" else ""
    bad = [ch for ch in value if (ord(ch) < 0x20 or ord(ch) == 0x7F) and ch not in allowed]
    if bad:
        raise ConfigError(f"{source}: [{TABLE}] {key} contains a control character ({bad[0]!r}); remove it")


def _check_name(source: str, key: str, value: str, pattern: str) -> None:
    from .refname import ref_name_problem

    problem = "starts with '-'" if value.startswith("-") else ref_name_problem(pattern.format(value))
    if problem is not None:
        raise ConfigError(f"{source}: [{TABLE}] {key} {value!r} is not a valid name ({problem})")


def _check_template(source: str, key: str, template: str) -> None:
    """Only the literal field ``{version}``: no index, attribute, conversion or format spec.

    ``str.format`` would otherwise evaluate ``{version.__class__}`` or ``{version[0]}`` from a
    committed file; ``{{`` and ``}}`` stay available for literal braces.
    """
    from string import Formatter

    invalid = f"{source}: [{TABLE}] {key} {template!r} is not a valid template"
    try:
        parsed = list(Formatter().parse(template))
    except ValueError as exc:
        raise ConfigError(f"{invalid} ({exc}); write {{{{ and }}}} for literal braces") from exc
    fields = 0
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if name != "version" or spec or conversion:
            shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            raise ConfigError(f"{invalid}: only {{version}} may appear in braces, not {shown}")
        fields += 1
    if not fields:
        raise ConfigError(f"{source}: [{TABLE}] {key} must contain {{version}}: {template!r}")


def _check_version_files(source: str, value: Any) -> tuple[str, ...]:
    """``version-files``: a list of ``"path"`` or ``"path:regex"`` (regex with a ``version`` group),
    each path relative to the project, listed once."""
    where = f"{source}: [{TABLE}] version-files"
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f'{where} must be a list of strings like "src/pkg/__init__.py"; valid keys: {valid_keys()}')
    seen: dict[str, str] = {}
    for entry in value:
        path, colon, pattern = entry.partition(":")
        if not path or (colon and not pattern):
            raise ConfigError(f'{where}: {entry!r} must be "path" or "path:regex" with a (?P<version>...) group')
        _check_characters(source, "version-files", entry)
        if path.startswith("/") or "\\" in path:
            raise ConfigError(f"{where}: {path!r} must be a path relative to the project, with / separators")
        normal = posixpath.normpath(path)
        if normal in seen:
            raise ConfigError(f"{where} lists {normal} twice ({seen[normal]!r} and {entry!r}); list each file once")
        seen[normal] = entry
        if colon:
            import re

            try:
                compiled = re.compile(pattern, re.MULTILINE)
            except (re.error, RecursionError, OverflowError) as exc:
                raise ConfigError(f"{where}: the pattern of {path} is not a valid regular expression ({exc})") from None
            if "version" not in compiled.groupindex:
                raise ConfigError(f"{where}: the pattern of {path} has no (?P<version>...) group")
    return tuple(value)
