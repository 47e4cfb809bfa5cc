"""Remote resolution against the git binary as oracle (git remote get-url, ls-remote --get-url)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import git

from directive_release.errors import RemoteError
from directive_release.git.config import load_config
from directive_release.git.remote import (
    Remote,
    github_pull_request_url,
    parse_url,
    resolve_remote,
)
from directive_release.git.repo import discover
from directive_release.redact import redact, register_secret


def _repo(tmp_path: Path, *config: tuple[str, str]) -> Path:
    work = tmp_path / "w"
    work.mkdir()
    git(work, "init", "-q")
    for key, value in config:
        git(work, "config", "--add", key, value)
    return work


def _resolve(work: Path, name: str = "origin") -> Remote:
    return resolve_remote(load_config(discover(work)), name)


CASES = {
    "plain": [("remote.origin.url", "https://example.com/o/r.git")],
    "pushurl": [("remote.origin.url", "https://example.com/o/r.git"),
                ("remote.origin.pushurl", "ssh://git@example.com/o/r.git")],
    "two-pushurls-first-wins": [("remote.origin.url", "https://example.com/o/r.git"),
                                ("remote.origin.pushurl", "/srv/one.git"),
                                ("remote.origin.pushurl", "/srv/two.git")],
    "insteadof": [("remote.origin.url", "gh:o/r.git"),
                  ("url.https://github.com/.insteadOf", "gh:")],
    "insteadof-longest-wins": [("remote.origin.url", "gh:o/r.git"),
                               ("url.https://short/.insteadOf", "gh"),
                               ("url.https://long/.insteadOf", "gh:o/"),
                               ("url.https://mid/.insteadOf", "gh:")],
    "pushinsteadof": [("remote.origin.url", "https://github.com/o/r.git"),
                      ("url.git@github.com:.pushInsteadOf", "https://github.com/")],
    "pushinsteadof-beats-insteadof-for-push": [
        ("remote.origin.url", "gh:o/r.git"),
        ("url.https://github.com/.insteadOf", "gh:"),
        ("url.ssh://git@github.com/.pushInsteadOf", "gh:")],
    "pushinsteadof-not-applied-to-pushurl": [
        ("remote.origin.url", "https://github.com/o/r.git"),
        ("remote.origin.pushurl", "https://github.com/o/push.git"),
        ("url.ssh://nope/.pushInsteadOf", "https://github.com/")],
    "insteadof-applied-to-pushurl": [
        ("remote.origin.url", "https://github.com/o/r.git"),
        ("remote.origin.pushurl", "gh:o/push.git"),
        ("url.https://github.com/.insteadOf", "gh:")],
    "two-urls-push-uses-first": [("remote.origin.url", "/srv/a.git"), ("remote.origin.url", "/srv/b.git")],
    "dotted-remote-name": [("remote.my.fork.url", "https://example.com/fork.git")],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_urls_match_git(tmp_path: Path, case: str) -> None:
    config = CASES[case]
    name = "my.fork" if case == "dotted-remote-name" else "origin"
    work = _repo(tmp_path, *config)
    remote = _resolve(work, name)
    assert remote.fetch_url == git(work, "remote", "get-url", name).strip()
    push_urls = git(work, "remote", "get-url", "--push", "--all", name).split()
    assert remote.push_url == push_urls[0]
    assert list(remote.other_push_urls) == push_urls[1:]


def test_url_given_instead_of_a_name_is_rewritten_like_git(tmp_path: Path) -> None:
    work = _repo(tmp_path, ("url.https://github.com/.insteadOf", "gh:"),
                 ("url.ssh://git@github.com/.pushInsteadOf", "https://github.com/"))
    remote = _resolve(work, "gh:o/r.git")
    assert remote.fetch_url == git(work, "ls-remote", "--get-url", "gh:o/r.git").strip()
    assert remote.fetch_url == "https://github.com/o/r.git"
    # git push <url>: pushInsteadOf applies to the original URL, not to the insteadOf result.
    assert remote.push_url == "https://github.com/o/r.git"
    direct = _resolve(work, "https://github.com/o/r.git")
    assert direct.push_url == "ssh://git@github.com/o/r.git"


def test_path_given_instead_of_a_name(tmp_path: Path) -> None:
    work = _repo(tmp_path)
    remote = _resolve(work, str(tmp_path / "elsewhere.git"))
    assert remote.push_url == str(tmp_path / "elsewhere.git")


def test_missing_remote_names_the_fix(tmp_path: Path) -> None:
    work = _repo(tmp_path)
    with pytest.raises(RemoteError) as info:
        _resolve(work, "upstream")
    message = str(info.value)
    assert "upstream" in message and "git remote add upstream" in message
    assert "\n" not in message


def test_unsupported_scheme_is_refused(tmp_path: Path) -> None:
    work = _repo(tmp_path, ("remote.origin.url", "ftp://example.com/r.git"))
    with pytest.raises(RemoteError, match="unsupported URL scheme 'ftp'"):
        _resolve(work)


def test_display_url_hides_credentials(tmp_path: Path) -> None:
    token = "sentinel-token-d1e2"
    work = _repo(tmp_path, ("remote.origin.url", f"https://bot:{token}@example.com/o/r.git"))
    remote = _resolve(work)
    assert remote.display_url() == "https://example.com/o/r.git"
    # Learnt while resolving: the token is masked anywhere from now on.
    assert token not in redact(f"error near {token}")


def test_display_url_masks_registered_secret_in_path() -> None:
    register_secret("secret-in-path-77")
    remote = Remote("o", "https://h/secret-in-path-77/r.git", "https://h/secret-in-path-77/r.git")
    assert "secret-in-path-77" not in remote.display_url()


@pytest.mark.parametrize(
    ("url", "kind", "host", "port", "user", "path"),
    [
        ("https://u:p@example.com:8443/o/r.git", "https", "example.com", 8443, "u", "/o/r.git"),
        ("git://127.0.0.1:9418/r.git", "git", "127.0.0.1", 9418, None, "/r.git"),
        ("ssh://git@example.com:2222/o/r.git", "ssh", "example.com", 2222, "git", "/o/r.git"),
        ("ssh://example.com/~alice/r.git", "ssh", "example.com", None, None, "~alice/r.git"),
        ("git@github.com:o/r.git", "ssh", "github.com", None, "git", "o/r.git"),
        ("host:path/r.git", "ssh", "host", None, None, "path/r.git"),
        ("[::1]:r.git", "ssh", "::1", None, None, "r.git"),
        ("file:///srv/r.git", "local", "", None, None, "/srv/r.git"),
        ("/srv/r.git", "local", "", None, None, "/srv/r.git"),
        ("./a:b/r.git", "local", "", None, None, "./a:b/r.git"),
    ],
)
def test_parse_url_classifies_like_git(url: str, kind: str, host: str, port: int | None,
                                       user: str | None, path: str) -> None:
    parts = parse_url(url)
    assert (parts.kind, parts.host, parts.port, parts.username, parts.path) == (kind, host, port, user, path)


@pytest.mark.parametrize(
    ("push_url", "expected"),
    [
        ("https://github.com/acme/tool.git", "https://github.com/acme/tool/compare/main...release/v1.2.3?expand=1"),
        ("https://x-access-token:tok@github.com/acme/tool", "https://github.com/acme/tool/compare/main...release/v1.2.3?expand=1"),
        ("git@github.com:acme/tool.git", "https://github.com/acme/tool/compare/main...release/v1.2.3?expand=1"),
        ("ssh://git@github.com/acme/tool.git", "https://github.com/acme/tool/compare/main...release/v1.2.3?expand=1"),
        ("ssh://git@github.com:22/acme/tool", "https://github.com/acme/tool/compare/main...release/v1.2.3?expand=1"),
        ("https://gitlab.com/acme/tool.git", None),
        ("https://github.com.evil.example/acme/tool.git", None),
        ("https://github.com/acme", None),
        ("/srv/github.com/acme/tool.git", None),
    ],
)
def test_github_pull_request_url(push_url: str, expected: str | None) -> None:
    remote = Remote("origin", push_url, push_url)
    assert github_pull_request_url(remote, "release/v1.2.3", "main") == expected


def test_github_pull_request_url_quotes_odd_branch_names() -> None:
    remote = Remote("origin", "https://github.com/a/b", "https://github.com/a/b")
    assert github_pull_request_url(remote, "rel#1", "main") == (
        "https://github.com/a/b/compare/main...rel%231?expand=1"
    )
