"""Git configuration read exactly as git 2.39 reads it, with no git binary.

Why not dulwich's ``StackedConfig``: it skips ``includeIf "gitdir:"`` in global
files, ranks ``config.worktree`` below ``.git/config`` and imports slowly. This
module is stdlib only: a port of git's ``config.c`` parser (same grammar, same
``bad config line N in file F`` errors), the same file order, includes and
conditions, and git's ``wildmatch`` for ``gitdir:``/``onbranch:`` patterns.

Order (later wins for single values), as ``git config --show-scope`` lists it:
system (``GIT_CONFIG_SYSTEM`` or ``/etc/gitconfig``, skipped with
``GIT_CONFIG_NOSYSTEM``), global (``GIT_CONFIG_GLOBAL``, else
``$XDG_CONFIG_HOME/git/config`` or ``~/.config/git/config`` then
``~/.gitconfig``), local (``<commondir>/config``), worktree
(``<gitdir>/config.worktree`` when ``extensions.worktreeConfig``), command
(``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_n``/``GIT_CONFIG_VALUE_n``, then
``GIT_CONFIG_PARAMETERS``). Included files take the scope of their includer.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from ..errors import ConfigError

if TYPE_CHECKING:
    from .repo import Repository

MAX_INCLUDE_DEPTH = 10  # git's limit, reached in practice only by include loops
from .config_syntax import _ALPHA, _KEYCHARS, _SPACE, parse_config  # noqa: F401  (parse_config: the one parser)
_COMMAND_LINE = "command line"


class ConfigEntry(NamedTuple):
    """One ``key = value`` as git saw it, with where it came from."""

    key: str  # canonical: section and name lower-cased, subsection as written
    value: str | None  # None: ``key`` with no ``=`` (git's implicit boolean true)
    scope: str  # system | global | local | worktree | command
    origin: str  # the file's path, or "command line"
    line: int  # 1-based line in ``origin``; 0 for the command line

    @property
    def where(self) -> str:
        return self.origin if not self.line else f"{self.origin}:{self.line}"

    def needs_value(self) -> ConfigError:
        """git's error for a bare ``key`` where a value is required."""
        place = "the command line" if not self.line else f"file '{self.origin}' at line {self.line}"
        return ConfigError(f"bad config variable '{self.key}' in {place}: it needs a value (key = value)")


class GitConfig:
    """Every configuration entry in git's order; lookups mirror ``git config --get``."""

    def __init__(self, entries: list[ConfigEntry] | tuple[ConfigEntry, ...] = (),
                 env: Mapping[str, str] | None = None) -> None:
        self.entries: tuple[ConfigEntry, ...] = tuple(entries)
        self._env = dict(os.environ if env is None else env)
        self._by_key: dict[str, list[ConfigEntry]] = {}
        for entry in self.entries:
            self._by_key.setdefault(entry.key, []).append(entry)

    # -- raw lookups -------------------------------------------------------
    def entry(self, key: str) -> ConfigEntry | None:
        """The entry that wins for ``key`` (the last one), or None."""
        found = self._by_key.get(canonical_key(key))
        return found[-1] if found else None

    def entries_for(self, key: str) -> list[ConfigEntry]:
        return list(self._by_key.get(canonical_key(key), ()))

    def get(self, key: str) -> str | None:
        """Last value, like ``git config --get``; a bare ``key`` (no ``=``) reads as ""."""
        found = self.entry(key)
        if found is None:
            return None
        return "" if found.value is None else found.value

    def get_all(self, key: str) -> list[str]:
        """All values in git's order, like ``git config --get-all``."""
        return ["" if e.value is None else e.value for e in self._by_key.get(canonical_key(key), ())]

    def __contains__(self, key: str) -> bool:
        return canonical_key(key) in self._by_key

    # -- typed lookups -----------------------------------------------------
    def get_bool(self, key: str, default: bool) -> bool:
        """git's booleans: true/yes/on/false/no/off/"" or an integer; else ConfigError."""
        found = self.entry(key)
        if found is None:
            return default
        parsed = parse_bool(found.value)
        if parsed is None:
            raise ConfigError(
                f"bad boolean config value '{found.value}' for '{key}' ({found.where});"
                " use true or false"
            )
        return parsed

    def get_int(self, key: str, default: int) -> int:
        """git's integers: decimal/0x hex/0 octal with an optional k, m or g suffix."""
        found = self.entry(key)
        if found is None:
            return default
        parsed = parse_int(found.value or "")
        if parsed is None:
            raise ConfigError(
                f"bad numeric config value '{found.value}' for '{key}' ({found.where}):"
                " invalid unit or number"
            )
        return parsed

    def get_path(self, key: str) -> str | None:
        """A pathname value with ``~/`` and ``~user/`` expanded, like ``--type=path``."""
        found = self.entry(key)
        if found is None:
            return None
        if found.value is None:
            raise found.needs_value()
        expanded = interpolate_path(found.value, self._env)
        if expanded is None:
            raise ConfigError(f"failed to expand user dir in: '{found.value}' ({key}, {found.where})")
        return expanded

    # -- sections ----------------------------------------------------------
    def subsections(self, section: str) -> list[str]:
        """Names of every ``[section "name"]`` in order of first appearance."""
        wanted = section.lower()
        seen: dict[str, None] = {}
        for entry in self.entries:
            name, sub, _ = split_key(entry.key)
            if name == wanted and sub is not None:
                seen.setdefault(sub, None)
        return list(seen)

    def subsection_values(self, section: str, name: str) -> list[tuple[str, str | None]]:
        """``(subsection, value)`` for every ``section.<subsection>.name``, in order.

        For ``url.<base>.insteadOf``: ``subsection_values("url", "insteadOf")``.
        """
        wanted_section, wanted_name = section.lower(), name.lower()
        result: list[tuple[str, str | None]] = []
        for entry in self.entries:
            sec, sub, var = split_key(entry.key)
            if sec == wanted_section and var == wanted_name and sub is not None:
                result.append((sub, entry.value))
        return result


# ---------------------------------------------------------------------------
# Value types
# ---------------------------------------------------------------------------

def parse_bool(value: str | None) -> bool | None:
    """git_parse_maybe_bool(): None means "not a boolean"."""
    if value is None:
        return True
    lowered = value.lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off", ""):
        return False
    number = parse_int(value)
    return None if number is None else number != 0


_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
_INT_MAX = 2**31 - 1


def parse_int(value: str) -> int | None:
    """git_parse_int(): strtoimax(base 0) plus a unit; None when invalid or out of range."""
    text = value.lstrip(" \t\n\r\v\f")
    sign = 1
    if text[:1] in ("+", "-"):
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    if text[:2].lower() == "0x" and len(text) > 2 and text[2] in "0123456789abcdefABCDEF":
        digits = re.match(r"[0-9a-fA-F]+", text[2:])
        base, rest_start = 16, 2
    elif text[:1] == "0":
        digits = re.match(r"[0-7]+", text)
        base, rest_start = 8, 0
    else:
        digits = re.match(r"[0-9]+", text)
        base, rest_start = 10, 0
    if not digits:
        return None
    unit = text[rest_start + digits.end():].lower()
    if unit not in _UNITS:
        return None
    number = sign * int(digits.group(), base) * _UNITS[unit]
    if not -_INT_MAX - 1 <= number <= _INT_MAX:
        return None
    return number


def interpolate_path(path: str, env: Mapping[str, str], real_home: bool = False) -> str | None:
    """git's interpolate_path(): ``~/x`` from $HOME, ``~user/x`` from passwd."""
    if not path.startswith("~"):
        return path
    slash = path.find("/")
    user = path[1:] if slash < 0 else path[1:slash]
    rest = "" if slash < 0 else path[slash:]
    if not user:
        home = env.get("HOME")
        if home is None:
            return None
        return (os.path.realpath(home) if real_home else home) + rest
    try:
        import pwd

        return pwd.getpwnam(user).pw_dir + rest
    except (KeyError, ImportError):
        return None


# ---------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------

def canonical_key(key: str) -> str:
    """git_config_parse_key(): lower-case section and name, keep the subsection."""
    last_dot = key.rfind(".")
    if last_dot <= 0:
        raise ConfigError(f"key does not contain a section: {key}")
    if last_dot == len(key) - 1:
        raise ConfigError(f"key does not contain variable name: {key}")
    first_dot = key.find(".")
    section, middle, name = key[:first_dot], key[first_dot:last_dot + 1], key[last_dot + 1:]
    if (not all(c in _KEYCHARS for c in section)
            or not all(c in _KEYCHARS for c in name) or name[0] not in _ALPHA):
        raise ConfigError(f"invalid key: {key}")
    if "\n" in middle:
        raise ConfigError(f"invalid key (newline): {key}")
    return f"{section.lower()}{middle}{name.lower()}"


def split_key(key: str) -> tuple[str, str | None, str]:
    """``remote.a.b.url`` -> ("remote", "a.b", "url"); ``core.bare`` -> ("core", None, "bare")."""
    first_dot, last_dot = key.find("."), key.rfind(".")
    if first_dot < 0:
        return "", None, key
    if first_dot == last_dot:
        return key[:first_dot], None, key[last_dot + 1:]
    return key[:first_dot], key[first_dot + 1:last_dot], key[last_dot + 1:]


# ---------------------------------------------------------------------------
# wildmatch (WM_PATHNAME) for gitdir:/onbranch:, plain for hasconfig:
# ---------------------------------------------------------------------------

_CLASSES = {
    "alnum": "a-zA-Z0-9", "alpha": "a-zA-Z", "blank": " \\t", "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9", "graph": "!-~", "lower": "a-z", "print": " -~",
    "punct": "!-/:-@\\[-`{-~", "space": " \\t\\n\\r\\v\\f", "upper": "A-Z",
    "xdigit": "0-9a-fA-F",
}
_NEVER = "(?!)"


def _class_regex(pattern: str, i: int, pathname: bool) -> tuple[str, int] | None:
    """Translate ``[...]`` starting after '['; None when git would abort the match."""
    n = len(pattern)
    if i >= n:
        return None
    negated = pattern[i] in "!^"
    if negated:
        i += 1
    members: list[str] = []
    prev: str | None = None
    first = True
    while True:
        if i >= n:
            return None
        c = pattern[i]
        if c == "]" and not first:
            break
        first = False
        if c == "\\":
            i += 1
            if i >= n:
                return None
            members.append(re.escape(pattern[i]))
            prev = pattern[i]
        elif c == "-" and prev is not None and i + 1 < n and pattern[i + 1] != "]":
            i += 1
            high = pattern[i]
            if high == "\\":
                i += 1
                if i >= n:
                    return None
                high = pattern[i]
            members.pop()  # the range replaces its low end
            if prev <= high:
                members.append(f"{re.escape(prev)}-{re.escape(high)}")
            prev = None
        elif c == "[" and i + 1 < n and pattern[i + 1] == ":":
            end = pattern.find("]", i + 2)
            if end < 0:
                return None
            body = pattern[i + 2:end]
            if not body.endswith(":"):
                members.append(re.escape("["))  # no ":]": a literal '['
                prev = "["
            else:
                cls = _CLASSES.get(body[:-1])
                if cls is None:
                    return None
                members.append(cls)
                prev = None
                i = end
        else:
            members.append(re.escape(c))
            prev = c
        i += 1
    body = "".join(members)
    guard = "(?!/)" if pathname else ""
    if negated:
        return (f"[^{body}{'/' if pathname else ''}]" if body or pathname else "(?s:.)"), i + 1
    return (f"{guard}[{body}]" if body else _NEVER), i + 1


@lru_cache(maxsize=256)
def _wildmatch_regex(pattern: str, pathname: bool, casefold: bool) -> re.Pattern[str]:
    out: list[str] = []
    i, n = 0, len(pattern)
    single = "[^/]" if pathname else "."
    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 >= n:
                out.append(_NEVER)  # a trailing backslash never matches in git
                break
            out.append(re.escape(pattern[i + 1]))
            i += 2
        elif c == "?":
            out.append(single)
            i += 1
        elif c == "*":
            j = i
            while j < n and pattern[j] == "*":
                j += 1
            double = j - i >= 2
            if not pathname:
                out.append(".*")
            elif double and (i == 0 or pattern[i - 1] == "/") and (
                j == n or pattern[j] == "/" or pattern[j:j + 2] == "\\/"
            ):
                if j < n and pattern[j] == "/":
                    out.append("(?:.*/)?")  # "**/" also matches zero directories
                    j += 1
                else:
                    out.append(".*")
            else:
                out.append("[^/]*")
            i = j
        elif c == "[":
            translated = _class_regex(pattern, i + 1, pathname)
            if translated is None:
                return re.compile(_NEVER)
            out.append(translated[0])
            i = translated[1]
        else:
            out.append(re.escape(c))
            i += 1
    flags = re.DOTALL | re.ASCII | (re.IGNORECASE if casefold else 0)
    return re.compile("".join(out), flags)


def wildmatch(pattern: str, text: str, *, pathname: bool = True, casefold: bool = False) -> bool:
    """git's wildmatch(): ``*`` stops at '/', ``/**/`` spans directories (WM_PATHNAME)."""
    return _wildmatch_regex(pattern, pathname, casefold).fullmatch(text) is not None


# ---------------------------------------------------------------------------
# Loading: files, includes and conditions
# ---------------------------------------------------------------------------

class _Loader:
    def __init__(self, repo: Repository | None, env: Mapping[str, str], unconditional_remote_url: bool) -> None:
        self.repo = repo
        self.env = env
        self.unconditional_remote_url = unconditional_remote_url
        self.entries: list[ConfigEntry] = []
        self.depth = 0
        self._remote_urls: list[str] | None = None
        # > 0 while reading an includeIf file in the remote-URL pass (git forbids URLs there)
        self._forbid_remote_url_depth = 0

    # files -------------------------------------------------------------
    def load_file(self, path: str, scope: str, *, must_exist_readable: bool) -> None:
        try:
            data = Path(path).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return
        except IsADirectoryError:
            return
        except PermissionError as exc:
            if not must_exist_readable:
                return
            raise ConfigError(f"unable to access '{path}': {exc.strerror}") from exc
        except OSError as exc:
            raise ConfigError(f"unable to read '{path}': {exc.strerror}") from exc
        text = data.decode("utf-8", "surrogateescape")
        for key, value, line in parse_config(text, path):
            self.add(ConfigEntry(key, value, scope, path, line), from_file=path)

    def add(self, entry: ConfigEntry, from_file: str | None) -> None:
        if self._forbid_remote_url_depth and re.fullmatch(r"remote\..*\.url", entry.key):
            raise ConfigError(
                "remote URLs cannot be configured in file directly or indirectly included by"
                f" includeIf.hasconfig:remote.*.url ({entry.where})"
            )
        self.entries.append(entry)
        key = entry.key
        if key == "include.path":
            self.include(entry, from_file, conditional=False)
        elif key.startswith("includeif.") and key.endswith(".path") and key.count(".") >= 2:
            condition = key[len("includeif."):-len(".path")]
            if self.condition_is_true(condition, from_file, entry):
                self.include(entry, from_file, conditional=True)

    def include(self, entry: ConfigEntry, from_file: str | None, conditional: bool) -> None:
        if entry.value is None:
            raise entry.needs_value()
        path = interpolate_path(entry.value, self.env)
        if path is None:
            raise ConfigError(f"could not expand include path '{entry.value}' ({entry.where})")
        if not os.path.isabs(path):
            if from_file is None:
                raise ConfigError(f"relative config includes must come from files ({entry.key}={entry.value})")
            path = from_file[: from_file.rfind("/") + 1] + path
        try:
            os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return  # git ignores includes of files that do not exist
        except OSError as exc:
            raise ConfigError(f"unable to access '{path}': {exc.strerror}") from exc
        self.depth += 1
        if self.depth > MAX_INCLUDE_DEPTH:
            raise ConfigError(
                f"exceeded maximum include depth ({MAX_INCLUDE_DEPTH}) while including {path}"
                f" from {entry.origin}; this might be due to circular includes"
            )
        forbid = conditional and self.unconditional_remote_url
        self._forbid_remote_url_depth += forbid
        try:
            self.load_file(path, entry.scope, must_exist_readable=True)
        finally:
            self._forbid_remote_url_depth -= forbid
            self.depth -= 1

    # conditions ---------------------------------------------------------
    def condition_is_true(self, condition: str, from_file: str | None, entry: ConfigEntry) -> bool:
        for prefix, icase in (("gitdir:", False), ("gitdir/i:", True)):
            if condition.startswith(prefix):
                return self._by_gitdir(condition[len(prefix):], icase, from_file, entry)
        if condition.startswith("onbranch:"):
            return self._by_branch(condition[len("onbranch:"):])
        if condition.startswith("hasconfig:remote.*.url:"):
            if self.unconditional_remote_url:
                return True
            pattern = condition[len("hasconfig:remote.*.url:"):]
            return any(wildmatch(pattern, url, pathname=False) for url in self._all_remote_urls())
        return False  # unknown conditions are false, as in git

    def _by_gitdir(self, pattern: str, icase: bool, from_file: str | None, entry: ConfigEntry) -> bool:
        if self.repo is None:
            return False
        expanded = interpolate_path(pattern, self.env, real_home=True)
        if expanded is not None:
            pattern = expanded
        prefix = 0
        if pattern.startswith("./"):
            if from_file is None:
                raise ConfigError(
                    f"relative config include conditionals must come from files ({entry.key})"
                )
            real = os.path.realpath(from_file)
            directory = real[: real.rfind("/")]
            pattern = directory + pattern[1:]
            prefix = len(directory) + 1
        elif not os.path.isabs(pattern):
            pattern = "**/" + pattern
        if pattern.endswith("/"):
            pattern += "**"
        for text in self._gitdir_texts():
            if prefix:
                head, want = text[:prefix], pattern[:prefix]
                if len(text) < prefix or (head.lower() != want.lower() if icase else head != want):
                    continue
            if wildmatch(pattern[prefix:], text[prefix:], casefold=icase):
                return True
        return False

    def _gitdir_texts(self) -> list[str]:
        """The git dir as git compares it: real path, then the path as reached (via $PWD)."""
        assert self.repo is not None
        real = os.path.realpath(self.repo.gitdir)
        texts = [real]
        logical = _logical_path(self.repo.worktree, self.env)
        if logical is not None:
            try:
                relative = Path(real).relative_to(os.path.realpath(self.repo.worktree))
            except ValueError:
                relative = None
            if relative is not None:
                candidate = os.path.join(logical, str(relative))
                if candidate != real:
                    texts.append(candidate)
        return texts

    def _by_branch(self, pattern: str) -> bool:
        if self.repo is None:
            return False
        try:
            head = (self.repo.gitdir / "HEAD").read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            return False
        if not head.startswith("ref:"):
            return False
        ref = head[4:].strip()
        if not ref.startswith("refs/heads/"):
            return False
        if pattern.endswith("/"):
            pattern += "**"
        return wildmatch(pattern, ref[len("refs/heads/"):])

    def _all_remote_urls(self) -> list[str]:
        if self._remote_urls is None:
            everything = _load(self.repo, self.env, unconditional_remote_url=True)
            self._remote_urls = [
                "" if e.value is None else e.value
                for e in everything
                if e.key.startswith("remote.") and e.key.endswith(".url") and e.key.count(".") >= 2
            ]
        return self._remote_urls


def _logical_path(worktree: Path, env: Mapping[str, str]) -> str | None:
    """The work tree as the user reached it through symlinks (from $PWD), if different."""
    pwd = env.get("PWD")
    if not pwd or not os.path.isabs(pwd):
        return None
    real_worktree = os.path.realpath(worktree)
    current = os.path.normpath(pwd)
    while True:
        if os.path.realpath(current) == real_worktree:
            return current if current != real_worktree else None
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def env_bool(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name)
    if value is None:
        return False
    parsed = parse_bool(value)
    if parsed is None:
        raise ConfigError(f"bad boolean environment value '{value}' for '{name}'")
    return parsed


def _system_files(env: Mapping[str, str]) -> list[str]:
    if env_bool(env, "GIT_CONFIG_NOSYSTEM"):
        return []
    return [env.get("GIT_CONFIG_SYSTEM", "/etc/gitconfig")]


def global_config_files(env: Mapping[str, str]) -> list[str]:
    """Global files in git's reading order (XDG first, then ~/.gitconfig)."""
    if "GIT_CONFIG_GLOBAL" in env:
        return [env["GIT_CONFIG_GLOBAL"]]
    files: list[str] = []
    xdg = env.get("XDG_CONFIG_HOME")
    if xdg:
        files.append(os.path.join(xdg, "git", "config"))
    elif env.get("HOME"):
        files.append(os.path.join(env["HOME"], ".config", "git", "config"))
    home_file = interpolate_path("~/.gitconfig", env)
    if home_file is not None:
        files.append(home_file)
    return files


def _worktree_config_enabled(repo: Repository) -> bool:
    """extensions.worktreeConfig, read from the local file alone (as git's setup does)."""
    path = repo.commondir / "config"
    try:
        text = path.read_bytes().decode("utf-8", "surrogateescape")
    except OSError:
        return False
    value: str | None = "false"
    for key, raw, _ in parse_config(text, str(path)):
        if key == "extensions.worktreeconfig":
            value = raw
    return bool(parse_bool(value))


def _sq_dequote_step(text: str, pos: int) -> tuple[str, int | None] | None:
    """git's sq_dequote_step(): one shell-single-quoted word; next position or None at end."""
    if pos >= len(text) or text[pos] != "'":
        return None
    out: list[str] = []
    i = pos
    while True:
        i += 1
        if i >= len(text):
            return None
        c = text[i]
        if c != "'":
            out.append(c)
            continue
        i += 1
        if i >= len(text):
            return "".join(out), None
        if text[i] == "\\" and i + 2 < len(text) and text[i + 1] in "'!" and text[i + 2] == "'":
            out.append(text[i + 1])
            i += 2
            continue
        return "".join(out), i


def _command_line_pairs(env: Mapping[str, str]) -> list[tuple[str, str | None]]:
    pairs: list[tuple[str, str | None]] = []
    count_text = env.get("GIT_CONFIG_COUNT")
    if count_text is not None:
        # strtoul(…, 10) over the whole string, as git reads it.
        match = re.fullmatch(r"[ \t\n\r\v\f]*([+-]?)([0-9]+)", count_text)
        if count_text and not match:
            raise ConfigError("bogus count in GIT_CONFIG_COUNT")
        count = int(match.group(2)) if match else 0
        if match and match.group(1) == "-" and count:
            count = 2**64 - count  # unsigned wrap-around, then "too many"
        if count > _INT_MAX:
            raise ConfigError("too many entries in GIT_CONFIG_COUNT")
        for i in range(count):
            key = env.get(f"GIT_CONFIG_KEY_{i}")
            if key is None:
                raise ConfigError(f"missing config key GIT_CONFIG_KEY_{i}")
            value = env.get(f"GIT_CONFIG_VALUE_{i}")
            if value is None:
                raise ConfigError(f"missing config value GIT_CONFIG_VALUE_{i}")
            pairs.append((key, value))
    params = env.get("GIT_CONFIG_PARAMETERS")
    if params:
        pairs.extend(_parse_config_parameters(params))
    return pairs


def _parse_config_parameters(text: str) -> list[tuple[str, str | None]]:
    bogus = ConfigError("bogus format in GIT_CONFIG_PARAMETERS")
    pairs: list[tuple[str, str | None]] = []
    pos: int | None = 0
    while pos is not None and pos < len(text):
        step = _sq_dequote_step(text, pos)
        if step is None:
            raise bogus
        word, pos = step
        if pos is None or text[pos] in _SPACE:
            key, eq, value = word.partition("=")  # old style 'key=value'
            if not key.strip():
                raise ConfigError(f"bogus config parameter: {word}")
            pairs.append((key.strip(), value if eq else None))
        elif text[pos] == "=":
            pos += 1
            if pos < len(text) and text[pos] == "'":
                quoted = _sq_dequote_step(text, pos)
                if quoted is None or (quoted[1] is not None and text[quoted[1]] not in _SPACE):
                    raise bogus
                pairs.append((word, quoted[0]))
                pos = quoted[1]
            elif pos >= len(text) or text[pos] in _SPACE:
                pairs.append((word, None))
            else:
                raise bogus
        else:
            raise bogus
        while pos is not None and pos < len(text) and text[pos] in _SPACE:
            pos += 1
    return pairs


def _load(repo: Repository | None, env: Mapping[str, str], unconditional_remote_url: bool = False) -> list[ConfigEntry]:
    loader = _Loader(repo, env, unconditional_remote_url)
    for path in _system_files(env):
        loader.load_file(path, "system", must_exist_readable=False)
    for path in global_config_files(env):
        loader.load_file(path, "global", must_exist_readable=False)
    if repo is not None:
        loader.load_file(str(repo.commondir / "config"), "local", must_exist_readable=True)
        if _worktree_config_enabled(repo):
            loader.load_file(str(repo.gitdir / "config.worktree"), "worktree", must_exist_readable=True)
    for key, value in _command_line_pairs(env):
        loader.add(ConfigEntry(canonical_key(key), value, "command", _COMMAND_LINE, 0), from_file=None)
    return loader.entries


def load_config(repo: Repository | None, env: Mapping[str, str] | None = None) -> GitConfig:
    """All of git's configuration for ``repo`` (or outside any repository when None)."""
    environ = os.environ if env is None else env
    return GitConfig(_load(repo, environ), environ)
