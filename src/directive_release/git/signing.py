"""Commit signing as ``git commit`` does it under ``commit.gpgSign`` (git 2.39 gpg-interface.c).

- ``gpg.format=openpgp`` (default): ``<gpg.program> --status-fd=2 -bsau <key>``
  with the payload on stdin and the armoured signature on stdout; success only
  when the status output has a ``[GNUPG:] SIG_CREATED`` line. ``gpg.program``
  and ``gpg.openpgp.program`` are the same setting (the later one wins).
- ``gpg.format=x509``: the same call to ``gpg.x509.program`` (default ``gpgsm``).
- ``gpg.format=ssh``: ``<gpg.ssh.program> -Y sign -n git -f <key> [-U] <tmpfile>``
  (default ``ssh-keygen``), signature read from ``<tmpfile>.sig``. The key is
  ``user.signingKey`` as a path (``~`` expanded) or a literal ``ssh-...``/
  ``key::...`` public key, written to a temporary file and signed through the
  agent (``-U``); without ``user.signingKey``, ``gpg.ssh.defaultKeyCommand``'s
  first output line.
- The key, when ``user.signingKey`` is unset for openpgp/x509, is the
  committer ``Name <email>``, as git does.

Programs are run directly (no shell) and found on ``PATH``; their output is
never shown unless signing fails, then as one redacted line.

No dulwich: ``dulwich.signature``'s GPG vendor runs ``gpg --detach-sign --armor``
with the default key (git signs as the committer when ``user.signingKey`` is
unset), never checks ``SIG_CREATED``, and reads ``gpg.*`` through dulwich's config
stack (which differs from git's, see :mod:`.config`); tests/git/test_signing.py
verifies our signatures with ``git log --show-signature`` / ``git verify-commit``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError, SigningError
from ..redact import redact
from .config import GitConfig, interpolate_path

if TYPE_CHECKING:  # subprocess is imported where used: only signing needs it
    import subprocess

    from .repo import Repository

Signer = Callable[[bytes], bytes]
FORMATS = ("openpgp", "x509", "ssh")
_DEFAULT_PROGRAMS = {"openpgp": "gpg", "x509": "gpgsm", "ssh": "ssh-keygen"}


def commit_signer(repo: Repository | None, config: GitConfig, env: Mapping[str, str] | None = None, *,
                  timeout: float | None = None) -> Signer | None:
    """None unless ``commit.gpgSign``; else a function payload -> armoured signature bytes.

    Configuration problems (bad ``gpg.format``, no ssh key, no committer
    identity for the default openpgp key) are raised here, before anything is
    written; the signing program itself runs when the function is called.
    """
    fmt = signing_format(config)  # checked first: git refuses to commit at all with a bad one
    if not config.get_bool("commit.gpgSign", False):
        return None
    environ = dict(os.environ if env is None else env)
    program = _program(config, fmt)
    configured = config.entry("user.signingKey")
    if configured is not None and configured.value is None:
        raise configured.needs_value()
    # An empty user.signingKey is used as is (and fails), exactly as in git.
    key = _default_key(config, fmt, environ, timeout) if configured is None else configured.value or ""
    if fmt == "ssh":
        if not key:
            raise SigningError("user.signingkey needs to be set for ssh signing"
                               " (a key file or a literal ssh- public key)")
        literal = _literal_ssh_key(key)
        key_file = None if literal is not None else interpolate_path(key, environ, real_home=True)
        if literal is None and key_file is None:
            raise SigningError(f"user.signingKey: cannot expand '{key}' (is HOME set?)")

        def sign_ssh(payload: bytes) -> bytes:
            return _sign_ssh(program, payload, key_file, literal, environ, timeout)

        return sign_ssh

    def sign_gpg(payload: bytes) -> bytes:
        return _sign_gpg(program, payload, key, environ, timeout)

    return sign_gpg


def signing_format(config: GitConfig) -> str:
    """``gpg.format``; git rejects any invalid entry while reading config, even unused."""
    fmt = "openpgp"
    for entry in config.entries_for("gpg.format"):
        if entry.value is None:
            raise entry.needs_value()
        if entry.value not in FORMATS:  # git compares case-sensitively
            raise ConfigError(
                f"invalid value for 'gpg.format': '{entry.value}' ({entry.where}); use openpgp, x509 or ssh"
            )
        fmt = entry.value
    return fmt


def _program(config: GitConfig, fmt: str) -> str:
    keys = {"openpgp": ("gpg.program", "gpg.openpgp.program"), "x509": ("gpg.x509.program",),
            "ssh": ("gpg.ssh.program",)}[fmt]
    # git applies these in configuration order: the last one seen wins
    candidates = [e for e in config.entries if e.key in keys]
    if not candidates:
        return _DEFAULT_PROGRAMS[fmt]
    last = candidates[-1]
    if last.value is None:
        raise last.needs_value()
    return last.value


def _literal_ssh_key(key: str) -> str | None:
    if key.startswith("key::"):
        return key[len("key::"):]
    if key.startswith("ssh-"):
        return key
    return None


def _default_key(config: GitConfig, fmt: str, env: dict[str, str], timeout: float | None) -> str:
    import subprocess
    import shlex
    if fmt != "ssh":
        from .identity import resolve_identities

        _, committer = resolve_identities(config, env)
        return committer.signature_bytes().decode("utf-8", "surrogateescape")
    command = config.get("gpg.ssh.defaultKeyCommand")
    if not command:
        raise SigningError("either user.signingkey or gpg.ssh.defaultKeyCommand needs to be configured")
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise ConfigError(f"malformed gpg.ssh.defaultKeyCommand: {exc}") from None
    try:
        result = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                                timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SigningError(f"gpg.ssh.defaultKeyCommand failed: {redact(str(exc))}") from None
    first = result.stdout.decode("utf-8", "replace").split("\n", 1)[0]
    if result.returncode != 0:
        raise SigningError(f"gpg.ssh.defaultKeyCommand failed: {_last_line(result.stderr, result.stdout)}")
    if _literal_ssh_key(first) is None:
        raise SigningError("gpg.ssh.defaultKeyCommand succeeded but returned no keys")
    return first + "\n"  # git keeps the line's newline in the key file it writes


def _last_line(*outputs: bytes) -> str:
    """The last meaningful line of a program's output, redacted (gpg status lines skipped)."""
    for output in outputs:
        lines = [line.strip() for line in output.decode("utf-8", "replace").splitlines()]
        lines = [line for line in lines if line and not line.startswith("[GNUPG:]")]
        if lines:
            return redact(lines[-1])
    return "(no output)"


def _run(argv: list[str], payload: bytes | None, env: dict[str, str], timeout: float | None,
         what: str) -> subprocess.CompletedProcess[bytes]:
    import subprocess
    try:
        return subprocess.run(argv, input=payload if payload is not None else b"", env=env,
                              capture_output=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise SigningError(
            f"commit.gpgSign is set but {argv[0]} was not found; install it or set {what}"
        ) from None
    except subprocess.TimeoutExpired:
        raise SigningError(f"{argv[0]} did not finish signing within {timeout:g}s") from None
    except OSError as exc:
        raise SigningError(f"cannot run {argv[0]} to sign the commit: {exc.strerror}") from None


def _sign_gpg(program: str, payload: bytes, key: str, env: dict[str, str], timeout: float | None) -> bytes:
    result = _run([program, "--status-fd=2", "-bsau", key], payload, env, timeout, "gpg.program")
    created = any(line.startswith(b"[GNUPG:] SIG_CREATED ") for line in result.stderr.split(b"\n"))
    if result.returncode != 0 or not created:
        raise SigningError(f"gpg failed to sign the data (key {key}): {_last_line(result.stderr)}")
    return result.stdout.replace(b"\r\n", b"\n")


def _sign_ssh(program: str, payload: bytes, key_file: str | None, literal: str | None,
              env: dict[str, str], timeout: float | None) -> bytes:
    import tempfile
    tmpdir = env.get("TMPDIR") or "/tmp"
    created: list[str] = []
    try:
        if literal is not None:
            fd, key_file = tempfile.mkstemp(prefix=".git_signing_key_tmp", dir=tmpdir)
            created.append(key_file)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(literal)
        assert key_file is not None
        fd, buffer_file = tempfile.mkstemp(prefix=".git_signing_buffer_tmp", dir=tmpdir)
        created += [buffer_file, buffer_file + ".sig"]
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        argv = [program, "-Y", "sign", "-n", "git", "-f", key_file]
        if literal is not None:
            argv.append("-U")  # the private half lives in ssh-agent
        argv.append(buffer_file)
        result = _run(argv, None, env, timeout, "gpg.ssh.program")
        if result.returncode != 0:
            hint = " (ssh-keygen -Y sign needs OpenSSH 8.2p1 or later)" if b"usage:" in result.stderr else ""
            raise SigningError(f"ssh signing failed{hint}: {_last_line(result.stderr, result.stdout)}")
        try:
            signature = Path(buffer_file + ".sig").read_bytes()
        except OSError as exc:
            raise SigningError(f"failed reading ssh signature from {buffer_file}.sig: {exc.strerror}") from None
        return signature.replace(b"\r\n", b"\n")
    finally:
        for path in created:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
