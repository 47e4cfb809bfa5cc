"""Push and ls-remote against real servers on 127.0.0.1; the git binary is the oracle."""

from __future__ import annotations

import os
import socket
import stat
import time
from pathlib import Path

import pytest
from support import Project, git
from servers import (  # noqa: F401 - fixtures used by name
    GitDaemon,
    GitHttpServer,
    git_daemon,
    http_server,
    make_bare,
    start_dropping_proxy,
    start_http_server,
    start_silent_server,
)

from directive_release.errors import CredentialError, RemoteError
from directive_release.git.config import GitConfig, load_config
from directive_release.git.remote import Remote, resolve_remote
from directive_release.git.repo import Repository, discover
from directive_release.git.transport import RefUpdate, list_remote_refs, push

BRANCH = "refs/heads/release/v1.2.3"


# --- helpers ---------------------------------------------------------------------------------


def _setup(project: Project, *config: tuple[str, str]) -> tuple[Repository, GitConfig]:
    for key, value in config:
        project.git("config", "--add", key, value)
    repo = discover(project.path)
    return repo, load_config(repo)


def _head(project: Project) -> str:
    return project.git("rev-parse", "HEAD").strip()


def _new_commit(project: Project, message: str = "release") -> str:
    project.git("commit", "-q", "--allow-empty", "-m", message)
    return _head(project)


def _server_refs(bare: Path) -> dict[str, str]:
    out = git(bare, "for-each-ref", "--format=%(refname) %(objectname)")
    return dict(line.split(" ", 1)[::-1][::-1] for line in out.splitlines()) if out else {}


def _ls_remote(cwd: Path, url: str) -> dict[str, str]:
    out = git(cwd, "ls-remote", url)
    return {name: sha for sha, name in (line.split("\t") for line in out.splitlines())}


def _remote(config: GitConfig, url: str) -> Remote:
    return resolve_remote(config, url)


def _one_line(error: pytest.ExceptionInfo[BaseException]) -> str:
    message = str(error.value)
    assert "\n" not in message and "Traceback" not in message
    return message


# --- file:// ------------------------------------------------------------------------------------


def test_file_url_push_and_list_match_git(project: Project) -> None:
    repo, config = _setup(project)
    assert project.remote is not None
    remote = resolve_remote(config, "origin")
    assert remote.push_url == project.remote.as_uri()
    new = _new_commit(project)
    push(repo, config, remote, [RefUpdate(BRANCH, None, new)])
    assert _server_refs(project.remote)[BRANCH] == new
    assert list_remote_refs(repo, config, remote) == _ls_remote(project.path, remote.push_url)


def test_plain_path_remote_update_and_delete(project: Project) -> None:
    repo, config = _setup(project)
    assert project.remote is not None
    remote = _remote(config, str(project.remote))
    first = _head(project)
    push(repo, config, remote, [RefUpdate(BRANCH, None, first)])
    second = _new_commit(project)
    push(repo, config, remote, [RefUpdate(BRANCH, first, second)])
    assert _server_refs(project.remote)[BRANCH] == second
    push(repo, config, remote, [RefUpdate(BRANCH, second, None)])
    assert BRANCH not in _server_refs(project.remote)


def test_relative_path_is_relative_to_the_work_tree(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    repo, config = _setup(project, ("remote.rel.url", "../remote.git"))
    assert project.remote is not None
    (project.path / "sub").mkdir()
    monkeypatch.chdir(project.path / "sub")  # git resolves it from the top, not from here
    remote = resolve_remote(config, "rel")
    push(repo, config, remote, [RefUpdate(BRANCH, None, _head(project))])
    assert BRANCH in _server_refs(project.remote)
    assert list_remote_refs(repo, config, remote) == _ls_remote(project.path, "../remote.git")


def test_missing_local_repository(project: Project, tmp_path: Path) -> None:
    repo, config = _setup(project)
    with pytest.raises(RemoteError) as error:
        list_remote_refs(repo, config, _remote(config, str(tmp_path / "nowhere.git")))
    assert "not a git repository" in _one_line(error)


def test_file_url_ignores_remote_hooks_as_documented(project: Project) -> None:
    """dulwich's in-process LocalGitClient never runs the remote's hooks (module docstring)."""
    repo, config = _setup(project)
    assert project.remote is not None
    hook = project.remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)
    push(repo, config, resolve_remote(config, "origin"), [RefUpdate(BRANCH, None, _head(project))])
    assert BRANCH in _server_refs(project.remote)


def test_ref_created_meanwhile_is_refused_on_file_url(project: Project, tmp_path: Path) -> None:
    repo, config = _setup(project)
    assert project.remote is not None
    remote = resolve_remote(config, "origin")
    assert BRANCH not in list_remote_refs(repo, config, remote)
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", project.remote.as_uri(), str(other))
    git(other, "commit", "-q", "--allow-empty", "-m", "theirs")
    git(other, "push", "-q", "origin", f"HEAD:{BRANCH}")
    theirs = git(other, "rev-parse", "HEAD").strip()
    with pytest.raises(RemoteError) as error:
        push(repo, config, remote, [RefUpdate(BRANCH, None, _new_commit(project))])
    assert "refused" in _one_line(error) and BRANCH in str(error.value)
    assert _server_refs(project.remote)[BRANCH] == theirs


# --- git:// -------------------------------------------------------------------------------------


def test_git_daemon_list_matches_ls_remote(project: Project, git_daemon: GitDaemon) -> None:
    repo, config = _setup(project)
    bare = make_bare(git_daemon.base_path)
    project.git("tag", "-a", "v0.4.1", "-m", "annotated")
    project.git("tag", "light")
    project.git("push", "-q", git_daemon.url(), "main", "v0.4.1", "light")
    refs = list_remote_refs(repo, config, _remote(config, git_daemon.url()))
    assert refs == _ls_remote(project.path, git_daemon.url())
    assert "refs/tags/v0.4.1^{}" in refs and refs["HEAD"] == _head(project)
    assert _server_refs(bare)["refs/heads/main"] == _head(project)


def test_git_daemon_create_update_delete(project: Project, git_daemon: GitDaemon) -> None:
    repo, config = _setup(project)
    bare = make_bare(git_daemon.base_path)
    remote = _remote(config, git_daemon.url())
    first = _head(project)
    push(repo, config, remote, [RefUpdate(BRANCH, None, first), RefUpdate("refs/tags/v1.2.3", None, first)])
    assert _server_refs(bare) == {BRANCH: first, "refs/tags/v1.2.3": first}
    second = _new_commit(project)
    push(repo, config, remote, [RefUpdate(BRANCH, first, second)])
    assert _server_refs(bare)[BRANCH] == second
    git(bare, "fsck", "--strict")
    push(repo, config, remote, [RefUpdate(BRANCH, second, None)])
    assert _server_refs(bare) == {"refs/tags/v1.2.3": first}


def test_git_daemon_hook_rejection_raises_and_creates_nothing(project: Project, git_daemon: GitDaemon,
                                                               capfd: pytest.CaptureFixture[str]) -> None:
    repo, config = _setup(project)
    bare = make_bare(git_daemon.base_path, reject_message="releases are frozen")
    with pytest.raises(RemoteError) as error:
        push(repo, config, _remote(config, git_daemon.url()), [RefUpdate(BRANCH, None, _head(project))])
    message = _one_line(error)
    assert message.startswith(f"push of {BRANCH} to {git_daemon.url()} rejected: pre-receive hook declined")
    assert "releases are frozen" in message
    assert _server_refs(bare) == {}
    assert capfd.readouterr() == ("", "")  # dulwich's "Push to ... successful." never printed


def test_stale_old_value_is_refused_never_forced(project: Project, git_daemon: GitDaemon) -> None:
    repo, config = _setup(project)
    bare = make_bare(git_daemon.base_path)
    project.git("push", "-q", git_daemon.url(), f"HEAD:{BRANCH}")
    current = _head(project)
    stale = _new_commit(project, "never pushed")
    newer = _new_commit(project, "ours")
    with pytest.raises(RemoteError) as error:
        push(repo, config, _remote(config, git_daemon.url()), [RefUpdate(BRANCH, stale, newer)])
    assert f"is at {current[:12]}" in _one_line(error)
    assert _server_refs(bare)[BRANCH] == current


def test_named_remote_is_named_in_messages(project: Project, git_daemon: GitDaemon) -> None:
    repo, config = _setup(project, ("remote.daemon.url", git_daemon.url()))
    make_bare(git_daemon.base_path, reject_message="no")
    with pytest.raises(RemoteError) as error:
        push(repo, config, resolve_remote(config, "daemon"), [RefUpdate(BRANCH, None, _head(project))])
    assert f"to daemon ({git_daemon.url()}) rejected" in _one_line(error)


def test_connection_dropped_mid_push(project: Project, git_daemon: GitDaemon) -> None:
    repo, config = _setup(project)
    bare = make_bare(git_daemon.base_path)
    with start_dropping_proxy(git_daemon.port, client_bytes=120) as proxy:
        url = f"git://127.0.0.1:{proxy.port}/r.git"
        with pytest.raises(RemoteError) as error:
            push(repo, config, _remote(config, url), [RefUpdate(BRANCH, None, _head(project))], timeout=10)
    assert _one_line(error).startswith(f"push to {url} failed")
    assert "timed out" not in str(error.value)
    assert _server_refs(bare) == {}


# --- which URL is used -----------------------------------------------------------------------


def test_pushurl_receives_the_push(project: Project, git_daemon: GitDaemon) -> None:
    fetch_repo = make_bare(git_daemon.base_path, "fetch.git")
    push_repo = make_bare(git_daemon.base_path, "push.git")
    repo, config = _setup(project, ("remote.up.url", git_daemon.url("fetch.git")),
                          ("remote.up.pushurl", git_daemon.url("push.git")))
    remote = resolve_remote(config, "up")
    push(repo, config, remote, [RefUpdate(BRANCH, None, _head(project))])
    assert BRANCH in _server_refs(push_repo) and _server_refs(fetch_repo) == {}
    assert BRANCH in list_remote_refs(repo, config, remote, for_push=True)
    assert BRANCH not in list_remote_refs(repo, config, remote, for_push=False)


def test_insteadof_and_pushinsteadof_pick_the_server(project: Project, git_daemon: GitDaemon,
                                                      tmp_path: Path) -> None:
    daemon_repo = make_bare(git_daemon.base_path)
    with start_http_server(tmp_path / "http") as server:
        http_repo = make_bare(server.project_root)
        repo, config = _setup(
            project,
            ("remote.up.url", "alias:r.git"),
            ("url.http://127.0.0.1:%d/.insteadOf" % server.port, "alias:"),
            ("url.git://127.0.0.1:%d/.pushInsteadOf" % git_daemon.port, "alias:"),
        )
        remote = resolve_remote(config, "up")
        assert remote.fetch_url == server.url() and remote.push_url == git_daemon.url()
        push(repo, config, remote, [RefUpdate(BRANCH, None, _head(project))])
        assert BRANCH in _server_refs(daemon_repo)
        assert _server_refs(http_repo) == {}
        assert list_remote_refs(repo, config, remote, for_push=False) == {}
        assert server.requests and not any("receive-pack" in r.path for r in server.requests)


# --- http(s) with basic auth --------------------------------------------------------------------


@pytest.fixture
def auth_server(tmp_path: Path):  # type: ignore[no-untyped-def]
    with start_http_server(tmp_path / "auth-http", username="bot", password="tok-sentinel-4242") as server:
        make_bare(server.project_root)
        yield server


def test_http_credentials_in_url(project: Project, auth_server: GitHttpServer) -> None:
    repo, config = _setup(project)
    remote = _remote(config, auth_server.url(userinfo="bot:tok-sentinel-4242"))
    push(repo, config, remote, [RefUpdate(BRANCH, None, _head(project))])
    assert _server_refs(auth_server.project_root / "r.git")[BRANCH] == _head(project)
    assert list_remote_refs(repo, config, remote)[BRANCH] == _head(project)
    assert auth_server.unauthorized_count == 0


def test_http_credentials_from_shell_helper_are_approved(project: Project, auth_server: GitHttpServer,
                                                          tmp_path: Path) -> None:
    log = tmp_path / "helper.log"
    helper = (f"!f() {{ echo \"$1\" >> {log}; cat > /dev/null;"
              " [ \"$1\" = get ] && echo username=bot && echo password=tok-sentinel-4242; }; f")
    repo, config = _setup(project, ("credential.helper", helper))
    push(repo, config, _remote(config, auth_server.url()), [RefUpdate(BRANCH, None, _head(project))])
    assert _server_refs(auth_server.project_root / "r.git")[BRANCH] == _head(project)
    assert log.read_text().split() == ["get", "store"]
    assert auth_server.unauthorized_count == 1  # asked only after the server demanded it, like git


def test_http_credentials_from_store_file(project: Project, auth_server: GitHttpServer) -> None:
    home = Path(os.environ["HOME"])
    (home / ".git-credentials").write_text(f"http://bot:tok-sentinel-4242@127.0.0.1:{auth_server.port}\n")
    repo, config = _setup(project, ("credential.helper", "store"))
    refs = list_remote_refs(repo, config, _remote(config, auth_server.url()))
    assert refs == {}
    push(repo, config, _remote(config, auth_server.url()), [RefUpdate(BRANCH, None, _head(project))])
    assert BRANCH in _server_refs(auth_server.project_root / "r.git")


def test_http_without_credentials_fails_without_prompting(project: Project, auth_server: GitHttpServer) -> None:
    repo, config = _setup(project)
    with pytest.raises(CredentialError) as error:
        push(repo, config, _remote(config, auth_server.url()), [RefUpdate(BRANCH, None, _head(project))])
    assert "credential helper" in _one_line(error)
    assert auth_server.unauthorized_count == 1
    assert _server_refs(auth_server.project_root / "r.git") == {}


def test_helper_credentials_approved_when_the_push_is_rejected_for_another_reason(
        project: Project, tmp_path: Path) -> None:
    log = tmp_path / "helper.log"
    helper = (f"!f() {{ echo \"$1\" >> {log}; cat > /dev/null;"
              " [ \"$1\" = get ] && echo username=bot && echo password=pw-5678; }; f")
    with start_http_server(tmp_path / "srv", username="bot", password="pw-5678") as server:
        make_bare(server.project_root, reject_message="frozen")
        repo, config = _setup(project, ("credential.helper", helper))
        with pytest.raises(RemoteError, match="pre-receive hook declined"):
            push(repo, config, _remote(config, server.url()), [RefUpdate(BRANCH, None, _head(project))])
    assert log.read_text().split() == ["get", "store"]


def test_http_refused_helper_credentials_are_erased(project: Project, auth_server: GitHttpServer) -> None:
    home = Path(os.environ["HOME"])
    store = home / ".git-credentials"
    store.write_text(f"http://bot:wrong-token-0001@127.0.0.1:{auth_server.port}\n")
    repo, config = _setup(project, ("credential.helper", "store"))
    with pytest.raises(CredentialError) as error:
        list_remote_refs(repo, config, _remote(config, auth_server.url()))
    assert "authentication failed" in _one_line(error)
    assert "wrong-token-0001" not in str(error.value)
    assert store.read_text() == ""


def test_http_wrong_token_in_url(project: Project, auth_server: GitHttpServer) -> None:
    repo, config = _setup(project)
    with pytest.raises(CredentialError) as error:
        list_remote_refs(repo, config, _remote(config, auth_server.url(userinfo="bot:wrong-url-token-77")))
    assert "credentials in the remote URL" in _one_line(error)
    assert "wrong-url-token-77" not in str(error.value)


def test_http_extra_header_authorizes(project: Project, auth_server: GitHttpServer) -> None:
    import base64

    basic = base64.b64encode(b"bot:tok-sentinel-4242").decode()
    repo, config = _setup(project, (f"http.http://127.0.0.1:{auth_server.port}/.extraHeader",
                                    f"Authorization: Basic {basic}"))
    push(repo, config, _remote(config, auth_server.url()), [RefUpdate(BRANCH, None, _head(project))])
    assert BRANCH in _server_refs(auth_server.project_root / "r.git")
    assert auth_server.unauthorized_count == 0


def test_http_hook_rejection(project: Project, http_server: GitHttpServer) -> None:
    bare = make_bare(http_server.project_root, reject_message="nope over http")
    repo, config = _setup(project)
    with pytest.raises(RemoteError) as error:
        push(repo, config, _remote(config, http_server.url()), [RefUpdate(BRANCH, None, _head(project))])
    assert "rejected: pre-receive hook declined" in _one_line(error)
    assert _server_refs(bare) == {}


def test_http_ref_created_meanwhile_is_refused(project: Project, http_server: GitHttpServer) -> None:
    bare = make_bare(http_server.project_root)
    repo, config = _setup(project)
    remote = _remote(config, http_server.url())
    assert list_remote_refs(repo, config, remote) == {}
    project.git("push", "-q", http_server.url(), f"HEAD:{BRANCH}")
    theirs = _head(project)
    with pytest.raises(RemoteError, match="refused: the remote ref is at"):
        push(repo, config, remote, [RefUpdate(BRANCH, None, _new_commit(project))])
    assert _server_refs(bare)[BRANCH] == theirs


# --- ssh through a fake ssh that runs the command locally ----------------------------------------

FAKE_SSH = """#!/bin/sh
printf '%s\\n' "$@" > "{log}"
printf 'GIT_PROTOCOL=%s\\n' "$GIT_PROTOCOL" >> "{log}"
for last; do :; done
exec sh -c "$last"
"""


def _fake_ssh(tmp_path: Path, name: str = "fake-ssh") -> tuple[Path, Path]:
    log = tmp_path / f"{name}.argv"
    script = tmp_path / name
    script.write_text(FAKE_SSH.format(log=log))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, log


def test_ssh_push_and_list_with_batch_mode(project: Project, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    bare = make_bare(tmp_path / "srv")
    script, log = _fake_ssh(tmp_path)
    monkeypatch.setenv("GIT_SSH_COMMAND", f"'{script}' -o StrictHostKeyChecking=yes")
    repo, config = _setup(project)
    remote = _remote(config, f"ssh://deploy@git.example:2222{bare}")
    push(repo, config, remote, [RefUpdate(BRANCH, None, _head(project))])
    assert _server_refs(bare)[BRANCH] == _head(project)
    assert log.read_text().splitlines() == [
        "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-p", "2222", "deploy@git.example",
        f"git-receive-pack '{bare}'", "GIT_PROTOCOL=",
    ]
    refs = list_remote_refs(repo, config, remote)
    assert refs == _ls_remote(project.path, str(bare))
    argv = log.read_text().splitlines()
    # Protocol v0 on every transport: nothing asked of the server through the environment.
    assert argv[-2:] == [f"git-upload-pack '{bare}'", "GIT_PROTOCOL="]
    assert "SendEnv=GIT_PROTOCOL" not in argv


def test_ssh_scp_like_url_with_core_sshcommand(project: Project, tmp_path: Path) -> None:
    bare = make_bare(tmp_path / "srv")
    script, log = _fake_ssh(tmp_path)
    repo, config = _setup(project, ("core.sshCommand", str(script)))
    push(repo, config, _remote(config, f"git@example.test:{bare}"), [RefUpdate(BRANCH, None, _head(project))])
    assert BRANCH in _server_refs(bare)
    assert log.read_text().splitlines()[:4] == ["-o", "BatchMode=yes", "git@example.test",
                                                f"git-receive-pack '{bare}'"]


def test_git_ssh_program_is_run_without_a_shell(project: Project, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    bare = make_bare(tmp_path / "srv")
    script, log = _fake_ssh(tmp_path, "ssh with space")
    monkeypatch.setenv("GIT_SSH", str(script))
    repo, config = _setup(project)
    push(repo, config, _remote(config, f"ssh://host{bare}"), [RefUpdate(BRANCH, None, _head(project))])
    assert BRANCH in _server_refs(bare)
    assert log.read_text().splitlines()[:3] == ["-o", "BatchMode=yes", "host"]


def test_ssh_failure_is_one_line(project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capfd: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "denied-ssh"
    script.write_text("#!/bin/sh\necho 'git@host: Permission denied (publickey).' >&2\nexit 255\n")
    script.chmod(0o755)
    monkeypatch.setenv("GIT_SSH_COMMAND", str(script))
    repo, config = _setup(project)
    with pytest.raises(RemoteError) as error:
        push(repo, config, _remote(config, "ssh://host/srv/r.git"), [RefUpdate(BRANCH, None, _head(project))])
    assert "Permission denied (publickey)" in _one_line(error)
    assert capfd.readouterr() == ("", "")  # ssh's stderr is kept, not passed through


# --- unreachable and hung remotes ------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("scheme", ["git", "http"])
def test_connection_refused(project: Project, scheme: str) -> None:
    repo, config = _setup(project)
    url = f"{scheme}://127.0.0.1:{_closed_port()}/r.git"
    with pytest.raises(RemoteError) as error:
        list_remote_refs(repo, config, _remote(config, url), timeout=30)
    assert "connection refused" in _one_line(error)


@pytest.mark.parametrize("scheme", ["git", "http"])
def test_hung_server_times_out(project: Project, scheme: str) -> None:
    repo, config = _setup(project)
    with start_silent_server() as server:
        url = f"{scheme}://127.0.0.1:{server.port}/r.git"
        with pytest.raises(RemoteError) as error:
            push(repo, config, _remote(config, url), [RefUpdate(BRANCH, None, _head(project))], timeout=2)
        assert server.connections, "the client never connected"
    assert "timed out after 2s" in _one_line(error)


def test_hung_ssh_times_out(project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pid_file = tmp_path / "pid"
    script = tmp_path / "hung-ssh"
    script.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 60\n")
    script.chmod(0o755)
    monkeypatch.setenv("GIT_SSH", str(script))
    repo, config = _setup(project)
    with pytest.raises(RemoteError) as error:
        list_remote_refs(repo, config, _remote(config, "ssh://host/r.git"), timeout=1)
    assert "timed out after 1s" in _one_line(error)
    _assert_gone(int(pid_file.read_text()))


def _assert_gone(pid: int) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    pytest.fail(f"process {pid} was left running")


# --- secrets never leak ----------------------------------------------------------------------------


def test_sentinel_secrets_never_reach_messages_or_output(project: Project, tmp_path: Path,
                                                          capfd: pytest.CaptureFixture[str]) -> None:
    url_secret = "urlSentinel-7d1c"
    helper_secret = "helperSentinel-93ab"
    repo, config = _setup(project, ("credential.helper", f"!f() {{ echo username=bot; echo password={helper_secret}; }}; f"))
    messages: list[str] = []
    with start_http_server(tmp_path / "srv", username="bot", password=url_secret) as server:
        make_bare(server.project_root, reject_message=f"hook echoes {url_secret} and {helper_secret}")
        for userinfo in (None, f"bot:{url_secret}"):  # the helper runs (and is refused) first
            remote = _remote(config, server.url(userinfo=userinfo))
            for call in (lambda: push(repo, config, remote, [RefUpdate(BRANCH, None, _head(project))]),
                         lambda: list_remote_refs(repo, config, remote)):
                try:
                    call()
                except RemoteError as exc:
                    messages.append(str(exc))
                    messages.append(repr(exc))
    with start_silent_server() as silent:
        remote = _remote(config, f"http://bot:{url_secret}@127.0.0.1:{silent.port}/r.git")
        with pytest.raises(RemoteError) as error:
            list_remote_refs(repo, config, remote, timeout=1)
        messages.append(str(error.value))
    captured = capfd.readouterr()
    assert len(messages) >= 4  # a rejected push with each credential source, a refused helper, a time-out
    assert any("pre-receive hook declined" in m for m in messages)
    for text in (*messages, captured.out, captured.err):
        assert url_secret not in text
        assert helper_secret not in text
    assert captured.out == "" and captured.err == ""


# --- argument checks -------------------------------------------------------------------------------


def test_short_ref_names_and_unknown_objects_are_refused(project: Project) -> None:
    repo, config = _setup(project)
    remote = resolve_remote(config, "origin")
    with pytest.raises(RemoteError, match="full ref name"):
        push(repo, config, remote, [RefUpdate("release/v1", None, _head(project))])
    with pytest.raises(RemoteError, match="not in the local repository"):
        push(repo, config, remote, [RefUpdate(BRANCH, None, "1" * 40)])
