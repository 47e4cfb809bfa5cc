"""ls-remote and push over file://, git://, ssh:// and http(s):// with dulwich, like git.

dulwich parts used: its clients (``GitClient.get_refs`` and ``send_pack``: the
protocol, capabilities, report-status) and its pack writer. Not used: the pack
dulwich's ``Repo.generate_pack_data`` would build, which unpacks every object of
every local pack to look for deltas (O(repository) per push, issue 13); the
``generate_pack_data`` callback given to ``send_pack`` is :mod:`.pack`'s instead,
read through :mod:`.odb`: the objects ``git rev-list --objects <new> --not
<remote's refs>`` lists, found along changed paths only, written as full objects
(``tests/git/test_push_pack.py`` checks them with ``git index-pack --strict``,
``git fsck --strict`` and the object count of the received pack).

What dulwich leaves to the caller and this module does (see notes/dulwich.md):

- Server rejections do not raise: every ``ref_status`` entry is checked, and a
  ref the remote did not confirm is confirmed by listing the remote again. On
  file:// dulwich's in-process compare-and-swap of each ref is the confirmation
  (it reports only failures), so a push contacts the remote once, as git's does.
- No time-outs: git:// sockets get ``timeout`` per operation, ssh pipes are read
  and written with ``select`` and the same bound, http uses urllib3's
  connect/read time-outs with retries off (a retried read would double the wait).
- No credential helpers: http(s) asks :mod:`credentials` after a 401, retries
  once with what it learnt, then tells the helpers (approve/reject).
- ssh never prompts: ``-o BatchMode=yes`` is always passed.
- No output: progress and remote messages go to an in-memory sink; dulwich's
  log records are redacted and never reach the terminal on their own.

Clients are built here rather than by ``dulwich.client.get_transport_and_path``
because :mod:`remote` has already applied insteadOf/pushInsteadOf (dulwich would
apply them a second time) and because the stock TCP and ssh clients cannot be
given a time-out.

file:// and plain paths use dulwich's in-process ``LocalGitClient``: the remote
repository's hooks (pre-receive, update) do not run there. Use git://, ssh or
http to exercise server-side hooks.
"""

from __future__ import annotations

import logging
import os
import re
import select
import signal
import socket
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any, TypeVar

from dulwich.client import (
    DEFAULT_GIT_PROTOCOL_VERSION_FETCH,
    DEFAULT_GIT_PROTOCOL_VERSION_SEND,
    GitClient,
    HTTPUnauthorized,
    LocalGitClient,
    SSHGitClient,
    SSHVendor,
    TCPGitClient,
    Urllib3HttpGitClient,
    default_urllib3_manager,
)
from dulwich.errors import GitProtocolError, HangupException, NotGitRepository
from dulwich.protocol import ZERO_SHA, Protocol

from ..errors import CredentialError, RemoteError
from ..redact import redact, register_secret
from .config import GitConfig
from .odb import ObjectReader
from .remote import Remote, UrlParts, parse_url, strip_userinfo
from .repo import Repository

_T = TypeVar("_T")
_HEX = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


@dataclass(frozen=True)
class RefUpdate:
    """Move ``ref`` from ``old`` to ``new``; ``new`` None deletes, ``old`` None means "must not exist"."""

    ref: str
    old: str | None
    new: str | None


class _RedactLogRecords(logging.Filter):
    """dulwich logs header values and URLs (e.g. a malformed http.extraHeader)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        return True


for _name in ("dulwich", "dulwich.client", "dulwich.config", "dulwich.protocol"):
    _logger = logging.getLogger(_name)
    _logger.addFilter(_RedactLogRecords())
# A handler on the package logger keeps records away from logging's last-resort
# stderr handler when the application has not configured logging.
logging.getLogger("dulwich").addHandler(logging.NullHandler())


# --- dulwich config view ------------------------------------------------------------


class _DulwichConfigView:
    """Our GitConfig seen through the methods dulwich's http client calls.

    Gives dulwich ``http.<url>.extraHeader``, ``sslCAInfo``, ``sslVerify``,
    ``proxy``, ``userAgent`` and ``postBuffer`` exactly as the project's config
    reader resolved them (includes, env overrides).
    """

    encoding = "utf-8"

    def __init__(self, config: GitConfig) -> None:
        self._config = config
        keys = ["http.extraHeader", *(f"http.{sub}.extraHeader" for sub in config.subsections("http"))]
        for key in keys:
            for value in config.get_all(key):
                name, _, secret = value.partition(":")
                if name.strip().lower() in ("authorization", "proxy-authorization"):
                    register_secret(secret.strip())
                    register_secret(secret.strip().partition(" ")[2])

    @staticmethod
    def _key(section: tuple[bytes, ...], name: bytes | str) -> str:
        parts = [s.decode("utf-8") if isinstance(s, bytes) else s for s in section]
        leaf = name.decode("utf-8") if isinstance(name, bytes) else name
        return ".".join([*parts, leaf])

    def sections(self) -> Iterator[tuple[bytes, ...]]:
        yield (b"http",)
        for sub in self._config.subsections("http"):
            yield (b"http", sub.encode("utf-8"))

    def get(self, section: tuple[bytes, ...] | bytes, name: bytes | str) -> bytes:
        if isinstance(section, bytes):
            section = (section,)
        value = self._config.get(self._key(section, name))
        if value is None:
            raise KeyError(name)
        return value.encode("utf-8")

    def get_multivar(self, section: tuple[bytes, ...] | bytes, name: bytes | str) -> Iterator[bytes]:
        if isinstance(section, bytes):
            section = (section,)
        values = self._config.get_all(self._key(section, name))
        if not values:
            raise KeyError(name)
        return iter([v.encode("utf-8") for v in values])

    def get_boolean(self, section: tuple[bytes, ...] | bytes, name: bytes | str,
                    default: bool | None = None) -> bool | None:
        try:
            raw = self.get(section, name).decode("utf-8").strip().lower()
        except KeyError:
            return default
        if raw in ("true", "yes", "on", "1", ""):
            return True
        if raw in ("false", "no", "off", "0"):
            return False
        raise ValueError(f"not a boolean: {raw}")


# --- git:// with a time-out -----------------------------------------------------------


class _TimeoutTCPGitClient(TCPGitClient):
    """dulwich's git:// client with a socket time-out on connect and on every read/write."""

    def __init__(self, host: str, port: int | None, timeout: float) -> None:
        super().__init__(host, port=port, quiet=True)
        self._timeout = timeout
        self._sockets: list[socket.socket] = []

    def close(self) -> None:
        # dulwich leaves the socket open when the handshake fails; never leak it.
        for sock in self._sockets:
            sock.close()
        self._sockets.clear()

    def _connect(self, cmd: bytes, path: str | bytes, protocol_version: int | None = None
                 ) -> tuple[Protocol, Callable[[], bool], IO[bytes] | None]:
        if not isinstance(path, bytes):
            path = path.encode(self._remote_path_encoding)
        sock = socket.create_connection((self._host, self._port), timeout=self._timeout)
        self._sockets.append(sock)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        rfile = sock.makefile("rb", -1)
        wfile = sock.makefile("wb", 0)

        def close() -> None:
            rfile.close()
            wfile.close()
            sock.close()

        def shutdown_write() -> None:
            wfile.flush()
            try:
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass

        proto = Protocol(rfile.read, wfile.write, close, report_activity=self._report_activity,
                         shutdown_write=shutdown_write)
        if path.startswith(b"/~"):
            path = path[1:]
        if cmd == b"upload-pack":
            self.protocol_version = protocol_version or DEFAULT_GIT_PROTOCOL_VERSION_FETCH
        else:
            self.protocol_version = DEFAULT_GIT_PROTOCOL_VERSION_SEND
        # Same request line as dulwich/git: v2 hidden behind two NULs for old daemons.
        extra = b"\0\0version=%d\0" % self.protocol_version if (
            cmd == b"upload-pack" and self.protocol_version == 2) else b""
        proto.send_cmd(b"git-" + cmd, path, b"host=" + self._host.encode("ascii") + extra)
        return proto, lambda: bool(select.select([sock], [], [], 0)[0]), None


# --- ssh that never prompts and never hangs ------------------------------------------


class _StderrFile:
    """The ssh process's stderr, kept in a temp file so a chatty ssh can never block."""

    def __init__(self) -> None:
        import tempfile  # only for ssh: shutil, random, bz2 and lzma come with it

        self.file = tempfile.TemporaryFile()

    def readlines(self) -> list[bytes]:
        self.file.flush()
        self.file.seek(0)
        return self.file.read().splitlines()

    def close(self) -> None:
        self.file.close()


class _TimedPipe:
    """A subprocess's stdin/stdout as dulwich's read/write, each bounded by ``timeout``."""

    def __init__(self, proc: subprocess.Popen[bytes], stderr: _StderrFile, timeout: float) -> None:
        assert proc.stdin is not None and proc.stdout is not None
        self.proc = proc
        self.stderr = stderr
        self._timeout = timeout
        self._out = proc.stdout.fileno()
        self._in = proc.stdin.fileno()

    def read(self, size: int = -1) -> bytes:
        chunks: list[bytes] = []
        remaining = size
        while remaining != 0:
            ready, _, _ = select.select([self._out], [], [], self._timeout)
            if not ready:
                raise TimeoutError(f"no data for {self._timeout:g}s")
            data = os.read(self._out, 65536 if remaining < 0 else remaining)
            if not data:
                break
            chunks.append(data)
            if remaining > 0:
                remaining -= len(data)
        return b"".join(chunks)

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        while view:
            _, ready, _ = select.select([], [self._in], [], self._timeout)
            if not ready:
                raise TimeoutError(f"could not send for {self._timeout:g}s")
            try:
                written = os.write(self._in, view[:65536])
            except BrokenPipeError as exc:
                raise ConnectionResetError("the ssh command exited") from exc
            view = view[written:]
        return len(data)

    def can_read(self) -> bool:
        return bool(select.select([self._out], [], [], 0)[0])

    def close(self) -> None:
        """Let ssh finish (bounded), then make sure it and its children are gone."""
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
        try:
            self.proc.wait(timeout=self._timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: children too
            except ProcessLookupError:
                pass
        self.proc.wait()
        self.stderr.close()


def ssh_command(config: GitConfig, env: Mapping[str, str]) -> tuple[str, bool]:
    """git's choice of ssh program: (command, run_through_shell).

    ``GIT_SSH_COMMAND`` > ``core.sshCommand`` (both shell snippets) > ``GIT_SSH``
    (a program path) > ``ssh``.
    """
    if env.get("GIT_SSH_COMMAND"):
        return env["GIT_SSH_COMMAND"], True
    configured = config.get("core.sshCommand")
    if configured:
        return configured, True
    if env.get("GIT_SSH"):
        return env["GIT_SSH"], False
    return "ssh", False


class _BatchSSHVendor(SSHVendor):
    """Runs ssh the way git does for OpenSSH, plus ``-o BatchMode=yes``.

    argv: ``<ssh> -o BatchMode=yes [-o SendEnv=GIT_PROTOCOL] [-p PORT] [user@]host
    "git-receive-pack '/path'"``; a shell snippet runs as ``sh -c '<snippet> "$@"'``.
    """

    def __init__(self, command: str, shell: bool, timeout: float, env: Mapping[str, str]) -> None:
        self._command = command
        self._shell = shell
        self._timeout = timeout
        self._env = env
        self._pipes: list[_TimedPipe] = []

    def close_all(self) -> None:
        """Kill every ssh still running (dulwich does not close on a failed handshake)."""
        for pipe in self._pipes:
            pipe.kill()
        self._pipes.clear()

    def argv(self, host: str, command: bytes, username: str | None, port: int | None,
             protocol_version: int | None) -> tuple[list[str], dict[str, str]]:
        if host.startswith("-") or (username or "").startswith("-"):
            raise RemoteError(f"refusing ssh host '{redact(host)}' that looks like an option")
        options = ["-o", "BatchMode=yes"]
        env = dict(self._env)
        if protocol_version == 2:
            options += ["-o", "SendEnv=GIT_PROTOCOL"]
            env["GIT_PROTOCOL"] = "version=2"
        else:
            env.pop("GIT_PROTOCOL", None)
        if port:
            options += ["-p", str(port)]
        target = f"{username}@{host}" if username else host
        args = [*options, target, command.decode("utf-8")]
        if self._shell:
            return ["/bin/sh", "-c", f'{self._command} "$@"', self._command, *args], env
        return [self._command, *args], env

    def run_command(self, host: str, command: bytes, username: str | None = None,
                    port: int | None = None, password: str | None = None,
                    key_filename: str | None = None, ssh_command: str | None = None,
                    protocol_version: int | None = None) -> _TimedPipe:  # type: ignore[override]
        if protocol_version is None and command.startswith(b"git-upload-pack"):
            protocol_version = DEFAULT_GIT_PROTOCOL_VERSION_FETCH
        argv, env = self.argv(host, command, username, port, protocol_version)
        stderr = _StderrFile()
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=stderr.file, env=env, start_new_session=True)
        except OSError as exc:
            stderr.close()
            raise RemoteError(f"cannot run the ssh command '{redact(argv[0])}': {exc.strerror}") from exc
        pipe = _TimedPipe(proc, stderr, self._timeout)
        self._pipes.append(pipe)
        return pipe


class _SSHClient(SSHGitClient):
    """dulwich's ssh client whose ``close`` also ends the ssh processes it started."""

    def __init__(self, parts: UrlParts, vendor: _BatchSSHVendor) -> None:
        super().__init__(parts.host, port=parts.port, username=parts.username, vendor=vendor, quiet=True)
        self._batch_vendor = vendor

    def close(self) -> None:
        self._batch_vendor.close_all()


class _HttpClient(Urllib3HttpGitClient):
    def close(self) -> None:
        self.pool_manager.clear()


class _LocalClient(LocalGitClient):
    """dulwich's in-process file:// client; the received pack is moved in by :func:`_move_in_pack`.

    dulwich's ``DiskObjectStore.add_pack_data`` ends in ``_complete_pack``, which computes
    the name of every pack the remote already has (``Pack.name()`` reads all their object
    ids) to skip a duplicate: a push to a remote whose pack holds 500k objects read 500k
    ids. Everything else (refs read, compare-and-swap of each ref) is dulwich's own.
    """

    @classmethod
    def _open_repo(cls, path: str | bytes) -> Any:
        opened = super()._open_repo(path)
        store = opened.thing.object_store
        store.add_pack_data = lambda count, records, progress=None: _move_in_pack(store, count, records)
        return opened


def _move_in_pack(store: Any, count: int, records: Iterator[Any]) -> None:
    """Write the pack with dulwich's writer into ``objects/pack`` as git's index-pack does:
    ``tmp_pack_*``, then ``pack-<checksum>.pack`` and, last (it makes the pack visible), its
    ``.idx`` (v2), both read-only."""
    from dulwich.pack import write_pack_data, write_pack_index

    if count == 0:
        return
    def create(prefix: str) -> tuple[int, str]:
        name = os.path.join(store.pack_dir, f"{prefix}{os.getpid()}_{os.urandom(6).hex()}")
        return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), name

    fd, temporary = create("tmp_pack_")
    index_temporary: str | None = None
    try:
        with os.fdopen(fd, "wb") as handle:
            entries, checksum = write_pack_data(handle.write, records, store.object_format, num_records=count)
            handle.flush()
            if store.fsync_object_files:
                os.fsync(handle.fileno())
        base = os.path.join(store.pack_dir, "pack-" + checksum.hex())
        fd, index_temporary = create("tmp_idx_")
        with os.fdopen(fd, "wb") as handle:
            write_pack_index(handle, sorted((sha, offset, crc) for sha, (offset, crc) in entries.items()),
                             checksum, version=2)
        for name in (temporary, index_temporary):
            os.chmod(name, 0o444)
        os.replace(temporary, base + ".pack")
        temporary = None
        os.replace(index_temporary, base + ".idx")
        index_temporary = None
    finally:
        for name in (temporary, index_temporary):
            if name is not None:
                try:
                    os.unlink(name)
                except OSError:
                    pass


# --- building a client ------------------------------------------------------------------


@dataclass
class _Connection:
    client: GitClient
    path: str
    url: str
    parts: UrlParts
    username: str | None = None
    password: str | None = None
    credential_source: str | None = None  # "url" or "helper"


def _http_client(parts: UrlParts, url: str, config: GitConfig, timeout: float,
                 username: str | None, password: str | None) -> _HttpClient:
    import urllib3

    base_url = strip_userinfo(url)
    view = _DulwichConfigView(config)
    manager = default_urllib3_manager(view, base_url=base_url, timeout=timeout)  # type: ignore[arg-type]
    # urllib3 retries reads three times by default: a hung server would take 4x the time-out.
    manager.connection_pool_kw["retries"] = urllib3.Retry(total=0, redirect=False, raise_on_redirect=False)
    return _HttpClient(base_url, pool_manager=manager, config=view,  # type: ignore[arg-type]
                       username=username, password=password, timeout=timeout, quiet=True)


def _connect(config: GitConfig, url: str, timeout: float, env: Mapping[str, str],
             username: str | None = None, password: str | None = None) -> _Connection:
    parts = parse_url(url)
    if parts.kind == "local":
        path = os.path.expanduser(parts.path)
        return _Connection(_LocalClient(quiet=True), path, url, parts)
    if parts.kind == "git":
        client: GitClient = _TimeoutTCPGitClient(parts.host, parts.port, timeout)
        return _Connection(client, parts.path, url, parts)
    if parts.kind == "ssh":
        command, shell = ssh_command(config, env)
        vendor = _BatchSSHVendor(command, shell, timeout, env)
        client = _SSHClient(parts, vendor)
        return _Connection(client, parts.path, url, parts)
    source = None
    if username is None and parts.username is not None:
        username, password = parts.username, parts.password
        source = "url" if password is not None else None
    register_secret(password)
    client = _http_client(parts, url, config, timeout, username, password)
    return _Connection(client, parts.path, url, parts, username, password, source)


# --- errors --------------------------------------------------------------------------------


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [current.__cause__, current.__context__, getattr(current, "reason", None)
                 if isinstance(getattr(current, "reason", None), BaseException) else None]


def _is_timeout(exc: BaseException) -> bool:
    for item in _chain(exc):
        if isinstance(item, TimeoutError | socket.timeout):
            return True
        if type(item).__name__ in ("ReadTimeoutError", "ConnectTimeoutError", "TimeoutError") and \
                type(item).__module__.startswith("urllib3"):
            return True
    return False


def _one_line(text: str, limit: int = 300) -> str:
    lines = [line.strip() for line in text.replace("\r", "\n").splitlines() if line.strip()]
    line = lines[-1] if lines else ""
    return redact(line[:limit])


class NothingSent(RemoteError):
    """The push failed before anything was sent: the remote is as it was."""


class _Unreachable(RemoteError):
    """No answer from the server at all (time-out, refused, unknown host)."""


class NeverConnected(_Unreachable, NothingSent):
    """The connection was never made (refused, unknown host): nothing can have reached the remote."""


def _remote_error(exc: BaseException, action: str, where: str, timeout: float) -> RemoteError:
    """Turn whatever dulwich, the socket or ssh raised into one redacted line."""
    if isinstance(exc, RemoteError):
        return exc
    if _is_timeout(exc):
        return _Unreachable(f"{action} {where} timed out after {timeout:g}s; check the network or the remote URL")
    for item in _chain(exc):
        if isinstance(item, ConnectionRefusedError):
            return NeverConnected(f"{action} {where} failed: connection refused; is the server running?")
        if isinstance(item, socket.gaierror):
            return NeverConnected(f"{action} {where} failed: cannot resolve the host name")
    if isinstance(exc, NotGitRepository):
        return RemoteError(f"{action} {where} failed: not a git repository (check the remote URL)")
    if isinstance(exc, HangupException):
        detail = _one_line(str(exc)) or "the remote end hung up unexpectedly"
        return RemoteError(f"{action} {where} failed: {detail}")
    if isinstance(exc, GitProtocolError):
        return RemoteError(f"{action} {where} failed: {_one_line(str(exc)) or type(exc).__name__}")
    if isinstance(exc, OSError):
        return RemoteError(f"{action} {where} failed: {redact(exc.strerror or str(exc))}")
    return RemoteError(f"{action} {where} failed: {_one_line(str(exc)) or type(exc).__name__}")


def _where(remote: Remote, url: str) -> str:
    shown = redact(strip_userinfo(url))
    return shown if remote.name in (url, shown) else f"{redact(remote.name)} ({shown})"


# --- the authenticated round trip -------------------------------------------------------


def _with_credentials(config: GitConfig, url: str, timeout: float, env: Mapping[str, str],
                      action: str, where: str, operation: Callable[[_Connection], _T]) -> _T:
    """Run ``operation``; on http 401 ask the credential helpers once and retry, like git."""
    connection = _connect(config, url, timeout, env)
    try:
        return _run(connection, operation, action, where, timeout)
    except HTTPUnauthorized:
        from . import credentials  # only after a 401 (its imports cost a release without one)

        if connection.credential_source == "url":
            raise CredentialError(
                f"{action} {where}: authentication failed with the credentials in the remote URL;"
                " update the token in the URL"
            ) from None
    answer = credentials.fill(config, strip_userinfo(url) if connection.username is None
                              else _with_username(url, connection.username), env)
    if answer is None:
        raise CredentialError(
            f"{action} {where}: authentication required and no credential helper answered;"
            " configure one (git config credential.helper store) or put a token in the URL"
        )
    username, password = answer
    connection = _connect(config, url, timeout, env, username, password)
    try:
        result = _run(connection, operation, action, where, timeout)
    except HTTPUnauthorized:
        credentials.reject(config, url, username, password, env)
        raise CredentialError(
            f"{action} {where}: authentication failed with the credentials from the credential"
            " helper; they have been erased from it, store a valid token"
        ) from None
    except RemoteError as exc:
        if not isinstance(exc, _Unreachable):
            # The server accepted the credentials and refused something else (a hook, a
            # moved ref): git approves them in that case too.
            credentials.approve(config, url, username, password, env)
        raise
    credentials.approve(config, url, username, password, env)
    return result


def _with_username(url: str, username: str) -> str:
    from urllib.parse import quote

    scheme, rest = strip_userinfo(url).split("://", 1)
    return f"{scheme}://{quote(username, safe='')}@{rest}"


def _run(connection: _Connection, operation: Callable[[_Connection], _T], action: str, where: str,
         timeout: float) -> _T:
    try:
        return operation(connection)
    except HTTPUnauthorized:
        raise
    except Exception as exc:  # every failure becomes one redacted RemoteError line
        raise _remote_error(exc, action, where, timeout) from None
    finally:
        try:
            connection.client.close()
        except Exception:  # noqa: BLE001 - closing must not hide the real outcome
            pass


# --- public API ----------------------------------------------------------------------------


def _decode_refs(refs: Mapping[bytes, bytes | None]) -> dict[str, str]:
    return {name.decode("utf-8", "replace"): sha.decode("ascii") for name, sha in refs.items()
            if sha is not None}


def _locate(repo: Repository, url: str) -> str:
    """A relative local path is relative to the work tree's top, as git chdirs there first."""
    if parse_url(url).kind == "local" and "://" not in url:
        path = os.path.expanduser(url)
        if not os.path.isabs(path):
            return str(repo.worktree / path)
    return url


class RemoteRefs(dict):  # dict[str, str]
    """A remote's refs (name to object id), and the symbolic refs it advertised (``HEAD`` to its branch)."""

    def __init__(self, refs: Mapping[str, str], symrefs: Mapping[str, str] | None = None) -> None:
        super().__init__(refs)
        self.symrefs: dict[str, str] = dict(symrefs or {})

    @property
    def default_branch(self) -> str | None:
        """The branch the remote's HEAD names (its default branch), if it said."""
        target = self.symrefs.get("HEAD")
        return target.removeprefix("refs/heads/") if target and target.startswith("refs/heads/") else None


def list_remote_refs(repo: Repository, config: GitConfig, remote: Remote, *, timeout: float = 30.0,
                     for_push: bool = True, env: Mapping[str, str] | None = None) -> RemoteRefs:
    """``git ls-remote <remote>``: every ref (``^{}`` peeled tags included) to its object id.

    ``for_push`` lists the push URL (where a release would land), else the fetch URL. The
    symbolic refs the remote advertised in the same answer (``HEAD``) are kept in ``.symrefs``.
    """
    environ = os.environ if env is None else env
    url = remote.push_url if for_push else remote.fetch_url
    where = _where(remote, url)

    def ls(connection: _Connection) -> RemoteRefs:
        result = connection.client.get_refs(connection.path.encode("utf-8") if isinstance(
            connection.client, LocalGitClient) else connection.path)
        symrefs = getattr(result, "symrefs", None) or {}
        return RemoteRefs(_decode_refs(result.refs),
                          {name.decode("utf-8", "replace"): target.decode("utf-8", "replace")
                           for name, target in symrefs.items()})

    return _with_credentials(config, _locate(repo, url), timeout, environ, "listing refs of", where, ls)


class _Refused(NothingSent):
    """The remote's current value is not the one the update was planned against."""


def _check_updates(repo: Repository, updates: Sequence[RefUpdate]) -> None:
    if not updates:
        raise RemoteError("nothing to push: no ref updates given")
    seen: set[str] = set()
    for update in updates:
        if not update.ref.startswith("refs/") or update.ref in seen:
            raise RemoteError(f"cannot push '{update.ref}': give each full ref name (refs/...) once")
        seen.add(update.ref)
        for value in (update.old, update.new):
            if value is not None and not _HEX.match(value):
                raise RemoteError(f"cannot push {update.ref}: '{value}' is not a full object id")
        if update.old is None and update.new is None:
            raise RemoteError(f"cannot push {update.ref}: neither an old nor a new value")


def push(repo: Repository, config: GitConfig, remote: Remote, updates: Sequence[RefUpdate], *,
         timeout: float = 60.0, env: Mapping[str, str] | None = None) -> None:
    """Apply ``updates`` on the remote, each only if the remote still has ``old`` (never forced).

    Raises RemoteError (one line, redacted) when unreachable, timed out, refused
    because a ref moved, or rejected by the server (hooks, permissions).
    """
    _check_updates(repo, updates)
    environ = os.environ if env is None else env
    url = remote.push_url
    where = _where(remote, url)
    reader = ObjectReader(repo)
    missing = [u.new for u in updates if u.new is not None and not reader.contains(bytes.fromhex(u.new))]
    if missing:
        raise RemoteError(f"cannot push: object {missing[0]} is not in the local repository")
    messages: list[bytes] = []
    wanted_refs: dict[bytes, bytes] = {}

    def progress(data: bytes | str) -> None:
        messages.append(data.encode("utf-8", "replace") if isinstance(data, str) else data)

    def update_refs(remote_refs: dict[bytes, bytes]) -> dict[bytes, bytes]:
        wanted: dict[bytes, bytes] = {}
        for update in updates:
            current = remote_refs.get(update.ref.encode("utf-8"))
            current_hex = current.decode("ascii") if current is not None and current != ZERO_SHA else None
            if current_hex != update.old:
                state = f"is at {current_hex[:12]}" if current_hex else "does not exist"
                expected = f"{update.old[:12]}" if update.old else "it not to exist"
                raise _Refused(
                    f"push of {update.ref} to {where} refused: the remote ref {state}, expected"
                    f" {expected} (it changed since it was checked); fetch and retry"
                )
            wanted[update.ref.encode("utf-8")] = update.new.encode("ascii") if update.new else ZERO_SHA
        wanted_refs.clear()
        wanted_refs.update(wanted)
        return wanted

    def generate_pack_data(have: Any, want: Any, *, ofs_delta: bool = False,
                           progress: Any = None) -> tuple[int, Iterator[Any]]:
        """Exactly what the remote lacks, read along changed paths (see :mod:`.pack`)."""
        from .pack import plan_push, unpacked_objects

        plan = plan_push(reader, [bytes.fromhex(oid.decode("ascii")) for oid in want],
                         [bytes.fromhex(oid.decode("ascii")) for oid in have])
        last_plan.append(plan)
        return len(plan.objects), unpacked_objects(reader, plan.objects)

    def send(connection: _Connection) -> Any:
        path: str | bytes = connection.path
        if isinstance(connection.client, LocalGitClient):
            path = connection.path.encode("utf-8")
        return connection.client.send_pack(path, update_refs, generate_pack_data, progress=progress)

    del last_plan[:]
    connection_kind = parse_url(_locate(repo, url)).kind
    result = _with_credentials(config, _locate(repo, url), timeout, environ, "push to", where, send)
    statuses: dict[bytes, str | None] = result.ref_status or {}
    for name, reason in statuses.items():
        if reason is not None:
            detail = _remote_detail(messages)
            raise RemoteError(
                f"push of {name.decode('utf-8', 'replace')} to {where} rejected: {redact(reason)}{detail}"
            )
    if connection_kind == "local" and result.ref_status is not None:
        # dulwich's LocalGitClient moved each ref in-process with a compare-and-swap
        # (``set_if_equals``) and lists only the refs it failed to move: every other
        # ref it was asked to move is confirmed; listing the remote again would be a
        # second look-up git's push does not make.
        statuses = {name: None for name in wanted_refs} | statuses
    unconfirmed = [u for u in updates if u.ref.encode("utf-8") not in statuses]
    if unconfirmed:
        _confirm(repo, config, remote, unconfirmed, timeout, environ, where)


# The plan of the last push's pack (tests count what it read and sent); one entry per pack built.
last_plan: list[Any] = []


def _remote_detail(messages: list[bytes]) -> str:
    text = b"".join(messages).decode("utf-8", "replace")
    line = _one_line(text, 200)
    return f" (remote: {line})" if line else ""


def _confirm(repo: Repository, config: GitConfig, remote: Remote, updates: Sequence[RefUpdate],
             timeout: float, env: Mapping[str, str], where: str) -> None:
    """The remote did not report on these refs (file:// never does): look at them instead."""
    refs = list_remote_refs(repo, config, remote, timeout=timeout, for_push=True, env=env)
    for update in updates:
        if refs.get(update.ref) != update.new:
            raise RemoteError(
                f"push of {update.ref} to {where} was not applied by the remote"
                f" (it is {'at ' + refs[update.ref][:12] if update.ref in refs else 'absent'})"
            )
