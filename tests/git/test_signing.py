"""Commit signing: signatures we make must verify with ``git verify-commit``; calls match git's."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from dulwich.objects import Commit
from dulwich.repo import Repo

from directive_release.errors import ConfigError, SigningError
from directive_release.git.config import load_config
from directive_release.git.identity import resolve_identities
from directive_release.git.repo import discover
from directive_release.git.signing import commit_signer
from support import Project, git, make_project

COMMITTER_UID = "Test Committer <committer@example.test>"


@pytest.fixture(scope="module")
def gnupg_home() -> Iterator[Path]:
    """A throw-away keyring with one ed25519 signing key for the test committer."""
    home = Path(tempfile.mkdtemp(prefix="drgpg", dir="/tmp"))  # short: gpg-agent socket paths are limited
    home.chmod(0o700)
    env = {**os.environ, "GNUPGHOME": str(home)}
    try:
        subprocess.run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", COMMITTER_UID, "ed25519",
                        "sign", "never"], env=env, check=True, capture_output=True)
        yield home
    finally:
        subprocess.run(["gpgconf", "--kill", "all"], env=env, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def gpg_env(gnupg_home: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("GNUPGHOME", str(gnupg_home))
    return dict(os.environ)


@pytest.fixture(scope="module")
def ssh_key() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="drssh", dir="/tmp"))
    key = directory / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "committer@example.test", "-f", str(key)],
                   check=True)
    yield key
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def ssh_agent(ssh_key: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A real ssh-agent holding the key (for literal public keys, signed with -U); always stopped."""
    socket = Path(tempfile.mkdtemp(prefix="drag", dir="/tmp")) / "agent.sock"
    started = subprocess.run(["ssh-agent", "-s", "-a", str(socket)], capture_output=True, text=True, check=True)
    pid = int(started.stdout.split("SSH_AGENT_PID=")[1].split(";")[0])
    try:
        monkeypatch.setenv("SSH_AUTH_SOCK", str(socket))
        subprocess.run(["ssh-add", "-q", str(ssh_key)], check=True, capture_output=True)
        yield str(socket)
    finally:
        os.kill(pid, 15)
        shutil.rmtree(socket.parent, ignore_errors=True)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return make_project(tmp_path, with_remote=False)


def allowed_signers(tmp_path: Path, ssh_key: Path) -> Path:
    path = tmp_path / "allowed_signers"
    public = ssh_key.with_suffix(".pub").read_text().split()
    path.write_text(f'committer@example.test namespaces="git" {public[0]} {public[1]}\n')
    return path


def sign_and_store(project: Project, branch: str = "signed") -> str:
    """Build a commit with dulwich, sign its payload with our signer, point ``branch`` at it."""
    repo = discover(project.path)
    config = load_config(repo)
    signer = commit_signer(repo, config)
    assert signer is not None
    author, committer = resolve_identities(config)
    dul = Repo(str(project.path))
    head = dul.head()
    commit = Commit()
    commit.tree = dul[head].tree
    commit.parents = [head]
    commit.author, commit.committer = author.signature_bytes(), committer.signature_bytes()
    commit.author_time, commit.author_timezone = author.timestamp, author.tz_offset_seconds
    commit.commit_time, commit.commit_timezone = committer.timestamp, committer.tz_offset_seconds
    commit.message = b"chore(release): v1.2.3\n"
    commit.gpgsig = signer(commit.as_raw_string())
    dul.object_store.add_object(commit)
    dul.refs[f"refs/heads/{branch}".encode()] = commit.id
    return commit.id.decode()


def verify(project: Project, ref: str, *config: str) -> subprocess.CompletedProcess[str]:
    args = [arg for pair in config for arg in ("-c", pair)]
    return subprocess.run(["git", *args, "verify-commit", "-v", ref], cwd=project.path, capture_output=True,
                          text=True)


# ---------------------------------------------------------------------------
# When signing is on, and configuration errors
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("value", [None, "false", "0", "off"])
def test_no_signer_unless_commit_gpgsign(project, value: str | None) -> None:
    if value is not None:
        git(project.path, "config", "commit.gpgSign", value)
    repo = discover(project.path)
    assert commit_signer(repo, load_config(repo)) is None


def test_bad_gpgsign_boolean(project) -> None:
    git(project.path, "config", "commit.gpgSign", "sometimes")
    repo = discover(project.path)
    with pytest.raises(ConfigError, match="bad boolean config value 'sometimes' for 'commit.gpgSign'"):
        commit_signer(repo, load_config(repo))


@pytest.mark.parametrize("gpgsign", ["true", "false"])
def test_unknown_format_is_refused_like_git(project, gpgsign: str) -> None:
    git(project.path, "config", "commit.gpgSign", gpgsign)
    git(project.path, "config", "gpg.format", "OpenPGP")
    result = subprocess.run(["git", "commit", "--allow-empty", "-m", "x"], cwd=project.path, capture_output=True,
                            text=True)
    assert "invalid value for 'gpg.format': 'OpenPGP'" in result.stderr  # even when not signing
    repo = discover(project.path)
    with pytest.raises(ConfigError, match=r"^invalid value for 'gpg.format': 'OpenPGP' \(.*config:\d+\)"):
        commit_signer(repo, load_config(repo))


def test_missing_program(project, tmp_path: Path) -> None:
    git(project.path, "config", "commit.gpgSign", "true")
    git(project.path, "config", "gpg.program", str(tmp_path / "no-such-gpg"))
    repo = discover(project.path)
    signer = commit_signer(repo, load_config(repo))
    assert signer is not None
    with pytest.raises(SigningError, match="no-such-gpg was not found; install it or set gpg.program"):
        signer(b"tree x\n")


# ---------------------------------------------------------------------------
# OpenPGP
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["fingerprint", "email", "default"])
def test_openpgp_signature_verifies_with_git(project, gpg_env: dict[str, str], key: str) -> None:
    git(project.path, "config", "commit.gpgSign", "true")
    if key != "default":  # default: the committer's "Name <email>", as git does
        listing = subprocess.run(["gpg", "--list-secret-keys", "--with-colons"], capture_output=True, text=True,
                                 check=True).stdout
        fingerprint = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))
        git(project.path, "config", "user.signingKey",
            fingerprint if key == "fingerprint" else "committer@example.test")
    commit_id = sign_and_store(project)
    result = verify(project, "signed")
    assert result.returncode == 0, result.stderr
    assert 'Good signature from "Test Committer <committer@example.test>"' in result.stderr
    shown = git(project.path, "log", "--show-signature", "-1", "--format=%H %G?", "signed")
    assert shown.strip().endswith(f"{commit_id} G")
    assert git(project.path, "fsck", "--strict", "--no-dangling") == ""


def test_openpgp_program_called_exactly_like_git(project, gpg_env: dict[str, str], tmp_path: Path) -> None:
    log = tmp_path / "argv.log"
    wrapper = tmp_path / "gpg-wrapper"
    wrapper.write_text(f'#!/bin/sh\nprintf "%s|" "$@" >> {log}\necho >> {log}\nexec gpg "$@"\n')
    wrapper.chmod(0o755)
    git(project.path, "config", "commit.gpgSign", "true")
    git(project.path, "config", "gpg.openpgp.program", "/nonexistent/gpg")
    git(project.path, "config", "gpg.program", str(wrapper))  # the later of the two wins
    git(project.path, "commit", "-q", "--allow-empty", "-m", "signed by git")
    sign_and_store(project)
    by_git, by_us = log.read_text().splitlines()
    assert by_us == by_git == f"--status-fd=2|-bsau|{COMMITTER_UID}|"
    assert verify(project, "HEAD").returncode == 0 and verify(project, "signed").returncode == 0


def test_openpgp_failure_is_one_line(project, gpg_env: dict[str, str]) -> None:
    git(project.path, "config", "commit.gpgSign", "true")
    git(project.path, "config", "user.signingKey", "nobody@example.test")
    result = subprocess.run(["git", "commit", "--allow-empty", "-m", "x"], cwd=project.path, capture_output=True,
                            text=True)
    assert result.returncode != 0 and "gpg failed to sign the data" in result.stderr
    repo = discover(project.path)
    signer = commit_signer(repo, load_config(repo))
    assert signer is not None
    with pytest.raises(SigningError) as caught:
        signer(b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("gpg failed to sign the data (key nobody@example.test): gpg: ")
    assert "nobody@example.test" in message and ("secret key" in message or "skipped" in message)


def test_x509_calls_gpgsm_like_git(project, tmp_path: Path, gpg_env: dict[str, str]) -> None:
    log = tmp_path / "argv.log"
    wrapper = tmp_path / "gpgsm-wrapper"
    wrapper.write_text(f'#!/bin/sh\nprintf "%s|" "$@" >> {log}\necho >> {log}\nexec gpgsm "$@"\n')
    wrapper.chmod(0o755)
    git(project.path, "config", "commit.gpgSign", "true")
    git(project.path, "config", "gpg.format", "x509")
    git(project.path, "config", "gpg.x509.program", str(wrapper))
    git(project.path, "config", "user.signingKey", "0x12345678")
    result = subprocess.run(["git", "commit", "--allow-empty", "-m", "x"], cwd=project.path, capture_output=True,
                            text=True)
    assert result.returncode != 0  # no X.509 certificate in this keyring
    repo = discover(project.path)
    signer = commit_signer(repo, load_config(repo))
    assert signer is not None
    with pytest.raises(SigningError, match=r"^gpg failed to sign the data \(key 0x12345678\): "):
        signer(b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n")
    by_git, by_us = log.read_text().splitlines()
    assert by_us == by_git == "--status-fd=2|-bsau|0x12345678|"


# ---------------------------------------------------------------------------
# SSH
# ---------------------------------------------------------------------------

def configure_ssh(project: Project, key: str) -> None:
    git(project.path, "config", "commit.gpgSign", "true")
    git(project.path, "config", "gpg.format", "ssh")
    if key:
        git(project.path, "config", "user.signingKey", key)


@pytest.mark.parametrize("spelling", ["path", "tilde"])
def test_ssh_key_file_signature_verifies_with_git(project, ssh_key: Path, tmp_path: Path,
                                                  isolated_git_env: Path, monkeypatch: pytest.MonkeyPatch,
                                                  spelling: str) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    if spelling == "tilde":
        (isolated_git_env / ".ssh").mkdir()
        shutil.copy(ssh_key, isolated_git_env / ".ssh" / "signing")
        (isolated_git_env / ".ssh" / "signing").chmod(0o600)
        configure_ssh(project, "~/.ssh/signing")
    else:
        configure_ssh(project, str(ssh_key))
    commit_id = sign_and_store(project)
    signers = allowed_signers(tmp_path, ssh_key)
    result = verify(project, "signed", f"gpg.ssh.allowedSignersFile={signers}")
    assert result.returncode == 0, result.stderr
    assert 'Good "git" signature for committer@example.test' in result.stderr
    shown = git(project.path, "-c", f"gpg.ssh.allowedSignersFile={signers}", "log", "-1", "--format=%H %G?",
                "signed")
    assert shown.strip() == f"{commit_id} G"
    assert list(scratch.iterdir()) == []  # temporary payload and .sig removed


@pytest.mark.parametrize("form", ["literal", "key::"])
def test_ssh_literal_public_key_signs_through_the_agent(project, ssh_key: Path, ssh_agent: str,
                                                         tmp_path: Path, form: str) -> None:
    public = ssh_key.with_suffix(".pub").read_text().strip()
    configure_ssh(project, public if form == "literal" else f"key::{public}")
    sign_and_store(project)
    result = verify(project, "signed", f"gpg.ssh.allowedSignersFile={allowed_signers(tmp_path, ssh_key)}")
    assert result.returncode == 0, result.stderr


def test_ssh_default_key_command(project, ssh_key: Path, ssh_agent: str, tmp_path: Path) -> None:
    configure_ssh(project, "")
    git(project.path, "config", "gpg.ssh.defaultKeyCommand", f"cat '{ssh_key.with_suffix('.pub')}'")
    sign_and_store(project)
    result = verify(project, "signed", f"gpg.ssh.allowedSignersFile={allowed_signers(tmp_path, ssh_key)}")
    assert result.returncode == 0, result.stderr


def test_ssh_without_any_key_is_refused_like_git(project) -> None:
    configure_ssh(project, "")
    result = subprocess.run(["git", "commit", "--allow-empty", "-m", "x"], cwd=project.path, capture_output=True,
                            text=True)
    assert "either user.signingkey or gpg.ssh.defaultKeyCommand needs to be configured" in result.stderr
    repo = discover(project.path)
    with pytest.raises(SigningError, match="^either user.signingkey or gpg.ssh.defaultKeyCommand needs"):
        commit_signer(repo, load_config(repo))


def test_ssh_failure_reports_ssh_keygen_s_last_line(project, tmp_path: Path) -> None:
    configure_ssh(project, str(tmp_path / "missing_key"))
    result = subprocess.run(["git", "commit", "--allow-empty", "-m", "x"], cwd=project.path, capture_output=True,
                            text=True)
    assert result.returncode != 0
    repo = discover(project.path)
    signer = commit_signer(repo, load_config(repo))
    assert signer is not None
    with pytest.raises(SigningError) as caught:
        signer(b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n")
    message = str(caught.value)
    assert message.startswith("ssh signing failed: ") and "\n" not in message
    assert "Couldn't load public key" in message
    assert message.removeprefix("ssh signing failed: ") in result.stderr  # git shows the same ssh-keygen line
