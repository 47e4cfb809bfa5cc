"""git's credential-helper protocol, without the git binary and without ever prompting.

What git does (gitcredentials(7)) and what we do:

- ``credential.helper`` and ``credential.<url>.helper`` (URL-matched) are
  collected in config order; an empty value clears the list so far.
- Helper forms: ``!snippet`` runs ``sh -c "snippet <action>"``; an absolute
  path runs ``<path> <action>`` through the shell; a name ``foo [args]`` runs
  ``git-credential-foo [args] <action>`` from ``PATH`` (or ``GIT_EXEC_PATH``).
  A name that is not installed is skipped, as git does (so ``cache`` is skipped
  where git's credential daemon is absent).
- ``store`` is built in: it reads and writes ``~/.git-credentials`` and
  ``$XDG_CONFIG_HOME/git/credentials`` (or ``--file=<path>``) in the exact
  format of git-credential-store, so the two stay interchangeable.
- Never prompt: helpers run with ``GIT_TERMINAL_PROMPT=0``, stdin a pipe and
  no controlling terminal (new session), so one that tries ``/dev/tty`` fails
  instead of waiting. ``GIT_ASKPASS``/``core.askPass`` are not used: they prompt.
- ``credential.useHttpPath`` decides whether the path is sent for http(s).
- Credentials in the URL itself (``https://user:token@host/...``) win.
- Differences: helper stderr is swallowed (it may carry secrets; git shows it);
  :func:`approve` is only meant for credentials that came from helpers (git
  also stores URL credentials, which would copy a token into a file).

Every username/password learnt here is registered with :mod:`redact`.

No dulwich: dulwich runs no credential helper at all (``get_credentials_from_store``
exists but is unwired: jelmer/dulwich#873, #1827); tests/git/test_credentials.py
runs the same helpers under ``git credential fill`` and under us.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from ..errors import CredentialError
from ..redact import redact, register_secret
from . import urlmatch
from .config import GitConfig, parse_bool, split_key
from .remote import strip_userinfo

HELPER_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Credential:
    """The attributes of git's credential protocol we send and read."""

    protocol: str
    host: str  # includes ":port" when the URL has one, like git
    path: str | None = None
    username: str | None = None
    password: str | None = None
    extra: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    def to_protocol_text(self) -> str:
        lines = [f"protocol={self.protocol}", f"host={self.host}"]
        if self.path is not None:
            lines.append(f"path={self.path}")
        if self.username is not None:
            lines.append(f"username={self.username}")
        if self.password is not None:
            lines.append(f"password={self.password}")
        for key, value in (("protocol", self.protocol), ("host", self.host),
                           ("path", self.path or ""), ("username", self.username or ""),
                           ("password", self.password or "")):
            if "\n" in value or "\0" in value:
                raise CredentialError(
                    f"refusing to send a credential {key} containing a newline or NUL to a helper"
                )
        return "\n".join(lines) + "\n\n"


def credential_for_url(url: str, *, use_http_path: bool = False) -> Credential:
    """The credential query git builds for ``url`` (path only when asked to for http)."""
    split = urlsplit(url)
    protocol = split.scheme.lower()
    # git keeps the host exactly as written, port included (credential.c).
    host = unquote(split.netloc.rsplit("@", 1)[-1])
    path: str | None = unquote(split.path.lstrip("/"))
    if protocol in ("http", "https") and not use_http_path:
        path = None
    username = unquote(split.username) if split.username is not None else None
    password = unquote(split.password) if split.password is not None else None
    return Credential(protocol, host, path or None, username, password)


def parse_helper_output(text: str) -> dict[str, str]:
    """``key=value`` lines up to a blank line or the end; later keys win, like git."""
    values: dict[str, str] = {}
    for line in text.split("\n"):
        line = line.removesuffix("\r")
        if not line:
            break
        key, sep, value = line.partition("=")
        if not sep:
            continue
        if "\0" in value:
            raise CredentialError(f"a credential helper returned a {key} containing NUL")
        values[key] = value
    return values


# --- URL matching for credential.<url>.* ---------------------------------------------


def _split_host_port(host: str) -> tuple[str, int | None]:
    """``host[:port]`` as git keeps it in a credential (``[v6]:port`` too) -> (host, port)."""
    name, colon, port = host.rpartition(":")
    if not colon or "]" in port or not port.isdigit():
        return host.strip("[]"), None
    return name.strip("[]"), int(port)


def url_matches(pattern: str, cred: Credential, username: str | None) -> bool:
    """git's urlmatch for ``credential.<pattern>.*`` (full URL) or a partial ``host[/path]``."""
    if "://" in pattern:
        host, port = _split_host_port(cred.host)
        return urlmatch.match(pattern, cred.protocol, host, port, "/" + (cred.path or ""), username) is not None
    # Partial pattern ("example.com", "user@example.com/path"): exact fields, like git.
    user, _, rest = pattern.rpartition("@")
    host, _, path = rest.partition("/")
    if host and host.lower() != cred.host.lower():
        return False
    if path and path != (cred.path or ""):
        return False
    return not user or user == username


# --- Which helpers apply ----------------------------------------------------------------


def _config_entries(config: GitConfig) -> list[tuple[str, str | None]]:
    """Every ``credential.*`` entry in git's order (helpers from all scopes interleave)."""
    return [(e.key, e.value) for e in config.entries if e.key.startswith("credential.")]


@dataclass
class _Settings:
    helpers: list[str] = field(default_factory=list)
    username: str | None = None
    use_http_path: bool = False


def _settings_for(config: GitConfig, url: str) -> _Settings:
    probe = credential_for_url(url, use_http_path=True)
    settings = _Settings()
    for key, value in _config_entries(config):
        _, sub, name = split_key(key)
        if sub is not None and not url_matches(sub, probe, probe.username):
            continue
        if name == "helper" and value is not None:
            if value:
                settings.helpers.append(value)
            else:
                settings.helpers.clear()
        elif name == "username" and value is not None:
            settings.username = value
        elif name == "usehttppath":
            settings.use_http_path = bool(parse_bool(value))
    return settings


# --- Running helpers --------------------------------------------------------------------


def _home_files(env: Mapping[str, str]) -> list[Path]:
    files: list[Path] = []
    home = env.get("HOME")
    if home:
        files.append(Path(home) / ".git-credentials")
    xdg = env.get("XDG_CONFIG_HOME")
    if xdg:
        files.append(Path(xdg) / "git" / "credentials")
    elif home:
        files.append(Path(home) / ".config" / "git" / "credentials")
    return files


def _store_files(args: list[str], env: Mapping[str, str]) -> list[Path]:
    for index, arg in enumerate(args):
        if arg.startswith("--file="):
            return [Path(os.path.expanduser(arg[len("--file="):]))]
        if arg == "--file" and index + 1 < len(args):
            return [Path(os.path.expanduser(args[index + 1]))]
    return _home_files(env)


def _parse_store_line(line: str) -> Credential | None:
    line = line.strip()
    if "://" not in line:
        return None
    try:
        split = urlsplit(line)
    except ValueError:
        return None
    if split.username is None or split.password is None:
        return None
    host = unquote(split.netloc.rsplit("@", 1)[-1])
    path = unquote(split.path.lstrip("/")) or None
    return Credential(split.scheme, host, path, unquote(split.username), unquote(split.password))


def _git_quote(text: str, safe: str) -> str:
    # git's strbuf_addstr_urlencode() writes lower-case hex digits.
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), quote(text, safe=safe))


def _store_line(cred: Credential) -> str:
    user = _git_quote(cred.username or "", "")
    password = _git_quote(cred.password or "", "")
    path = "/" + _git_quote(cred.path, ":/?#[]@!$&'()*+,;=") if cred.path else ""
    return f"{cred.protocol}://{user}:{password}@{cred.host}{path}\n"


def _matches(want: Credential, have: Credential, *, match_password: bool = False) -> bool:
    def check(name: str) -> bool:
        wanted = getattr(want, name)
        return wanted is None or wanted == getattr(have, name)

    return (
        check("protocol") and check("host") and check("path") and check("username")
        and (not match_password or check("password"))
    )


def _store_get(files: list[Path], query: Credential) -> dict[str, str]:
    for path in files:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            entry = _parse_store_line(line)
            if entry is not None and _matches(query, entry):
                return {"username": entry.username or "", "password": entry.password or ""}
    return {}


def _rewrite_store_file(path: Path, drop: Credential, add: Credential | None, match_password: bool) -> None:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
    except FileNotFoundError:
        lines = []
    kept = [
        line for line in lines
        if (entry := _parse_store_line(line)) is None
        or not _matches(drop, entry, match_password=match_password)
    ]
    new = ([_store_line(add)] if add is not None else []) + [
        line if line.endswith("\n") else line + "\n" for line in kept
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.with_name(path.name + ".lock")
    # Same lock file as git-credential-store, so we never interleave with it.
    fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.writelines(new)
        os.replace(lock, path)
    except BaseException:
        lock.unlink(missing_ok=True)
        raise


def _store_action(args: list[str], action: str, cred: Credential, env: Mapping[str, str]) -> dict[str, str]:
    files = _store_files(args, env)
    if action == "get":
        return _store_get(files, cred)
    if action == "store":
        if not (cred.protocol and (cred.host or cred.path) and cred.username and cred.password):
            return {}
        existing = [f for f in files if f.exists()]
        _rewrite_store_file((existing or files)[0], cred, cred, match_password=False)
    elif action == "erase":
        for path in files:
            if path.exists():
                _rewrite_store_file(path, cred, None, match_password=cred.password is not None)
    return {}


def _find_helper_program(name: str, env: Mapping[str, str]) -> str | None:
    search = [env.get("GIT_EXEC_PATH", ""), env.get("PATH", os.defpath)]
    return shutil.which(f"git-credential-{name}", path=os.pathsep.join(p for p in search if p))


def _helper_command(helper: str, action: str, env: Mapping[str, str]) -> str | None:
    """The ``sh -c`` command line git would run, or None when the helper is not installed."""
    if helper.startswith("!"):
        return f"{helper[1:]} {action}"
    if os.path.isabs(helper.split()[0] if helper.split() else helper):
        return f"{helper} {action}"
    name, _, args = helper.partition(" ")
    program = _find_helper_program(name, env)
    if program is None:
        return None
    return f"{shlex.quote(program)} {args} {action}" if args else f"{shlex.quote(program)} {action}"


def _run_helper(helper: str, action: str, cred: Credential, env: Mapping[str, str]) -> dict[str, str]:
    words = helper.split()
    if words and words[0] == "store":
        return _store_action(words[1:], action, cred, env)
    command = _helper_command(helper, action, env)
    if command is None:
        return {}
    child_env = {**env, "GIT_TERMINAL_PROMPT": "0"}
    try:
        proc = subprocess.Popen(
            ["/bin/sh", "-c", command],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=child_env,
            start_new_session=True,  # no controlling terminal: a prompt fails, never waits
        )
    except OSError:
        return {}
    try:
        out, _ = proc.communicate(cred.to_protocol_text().encode("utf-8"), timeout=HELPER_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise CredentialError(
            f"credential helper '{redact(helper)}' did not answer within"
            f" {HELPER_TIMEOUT_SECONDS:.0f}s; fix or remove it (git config credential.helper)"
        ) from None
    if action != "get":
        return {}
    values = parse_helper_output(out.decode("utf-8", "replace"))
    register_secret(values.get("password"))
    return values


def _effective_env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def fill(config: GitConfig, url: str, env: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """A username and password for ``url``: from the URL, else the configured helpers; never prompts."""
    env = _effective_env(env)
    settings = _settings_for(config, url)
    cred = credential_for_url(url, use_http_path=settings.use_http_path)
    register_secret(cred.password)
    if cred.username is not None and cred.password is not None:
        return cred.username, cred.password
    if cred.username is None and settings.username:
        cred = replace(cred, username=settings.username)
    for helper in settings.helpers:
        answer = _run_helper(helper, "get", cred, env)
        if answer.get("username") is not None:
            cred = replace(cred, username=answer["username"])
        if answer.get("password") is not None:
            cred = replace(cred, password=answer["password"])
            register_secret(cred.password)
        if answer.get("quit", "").lower() in ("1", "true", "yes", "on"):
            break
        if cred.username is not None and cred.password is not None:
            return cred.username, cred.password
    return None


def _tell_helpers(action: str, config: GitConfig, url: str, username: str, password: str,
                  env: Mapping[str, str] | None) -> None:
    env = _effective_env(env)
    register_secret(password)
    settings = _settings_for(config, url)
    base = credential_for_url(strip_userinfo(url), use_http_path=settings.use_http_path)
    cred = replace(base, username=username, password=password)
    for helper in settings.helpers:
        _run_helper(helper, action, cred, env)


def approve(config: GitConfig, url: str, username: str, password: str,
            env: Mapping[str, str] | None = None) -> None:
    """Tell every helper the credential worked (``store``), as git does after a success."""
    _tell_helpers("store", config, url, username, password, env)


def reject(config: GitConfig, url: str, username: str, password: str,
           env: Mapping[str, str] | None = None) -> None:
    """Tell every helper the credential was refused (``erase``), as git does after a 401."""
    _tell_helpers("erase", config, url, username, password, env)
