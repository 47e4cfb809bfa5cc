"""Safe reads of every file the hook or the release reads, and the one error type for them.

``pyproject.toml``, version files and ``uv.lock`` may come from an untrusted pull
request (the hook runs in CI on them), so a read must never hang, never eat
memory and never end in a traceback:

* the file is opened with ``O_NONBLOCK`` (a FIFO returns at once instead of
  waiting for a writer) and must be a regular file, checked with ``fstat`` on
  the open descriptor (a symlink to ``/dev/zero`` is a character device);
* at most :data:`MAX_BYTES` are read;
* every parse failure (invalid UTF-8 or TOML, ``RecursionError`` from deep
  nesting, ``MemoryError``) becomes one :class:`SourceError` naming the file
  and line.

Standard library only: the pre-commit hook's success path imports this module.
"""

from __future__ import annotations

import os
import stat
import tomllib
from typing import Any

from ..errors import PyprojectError

MAX_BYTES = 10 * 1024 * 1024
_CHUNK = 1024 * 1024
_UTF8_BOM = b"\xef\xbb\xbf"
_KINDS = (
    (stat.S_ISDIR, "is a directory, not a file"),
    (stat.S_ISFIFO, "not a regular file (a FIFO)"),
    (stat.S_ISCHR, "not a regular file (a character device)"),
    (stat.S_ISBLK, "not a regular file (a block device)"),
    (stat.S_ISSOCK, "not a regular file (a socket)"),
)


class SourceError(PyprojectError):
    """A file holding (a copy of) the version is unusable: ``path:line: reason``, one line."""

    def __init__(self, path: str, line: int | None, reason: str, *, keys: tuple[str, ...] = ()) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        self.keys = keys  # the pyproject.toml key the problem is about, to find its line
        super().__init__(f"{path}:{line}: {reason}" if line is not None else f"{path}: {reason}")


def read_bytes(path: str | os.PathLike[str], display: str, *, follow_symlinks: bool = True,
               limit: int = MAX_BYTES) -> bytes:
    """The bytes of the regular file at ``path``; anything else is a :class:`SourceError` at line 1."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise SourceError(display, 1, "file not found") from None
    except IsADirectoryError:
        raise SourceError(display, 1, "is a directory, not a file") from None
    except NotADirectoryError:
        raise SourceError(display, 1, "a parent of this path is not a directory") from None
    except PermissionError:
        raise SourceError(display, 1, "cannot read the file (permission denied)") from None
    except OSError as error:
        if not follow_symlinks and os.path.islink(path):
            raise SourceError(display, 1, "is a symbolic link; refusing to read or edit through it") from None
        raise SourceError(display, 1, f"cannot read the file ({error.strerror or error})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            for test, reason in _KINDS:
                if test(info.st_mode):
                    raise SourceError(display, 1, reason)
            raise SourceError(display, 1, "not a regular file")
        if info.st_size > limit:
            raise SourceError(display, 1, f"larger than {limit // (1024 * 1024)} MiB; refusing to read it")
        chunks: list[bytes] = []
        total = 0
        while True:
            try:
                chunk = os.read(fd, min(_CHUNK, limit + 1 - total))
            except BlockingIOError:  # only special files block; fstat said regular
                raise SourceError(display, 1, "not a regular file (reading would block)") from None
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise SourceError(display, 1, f"larger than {limit // (1024 * 1024)} MiB; refusing to read it")
        return b"".join(chunks)
    except OSError as error:
        raise SourceError(display, 1, f"cannot read the file ({error.strerror or error})") from None
    finally:
        os.close(fd)


def file_mode(path: str) -> int:
    """Permission bits of ``path`` (not following a final symlink)."""
    return stat.S_IMODE(os.lstat(path).st_mode)


def decode(raw: bytes, display: str, *, what: str = "TOML files") -> str:
    """Strict UTF-8; a bad byte is reported with its line and column. A byte order mark is refused in
    TOML (tomllib, pip and build reject it) and kept as a character elsewhere (Python accepts it)."""
    if what == "TOML files" and raw.startswith(_UTF8_BOM):
        raise SourceError(display, 1, "starts with a UTF-8 byte order mark, which TOML parsers reject;"
                                      " save it as UTF-8 without BOM")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        raise SourceError(
            display, line,
            f"not valid UTF-8 (byte 0x{raw[error.start]:02x} at column {column}); {what} must be UTF-8",
        ) from None


def parse_toml(raw: bytes, display: str) -> dict[str, Any]:
    """Decode and parse; any failure of any kind is one :class:`SourceError`."""
    text = decode(raw, display)
    return parse_toml_text(text, display)


def parse_toml_text(text: str, display: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        line, reason = _toml_position(str(error), text)
        raise SourceError(display, line, f"invalid TOML: {reason}") from None
    except RecursionError:  # tomllib recurses once per nested array or inline table
        raise SourceError(display, 1, "invalid TOML: arrays or inline tables nested too deeply to read") from None
    except MemoryError:
        raise SourceError(display, 1, "invalid TOML: too large to parse in memory") from None
    except Exception as error:  # noqa: BLE001 - a parser bug must still be one line
        raise SourceError(display, 1, f"cannot parse the TOML ({type(error).__name__})") from None


def _toml_position(message: str, text: str) -> tuple[int, str]:
    marker = message.rfind(" (at ")
    if marker < 0 or not message.endswith(")"):
        return 1, message
    reason, where = message[:marker], message[marker + 5 : -1]
    if where == "end of document":
        return text.count("\n") + 1, f"{reason} (at end of file)"
    if where.startswith("line "):
        line_text, _, column_text = where[5:].partition(", column ")
        if line_text.isdigit():
            return int(line_text), f"{reason} (column {column_text})" if column_text.isdigit() else reason
    return 1, message


def line_at(raw: bytes, offset: int) -> int:
    """1-based line number of the byte at ``offset``."""
    return raw.count(b"\n", 0, offset) + 1


def line_text(raw: bytes, offset: int) -> str:
    """The text of the line holding ``offset``, without its line ending."""
    start = raw.rfind(b"\n", 0, offset) + 1
    end = raw.find(b"\n", offset)
    if end < 0:
        end = len(raw)
    return raw[start:end].rstrip(b"\r").decode("utf-8", "replace")
