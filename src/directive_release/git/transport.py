"""ls-remote and push over file://, git://, ssh:// and http(s)://, as git does them.

Our own client, not dulwich's (a measured exception to "library first"): importing
``dulwich.client`` cost ~55 ms on every transport, and urllib3 ~37 ms more over
http, against a whole release of ~150 ms on 20k files; that import time alone kept
the release with push above 1.3x git's own sequence over file:// and smart HTTP
(issue 13). A release needs little of the protocol: list the refs, send a few
ref updates and one pack of full objects, read one report. The pieces:

- :mod:`.wire`: pkt-lines, the v0 ref advertisement, push commands, report-status;
- :mod:`.pack`: which objects the remote lacks, and the pack holding them;
- :mod:`.streams`: git:// (a socket to git daemon) and ssh (a child process);
- :mod:`.smart_http`: http(s) on the standard library (TLS, proxies, extra headers);
- :mod:`.local_remote`: a path or file:// remote served in-process (the git binary's
  ``receive-pack`` cannot run here): pack moved in, each ref compare-and-swapped.
  The remote's hooks do not run there (as with dulwich before); use git://, ssh
  or http to exercise server-side hooks.

What this module adds, as git does it:

- Every update is a compare-and-swap: the remote's advertised value must be the
  ``old`` it was planned against, or nothing is sent. Rejections are read from
  report-status; a ref the remote did not report on is confirmed by listing again.
- Time-outs: git:// sockets and ssh pipes get ``timeout`` per operation, http the
  same on connect and every read.
- http(s) asks :mod:`credentials` after a 401, retries once with what it learnt,
  then tells the helpers (approve/reject).
- ssh never prompts: ``-o BatchMode=yes`` is always passed.
- No output: progress and remote messages are kept in memory; one redacted line
  reports a failure.

:mod:`remote` has applied insteadOf/pushInsteadOf before a URL reaches here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

from .. import __version__
from ..errors import CredentialError, RemoteError
from ..redact import redact, register_secret
from .config import GitConfig
from .odb import ObjectReader
from .remote import Remote, parse_url, strip_userinfo
from .repo import Repository
from .wire import (
    FLUSH,
    Advertisement,
    Command,
    HungUp,
    PktReader,
    ProtocolError,
    Report,
    buffer_reader,
    push_request,
    read_advertisement,
    read_report,
    wanted_capabilities,
)

_T = TypeVar("_T")
_HEX = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
_AGENT = f"directive-release/{__version__}"


class RefUpdate(NamedTuple):
    """Move ``ref`` from ``old`` to ``new``; ``new`` None deletes, ``old`` None means "must not exist"."""

    ref: str
    old: str | None
    new: str | None


# --- the connection ---------------------------------------------------------------------------


# The last smart-HTTP session, kept after an operation that did not fail: the push reuses the
# look-up's connection when the server kept it alive, so one TCP (and TLS) handshake serves the
# release, as one serves git's own GET and POST. Only one is kept (a release talks to one remote),
# and only for the same URL, credentials, time-out and the same config and environment objects.
# A session that failed is closed and forgotten; a connection the server closed meanwhile is
# replaced by the session itself; the one kept closes with the process.
_kept_http: list[tuple[tuple[Any, ...], Any]] = []


class _Connection:
    """One remote location and how to reach it; ``credential_source`` is "url" when the URL held them."""

    def __init__(self, url: str, config: GitConfig, env: Mapping[str, str], timeout: float,
                 username: str | None = None, password: str | None = None) -> None:
        self.url = url
        self.parts = parse_url(url)
        self.config = config
        self.env = env
        self.timeout = timeout
        self.credential_source: str | None = None
        if self.parts.kind in ("http", "https") and username is None and self.parts.username is not None:
            username, password = self.parts.username, self.parts.password
            self.credential_source = "url" if password is not None else None
        register_secret(password)
        self.username = username
        self.password = password
        self._open: list[Any] = []  # streams and the http session, closed together
        self._http: Any = None

    def close(self, *, failed: bool) -> None:
        """Close what was opened; after a failure an ssh process is killed, not waited for.

        An http session that served without failing stays open in :data:`_kept_http`."""
        for thing in self._open:
            try:
                if failed and hasattr(thing, "kill"):
                    thing.kill()
                else:
                    thing.close()
            except Exception:  # noqa: BLE001 - closing must not hide the real outcome
                pass
        self._open.clear()
        if self._http is not None and failed:
            _kept_http.clear()
            self._http.close()
        self._http = None

    def _http_key(self) -> tuple[Any, ...]:
        return (self.url, self.username, self.password, self.timeout, self.config, self.env)

    def http(self) -> Any:
        """The smart-HTTP session (:mod:`.smart_http`): one kept-alive connection for the GET and
        the POST, and for the next operation on the same remote in this process."""
        if self._http is None:
            key = self._http_key()
            if _kept_http and all(a is b or a == b for a, b in zip(_kept_http[0][0], key)):
                self._http = _kept_http[0][1]
            else:
                from .smart_http import HttpSession

                for _, old in _kept_http:
                    old.close()
                self._http = HttpSession(strip_userinfo(self.url), self.config, self.env, self.timeout,
                                         self.username, self.password)
                _kept_http[:] = [(key, self._http)]
        return self._http

    def stream(self, service: str) -> Any:
        """git:// or ssh (:mod:`.streams`, imported only for them)."""
        from .streams import SocketStream, SshStream

        if self.parts.kind == "git":
            stream: Any = SocketStream(self.parts, service, self.timeout)
        else:
            stream = SshStream(self.parts, service, self.config, self.env, self.timeout)
        self._open.append(stream)
        return stream

    def local(self) -> Any:
        from .local_remote import LocalRemote

        return LocalRemote(os.path.expanduser(self.parts.path))


def _stream_errors(stream: Any, error: BaseException) -> BaseException:
    """A connection that ended early: say what the other end said (ssh's stderr), if anything."""
    if isinstance(error, (HungUp, BrokenPipeError, ConnectionResetError)) or (
            isinstance(error, OSError) and not _is_timeout(error)):
        detail = stream.failure_detail()
        if detail:
            return ProtocolError(detail)
    return error


def _list_refs(connection: _Connection) -> Advertisement:
    """The refs as ``git ls-remote`` lists them: upload-pack's advertisement."""
    kind = connection.parts.kind
    if kind == "local":
        return connection.local().advertise()
    if kind in ("http", "https"):
        return read_advertisement(buffer_reader(connection.http().advertisement("git-upload-pack")))
    stream = connection.stream("upload-pack")
    try:
        advertisement = read_advertisement(PktReader(stream.read))
        stream.write(FLUSH)  # "nothing wanted": the server ends cleanly, as after git ls-remote
        return advertisement
    except Exception as exc:
        raise _stream_errors(stream, exc) from None


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
        if isinstance(item, TimeoutError):  # socket.timeout is TimeoutError
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
    """Turn whatever the protocol, the socket, http or ssh raised into one redacted line."""
    if isinstance(exc, ProtocolError):
        return RemoteError(f"{action} {where} failed: {_one_line(str(exc)) or type(exc).__name__}")
    if isinstance(exc, RemoteError):
        return exc
    import socket  # loaded already by whichever transport failed

    if _is_timeout(exc):
        return _Unreachable(f"{action} {where} timed out after {timeout:g}s; check the network or the remote URL")
    for item in _chain(exc):
        if isinstance(item, ConnectionRefusedError):
            return NeverConnected(f"{action} {where} failed: connection refused; is the server running?")
        if isinstance(item, socket.gaierror):
            return NeverConnected(f"{action} {where} failed: cannot resolve the host name")
    if isinstance(exc, OSError):
        return RemoteError(f"{action} {where} failed: {redact(exc.strerror or str(exc))}")
    return RemoteError(f"{action} {where} failed: {_one_line(str(exc)) or type(exc).__name__}")


def _where(remote: Remote, url: str) -> str:
    shown = redact(strip_userinfo(url))
    return shown if remote.name in (url, shown) else f"{redact(remote.name)} ({shown})"


# --- the authenticated round trip -------------------------------------------------------


def _unauthorized() -> type[BaseException]:
    from .smart_http import Unauthorized

    return Unauthorized


def _with_credentials(config: GitConfig, url: str, timeout: float, env: Mapping[str, str],
                      action: str, where: str, operation: Callable[[_Connection], _T]) -> _T:
    """Run ``operation``; on http 401 ask the credential helpers once and retry, like git."""
    connection = _Connection(url, config, env, timeout)
    try:
        return _run(connection, operation, action, where, timeout)
    except _Retry:
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
    connection = _Connection(url, config, env, timeout, username, password)
    try:
        result = _run(connection, operation, action, where, timeout)
    except _Retry:
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


class _Retry(Exception):
    """The server answered 401: ask for credentials."""


def _with_username(url: str, username: str) -> str:
    from urllib.parse import quote

    scheme, rest = strip_userinfo(url).split("://", 1)
    return f"{scheme}://{quote(username, safe='')}@{rest}"


def _run(connection: _Connection, operation: Callable[[_Connection], _T], action: str, where: str,
         timeout: float) -> _T:
    try:
        result = operation(connection)
    except Exception as exc:  # every failure becomes one redacted RemoteError line
        connection.close(failed=True)
        if connection.parts.kind in ("http", "https") and isinstance(exc, _unauthorized()):
            raise _Retry() from None
        raise _remote_error(exc, action, where, timeout) from None
    except BaseException:
        connection.close(failed=True)
        raise
    connection.close(failed=False)
    return result


# --- public API ----------------------------------------------------------------------------


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
        advertisement = _list_refs(connection)
        return RemoteRefs(advertisement.refs, advertisement.symrefs)

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


def _compare(updates: Sequence[RefUpdate], advertised: Mapping[str, str], where: str) -> None:
    """The compare of the compare-and-swap: each remote ref must still hold ``old``."""
    for update in updates:
        current = advertised.get(update.ref)
        if current is not None and set(current) == {"0"}:
            current = None
        if current != update.old:
            state = f"is at {current[:12]}" if current else "does not exist"
            expected = f"{update.old[:12]}" if update.old else "it not to exist"
            raise _Refused(
                f"push of {update.ref} to {where} refused: the remote ref {state}, expected"
                f" {expected} (it changed since it was checked); fetch and retry"
            )


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

    def plan(advertised: Mapping[str, str]) -> Any:
        """Exactly what the remote lacks, read along changed paths (see :mod:`.pack`)."""
        from .pack import plan_push

        haves = {bytes.fromhex(oid) for oid in advertised.values() if not set(oid) == {"0"}}
        result = plan_push(reader, [bytes.fromhex(u.new) for u in updates if u.new is not None], haves)
        last_plan.append(result)
        return result

    def request(advertisement: Advertisement) -> tuple[list[str], Iterator[bytes], int]:
        """Compare, then the commands and the pack (none when every update is a delete)."""
        _compare(updates, advertisement.refs, where)
        capabilities = wanted_capabilities(advertisement.capabilities, _AGENT, repo.object_format)
        if any(u.new is None for u in updates) and "delete-refs" not in advertisement.capabilities:
            raise RemoteError(f"push to {where} failed: the remote does not allow deleting refs")
        zero = "0" * repo.hash_hex_length
        commands = push_request([Command(u.old or zero, u.new or zero, u.ref) for u in updates], capabilities)
        if all(u.new is None for u in updates):
            return capabilities, iter([commands]), 0
        from .pack import pack_stream

        objects = plan(advertisement.refs).objects
        return capabilities, _chain_chunks(commands, pack_stream(reader, objects)), len(objects)

    def send(connection: _Connection) -> dict[str, str | None] | None:
        kind = connection.parts.kind
        if kind == "local":
            return _push_local(connection, repo, reader, updates, where, plan)
        if kind in ("http", "https"):
            session = connection.http()
            advertisement = read_advertisement(buffer_reader(session.advertisement("git-receive-pack")))
            capabilities, chunks, count = request(advertisement)
            # A small push goes with a Content-Length; a large one (a first push) is streamed.
            answer = session.rpc("git-receive-pack", b"".join(chunks) if count < 1000 else chunks)
            if "report-status" not in capabilities:
                return None
            return _statuses(read_report(buffer_reader(answer), "side-band-64k" in capabilities), where)
        stream = connection.stream("receive-pack")
        try:
            advertisement = read_advertisement(PktReader(stream.read))
            try:
                capabilities, chunks, _ = request(advertisement)
            except RemoteError:
                try:
                    stream.write(FLUSH)  # no commands: the server ends without changing anything
                except OSError:
                    pass  # it is gone already: the refusal is what to report
                raise
            for chunk in chunks:
                stream.write(chunk)
            if "report-status" not in capabilities:
                while stream.read(65536):
                    pass  # the server is done once it hangs up; only then is the listing true
                return None
            return _statuses(read_report(PktReader(stream.read), "side-band-64k" in capabilities), where)
        except Exception as exc:
            raise _stream_errors(stream, exc) from None

    del last_plan[:]
    statuses = _with_credentials(config, _locate(repo, url), timeout, environ, "push to", where, send) or {}
    for name, reason in statuses.items():
        if reason is not None:
            raise RemoteError(f"push of {name} to {where} rejected: {reason}")
    unconfirmed = [u for u in updates if u.ref not in statuses]
    if unconfirmed:
        _confirm(repo, config, remote, unconfirmed, timeout, environ, where)


def _chain_chunks(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def _statuses(report: Report | None, where: str) -> dict[str, str | None] | None:
    """The refs the remote reported on, with the reason for each it refused (and what it printed)."""
    if report is None:
        return None
    detail = _remote_detail(report.messages)
    if report.unpack is not None:
        raise RemoteError(f"push to {where} failed: the remote could not unpack the pack"
                          f" ({redact(report.unpack)}){detail}")
    return {ref: None if reason is None else f"{redact(reason)}{detail}" for ref, reason in report.refs.items()}


def _push_local(connection: _Connection, repo: Repository, reader: ObjectReader,
                updates: Sequence[RefUpdate], where: str, plan: Callable[[Mapping[str, str]], Any]
                ) -> dict[str, str | None]:
    """A path or file:// remote, received in-process (:mod:`.local_remote`)."""
    target = connection.local()
    if target.repo.object_format != repo.object_format:
        raise RemoteError(f"push to {where} failed: the remote uses {target.repo.object_format} object ids"
                          f" and this repository {repo.object_format}")
    advertisement = target.advertise()
    _compare(updates, advertisement.refs, where)
    refusals = {u.ref: target.refusal(u.ref, u.new) for u in updates}
    refused = {ref: reason for ref, reason in refusals.items() if reason is not None}
    if refused:  # nothing is written: the refused refs first, for the message to name one of them
        first = next(iter(refused))
        return {**refused, **{u.ref: f"not attempted ({first} was refused)" for u in updates if u.ref not in refused}}
    objects = plan(advertisement.refs).objects if any(u.new is not None for u in updates) else []
    return target.receive(reader, objects, [(u.ref, u.old, u.new) for u in updates])


# The plan of the last push's pack (tests count what it read and sent); one entry per pack built.
last_plan: list[Any] = []


def _remote_detail(messages: bytes) -> str:
    line = _one_line(messages.decode("utf-8", "replace"), 200)
    return f" (remote: {line})" if line else ""


def _confirm(repo: Repository, config: GitConfig, remote: Remote, updates: Sequence[RefUpdate],
             timeout: float, env: Mapping[str, str], where: str) -> None:
    """The remote did not report on these refs (no report-status): look at them instead."""
    refs = list_remote_refs(repo, config, remote, timeout=timeout, for_push=True, env=env)
    for update in updates:
        if refs.get(update.ref) != update.new:
            raise RemoteError(
                f"push of {update.ref} to {where} was not applied by the remote"
                f" (it is {'at ' + refs[update.ref][:12] if update.ref in refs else 'absent'})"
            )
