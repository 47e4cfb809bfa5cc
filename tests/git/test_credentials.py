"""git's credential-helper protocol, with ``git credential fill/approve/reject`` as the oracle."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from support import git

from directive_release.errors import CredentialError
from directive_release.git import credentials
from directive_release.git.config import load_config
from directive_release.git.credentials import approve, fill, parse_helper_output, reject
from directive_release.git.repo import discover
from directive_release.redact import redact

URL = "https://example.com/o/r.git"


def _repo(tmp_path: Path, *config: tuple[str, str]) -> Path:
    work = tmp_path / "w"
    work.mkdir(exist_ok=True)
    git(work, "init", "-q")
    for key, value in config:
        git(work, "config", "--add", key, value)
    return work


def _ours(work: Path, url: str = URL) -> tuple[str, str] | None:
    return fill(load_config(discover(work)), url, os.environ)


def _gits(work: Path, url: str = URL) -> tuple[str, str] | None:
    """``git credential fill`` with prompts disabled: None when git finds nothing."""
    result = subprocess.run(
        ["git", "credential", "fill"], cwd=work, input=f"url={url}\n\n", capture_output=True,
        text=True, env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": ""},
        timeout=30, stdin=None,
    )
    if result.returncode != 0:
        return None
    values = parse_helper_output(result.stdout)
    return values["username"], values["password"]


def _helper(tmp_path: Path, name: str, body: str) -> Path:
    script = tmp_path / name
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return script


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o600)


def test_url_credentials_win_and_helpers_do_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    work = _repo(tmp_path, ("credential.helper", f"!f() {{ touch {marker}; echo password=x; }}; f"))
    assert _ours(work, "https://bot:url%40tok@example.com/r.git") == ("bot", "url@tok")
    assert not marker.exists()
    assert "url@tok" not in redact("leaked url@tok")


def test_shell_helper_gets_git_protocol_text(tmp_path: Path) -> None:
    seen = tmp_path / "input"
    helper = f"!f() {{ cat > {seen}; echo username=bot; echo password=helper-secret-91; }}; f"
    work = _repo(tmp_path, ("credential.helper", helper))
    assert _ours(work, "https://example.com:8443/o/r.git") == ("bot", "helper-secret-91")
    ours = seen.read_text()
    assert _gits(work, "https://example.com:8443/o/r.git") == ("bot", "helper-secret-91")
    theirs = seen.read_text()
    # git 2.39 sends the same attributes; newer gits may add capability lines.
    assert [line for line in ours.splitlines() if line] == [
        line for line in theirs.splitlines() if line and not line.startswith("capability")
    ]
    assert "path=" not in ours
    assert "helper-secret-91" not in redact("token helper-secret-91 here")


def test_use_http_path_sends_the_path(tmp_path: Path) -> None:
    seen = tmp_path / "input"
    work = _repo(tmp_path, ("credential.useHttpPath", "true"),
                 ("credential.helper", f"!f() {{ cat > {seen}; echo username=u; echo password=p1234; }}; f"))
    _ours(work)
    assert "path=o/r.git" in seen.read_text().splitlines()


def _scenario(tmp_path: Path, name: str) -> Path:
    home = Path(os.environ["HOME"])
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    user_only = "!f() { echo username=first-user; }; f"
    pw_for = "!f() { while read l; do case $l in username=*) u=${l#username=};; esac; done;" \
             " echo password=pw-for-$u; }; f"
    if name == "store-home":
        _write(home / ".git-credentials", "https://alice:s3cr%2Ft@example.com\n")
        return _repo(tmp_path, ("credential.helper", "store"))
    if name == "store-xdg":
        xdg = tmp_path / "xdg"
        os.environ["XDG_CONFIG_HOME"] = str(xdg)
        _write(xdg / "git" / "credentials", "https://xdg-user:xdg-pass@example.com\n")
        return _repo(tmp_path, ("credential.helper", "store"))
    if name == "store-file-option":
        creds = tmp_path / "creds"
        _write(creds, "https://other:nope@other.example\nhttps://bob:from-file@example.com/ignored/path\n")
        return _repo(tmp_path, ("credential.helper", f"store --file={creds}"))
    if name == "store-wrong-user":
        _write(home / ".git-credentials", "https://alice:pw@example.com\n")
        return _repo(tmp_path, ("credential.username", "carol"), ("credential.helper", "store"))
    if name == "username-then-password":
        return _repo(tmp_path, ("credential.helper", user_only), ("credential.helper", pw_for))
    if name == "empty-value-resets":
        return _repo(tmp_path, ("credential.helper", "!echo password=dropped; echo username=dropped"),
                     ("credential.helper", ""), ("credential.helper", user_only),
                     ("credential.helper", pw_for))
    if name == "url-scoped-helpers":
        return _repo(tmp_path, ("credential.https://other.example.helper", "!echo username=wrong; echo password=wrong"),
                     ("credential.https://*.com.helper", user_only),
                     ("credential.https://example.com/o.helper", pw_for))
    if name == "credential-username":
        return _repo(tmp_path, ("credential.username", "configured"), ("credential.helper", pw_for))
    if name == "named-helper-on-path":
        _helper(bin_dir, "git-credential-mine", 'echo "username=named"; echo "password=named-$1"\n')
        os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
        return _repo(tmp_path, ("credential.helper", "mine"))
    if name == "absolute-path-helper-with-args":
        script = _helper(bin_dir, "abs helper", 'echo "username=$1"; echo "password=abs-$2"\n')
        quoted = str(script).replace(" ", "\\ ")
        return _repo(tmp_path, ("credential.helper", f"{quoted} argone"))
    if name == "missing-helper-skipped":
        _write(home / ".git-credentials", "https://alice:after-missing@example.com\n")
        return _repo(tmp_path, ("credential.helper", "surely-not-installed"), ("credential.helper", "store"))
    if name == "quit-stops":
        return _repo(tmp_path, ("credential.helper", "!echo quit=1"), ("credential.helper", pw_for))
    if name == "nothing":
        return _repo(tmp_path, ("credential.helper", "!true"))
    raise AssertionError(name)


SCENARIOS = ["store-home", "store-xdg", "store-file-option", "store-wrong-user", "username-then-password",
             "empty-value-resets", "url-scoped-helpers", "credential-username", "named-helper-on-path",
             "absolute-path-helper-with-args", "missing-helper-skipped", "quit-stops", "nothing"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_fill_matches_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv("PATH", os.environ["PATH"])
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    work = _scenario(tmp_path, name)
    theirs = _gits(work)
    assert _ours(work) == theirs
    # Each scenario is built to exercise a real answer or a real miss:
    assert (theirs is None) == (name in ("store-wrong-user", "quit-stops", "nothing"))


def test_store_approve_writes_what_git_writes(tmp_path: Path) -> None:
    home = Path(os.environ["HOME"])
    work = _repo(tmp_path, ("credential.helper", "store"))
    config = load_config(discover(work))
    password = "p@ss:w/rd %+~é"
    approve(config, "https://example.com/o/r.git", "bot user", password)
    ours = (home / ".git-credentials").read_text()
    assert oct((home / ".git-credentials").stat().st_mode & 0o777) == "0o600"
    (home / ".git-credentials").unlink()
    subprocess.run(["git", "credential", "approve"], cwd=work, check=True, text=True,
                   input=f"url=https://example.com/o/r.git\nusername=bot user\npassword={password}\n\n")
    assert ours == (home / ".git-credentials").read_text()
    assert fill(config, URL) == ("bot user", password)


def test_store_approve_replaces_and_reject_erases(tmp_path: Path) -> None:
    home = Path(os.environ["HOME"])
    _write(home / ".git-credentials", "https://bot:old@example.com\nhttps://x:y@other.example\n")
    work = _repo(tmp_path, ("credential.helper", "store"))
    config = load_config(discover(work))
    approve(config, URL, "bot", "new-token-1")
    assert _gits(work) == ("bot", "new-token-1")
    # Replaced in place of the old line, the other host kept: what git-credential-store writes.
    assert (home / ".git-credentials").read_text() == (
        "https://bot:new-token-1@example.com\nhttps://x:y@other.example\n")
    reject(config, URL, "bot", "some-other-token")  # a different password is not erased
    assert _gits(work) == ("bot", "new-token-1")
    reject(config, URL, "bot", "new-token-1")
    assert _gits(work) is None
    assert fill(config, URL) is None
    assert "x:y@other.example" in (home / ".git-credentials").read_text()


def test_approve_and_reject_reach_external_helpers(tmp_path: Path) -> None:
    log = tmp_path / "log"
    helper = f"!f() {{ echo \"$1\" >> {log}; cat >> {log}; }}; f"
    work = _repo(tmp_path, ("credential.helper", helper))
    config = load_config(discover(work))
    approve(config, URL, "bot", "tok-approve")
    reject(config, URL, "bot", "tok-reject")
    text = log.read_text()
    assert text.startswith("store\n") and "\nerase\n" in text
    assert "password=tok-approve" in text and "password=tok-reject" in text
    assert "protocol=https" in text and "host=example.com" in text


def test_helpers_run_without_a_terminal_and_with_prompts_off(tmp_path: Path) -> None:
    seen = tmp_path / "env"
    helper = (f"!f() {{ echo \"prompt=$GIT_TERMINAL_PROMPT\" > {seen};"
              f" if (exec </dev/tty) 2>/dev/null; then echo tty=yes >> {seen}; else echo tty=no >> {seen}; fi;"
              " echo username=u; echo password=p9999; }; f")
    work = _repo(tmp_path, ("credential.helper", helper))
    assert _ours(work) == ("u", "p9999")
    assert seen.read_text().split() == ["prompt=0", "tty=no"]


def test_hanging_helper_is_killed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(credentials, "HELPER_TIMEOUT_SECONDS", 1.0)
    pid_file = tmp_path / "pid"
    work = _repo(tmp_path, ("credential.helper", f"!f() {{ sh -c 'echo $$ > {pid_file}; exec sleep 60'; }}; f"))
    with pytest.raises(CredentialError, match="did not answer within 1s"):
        _ours(work)
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the helper's child process was left running")


def test_newline_in_username_is_refused(tmp_path: Path) -> None:
    work = _repo(tmp_path, ("credential.helper", "!true"))
    with pytest.raises(CredentialError, match="newline"):
        _ours(work, "https://a%0Ab@example.com/r.git")


def test_parse_helper_output_stops_at_blank_line() -> None:
    assert parse_helper_output("username=a\npassword=b=c\n\npassword=ignored\n") == {
        "username": "a", "password": "b=c"}
