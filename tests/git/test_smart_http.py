"""smart_http against real servers on 127.0.0.1 (git http-backend, a proxy, TLS); git is the oracle."""

from __future__ import annotations

import base64
import gzip
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import git
from servers import (  # noqa: F401 - fixtures used by name
    LOOPBACK,
    GitHttpServer,
    TlsFiles,
    free_port,
    http_server,
    make_bare,
    start_canned_server,
    start_http_server,
    start_one_answer_server,
    start_proxy,
    start_silent_server,
    tls_files,
)

from directive_release.errors import RemoteError
from directive_release.git.config import GitConfig, load_config
from directive_release.git.repo import discover
from directive_release.git.smart_http import HttpSession, Unauthorized
from directive_release.redact import redact

ZERO = "0" * 40
SECRET = "pw-sentinel-7731"
PROXY_SECRET = "proxy-sentinel-5519"
HEADER_SECRET = "bearer-sentinel-3306"
UPLOAD, RECEIVE = "git-upload-pack", "git-receive-pack"


# --- helpers -------------------------------------------------------------------------------------


def _pkt(text: str | bytes) -> bytes:
    data = text.encode() if isinstance(text, str) else text
    return b"%04x" % (len(data) + 4) + data


def _refs(advertisement: bytes) -> dict[str, str]:
    """The ref lines of a v0 advertisement (up to its flush), capabilities^{} left out."""
    refs: dict[str, str] = {}
    pos = 0
    while (size := int(advertisement[pos:pos + 4], 16)) != 0:
        line = advertisement[pos + 4:pos + size].split(b"\0")[0].rstrip(b"\n").decode()
        sha, name = line.split(" ", 1)
        if name != "capabilities^{}":
            refs[name] = sha
        pos += size
    assert advertisement[pos:] == b"0000"
    return refs


def _ls_remote(url: str, cwd: Path) -> dict[str, str]:
    out = git(cwd, "ls-remote", url)
    return {name: sha for sha, name in (line.split("\t") for line in out.splitlines())}


def _config(tmp_path: Path, *pairs: tuple[str, str]) -> tuple[GitConfig, Path]:
    """A repository with these ``git config --add`` entries, read by our loader; and its path."""
    work = tmp_path / "cfg"
    if not work.exists():
        work.mkdir(parents=True)
        git(work, "init", "-q")
    for key, value in pairs:
        git(work, "config", "--add", key, value)
    return load_config(discover(work)), work


def _config_text(tmp_path: Path, text: str) -> tuple[GitConfig, Path]:
    """Like :func:`_config`, with the entries written as a config file (their order as written)."""
    _, work = _config(tmp_path)
    with open(work / ".git" / "config", "a", encoding="utf-8") as handle:
        handle.write(text)
    return load_config(discover(work)), work


def _session(url: str, config: GitConfig | None = None, env: dict[str, str] | None = None,
             timeout: float = 20.0, username: str | None = None, password: str | None = None) -> HttpSession:
    return HttpSession(url, config or GitConfig(), env or {}, timeout, username, password)


def _one_line(error: pytest.ExceptionInfo[BaseException], *secrets: str) -> str:
    message = str(error.value)
    assert "\n" not in message and "Traceback" not in message
    for secret in (SECRET, PROXY_SECRET, HEADER_SECRET, *secrets):
        assert secret not in message
    return message


def _full_repo(tmp_path: Path, bare: Path) -> None:
    work = tmp_path / "work"
    git(tmp_path, "init", "-q", "-b", "main", str(work))
    git(work, "commit", "-q", "--allow-empty", "-m", "one")
    git(work, "tag", "-a", "-m", "v1", "v1.0.0")
    git(work, "branch", "x")
    git(work, "push", "-q", str(bare), "main", "x", "v1.0.0")


@pytest.fixture
def keep_alive_server(tmp_path: Path) -> Iterator[GitHttpServer]:
    with start_http_server(tmp_path / "http", keep_alive=True) as server:
        yield server


# --- the advertisement and the rpc ----------------------------------------------------------------


@pytest.mark.parametrize("service", [UPLOAD, RECEIVE])
def test_advertisement_of_empty_and_full_repositories_matches_ls_remote(
        tmp_path: Path, keep_alive_server: GitHttpServer, service: str) -> None:
    bare = make_bare(keep_alive_server.project_root)
    session = _session(keep_alive_server.url())
    try:
        assert _refs(session.advertisement(service)) == {} == _ls_remote(keep_alive_server.url(), tmp_path)
        _full_repo(tmp_path, bare)
        refs = _refs(session.advertisement(service))
    finally:
        session.close()
    expected = _ls_remote(keep_alive_server.url(), tmp_path)
    assert "refs/tags/v1.0.0^{}" in expected
    if service == RECEIVE:  # receive-pack advertises neither HEAD nor peeled tags
        expected = {k: v for k, v in expected.items() if k != "HEAD" and not k.endswith("^{}")}
    assert refs == expected


def test_get_and_post_share_one_connection_with_git_headers(keep_alive_server: GitHttpServer) -> None:
    make_bare(keep_alive_server.project_root)
    session = _session(keep_alive_server.url())
    try:
        session.advertisement(UPLOAD)
        assert session.rpc(UPLOAD, b"0000") == b""
    finally:
        session.close()
    get, post = keep_alive_server.requests
    assert (get.method, get.path) == ("GET", "/r.git/info/refs?service=git-upload-pack")
    assert (post.method, post.path) == ("POST", "/r.git/git-upload-pack")
    assert get.peer_port == post.peer_port  # one TCP connection
    assert get.header("User-Agent") == post.header("User-Agent") == ["git/2.0 (directive-release)"]
    assert get.header("Pragma") == ["no-cache"]
    assert post.header("Content-Type") == ["application/x-git-upload-pack-request"]
    assert post.header("Accept") == ["application/x-git-upload-pack-result"]
    assert post.header("Content-Length") == ["4"]
    assert not get.header("Git-Protocol") and not post.header("Git-Protocol")


@pytest.mark.parametrize("chunked", [False, True])
def test_receive_pack_rpc_deletes_a_ref(tmp_path: Path, http_server: GitHttpServer, chunked: bool) -> None:
    bare = make_bare(http_server.project_root)
    _full_repo(tmp_path, bare)
    old = git(bare, "rev-parse", "refs/heads/x").strip()
    command = _pkt(f"{old} {ZERO} refs/heads/x\0report-status\n")
    body = iter([command, b"0000"]) if chunked else command + b"0000"
    session = _session(http_server.url())
    try:
        assert "refs/heads/x" in _refs(session.advertisement(RECEIVE))
        answer = session.rpc(RECEIVE, body)
    finally:
        session.close()
    assert _pkt("unpack ok\n") in answer and _pkt("ok refs/heads/x\n") in answer
    assert "refs/heads/x" not in _ls_remote(http_server.url(), tmp_path)
    [post] = [r for r in http_server.requests if r.path == "/r.git/git-receive-pack"]
    assert post.header("Transfer-Encoding") == (["chunked"] if chunked else [])


def test_a_kept_connection_the_server_closed_is_replaced(tmp_path: Path) -> None:
    with start_http_server(tmp_path / "http", drop_idle=True) as server:
        make_bare(server.project_root)
        session = _session(server.url())
        try:
            session.advertisement(UPLOAD)
            time.sleep(0.2)  # the server's close has arrived
            # A streamed body cannot be sent twice: the dead connection must be seen before sending.
            assert session.rpc(UPLOAD, iter([b"0000"])) == b""
        finally:
            session.close()
    get, post = server.requests
    assert get.peer_port != post.peer_port


def test_a_kept_connection_lost_as_a_request_is_sent_retries_a_get_never_a_post() -> None:
    advertisement = _pkt(f"# service={UPLOAD}\n") + b"0000" + b"0000"
    answer = (b"HTTP/1.1 200 OK\r\nContent-Type: application/x-git-upload-pack-advertisement\r\n"
              b"Content-Length: %d\r\n\r\n" % len(advertisement) + advertisement)
    with start_one_answer_server(answer) as server:
        session = _session(server.url())
        try:
            assert session.advertisement(UPLOAD) == b"0000"
            assert session.advertisement(UPLOAD) == b"0000"  # sent again on a new connection
            assert server.accepted == 2
            with pytest.raises(RemoteError) as error:
                session.rpc(UPLOAD, b"0000")  # it may have been acted on: not sent twice
        finally:
            session.close()
    assert _one_line(error) in (f"{server.url()}/git-upload-pack: the server closed the connection without answering",
                                f"{server.url()}/git-upload-pack: connection failed: Connection reset by peer")
    assert [line.split()[0] for line in server.request_lines] == ["GET", "GET", "GET", "POST"]


def test_gzip_answer_is_decoded(tmp_path: Path) -> None:
    sha = "1" * 40
    advertisement = _pkt(f"# service={UPLOAD}\n") + b"0000" + _pkt(f"{sha} refs/heads/main\0agent=x\n") + b"0000"
    headers = [("Content-Type", f"application/x-{UPLOAD}-advertisement"), ("Content-Encoding", "gzip")]
    with start_canned_server(200, headers, gzip.compress(advertisement)) as server:
        session = _session(server.url())
        try:
            assert _refs(session.advertisement(UPLOAD)) == {"refs/heads/main": sha}
        finally:
            session.close()
        assert server.requests[0].header("Accept-Encoding") == ["gzip"]


# --- authentication and headers --------------------------------------------------------------------


def test_basic_auth_is_sent_preemptively_and_401_raises_unauthorized(tmp_path: Path) -> None:
    with start_http_server(tmp_path / "auth", username="bot", password=SECRET) as server:
        make_bare(server.project_root)
        for username, password in ((None, None), ("bot", "wrong-" + SECRET)):
            session = _session(server.url(), username=username, password=password)
            with pytest.raises(Unauthorized) as error:
                session.advertisement(RECEIVE)
            session.close()
            assert _one_line(error, "wrong-" + SECRET) == \
                f"HTTP 401 Unauthorized from http://{LOOPBACK}:{server.port}/r.git/info/refs"
        count = len(server.requests)
        session = _session(server.url(), username="bot", password=SECRET)
        try:
            session.advertisement(RECEIVE)
            assert session.rpc(RECEIVE, b"0000") == b""
        finally:
            session.close()
        assert [r.status for r in server.requests[count:]] == [200, 200]  # no 401 round first
        assert {r.user for r in server.requests[count:]} == {"bot"}


def test_secrets_are_registered_for_redaction(tmp_path: Path) -> None:
    password, proxy_password, header = (f"{name}-{os.urandom(6).hex()}" for name in ("pw", "proxy", "bearer"))
    config, _ = _config(tmp_path, ("http.extraHeader", f"Authorization: Bearer {header}"))
    env = {"https_proxy": f"http://pu:{proxy_password}@{LOOPBACK}:{free_port()}"}
    session = _session(f"https://{LOOPBACK}:1/r.git", config, env, username="bot", password=password)
    with pytest.raises(ConnectionRefusedError):  # the proxy is not there; its URL has been read
        session.advertisement(UPLOAD)
    session.close()
    token = base64.b64encode(f"bot:{password}".encode()).decode()
    for secret in (password, proxy_password, header, f"Bearer {header}", token):
        assert redact(f"[{secret}]") == "[***]"


def test_user_agent_from_env_then_url_matched_config(tmp_path: Path, http_server: GitHttpServer) -> None:
    make_bare(http_server.project_root)
    url = http_server.url()
    config, _ = _config(tmp_path, ("http.userAgent", "plain/1"), (f"http.{url}.userAgent", "matched/1"),
                        ("http.https://elsewhere.example.userAgent", "other/1"))
    for env, expected in (({}, "matched/1"), ({"GIT_HTTP_USER_AGENT": "env/1"}, "env/1")):
        session = _session(url, config, env)
        session.advertisement(UPLOAD)
        session.close()
        assert http_server.requests[-1].header("User-Agent") == [expected]


@pytest.mark.parametrize("order", [
    ["plain", "host", "path", "host-again"],
    ["path", "host", "plain"],
    ["wild", "plain", "user"],
    ["host", "wild", "port-mismatch", "sub-path", "prefix-not-a-segment"],
])
def test_http_url_settings_rank_like_git_config_get_urlmatch(tmp_path: Path, http_server: GitHttpServer,
                                                             order: list[str]) -> None:
    make_bare(http_server.project_root, "grp/r.git")
    port = http_server.port
    keys = {
        "plain": "http.userAgent",
        "host": f"http.http://{LOOPBACK}:{port}.userAgent",
        "host-again": f"http.http://{LOOPBACK}:{port}/.userAgent",
        "path": f"http.http://{LOOPBACK}:{port}/grp.userAgent",
        "sub-path": f"http.http://{LOOPBACK}:{port}/grp/r.git.userAgent",
        "prefix-not-a-segment": f"http.http://{LOOPBACK}:{port}/gr.userAgent",
        "wild": f"http.http://*.0.0.1:{port}.userAgent",
        "user": f"http.http://bot@{LOOPBACK}:{port}.userAgent",
        "port-mismatch": f"http.http://{LOOPBACK}:1.userAgent",
    }
    config, work = _config(tmp_path, *[(keys[name], name) for name in order])
    url = http_server.url("grp/r.git")
    expected = git(work, "config", "--get-urlmatch", "http.useragent", url.replace("://", "://bot@")).strip()
    session = _session(url, config, username="bot")
    session.advertisement(UPLOAD)
    session.close()
    assert http_server.requests[-1].header("User-Agent") == [expected]


def test_extra_headers_match_what_git_sends(tmp_path: Path, http_server: GitHttpServer) -> None:
    make_bare(http_server.project_root)
    url = http_server.url()
    config, work = _config_text(tmp_path, f"""
[http]
\textraHeader = X-Dropped: by the reset
\textraHeader =
\textraHeader = X-A: 1
[http "https://elsewhere.example"]
\textraHeader = X-Elsewhere: no
[http "{url}"]
\textraHeader = X-B: 2
\textraHeader = X-B: 3
[http]
\textraHeader = X-C: after a closer match, skipped by git
""")  # an empty value resets the list so far; several of one name all go
    git(work, "ls-remote", url)  # git's own requests, through the same server
    theirs = [h for h in http_server.requests[-1].headers if h[0].startswith("X-")]
    session = _session(url, config)
    session.advertisement(UPLOAD)
    session.close()
    ours = [h for h in http_server.requests[-1].headers if h[0].startswith("X-")]
    assert ours == theirs == [("X-A", "1"), ("X-B", "2"), ("X-B", "3")]


def test_extra_authorization_header_replaces_basic_and_stays_secret(tmp_path: Path) -> None:
    with start_http_server(tmp_path / "auth", username="bot", password=SECRET) as server:
        make_bare(server.project_root)
        config, _ = _config(tmp_path, ("http.extraHeader", f"Authorization: Bearer {HEADER_SECRET}"))
        session = _session(server.url(), config, username="bot", password=SECRET)
        with pytest.raises(Unauthorized) as error:
            session.advertisement(UPLOAD)
        session.close()
        _one_line(error)
        assert server.requests[-1].authorization == f"Bearer {HEADER_SECRET}"


# --- TLS ---------------------------------------------------------------------------------------------


@pytest.fixture
def https_server(tmp_path: Path, tls_files: TlsFiles) -> Iterator[GitHttpServer]:
    with start_http_server(tmp_path / "https", tls=tls_files, keep_alive=True) as server:
        make_bare(server.project_root)
        yield server


def _advertise(url: str, config: GitConfig | None = None, env: dict[str, str] | None = None) -> bytes:
    session = _session(url, config, env)
    try:
        return session.advertisement(UPLOAD)
    finally:
        session.close()


def test_https_trusted_through_ssl_ca_info(tmp_path: Path, https_server: GitHttpServer, tls_files: TlsFiles) -> None:
    config, _ = _config(tmp_path, (f"http.{https_server.url()}.sslCAInfo", str(tls_files.ca)))
    assert _advertise(https_server.url(), config) == b"0000"
    assert _advertise(https_server.url(), env={"GIT_SSL_CAINFO": str(tls_files.ca)}) == b"0000"
    assert _advertise(https_server.url(host="localhost"), config=None,
                      env={"GIT_SSL_CAINFO": str(tls_files.ca)}) == b"0000"  # the DNS name too


@pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl binary names the hashed file")
def test_https_trusted_through_ssl_ca_path(tmp_path: Path, https_server: GitHttpServer, tls_files: TlsFiles) -> None:
    capath = tmp_path / "certs"
    capath.mkdir()
    subject_hash = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", str(tls_files.ca)],
                                  capture_output=True, text=True, check=True).stdout.strip()
    shutil.copy(tls_files.ca, capath / f"{subject_hash}.0")
    config, _ = _config(tmp_path, ("http.sslCAPath", str(capath)))
    assert _advertise(https_server.url(), config) == b"0000"
    assert _advertise(https_server.url(), env={"GIT_SSL_CAPATH": str(capath)}) == b"0000"
    with pytest.raises(RemoteError, match="TLS certificate not trusted"):
        _advertise(https_server.url(), env={"GIT_SSL_CAPATH": str(tmp_path)})  # no CA there


@pytest.mark.parametrize("trust", ["system", "other-ca"])
def test_https_untrusted_certificate_is_one_line(tmp_path: Path, https_server: GitHttpServer,
                                                 tls_files: TlsFiles, trust: str) -> None:
    env = {"GIT_SSL_CAINFO": str(tls_files.other_ca)} if trust == "other-ca" else {}
    with pytest.raises(RemoteError) as error:
        _advertise(https_server.url(), env=env)
    message = _one_line(error)
    assert message.startswith(f"https://{LOOPBACK}:{https_server.port}/r.git/info/refs: TLS certificate not trusted:")
    assert "set http.sslCAInfo" in message
    assert https_server.requests == []


def test_https_ssl_verify_false_and_git_ssl_no_verify(tmp_path: Path, https_server: GitHttpServer) -> None:
    config, _ = _config(tmp_path, ("http.sslVerify", "false"))
    assert _advertise(https_server.url(), config) == b"0000"
    assert _advertise(https_server.url(), env={"GIT_SSL_NO_VERIFY": "1"}) == b"0000"
    other, _ = _config(tmp_path / "other", ("http.https://elsewhere.example.sslVerify", "false"))
    with pytest.raises(RemoteError, match="TLS certificate not trusted"):
        _advertise(https_server.url(), other)  # sslVerify for another URL does not apply


# --- proxies ---------------------------------------------------------------------------------------


def test_https_through_an_env_proxy_uses_one_connect_with_credentials(https_server: GitHttpServer,
                                                                      tls_files: TlsFiles) -> None:
    with start_proxy(username="pu", password=PROXY_SECRET) as proxy:
        env = {"https_proxy": proxy.url(f"pu:{PROXY_SECRET}"), "GIT_SSL_CAINFO": str(tls_files.ca)}
        session = _session(https_server.url(), env=env)
        try:
            session.advertisement(UPLOAD)
            assert session.rpc(UPLOAD, b"0000") == b""
        finally:
            session.close()
    [connect] = proxy.requests
    assert connect.line.startswith(f"CONNECT {LOOPBACK}:{https_server.port} HTTP/")
    assert connect.authorization == "Basic cHU6cHJveHktc2VudGluZWwtNTUxOQ=="  # pu:proxy-sentinel-5519
    assert [r.method for r in https_server.requests] == ["GET", "POST"]


def test_http_through_an_env_proxy_is_absolute_form(http_server: GitHttpServer) -> None:
    make_bare(http_server.project_root)
    base = http_server.url()
    with start_proxy(username="pu", password=PROXY_SECRET) as proxy:
        env = {"http_proxy": proxy.url(f"pu:{PROXY_SECRET}")}
        session = _session(base, env=env)
        try:
            session.advertisement(UPLOAD)
            session.rpc(UPLOAD, b"0000")
        finally:
            session.close()
        _advertise(base, env={"HTTP_PROXY": proxy.url()})  # upper case is ignored for http, as curl does
    assert [r.line for r in proxy.requests] == [f"GET {base}/info/refs?service=git-upload-pack HTTP/1.1",
                                                f"POST {base}/git-upload-pack HTTP/1.1"]
    assert {r.authorization for r in proxy.requests} == {"Basic cHU6cHJveHktc2VudGluZWwtNTUxOQ=="}
    assert all(not r.header("Proxy-Authorization") for r in http_server.requests)  # not passed on


@pytest.mark.parametrize("no_proxy, bypassed", [
    ("example.com, 127.0.0.1", True), ("*", True), ("{port}", False),
    ("127.0.0.1:{port}", True), ("127.0.0.1:1", False), ("", False),
])
def test_no_proxy_bypasses_the_proxy(http_server: GitHttpServer, no_proxy: str, bypassed: bool) -> None:
    make_bare(http_server.project_root)
    with start_proxy() as proxy:
        env = {"all_proxy": proxy.url(), "NO_PROXY": no_proxy.format(port=http_server.port)}
        _advertise(http_server.url(), env=env)
    assert (proxy.requests == []) is bypassed
    assert [r.method for r in http_server.requests] == ["GET"]


def test_http_proxy_config_wins_over_env_and_empty_disables(tmp_path: Path, http_server: GitHttpServer) -> None:
    make_bare(http_server.project_root)
    with start_proxy() as proxy:
        config, _ = _config(tmp_path, ("http.proxy", f"{LOOPBACK}:{proxy.port}"))  # no scheme: http://
        _advertise(http_server.url(), config, env={"http_proxy": "http://127.0.0.1:1"})
        assert len(proxy.requests) == 1
        config, _ = _config(tmp_path, ("http.proxy", ""))
        _advertise(http_server.url(), config, env={"http_proxy": proxy.url()})
        assert len(proxy.requests) == 1


@pytest.mark.parametrize("refusal", ["refuses CONNECT", "wrong credentials"])
def test_a_proxy_refusing_connect_is_one_line_naming_it(https_server: GitHttpServer, refusal: str) -> None:
    refuse = refusal == "refuses CONNECT"
    with start_proxy(username=None if refuse else "pu", password=PROXY_SECRET, refuse_connect=refuse) as proxy:
        env = {"https_proxy": proxy.url(f"pu:wrong-{PROXY_SECRET}")}
        with pytest.raises(RemoteError) as error:
            _advertise(https_server.url(), env=env)
    message = _one_line(error, f"wrong-{PROXY_SECRET}")
    status = "403 Forbidden" if refuse else "407 Proxy Authentication Required"
    assert message == (f"the proxy http://{LOOPBACK}:{proxy.port} refused to connect to"
                       f" {LOOPBACK}:{https_server.port}: {status}")


# --- redirects ------------------------------------------------------------------------------------------


def test_redirect_is_followed_and_the_post_goes_to_the_new_base(http_server: GitHttpServer) -> None:
    make_bare(http_server.project_root)
    location = f"{http_server.url()}/info/refs?service={UPLOAD}"
    with start_canned_server(301, [("Location", location)]) as moved:
        session = _session(moved.url("old.git"))
        try:
            session.advertisement(UPLOAD)
            session.rpc(UPLOAD, b"0000")
        finally:
            session.close()
    assert [(r.method, r.path) for r in moved.requests] == [("GET", f"/old.git/info/refs?service={UPLOAD}")]
    assert [(r.method, r.path) for r in http_server.requests] == [
        ("GET", f"/r.git/info/refs?service={UPLOAD}"), ("POST", "/r.git/git-upload-pack")]


def test_redirect_to_another_host_drops_credentials_and_authorization(tmp_path: Path,
                                                                      http_server: GitHttpServer) -> None:
    make_bare(http_server.project_root)
    location = f"{http_server.url(host='localhost')}/info/refs?service={UPLOAD}"
    config, _ = _config(tmp_path, ("http.extraHeader", f"Authorization: Bearer {HEADER_SECRET}"),
                        ("http.extraHeader", "X-Kept: yes"))
    with start_canned_server(302, [("Location", location)]) as moved:
        session = _session(moved.url(), config, username="bot", password=SECRET)
        try:
            session.advertisement(UPLOAD)
            session.rpc(UPLOAD, b"0000")
        finally:
            session.close()
    assert moved.requests[0].authorization == f"Bearer {HEADER_SECRET}"  # to the host it was set for
    assert [(r.authorization, r.header("X-Kept")) for r in http_server.requests] == [(None, ["yes"])] * 2


def test_redirect_from_https_to_http_is_refused(http_server: GitHttpServer, tls_files: TlsFiles) -> None:
    make_bare(http_server.project_root)
    location = f"{http_server.url()}/info/refs?service={UPLOAD}"
    with start_canned_server(301, [("Location", location)], tls=tls_files) as moved:
        with pytest.raises(RemoteError) as error:
            _advertise(moved.url(), env={"GIT_SSL_CAINFO": str(tls_files.ca)})
    assert "leaves https" in _one_line(error)
    assert http_server.requests == []


def test_follow_redirects_false_refuses_redirects(tmp_path: Path, http_server: GitHttpServer) -> None:
    location = f"{http_server.url()}/info/refs?service={UPLOAD}"
    config, _ = _config(tmp_path, ("http.followRedirects", "false"))
    with start_canned_server(301, [("Location", location)]) as moved:
        with pytest.raises(RemoteError) as error:
            _advertise(moved.url(), config)
    assert _one_line(error).endswith("; http.followRedirects is false")
    assert http_server.requests == []


def test_redirect_loop_stops_after_five(tmp_path: Path) -> None:
    with start_canned_server(307, [("Location", f"/r.git/info/refs?service={UPLOAD}")]) as loop:
        with pytest.raises(RemoteError) as error:
            _advertise(loop.url())
    assert "more than 5 redirects" in _one_line(error)
    assert len(loop.requests) == 6


def test_redirect_of_a_post_is_one_line(tmp_path: Path) -> None:
    with start_canned_server(307, [("Location", "/elsewhere/git-upload-pack")]) as moved:
        session = _session(moved.url())
        with pytest.raises(RemoteError) as error:
            session.rpc(UPLOAD, b"0000")
        session.close()
    assert _one_line(error).startswith(f"HTTP 307 redirect from {moved.url()}/git-upload-pack on a POST")


# --- failures ----------------------------------------------------------------------------------------


def test_missing_repository_is_http_404_in_one_line(http_server: GitHttpServer) -> None:
    session = _session(http_server.url("missing.git"), username="bot", password=SECRET)
    with pytest.raises(RemoteError) as error:
        session.advertisement(UPLOAD)
    session.close()
    assert _one_line(error) == f"HTTP 404 Not Found from http://{LOOPBACK}:{http_server.port}/missing.git/info/refs"


def test_dumb_http_server_is_one_line(tmp_path: Path) -> None:
    with start_canned_server(200, [("Content-Type", "text/plain")], b"1111\trefs/heads/main\n") as dumb:
        with pytest.raises(RemoteError) as error:
            _advertise(dumb.url())
    assert _one_line(error) == f"{dumb.url()} is not a smart git HTTP server (dumb HTTP is not supported)"


@pytest.mark.parametrize("answer, problem", [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", "the answer was cut short (5 bytes read)"),
    (b"hello, this is not HTTP\r\n", "not a valid HTTP answer (BadStatusLine)"),
    (b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nnope",
     "the gzip-encoded answer is corrupt"),
    (b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 4\r\n\r\nnope",
     "/r.git/info/refs: Content-Encoding 'br' is not understood (only gzip)"),
])
def test_broken_http_answers_are_one_line(answer: bytes, problem: str) -> None:
    with start_one_answer_server(answer, close_after=True) as server:
        with pytest.raises(RemoteError) as error:
            _advertise(server.url())
    message = _one_line(error)
    assert message.startswith(server.url()) and message.endswith(problem)


def test_silent_server_times_out() -> None:
    with start_silent_server() as silent:
        session = _session(f"http://{LOOPBACK}:{silent.port}/r.git", timeout=0.5)
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            session.advertisement(UPLOAD)
        session.close()
        assert time.monotonic() - started < 5


def test_refused_and_unresolvable_propagate_unchanged() -> None:
    with pytest.raises(ConnectionRefusedError):
        _advertise(f"http://{LOOPBACK}:{free_port()}/r.git")
    with pytest.raises(socket.gaierror):
        _advertise("http://no-such-host.invalid/r.git")


def test_a_connection_cut_before_the_answer_is_one_line(tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind((LOOPBACK, 0))
    listener.listen(1)
    port = listener.getsockname()[1]

    def cut() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.close()

    thread = threading.Thread(target=cut, daemon=True)
    thread.start()
    try:
        with pytest.raises(RemoteError) as error:
            _advertise(f"http://{LOOPBACK}:{port}/r.git")
    finally:
        thread.join(timeout=5)
        listener.close()
    assert _one_line(error) == (f"http://{LOOPBACK}:{port}/r.git/info/refs:"
                                " the server closed the connection without answering")


def test_only_the_given_environment_is_read(http_server: GitHttpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    make_bare(http_server.project_root)
    monkeypatch.setenv("http_proxy", f"http://{LOOPBACK}:{free_port()}")  # refused, were os.environ read
    assert _advertise(http_server.url(), env={}) == b"0000"
    with pytest.raises(ConnectionRefusedError):
        _advertise(http_server.url(), env=dict(os.environ))
