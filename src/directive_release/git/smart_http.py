"""git's smart HTTP (protocol v0) on the standard library's ``http.client``: no dulwich, no urllib3.

Why: a release that pushes over https paid for dulwich's and urllib3's imports,
which git's binaries do not. Measured (Python 3.11, dulwich 1.2.21, urllib3
2.8.0, bytecode cached, min of 9) as the time each import adds after the
modules a release has already loaded: ``dulwich.client`` 27 ms, then
``urllib3`` 28 ms more (55 ms); ``http.client`` 12.6 ms (it imports ``ssl``,
6 ms, and ``email.parser``, 6 ms, itself, so the lazy ``import ssl`` below
saves nothing on http:// with CPython); this module and :mod:`.urlmatch` on top
of it 0.9 ms. ``python -X importtime`` cumulative, alone: urllib3 61 ms,
dulwich.client 44 ms, http.client 24 ms. The pkt-line protocol above HTTP is
the caller's (:mod:`.transport`); this module moves bytes and headers.

What of git's HTTP behaviour (http.c, remote-curl.c) it implements:

- ``GET <url>/info/refs?service=<service>`` then ``POST <url>/<service>``, both
  on one kept-alive connection when the server allows; a kept connection the
  server closed while idle is replaced before a request is sent (and a GET,
  or a POST whose body was not sent, is sent again once if the server turns
  out to have closed it at that very moment).
- ``User-Agent`` (``GIT_HTTP_USER_AGENT`` > ``http.userAgent``), ``Pragma:
  no-cache`` on the GET, ``Accept-Encoding: gzip`` (answers are decoded), no
  ``Git-Protocol`` header (v0).
- HTTP Basic sent preemptively when a username is given (as dulwich did); a
  401 raises :class:`Unauthorized` for the caller to ask the credential helpers.
- ``http.extraHeader`` (an empty value resets the list), ``userAgent``,
  ``sslVerify``, ``sslCAInfo``, ``sslCAPath``, ``proxy``, ``followRedirects=false``,
  each also as ``http.<url>.<name>`` ranked by git's urlmatch (:mod:`.urlmatch`);
  ``GIT_SSL_NO_VERIFY``, ``GIT_SSL_CAINFO``, ``GIT_SSL_CAPATH`` override.
- Proxies as git/curl pick them: ``http.proxy``, else ``https_proxy`` /
  ``HTTPS_PROXY`` (https), ``http_proxy`` (http, lower case only),
  ``all_proxy`` / ``ALL_PROXY``; ``no_proxy`` / ``NO_PROXY`` bypass it; userinfo
  in the proxy URL becomes ``Proxy-Authorization: Basic``; https goes through a
  CONNECT tunnel, http as an absolute-form request to the proxy.
- Redirects of the GET only (git's ``http.followRedirects=initial``), at most 5,
  never from https to http; the POST goes to the redirected base; credentials
  and an extra ``Authorization`` header are not sent to another origin.

Not implemented: client certificates (``http.sslCert``/``sslKey``),
Kerberos/NTLM/Negotiate, ``http.followRedirects=true`` (treated as ``initial``),
dumb HTTP, cookies, ``http.postBuffer`` (the caller chooses: bytes are sent with
a Content-Length, an iterable chunked), the probe POST git sends before a large
chunked body, SOCKS or TLS proxies, CIDR ranges in ``no_proxy``, HTTP/2.
``http.<url>.*`` is matched with the username given (from the URL or a credential
helper); git matches only a username written in the URL.

Errors: time-outs (``TimeoutError``), ``ConnectionRefusedError`` and
``socket.gaierror`` propagate unchanged for :mod:`.transport` to word; every
other failure is a one-line :class:`RemoteError` that never holds userinfo or a
registered secret. Nothing is printed or logged.
"""

from __future__ import annotations

import binascii
import http.client
import select
import socket
import zlib
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import quote, unquote, urljoin, urlsplit

from ..errors import RemoteError
from ..redact import redact, redact_url, register_secret
from . import urlmatch
from .config import ConfigEntry, GitConfig, parse_bool, split_key
from .wire import Buffer, PktReader, ProtocolError

if TYPE_CHECKING:
    import ssl

DEFAULT_USER_AGENT = "git/2.0 (directive-release)"
MAX_REDIRECTS = 5
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_SERVICES = ("git-upload-pack", "git-receive-pack")
_CURL_PROXY_PORT = 1080  # curl's default when a proxy URL names no port


class Unauthorized(RemoteError):
    """HTTP 401: the caller asks the credential helpers and retries with what they give."""


# --- URLs ------------------------------------------------------------------------------


class _Url(NamedTuple):
    scheme: str  # http | https
    host: str  # lower case, no brackets
    port: int  # the default port filled in
    target: str  # path[?query], percent-encoded: the origin-form request target

    @property
    def origin(self) -> tuple[str, str, int]:
        return self.scheme, self.host, self.port

    @property
    def authority(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == urlmatch.DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"

    @property
    def text(self) -> str:
        return f"{self.scheme}://{self.authority}{self.target}"

    @property
    def shown(self) -> str:
        """For messages: no query, no userinfo (there is none), no registered secret."""
        return redact(f"{self.scheme}://{self.authority}{self.target.partition('?')[0]}")


def _parse_url(url: str) -> _Url:
    try:
        split = urlsplit(url)
        port = split.port
    except ValueError:
        raise RemoteError(f"{redact_url(url)}: not a valid http(s) URL") from None
    scheme = split.scheme.lower()
    if scheme not in ("http", "https") or not split.hostname:
        raise RemoteError(f"{redact_url(url)}: not an http(s) URL")
    # A path may come unencoded from the config (a space): encode what is not already.
    target = quote(split.path or "/", safe="/%:@!$&'()*+,;=~")
    if split.query:
        target += "?" + split.query
    return _Url(scheme, split.hostname, port or urlmatch.DEFAULT_PORTS[scheme], target)


def _one_line(text: str) -> str:
    return redact(" ".join(text.split()))


# --- configuration -------------------------------------------------------------------------


class _Settings(NamedTuple):
    user_agent: str
    extra_headers: tuple[tuple[str, str], ...]
    verify: bool
    cafile: str | None
    capath: str | None
    proxy: str | None  # None: the environment decides; "": no proxy
    follow_redirects: bool


def _applicable(config: GitConfig, url: _Url, username: str | None) -> Iterator[tuple[str, ConfigEntry]]:
    """Every ``http.[<url>.]<name>`` entry git applies for ``url``, in config order.

    git's ``urlmatch_config_entry`` with its default selection: an entry that
    matches less closely than one already applied for the same name is skipped.
    """
    path = unquote(url.target.partition("?")[0])
    best: dict[str, urlmatch.Specificity] = {}
    for entry in config.entries:
        section, sub, name = split_key(entry.key)
        if section != "http":
            continue
        rank = urlmatch.UNQUALIFIED if sub is None else urlmatch.match(
            sub, url.scheme, url.host, url.port, path, username)
        if rank is None or rank < best.get(name, rank):
            continue
        best[name] = rank
        yield name, entry


def _extra_header(value: str) -> tuple[str, str]:
    name, colon, content = value.partition(":")
    if not colon or not name.strip() or any(c in value for c in "\r\n\0"):
        # The value is not shown: it may well be a token.
        raise RemoteError("an http.extraHeader value is not 'Name: value' on one line; fix it in git config")
    if name.strip().lower() in ("authorization", "proxy-authorization"):
        register_secret(content.strip())
        register_secret(content.strip().partition(" ")[2])
    return name.strip(), content.strip()


def _settings(config: GitConfig, env: Mapping[str, str], url: _Url, username: str | None) -> _Settings:
    single: dict[str, ConfigEntry] = {}
    headers: list[tuple[str, str]] = []
    for name, entry in _applicable(config, url, username):
        if entry.value is None and name in ("extraheader", "useragent", "proxy"):
            raise entry.needs_value()
        if name == "extraheader":
            headers = [*headers, _extra_header(entry.value)] if entry.value else []
        else:
            single[name] = entry

    def typed(name: str) -> GitConfig:
        # The winning entry alone, read through GitConfig's getters (same errors as elsewhere).
        return GitConfig([single[name]] if name in single else [], env)

    def key(name: str) -> str:
        return single[name].key if name in single else f"http.{name}"

    verify = typed("sslverify").get_bool(key("sslverify"), True) and "GIT_SSL_NO_VERIFY" not in env
    return _Settings(
        user_agent=env.get("GIT_HTTP_USER_AGENT") or typed("useragent").get(key("useragent")) or DEFAULT_USER_AGENT,
        extra_headers=tuple(headers),
        verify=verify,
        cafile=env.get("GIT_SSL_CAINFO") or typed("sslcainfo").get_path(key("sslcainfo")),
        capath=env.get("GIT_SSL_CAPATH") or typed("sslcapath").get_path(key("sslcapath")),
        proxy=typed("proxy").get(key("proxy")),
        follow_redirects=parse_bool(typed("followredirects").get(key("followredirects"))) is not False,
    )


# --- proxies ---------------------------------------------------------------------------------


class _Proxy(NamedTuple):
    host: str
    port: int
    authorization: str | None  # the Proxy-Authorization value

    @property
    def shown(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def _basic(username: str, password: str) -> str:
    token = binascii.b2a_base64(f"{username}:{password}".encode(), newline=False).decode("ascii")
    register_secret(token)
    register_secret(f"Basic {token}")
    return f"Basic {token}"


def _env_proxy(env: Mapping[str, str], scheme: str) -> str | None:
    """The proxy curl would take from the environment; lower case wins, ``HTTP_PROXY`` is never read."""
    names = ("https_proxy", "HTTPS_PROXY") if scheme == "https" else ("http_proxy",)
    for name in (*names, "all_proxy", "ALL_PROXY"):
        if name in env:
            return env[name]
    return None


def _bypassed(env: Mapping[str, str], url: _Url) -> bool:
    """curl's ``no_proxy``: ``*``, or a host or domain suffix (leading dot optional), optionally ``:port``."""
    listing = env.get("no_proxy", env.get("NO_PROXY", ""))
    for item in listing.replace(" ", ",").split(","):
        item = item.strip().lower()
        if item == "*":
            return True
        name, colon, port = item.rpartition(":")
        if colon and port.isdigit() and not name.endswith(":"):
            if int(port) != url.port:
                continue
            item = name
        item = item.strip("[]").lstrip(".")
        if item and (url.host == item or url.host.endswith("." + item)):
            return True
    return False


def _parse_proxy(text: str) -> _Proxy:
    if "://" not in text:
        text = "http://" + text  # curl's default scheme for a proxy
    try:
        split = urlsplit(text)
        port = split.port
    except ValueError:
        raise RemoteError(f"invalid proxy URL {redact_url(text)}") from None
    if split.scheme.lower() != "http" or not split.hostname:
        raise RemoteError(f"proxy {redact_url(text)}: only http:// proxies are supported")
    authorization = None
    if split.username is not None:
        password = unquote(split.password or "")
        register_secret(password)
        authorization = _basic(unquote(split.username), password)
    return _Proxy(split.hostname, port or _CURL_PROXY_PORT, authorization)


# --- the session ------------------------------------------------------------------------------


class _Response(NamedTuple):
    status: int
    reason: str
    headers: http.client.HTTPMessage
    body: bytes


class _Stale(Exception):
    """A kept connection was found closed at a point where nothing reached the server."""


def _closed_while_idle(conn: http.client.HTTPConnection) -> bool:
    # An idle kept-alive socket has nothing to read; readable means EOF (or junk): unusable.
    return conn.sock is not None and bool(select.select([conn.sock], [], [], 0)[0])


def _check_service(service: str) -> None:
    if service not in _SERVICES:
        raise RemoteError(f"unknown git service '{service}' (git-upload-pack or git-receive-pack)")


class HttpSession:
    """One remote's smart HTTP endpoint: the advertisement GET and the rpc POSTs, one connection."""

    def __init__(self, url: str, config: GitConfig, env: Mapping[str, str], timeout: float,
                 username: str | None = None, password: str | None = None) -> None:
        self._base = url.rstrip("/")
        start = _parse_url(self._base)
        register_secret(password)
        self._env = env
        self._timeout = timeout
        self._settings = _settings(config, env, start, username)
        self._auth_origin = start.origin
        self._authorization = _basic(username, password or "") if username is not None else None
        self._conn: http.client.HTTPConnection | None = None
        self._conn_origin: tuple[str, str, int] | None = None
        self._tls: ssl.SSLContext | None = None
        self._proxies: dict[tuple[str, str, int], _Proxy | None] = {}

    # -- the interface ------------------------------------------------------------
    def advertisement(self, service: str) -> bytes:
        """The refs ``service`` advertises, after the ``# service=`` header: what git:// would send."""
        _check_service(service)
        tail = f"/info/refs?service={service}"
        url, response = self._get(_parse_url(self._base + tail))
        if not url.text.endswith(tail):
            raise RemoteError(f"{self._shown_base()} redirected to {url.shown}, which is not a git info/refs URL")
        self._base = url.text[: -len(tail)]
        content_type = _content_type(response)
        if content_type != f"application/x-{service}-advertisement":
            raise RemoteError(f"{self._shown_base()} is not a smart git HTTP server (dumb HTTP is not supported)")
        return _after_service_header(response.body, service, url)

    def rpc(self, service: str, body: bytes | Iterable[bytes]) -> bytes:
        """POST ``body`` to ``<base>/<service>``; the whole answer (a report-status, a ref listing)."""
        _check_service(service)
        url = _parse_url(f"{self._base}/{service}")
        headers = [("Content-Type", f"application/x-{service}-request"),
                   ("Accept", f"application/x-{service}-result")]
        response = self._exchange("POST", url, headers, body)
        if response.status in _REDIRECT_STATUSES:
            raise RemoteError(f"HTTP {response.status} redirect from {url.shown} on a POST; git does not"
                              " follow it either (update the remote URL)")
        self._check_status(response, url)
        content_type = _content_type(response)
        if content_type != f"application/x-{service}-result":
            raise RemoteError(f"{url.shown} answered with Content-Type '{_one_line(content_type)}',"
                              f" not application/x-{service}-result")
        return response.body

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = self._conn_origin = None

    # -- requests ------------------------------------------------------------------
    def _shown_base(self) -> str:
        return _parse_url(self._base).shown

    def _get(self, url: _Url) -> tuple[_Url, _Response]:
        """The GET, following redirects like ``http.followRedirects=initial``."""
        headers = [("Accept", "*/*"), ("Pragma", "no-cache")]
        allowed = MAX_REDIRECTS if self._settings.follow_redirects else 0
        for _ in range(allowed + 1):
            response = self._exchange("GET", url, headers, None)
            if response.status not in _REDIRECT_STATUSES:
                self._check_status(response, url)
                return url, response
            url = _redirect_target(url, response)
        if not allowed:
            raise RemoteError(f"{self._shown_base()} redirects to {url.shown}; http.followRedirects is false")
        raise RemoteError(f"{self._shown_base()}: more than {allowed} redirects")

    def _check_status(self, response: _Response, url: _Url) -> None:
        if response.status == 200:
            return
        line = f"HTTP {response.status} {_one_line(response.reason)} from {url.shown}"
        if response.status == 401:
            raise Unauthorized(line)
        proxy = self._proxy_for(url)
        if response.status == 407 and proxy is not None:
            raise RemoteError(f"{line}: the proxy {proxy.shown} wants credentials (give them in its URL)")
        raise RemoteError(line)

    def _headers(self, url: _Url, extra: list[tuple[str, str]]) -> list[tuple[str, str]]:
        same_origin = url.origin == self._auth_origin
        headers = [("User-Agent", self._settings.user_agent), ("Accept-Encoding", "gzip"), *extra]
        if self._authorization is not None and same_origin:
            headers.append(("Authorization", self._authorization))
        proxy = self._proxy_for(url)
        if url.scheme == "http" and proxy is not None and proxy.authorization is not None:
            headers.append(("Proxy-Authorization", proxy.authorization))
        configured = self._settings.extra_headers
        if not same_origin:  # curl keeps a custom Authorization for the host it was meant for
            configured = tuple(h for h in configured if h[0].lower() != "authorization")
        # Like curl, a configured header replaces ours of the same name; several of one name all go.
        names = {name.lower() for name, _ in configured}
        return [h for h in headers if h[0].lower() not in names] + list(configured)

    def _exchange(self, method: str, url: _Url, extra: list[tuple[str, str]],
                  body: bytes | Iterable[bytes] | None) -> _Response:
        headers = self._headers(url, extra)
        try:
            try:
                return self._round_trip(method, url, headers, body)
            except _Stale:
                self.close()  # the kept connection was dead: once more on a new one
                return self._round_trip(method, url, headers, body)
        except (TimeoutError, ConnectionRefusedError, socket.gaierror):
            self.close()
            raise
        except RemoteError:
            self.close()
            raise
        except (OSError, ValueError, http.client.HTTPException, zlib.error) as exc:
            self.close()
            raise self._failure(url, exc) from None

    def _round_trip(self, method: str, url: _Url, headers: list[tuple[str, str]],
                    body: bytes | Iterable[bytes] | None) -> _Response:
        conn, reused = self._connection(url)
        replayable = body is None or isinstance(body, bytes)
        proxy = self._proxy_for(url)
        target = url.text if url.scheme == "http" and proxy is not None else url.target
        try:
            _send(conn, method, target, headers, body)
        except (BrokenPipeError, ConnectionResetError) as exc:
            if reused and replayable:
                raise _Stale from exc
            raise
        try:
            response = conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError) as exc:
            if reused and method == "GET":
                raise _Stale from exc
            raise
        data = response.read()
        return _Response(response.status, response.reason, response.msg, _decoded(response, data, url))

    def _connection(self, url: _Url) -> tuple[http.client.HTTPConnection, bool]:
        """The kept connection when it leads to ``url``'s origin and is alive, else a new one."""
        conn = self._conn
        if conn is not None and (self._conn_origin != url.origin or _closed_while_idle(conn)):
            self.close()
            conn = None
        if conn is not None:
            return conn, conn.sock is not None
        self._conn, self._conn_origin = self._open(url), url.origin
        return self._conn, False

    def _open(self, url: _Url) -> http.client.HTTPConnection:
        proxy = self._proxy_for(url)
        host, port = (proxy.host, proxy.port) if proxy is not None else (url.host, url.port)
        if url.scheme == "http":
            return http.client.HTTPConnection(host, port, timeout=self._timeout)
        conn = http.client.HTTPSConnection(host, port, timeout=self._timeout, context=self._tls_context())
        if proxy is not None:
            tunnel = {"Proxy-Authorization": proxy.authorization} if proxy.authorization else None
            conn.set_tunnel(url.host, url.port, headers=tunnel)
        return conn

    def _proxy_for(self, url: _Url) -> _Proxy | None:
        if url.origin not in self._proxies:
            text = self._settings.proxy
            if text is None:
                text = _env_proxy(self._env, url.scheme)
            bypass = not text or _bypassed(self._env, url)
            self._proxies[url.origin] = None if bypass else _parse_proxy(text or "")
        return self._proxies[url.origin]

    def _tls_context(self) -> ssl.SSLContext:
        import ssl  # https only

        if self._tls is not None:
            return self._tls
        settings = self._settings
        if not settings.verify:  # no CA bundle to load: nothing is checked
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        else:
            try:
                context = ssl.create_default_context(cafile=settings.cafile, capath=settings.capath)
            except (OSError, ValueError) as exc:
                where = settings.cafile or settings.capath
                reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc)
                raise RemoteError(f"cannot load the CA certificates from {where} (http.sslCAInfo,"
                                  f" http.sslCAPath): {_one_line(reason)}") from None
        self._tls = context
        return context

    def _failure(self, url: _Url, exc: BaseException) -> RemoteError:
        """One line for whatever the connection raised (time-outs and refusals are not seen here)."""
        if url.scheme == "https":
            import ssl  # already loaded: the connection was https

            if isinstance(exc, ssl.SSLCertVerificationError):
                return RemoteError(
                    f"{url.shown}: TLS certificate not trusted: {_one_line(exc.verify_message or str(exc))};"
                    " set http.sslCAInfo to the CA certificate that signed it (or GIT_SSL_CAINFO)")
            if isinstance(exc, ssl.SSLError):
                return RemoteError(f"{url.shown}: TLS failed: {_one_line(exc.reason or str(exc))}")
        proxy = self._proxy_for(url)
        if isinstance(exc, OSError) and str(exc).startswith("Tunnel connection failed") and proxy is not None:
            answer = str(exc).partition(":")[2]
            return RemoteError(f"the proxy {proxy.shown} refused to connect to {url.authority}:"
                               f" {_one_line(answer)}")
        if isinstance(exc, http.client.IncompleteRead):
            return RemoteError(f"{url.shown}: the answer was cut short ({len(exc.partial)} bytes read)")
        if isinstance(exc, http.client.RemoteDisconnected):
            return RemoteError(f"{url.shown}: the server closed the connection without answering")
        if isinstance(exc, http.client.HTTPException):
            return RemoteError(f"{url.shown}: not a valid HTTP answer ({type(exc).__name__})")
        if isinstance(exc, zlib.error):
            return RemoteError(f"{url.shown}: the gzip-encoded answer is corrupt")
        if isinstance(exc, ValueError):  # http.client refusing a header: never show its value
            return RemoteError(f"{url.shown}: a header could not be sent (check http.extraHeader)")
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return RemoteError(f"{url.shown}: connection failed: {_one_line(detail) or type(exc).__name__}")


# --- helpers for one exchange -------------------------------------------------------------------


def _send(conn: http.client.HTTPConnection, method: str, target: str, headers: list[tuple[str, str]],
          body: bytes | Iterable[bytes] | None) -> None:
    # putheader rather than request(headers=dict): several extra headers may share a name.
    conn.putrequest(method, target, skip_accept_encoding=True)
    for name, value in headers:
        conn.putheader(name, value)
    chunked = body is not None and not isinstance(body, bytes)
    if isinstance(body, bytes):
        conn.putheader("Content-Length", str(len(body)))
    elif chunked:
        conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders(body, encode_chunked=chunked)


def _decoded(response: http.client.HTTPResponse, data: bytes, url: _Url) -> bytes:
    encoding = (response.getheader("Content-Encoding") or "identity").strip().lower()
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompress(data, 16 + zlib.MAX_WBITS)
    if encoding != "identity":
        raise RemoteError(f"{url.shown}: Content-Encoding '{_one_line(encoding)}' is not understood (only gzip)")
    return data


def _content_type(response: _Response) -> str:
    return (response.headers.get("Content-Type") or "").partition(";")[0].strip().lower()


def _redirect_target(url: _Url, response: _Response) -> _Url:
    location = response.headers.get("Location")
    if not location:
        raise RemoteError(f"HTTP {response.status} from {url.shown} without a Location")
    target = _parse_url(urljoin(url.text, location.strip()).partition("#")[0])
    if url.scheme == "https" and target.scheme != "https":
        raise RemoteError(f"refusing the redirect from {url.shown} to {target.shown}: it leaves https")
    return target


def _after_service_header(data: bytes, service: str, url: _Url) -> bytes:
    """git's check_smart_http(): ``# service=<service>``, metadata lines up to a flush, then the refs."""
    buffer = Buffer(data)
    reader = PktReader(buffer.read)
    try:
        line = reader.read()
        if line is None or line.rstrip(b"\n") != b"# service=" + service.encode("ascii"):
            raise RemoteError(f"{url.shown}: the answer does not start with '# service={service}'")
        while line is not None:
            line = reader.read()
    except ProtocolError:
        raise RemoteError(f"{url.shown}: invalid pkt-line in the ref advertisement") from None
    return data[buffer.position:]
