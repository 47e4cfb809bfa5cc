"""The two transports that are a byte stream: git:// (a TCP socket to git daemon) and ssh
(a child process running ``git-upload-pack``/``git-receive-pack`` on the server).

Imported only when a remote uses one of them: ``socket``, ``select``, ``subprocess``
and ``signal`` are not needed on file:// and come with ``http.client`` on http. No
dulwich (see :mod:`.transport`): its TCP and ssh clients could not be given a time-out,
and its ssh vendor would prompt; here every read and write is bounded and ssh runs
with ``-o BatchMode=yes``, in its own session so a time-out kills it and its children.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
from collections.abc import Mapping

from ..errors import RemoteError
from ..redact import redact
from .config import GitConfig
from .remote import UrlParts
from .wire import pkt_line


# --- git:// ----------------------------------------------------------------------------------


class SocketStream:
    """A git:// connection: a request line, then pkt-lines both ways, each read bounded by the time-out."""

    def __init__(self, parts: UrlParts, service: str, timeout: float) -> None:
        self._sock = socket.create_connection((parts.host, parts.port or 9418), timeout=timeout)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        path = parts.path[1:] if parts.path.startswith("/~") else parts.path
        host = parts.host if parts.port is None else f"{parts.host}:{parts.port}"
        self.write(_daemon_request(service, path, host))

    def read(self, size: int) -> bytes:
        return self._sock.recv(size)

    def write(self, data: bytes) -> None:
        self._sock.sendall(data)

    def failure_detail(self) -> str:
        return ""

    def close(self) -> None:
        self._sock.close()


def _daemon_request(service: str, path: str, host: str) -> bytes:
    """git daemon's request line: ``git-receive-pack /path\\0host=<host>\\0``."""
    return pkt_line(f"git-{service} {path}\0host={host}\0".encode("utf-8"))


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
    """A subprocess's stdin/stdout as read/write, each bounded by ``timeout``."""

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

    def _close_pipes(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass

    def close(self) -> None:
        """Let ssh finish (bounded), then make sure it and its children are gone."""
        self._close_pipes()
        try:
            self.proc.wait(timeout=self._timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return
        self.stderr.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: children too
            except ProcessLookupError:
                pass
        self.proc.wait()
        self._close_pipes()
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


def _sq_quote(text: str) -> str:
    """git's ``sq_quote``: the remote shell sees ``text`` as one word."""
    return "'" + text.replace("'", "'\\''").replace("!", "'\\!'") + "'"


class SshStream:
    """``<ssh> -o BatchMode=yes [-p PORT] [user@]host "git-receive-pack '/path'"``, as git runs
    OpenSSH; a shell snippet (GIT_SSH_COMMAND, core.sshCommand) runs as ``sh -c '<snippet> "$@"'``."""

    def __init__(self, parts: UrlParts, service: str, config: GitConfig, env: Mapping[str, str],
                 timeout: float) -> None:
        command, shell = ssh_command(config, env)
        argv = self.argv(command, shell, parts, f"git-{service} {_sq_quote(parts.path)}")
        child_env = dict(env)
        child_env.pop("GIT_PROTOCOL", None)  # v0: nothing to ask the server for
        stderr = _StderrFile()
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=stderr.file, env=child_env, start_new_session=True)
        except OSError as exc:
            stderr.close()
            raise RemoteError(f"cannot run the ssh command '{redact(argv[0])}': {exc.strerror}") from exc
        self._pipe = _TimedPipe(proc, stderr, timeout)

    @staticmethod
    def argv(command: str, shell: bool, parts: UrlParts, remote_command: str) -> list[str]:
        host, username = parts.host, parts.username
        if host.startswith("-") or (username or "").startswith("-"):
            raise RemoteError(f"refusing ssh host '{redact(host)}' that looks like an option")
        options = ["-o", "BatchMode=yes"]
        if parts.port:
            options += ["-p", str(parts.port)]
        target = f"{username}@{host}" if username else host
        args = [*options, target, remote_command]
        if shell:
            return ["/bin/sh", "-c", f'{command} "$@"', command, *args]
        return [command, *args]

    def read(self, size: int) -> bytes:
        return self._pipe.read(size)

    def write(self, data: bytes) -> None:
        self._pipe.write(data)

    def failure_detail(self) -> str:
        """What ssh (or the remote command) said on stderr (its last line), for a connection that ended early."""
        try:
            lines = [line.strip() for line in self._pipe.stderr.readlines() if line.strip()]
        except (OSError, ValueError):
            return ""
        return redact(lines[-1].decode("utf-8", "replace")[:300]) if lines else ""

    def close(self) -> None:
        self._pipe.close()

    def kill(self) -> None:
        self._pipe.kill()
