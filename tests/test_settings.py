import pytest

from directive_release.settings import Settings, settings_from_table
from directive_release.errors import ConfigError
from directive_release.refname import ref_name_problem


def test_defaults_match_the_design() -> None:
    settings = settings_from_table(None)
    assert settings == Settings()
    assert settings.branch_for("1.2.3") == "release/v1.2.3"
    assert settings.tag_for("1.2.3") == "v1.2.3"
    assert settings.message_for("1.2.3") == "chore(release): v1.2.3"
    assert settings.remote == "origin" and settings.base_branch == "main"
    assert settings.untracked_blocks is False


def test_every_key_can_be_set() -> None:
    settings = settings_from_table({
        "remote": "up", "base-branch": "trunk", "branch-prefix": "rel/", "tag-format": "release-{version}",
        "commit-message": "release {version}", "untracked-blocks": True,
    })
    assert settings.branch_for("2.0.0") == "rel/2.0.0"
    assert settings.tag_for("2.0.0") == "release-2.0.0"
    assert settings.message_for("2.0.0") == "release 2.0.0"
    assert settings.untracked_blocks is True and settings.base_branch == "trunk"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"remotes": "x"}, "unknown key 'remotes'"),
        ({"remote": 1}, "remote must be a string"),
        ({"untracked-blocks": "yes"}, "untracked-blocks must be a boolean"),
        ({"tag-format": "v"}, "must contain {version}"),
        ({"commit-message": "{version} {other}"}, "not a valid template"),
        ({"remote": ""}, "must not be empty"),
    ],
)
def test_bad_settings_list_valid_keys(table: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_table(table)
    assert message in str(info.value)


@pytest.mark.parametrize(
    "name",
    ["refs/heads/release/v1..2", "refs/heads/a b", "refs/heads/x.lock", "refs/heads/.x", "refs/heads/x~1",
     "refs/heads/x^", "refs/heads/a:b", "refs/heads/a?", "refs/heads/a*", "refs/heads/a[", "refs/heads/a\\b",
     "refs/heads/a@{1}", "refs/heads/a/", "refs/heads//a", "refs/heads/a.", "refs/heads/\x01"],
)
def test_bad_ref_names_agree_with_git(name: str) -> None:
    import subprocess

    assert ref_name_problem(name) is not None
    assert subprocess.run(["git", "check-ref-format", name]).returncode != 0


@pytest.mark.parametrize("name", ["refs/heads/release/v1.2.3", "refs/tags/v1.2.3", "refs/heads/rel-1/x_y"])
def test_good_ref_names_agree_with_git(name: str) -> None:
    import subprocess

    assert ref_name_problem(name) is None
    assert subprocess.run(["git", "check-ref-format", name]).returncode == 0


def test_version_files_are_kept_as_written() -> None:
    entries = ["src/pkg/__init__.py", 'docs/conf.py:^release = "(?P<version>[^"]+)"']
    assert settings_from_table({"version-files": entries}).version_files == tuple(entries)
    assert settings_from_table(None).version_files == ()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (["a.py", "b/../a.py"], "lists a.py twice"),
        (["a.py:"], 'must be "path" or "path:regex"'),
        ([":x"], 'must be "path" or "path:regex"'),
        (["a.py:["], "the pattern of a.py is not a valid regular expression"),
        (["a.py:(\\d+)"], "the pattern of a.py has no (?P<version>...) group"),
        ("a.py", "must be a list of strings"),
        ([1], "must be a list of strings"),
        (["/abs.py"], "must be a path relative to the project"),
        (["a\\b.py"], "must be a path relative to the project"),
        (["a\n.py"], "control character"),
    ],
)
def test_bad_version_files(value: object, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_table({"version-files": value})
    assert message in str(info.value) and "\n" not in str(info.value)
