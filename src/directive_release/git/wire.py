"""git's wire protocol v0, as much as ls-remote and push need: pkt-lines, the ref
advertisement, push commands and report-status (Documentation/gitprotocol-pack.txt).

Ours rather than dulwich's ``dulwich.client``/``dulwich.protocol``: importing
``dulwich.client`` costs ~55 ms, a third of a whole release on 20k files, and
it was what kept the release with push above 1.3x git's sequence (issue 13).
What a release says is small: list the refs, send a few commands and one pack of
full objects, read one report. Pure functions over bytes and a ``read(n)``
callable; the transports (:mod:`.transport`) own the sockets, pipes and HTTP.

Protocol v0 on every transport (git daemon, ssh, smart HTTP all serve it to a
client that does not ask for v2): one advertisement format, with the remote's
HEAD named by the ``symref=HEAD:<ref>`` capability.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

from ..errors import RemoteError

FLUSH = b"0000"
_MAX_PKT = 65520
_HEX_ID = re.compile(rb"^[0-9a-f]{40}([0-9a-f]{24})?$")


class ProtocolError(RemoteError):
    """The remote said something that is not git's protocol, or said ``ERR``."""


class HungUp(ProtocolError):
    """The connection ended in the middle of a message."""


def pkt_line(data: bytes) -> bytes:
    if len(data) + 4 > _MAX_PKT:
        raise ProtocolError("pkt-line too long")
    return b"%04x%s" % (len(data) + 4, data)


class PktReader:
    """pkt-lines from ``read(n)`` (which returns fewer bytes only at the end of the stream)."""

    def __init__(self, read: Callable[[int], bytes]) -> None:
        self._read = read

    def _exactly(self, size: int) -> bytes:
        data = self._read(size)
        while len(data) < size:
            more = self._read(size - len(data))
            if not more:
                raise HungUp("the remote end hung up unexpectedly")
            data += more
        return data

    def read(self) -> bytes | None:
        """The next packet's payload; None for a flush (``0000``) or delimiter."""
        head = self._exactly(4)
        try:
            size = int(head, 16)
        except ValueError:
            raise ProtocolError(f"protocol error: bad line length {head!r}") from None
        if size in (0, 1, 2):
            return None
        if size < 4:
            raise ProtocolError(f"protocol error: bad line length {size}")
        return self._exactly(size - 4)


class Buffer:
    """Bytes already received (an HTTP body) as a ``read(n)``; ``position`` is what was read."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.position = 0

    def read(self, size: int) -> bytes:
        chunk = self.data[self.position:self.position + size]
        self.position += len(chunk)
        return chunk


def buffer_reader(data: bytes) -> PktReader:
    """pkt-lines from bytes already received."""
    return PktReader(Buffer(data).read)


class Advertisement(NamedTuple):
    """The refs a server announced, its symbolic refs (``HEAD`` to a branch) and capabilities."""

    refs: dict[str, str]
    symrefs: dict[str, str]
    capabilities: dict[str, str | None]


def _error_text(payload: bytes) -> str:
    return payload.decode("utf-8", "replace").strip()


def read_advertisement(reader: PktReader) -> Advertisement:
    """The v0 advertisement, up to its flush (an empty repository sends ``capabilities^{}``)."""
    refs: dict[str, str] = {}
    capabilities: dict[str, str | None] = {}
    symrefs: dict[str, str] = {}
    first = True
    while True:
        payload = reader.read()
        if payload is None:
            break
        if payload.startswith(b"ERR "):
            raise ProtocolError(_error_text(payload[4:]))
        line = payload.rstrip(b"\n")
        if first and line == b"version 1":
            continue
        if line.startswith(b"shallow "):
            continue
        if first:
            line, _, caps = line.partition(b"\0")
            for word in caps.decode("utf-8", "replace").split():
                name, sep, value = word.partition("=")
                if name == "symref" and ":" in value:
                    source, _, target = value.partition(":")
                    symrefs[source] = target
                capabilities[name] = value if sep else None
            first = False
        oid, _, name = line.partition(b" ")
        if not _HEX_ID.match(oid) or not name:
            raise ProtocolError(f"protocol error: unexpected ref line {line[:80]!r}")
        if name == b"capabilities^{}":
            continue
        refs[name.decode("utf-8", "replace")] = oid.decode("ascii")
    return Advertisement(refs, symrefs, capabilities)


class Command(NamedTuple):
    """One ref update as the protocol sends it: ids in hex, the zero id for "none"."""

    old: str
    new: str
    ref: str


def push_request(commands: Iterable[Command], capabilities: Iterable[str]) -> bytes:
    """The commands (the first one carries our capabilities) and their flush."""
    out = []
    for index, command in enumerate(commands):
        line = f"{command.old} {command.new} {command.ref}".encode("utf-8")
        if index == 0:
            line += b"\0" + " ".join(capabilities).encode("ascii")
        out.append(pkt_line(line + b"\n"))
    out.append(FLUSH)
    return b"".join(out)


def wanted_capabilities(server: Mapping[str, str | None], agent: str, object_format: str) -> list[str]:
    """What a push asks for, among what the server offered (git asks only for offered ones)."""
    wanted = [name for name in ("report-status", "side-band-64k", "quiet") if name in server]
    offered_format = server.get("object-format") or "sha1"
    if offered_format != object_format:
        raise ProtocolError(f"the remote uses {offered_format} object ids and this repository {object_format}")
    if "object-format" in server:
        wanted.append(f"object-format={object_format}")
    if "agent" in server:
        wanted.append(f"agent={agent}")
    return wanted


class Report(NamedTuple):
    """report-status: ``unpack`` is None when the pack was unpacked; ``refs`` maps a ref to
    None (updated) or the server's reason; ``messages`` is what the remote printed (band 2)."""

    unpack: str | None
    refs: dict[str, str | None]
    messages: bytes


def read_report(reader: PktReader, side_band: bool) -> Report:
    """The server's answer to a push (with side-band-64k, report-status rides in band 1)."""
    messages: list[bytes] = []
    if side_band:
        data: list[bytes] = []
        while True:
            payload = reader.read()
            if payload is None:
                break
            band, body = payload[:1], payload[1:]
            if band == b"\1":
                data.append(body)
            elif band == b"\2":
                messages.append(body)
            elif band == b"\3":
                raise ProtocolError(f"remote error: {_error_text(body)}")
            else:
                raise ProtocolError(f"protocol error: bad band {band!r}")
        inner = buffer_reader(b"".join(data))
    else:
        inner = reader
    unpack: str | None = "no report from the remote"
    refs: dict[str, str | None] = {}
    while True:
        try:
            payload = inner.read()
        except HungUp:
            if inner is reader:
                raise  # the connection itself ended mid-report
            break  # the inner stream of band 1 may end without its flush
        if payload is None:
            break
        line = payload.rstrip(b"\n").decode("utf-8", "replace")
        if line.startswith("unpack "):
            status = line[len("unpack "):]
            unpack = None if status == "ok" else status
        elif line.startswith("ok "):
            refs[line[3:]] = None
        elif line.startswith("ng "):
            ref, _, reason = line[3:].partition(" ")
            refs[ref] = reason or "rejected"
        elif line.startswith("ERR "):
            raise ProtocolError(line[4:])
    return Report(unpack, refs, b"".join(messages))
