"""Author/committer identity: every case compared with what git itself records."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from directive_release.errors import ConfigError, IdentityError
from directive_release.git.config import load_config
from directive_release.git.identity import Identity, parse_git_date, resolve_identities
from directive_release.git.repo import discover
from support import Project, git, make_project

IDENTITY_VARS = ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL")


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return make_project(tmp_path, with_remote=False)


@pytest.fixture
def bare_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The test environment without the fixed identity conftest provides."""
    for name in IDENTITY_VARS:
        monkeypatch.delenv(name, raising=False)
    return dict(os.environ)


def git_ident(cwd: Path, who: str, env: dict[str, str]) -> tuple[str, int, int] | str:
    """``git var GIT_<WHO>_IDENT`` (strict, like git commit): (signature, time, offset) or git's error."""
    result = subprocess.run(["git", "var", f"GIT_{who.upper()}_IDENT"], cwd=cwd, capture_output=True,
                            text=True, env=env)
    if result.returncode != 0:
        return result.stderr.strip().splitlines()[-1]
    signature, stamp, tz = result.stdout.strip().rsplit(" ", 2)
    minutes = int(tz[1:3]) * 60 + int(tz[3:5])
    return signature, int(stamp), (-minutes if tz[0] == "-" else minutes) * 60


def ours(cwd: Path, env: dict[str, str], now: float | None = None) -> tuple[Identity, Identity]:
    return resolve_identities(load_config(discover(cwd), env), env, now)


def assert_same_as_git(cwd: Path, env: dict[str, str]) -> tuple[Identity, Identity]:
    before = time.time()
    author, committer = ours(cwd, env)
    for who, mine in (("author", author), ("committer", committer)):
        expected = git_ident(cwd, who, env)
        assert isinstance(expected, tuple), expected
        assert mine.signature_bytes().decode() == expected[0]
        assert mine.tz_offset_seconds == expected[2]
        if f"GIT_{who.upper()}_DATE" in env:
            assert mine.timestamp == expected[1]
        else:  # "now": git ran just after us
            assert int(before) <= mine.timestamp <= expected[1]
    return author, committer


def test_environment_identity(project) -> None:
    author, committer = assert_same_as_git(project.path, dict(os.environ))
    assert (author.name, committer.email) == ("Test Author", "committer@example.test")


def test_user_config(project, bare_env: dict[str, str]) -> None:
    git(project.path, "config", "user.name", "Config User")
    git(project.path, "config", "user.email", "config@example.test")
    author, committer = assert_same_as_git(project.path, bare_env)
    assert author.signature_bytes() == committer.signature_bytes() == b"Config User <config@example.test>"


def test_author_and_committer_sections_override_user(project, bare_env: dict[str, str], isolated_git_env: Path) -> None:
    with (isolated_git_env / ".gitconfig").open("a") as handle:
        handle.write("[user]\n\tname = Global User\n\temail = global@example.test\n")
    git(project.path, "config", "author.name", "Local Author")
    git(project.path, "config", "committer.email", "committer-section@example.test")
    author, committer = assert_same_as_git(project.path, bare_env)
    assert author.signature_bytes() == b"Local Author <global@example.test>"
    assert committer.signature_bytes() == b"Global User <committer-section@example.test>"


def test_environment_beats_config(project, bare_env: dict[str, str]) -> None:
    git(project.path, "config", "user.name", "Config User")
    git(project.path, "config", "user.email", "config@example.test")
    env = {**bare_env, "GIT_COMMITTER_NAME": "Env Committer", "GIT_AUTHOR_EMAIL": "env@example.test"}
    author, committer = assert_same_as_git(project.path, env)
    assert author.email == "env@example.test" and committer.name == "Env Committer"


def test_email_env_var_fallback(project, bare_env: dict[str, str]) -> None:
    git(project.path, "config", "user.name", "Config User")
    author, _ = assert_same_as_git(project.path, {**bare_env, "EMAIL": "  from-env@example.test "})
    assert author.email == "from-env@example.test"


def test_only_author_email_gives_git_s_empty_committer_email(project, bare_env: dict[str, str]) -> None:
    git(project.path, "config", "user.name", "Config User")
    git(project.path, "config", "author.email", "author-only@example.test")
    _, committer = assert_same_as_git(project.path, {**bare_env, "EMAIL": "ignored@example.test"})
    assert committer.email == ""


def test_crud_is_stripped_like_git(project, bare_env: dict[str, str]) -> None:
    env = {**bare_env, "GIT_AUTHOR_NAME": " ,<Jo>hn \"Doe\"; ", "GIT_AUTHOR_EMAIL": "<jd@example.test>\n",
           "GIT_COMMITTER_NAME": "Ünïcødé Näme", "GIT_COMMITTER_EMAIL": "u@example.test"}
    author, committer = assert_same_as_git(project.path, env)
    assert author.name == 'John "Doe' and committer.name == "Ünïcødé Näme"


@pytest.mark.parametrize(
    ("setup", "extra_env", "git_says"),
    [
        ([], {}, "unable to auto-detect email address"),
        ([("user.email", "e@example.test"), ("user.useConfigOnly", "true")], {},
         "no name was given and auto-detection is disabled"),
        ([("user.name", "N"), ("user.useConfigOnly", "true")], {"EMAIL": "e@example.test"},
         "no email was given and auto-detection is disabled"),
        ([("user.name", "")], {"EMAIL": "e@example.test"}, "empty ident name"),
        ([("user.name", " ,;")], {"EMAIL": "e@example.test"}, "name consists only of disallowed characters"),
    ],
)
def test_refusals_where_git_refuses(project, bare_env: dict[str, str], setup: list[tuple[str, str]],
                                    extra_env: dict[str, str], git_says: str) -> None:
    for key, value in setup:
        git(project.path, "config", key, value)
    env = {**bare_env, **extra_env}
    assert git_says in str(git_ident(project.path, "author", env))
    with pytest.raises(IdentityError, match='git config --global user.name "Your Name"'):
        ours(project.path, env)


def test_never_uses_the_system_account_name(project, bare_env: dict[str, str]) -> None:
    # git would take the passwd gecos name here; a release commit must not.
    git(project.path, "config", "user.email", "e@example.test")
    assert isinstance(git_ident(project.path, "author", bare_env), tuple)
    with pytest.raises(IdentityError, match=r"^Author identity unknown .*user\.name"):
        ours(project.path, bare_env)


def test_empty_env_name_is_refused(project) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": ""}
    assert "empty ident name" in str(git_ident(project.path, "author", env))
    with pytest.raises(IdentityError, match="empty ident name"):
        ours(project.path, env)


def test_bare_user_name_key_is_a_config_error(project, bare_env: dict[str, str]) -> None:
    with (project.path / ".git" / "config").open("a") as handle:
        handle.write("[user]\n\tname\n\tname = Later Value\n")
    git_says = str(git_ident(project.path, "author", {**bare_env, "EMAIL": "e@x.test"}))
    assert "bad config variable 'user.name' in file '.git/config' at line 7" in git_says
    with pytest.raises(ConfigError, match=r"bad config variable 'user.name' in file '.*/\.git/config' at line 7"):
        ours(project.path, {**bare_env, "EMAIL": "e@x.test"})


DATES = [
    "@1112911993 +0200", "1112911993 +0200", "@1112911993", "1112911993", "@1112911993 -0000",
    "@0 +0000", "@1112911993 +0099", "@1112911993 -1230",
    "Thu, 07 Apr 2005 22:13:13 +0200", "Thu, 7 Apr 2005 22:13:13 -0700", "7 Apr 2005 22:13:13 GMT",
    "Thu Apr 7 22:13:13 2005 +0200", "Thu Apr 7 22:13:13 2005",
    "2005-04-07T22:13:13", "2005-04-07 22:13:13", "2005-04-07T22:13:13Z", "2005-04-07T22:13:13+05:30",
    "2005-04-07T22:13:13-0330", "2005-04-07T22:13:13.123+02", "20050407T221313", "20050407 221313.5",
    "07.04.2005 10:00", "04/07/2005 10:00:00", "07/04/2005 10:00 +0100", "2005.04.07 1:2:3",
    "22:13 2005-04-07 EST", "April 7 2005 10pm", "7 April 05 10:00 PM", "2005-04-07 12:00 am",
    "Thu, 07 Apr 2005 22:13:13 CEST", "Thu, 07 Apr 2005 22:13:13 PDT", "2005-04-07 22:13:13 Z",
    "2005-04-07", "garbage", "", "12:00", "2005-13-45 10:00", "1969-12-31 23:59:59 +0000",
    "2100-01-01 00:00:00 +0000", "2099-12-31 23:59:59 +0000", "31/12/99 23:00", "2005-02-29 10:00",
    "2004-02-29 10:00 +0000", "10:00 +25:00 2005-04-07", "10:00 2005-04-07 +1:30", "May 5 10:00:00 2005",
    "Mar 1 2005 00:00:00 -0100", "2005-04-07 24:00:00", "2005-04-07 23:59:60 +0000",
]


@pytest.mark.parametrize("tz", ["UTC", "Europe/Berlin", "America/St_Johns"])
@pytest.mark.parametrize("date", DATES)
def test_dates_match_git(project, date: str, tz: str) -> None:
    env = {**os.environ, "TZ": tz, "GIT_AUTHOR_DATE": date}
    expected = git_ident(project.path, "author", env)
    if isinstance(expected, str):
        assert "invalid date format" in expected or "empty ident" in expected
        with pytest.raises(IdentityError, match=r"^GIT_AUTHOR_DATE: invalid date format"):
            ours(project.path, env)
        return
    author, _ = ours(project.path, env)
    if not date:  # empty means "now", as in git
        assert author.tz_offset_seconds == expected[2]
        return
    assert (author.timestamp, author.tz_offset_seconds) == expected[1:]


def test_future_dates_are_judged_against_now(project) -> None:
    # git refuses mm/dd/yy guesses more than ten days ahead; "now" is a parameter here
    soon = time.gmtime(time.time() + 20 * 86400)
    text = f"{soon.tm_mon:02d}/{soon.tm_mday:02d}/{soon.tm_year % 100:02d} 10:00 +0000"
    env = {**os.environ, "GIT_AUTHOR_DATE": text}
    expected = git_ident(project.path, "author", env)
    mine = parse_git_date(text, int(time.time()))
    assert (mine is None) == isinstance(expected, str)
    if mine is not None and not isinstance(expected, str):
        assert mine == (expected[1], expected[2] // 60)


@pytest.mark.parametrize("tz", ["UTC", "Asia/Kolkata", "America/St_Johns", "Europe/Berlin", "Pacific/Chatham"])
def test_default_date_uses_local_offset(project, tz: str) -> None:
    assert_same_as_git(project.path, {**os.environ, "TZ": tz})


def test_committer_date_is_separate(project) -> None:
    env = {**os.environ, "GIT_COMMITTER_DATE": "@1000000000 +0100"}
    author, committer = assert_same_as_git(project.path, env)
    assert (committer.timestamp, committer.tz_offset_seconds) == (1000000000, 3600)
    assert author.timestamp != committer.timestamp


def test_unparseable_committer_date_names_the_variable(project) -> None:
    with pytest.raises(IdentityError, match="^GIT_COMMITTER_DATE: invalid date format: 'next tuesday'"):
        ours(project.path, {**os.environ, "GIT_COMMITTER_DATE": "next tuesday"})


def test_matches_a_real_git_commit(project, bare_env: dict[str, str]) -> None:
    git(project.path, "config", "user.name", "Real Commit")
    git(project.path, "config", "committer.email", "rc@example.test")
    env = {**bare_env, "EMAIL": "fallback@example.test", "TZ": "Asia/Kolkata",
           "GIT_AUTHOR_DATE": "2005-04-07T22:13:13"}
    author, committer = ours(project.path, env)
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "probe"], cwd=project.path, env=env, check=True)
    headers = dict(
        line.split(" ", 1) for line in git(project.path, "cat-file", "-p", "HEAD").splitlines()[:4]
        if line.startswith(("author ", "committer "))
    )
    assert headers["author"] == author.ident_bytes().decode()
    name_email, stamp, tz = headers["committer"].rsplit(" ", 2)
    assert name_email.encode() == committer.signature_bytes()
    assert tz == committer.ident_bytes().decode().rsplit(" ", 1)[1]
    assert abs(int(stamp) - committer.timestamp) <= 2
