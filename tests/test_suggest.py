"""The suggested bump, on histories built with the git binary (which is also the oracle for counts)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from support import git
from directive_release import suggest
from directive_release.settings import Settings
from directive_release.git.repo import discover, read_head
from directive_release.suggest import Suggestion, classify, suggest_part

_clock = itertools.count(1_700_000_000, 60)


class History:
    """A repository whose commits get increasing dates, as real history has."""

    def __init__(self, root: Path) -> None:
        self.path = root / "repo"
        self.path.mkdir()
        git(self.path, "init", "-q", "-b", "main")

    def commit(self, message: str, *, same_second: bool = False) -> str:
        stamp = str(next(_clock) if not same_second else 1_600_000_000)
        date = f"@{stamp} +0000"
        git(self.path, "commit", "-q", "--allow-empty", "-m", message,
            env={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date})
        return self.head()

    def commits(self, *messages: str) -> str:
        for message in messages:
            self.commit(message)
        return self.head()

    def head(self) -> str:
        return git(self.path, "rev-parse", "HEAD").strip()

    def tag(self, name: str, *, annotated: bool = False, target: str = "HEAD") -> None:
        if annotated:
            git(self.path, "tag", "-a", "-m", f"release {name}", name, target)
        else:
            git(self.path, "tag", name, target)

    def merge(self, branch: str, message: str) -> str:
        date = f"@{next(_clock)} +0000"
        git(self.path, "merge", "-q", "--no-ff", "-m", message, branch,
            env={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date})
        return self.head()

    def rev_list_count(self, spec: str, *flags: str) -> int:
        return int(git(self.path, "rev-list", "--count", *flags, spec).strip())

    def suggest(self, version: str = "0.4.1", settings: Settings | None = None) -> Suggestion:
        repo = discover(self.path)
        return suggest_part(repo, read_head(repo).commit, settings or Settings(), version)


@pytest.fixture
def history(tmp_path: Path) -> History:
    return History(tmp_path)


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("feat: add x", "feat"),
        ("feat(api): add x", "feat"),
        ("Feat: case does not matter for the type", "feat"),
        ("fix: y", "fix"),
        ("perf(db): faster", "perf"),
        ("docs: z", "other"),
        ("chore(release): v0.4.1", "other"),
        ("feat!: drop python 3.10", "breaking"),
        ("refactor(core)!: rename", "breaking"),
        ("fix: y\n\nBREAKING CHANGE: the config key moved", "breaking"),
        ("fix: y\n\nBREAKING-CHANGE: synonym", "breaking"),
        ("fix: y\n\nbreaking change: footers are case-sensitive", "fix"),
        ("feat:no space after the colon", "unconventional"),
        ("Add a feature", "unconventional"),
        ("feat add x", "unconventional"),
        ("Merge branch 'x'", "unconventional"),
    ],
)
def test_classify(message: str, kind: str) -> None:
    assert classify(message, 1) == kind


def test_merge_commits_are_counted_apart() -> None:
    assert classify("feat: merged via a merge commit", 2) == "merge"


def test_feat_and_fix_since_the_tag_suggest_minor(history: History) -> None:
    history.commits("feat: old feature before the release", "fix: old")
    history.tag("v0.4.1")
    history.commits("fix: a", "feat: b", "fix: c")
    result = history.suggest()
    assert result.part == "minor"
    assert result.reason == "3 commits since v0.4.1: 1 feat, 2 fix \u2192 minor"
    assert history.rev_list_count("v0.4.1..HEAD") == 3
    assert result.commits == {"fix": 2, "feat": 1}


def test_fix_and_perf_suggest_patch(history: History) -> None:
    history.commit("initial")
    history.tag("v0.4.1")
    history.commits("fix: a", "perf: b", "docs: c")
    result = history.suggest()
    assert result.part == "patch"
    assert result.reason == "3 commits since v0.4.1: 1 fix, 1 perf, 1 other \u2192 patch"


@pytest.mark.parametrize("breaking", ["feat!: new api", "fix(io): x\n\nBREAKING CHANGE: reads bytes now"])
def test_breaking_change_suggests_major_from_1_0_0(history: History, breaking: str) -> None:
    history.commit("initial")
    history.tag("v1.2.0")
    history.commits("fix: a", breaking)
    result = history.suggest("1.2.0")
    assert result.part == "major"
    assert result.reason == "2 commits since v1.2.0: 1 breaking, 1 fix \u2192 major"


def test_breaking_change_below_1_0_0_suggests_minor_and_says_why(history: History) -> None:
    history.commit("initial")
    history.tag("v0.4.1")
    history.commits("feat!: new api")
    result = history.suggest("0.4.1")
    assert result.part == "minor"
    assert "1 breaking" in result.reason
    assert "below 1.0.0" in result.reason and "major for 1.0.0" in result.reason


def test_no_conventional_commits_suggest_patch_and_say_so(history: History) -> None:
    history.commit("initial")
    history.tag("v0.4.1")
    history.commits("Add a thing", "Fix the other thing")
    result = history.suggest()
    assert result.part == "patch"
    assert not result.conventional
    assert result.reason.startswith("2 commits since v0.4.1, none in Conventional Commits form")
    assert result.reason.endswith("patch, no suggestion")


def test_merged_branch_commits_are_counted_like_git_rev_list(history: History) -> None:
    history.commit("initial")
    history.tag("v0.4.1")
    history.commit("fix: on main")
    git(history.path, "switch", "-q", "-c", "topic", "HEAD~1")  # branch off before the fix
    history.commits("feat: on the topic branch", "test: on the topic branch")
    git(history.path, "switch", "-q", "main")
    history.merge("topic", "Merge branch 'topic'")
    history.commit("fix: after the merge")
    result = history.suggest()
    assert history.rev_list_count("v0.4.1..HEAD", "--no-merges") == 4
    assert history.rev_list_count("v0.4.1..HEAD", "--merges") == 1
    assert result.commits == {"fix": 2, "feat": 1, "other": 1, "merge": 1}
    assert result.reason == "4 commits and 1 merge since v0.4.1: 1 feat, 2 fix, 1 other \u2192 minor"


def test_commits_of_a_merged_side_branch_older_than_the_tag_are_not_counted(history: History) -> None:
    history.commit("initial")
    git(history.path, "switch", "-q", "-c", "old-topic")
    history.commit("feat: made before the release, merged before it too")
    git(history.path, "switch", "-q", "main")
    history.merge("old-topic", "Merge branch 'old-topic'")
    history.tag("v0.4.1")
    history.commit("fix: after the release")
    result = history.suggest()
    assert history.rev_list_count("v0.4.1..HEAD") == 1
    assert result.part == "patch" and result.commits == {"fix": 1}


def test_a_tag_not_reachable_from_head_is_ignored(history: History) -> None:
    history.commit("initial")
    history.tag("v0.4.1")
    git(history.path, "switch", "-q", "-c", "experiment")
    history.commit("feat: only on the experiment")
    history.tag("v0.9.0")  # higher, newer, but not an ancestor of main
    git(history.path, "switch", "-q", "main")
    history.commits("fix: a")
    result = history.suggest()
    assert result.since == "v0.4.1"
    assert result.reason == "1 commit since v0.4.1: 1 fix \u2192 patch"


def test_the_highest_reachable_version_wins_over_the_newest_tag(history: History) -> None:
    history.commit("initial")
    history.tag("v0.4.1")
    history.commit("fix: a")
    history.tag("v0.3.9")  # a later tag with a lower version (e.g. a mistake): not the last release
    history.commit("feat: b")
    result = history.suggest()
    assert result.since == "v0.4.1"
    assert result.commits == {"fix": 1, "feat": 1}


def test_annotated_tags_are_peeled(history: History) -> None:
    history.commit("initial")
    history.tag("v0.4.1", annotated=True)
    history.commit("feat: b")
    result = history.suggest()
    assert result.since == "v0.4.1"
    assert result.reason == "1 commit since v0.4.1: 1 feat \u2192 minor"


def test_tags_that_do_not_match_the_format_are_ignored(history: History) -> None:
    history.commit("initial")
    history.tag("v0.4.1")
    history.commit("fix: a")
    history.tag("v0.5")  # not MAJOR.MINOR.PATCH
    history.tag("0.6.0")  # no v prefix
    history.tag("v0.7.0-rc.1")
    tree = git(history.path, "rev-parse", "HEAD^{tree}").strip()
    git(history.path, "tag", "v9.9.9", tree)  # a tag of a tree marks no release
    history.commit("feat: b")
    result = history.suggest()
    assert result.since == "v0.4.1"
    assert result.commits == {"fix": 1, "feat": 1}


def test_custom_tag_format_from_settings(history: History) -> None:
    history.commit("initial")
    history.tag("release-0.4.0")
    history.commit("fix: a")
    history.tag("v0.4.1")  # the default shape, ignored under a custom format
    history.commit("feat: b")
    result = history.suggest(settings=Settings(tag_format="release-{version}"))
    assert result.since == "release-0.4.0"
    assert result.commits == {"fix": 1, "feat": 1}


def test_release_commit_is_the_base_when_no_tag_exists(history: History) -> None:
    history.commits("initial", "feat: before")
    release = history.commit("chore(release): v0.4.1")
    history.commits("fix: a", "chore(release): v0.3.0-not-a-version", "fix: b")
    result = history.suggest()
    assert result.since == f'"chore(release): v0.4.1" ({release[:7]})'
    assert result.commits == {"fix": 2, "other": 1}
    assert result.part == "patch"


def test_squash_merged_release_commit_and_custom_message(history: History) -> None:
    history.commit("initial")
    release = history.commit("release 0.4.1 (#12)")
    history.commit("feat: b")
    result = history.suggest(settings=Settings(commit_message="release {version}"))
    assert result.since == f'"release 0.4.1 (#12)" ({release[:7]})'
    assert result.part == "minor"


def test_a_reachable_tag_wins_over_a_newer_release_commit(history: History) -> None:
    history.commit("initial")
    history.tag("v0.4.0")
    history.commits("feat: a", "chore(release): v0.4.1", "fix: b")
    result = history.suggest()
    assert result.since == "v0.4.0"
    assert result.part == "minor"


def test_first_release_counts_all_history(history: History) -> None:
    history.commits("initial", "feat: a")
    result = history.suggest()
    assert result.since is None and result.part == "minor"
    assert result.reason == (
        'first release (no tag vX.Y.Z, no commit "chore(release): vX.Y.Z"): 2 commits: 1 feat, 1 other \u2192 minor'
    )


def test_first_commit_only(history: History) -> None:
    history.commit("initial")
    result = history.suggest()
    assert result.part == "patch"
    assert result.reason.startswith("first release")
    assert "1 commit, none in Conventional Commits form" in result.reason


def test_nothing_since_the_tag(history: History) -> None:
    history.commit("feat: a")
    history.tag("v0.4.1")
    result = history.suggest()
    assert result.part == "patch"
    assert result.reason == "no commits since v0.4.1 \u2192 patch"


def test_same_second_commits_still_match_git(history: History) -> None:
    history.commit("initial", same_second=True)
    history.tag("v0.4.1")
    git(history.path, "switch", "-q", "-c", "topic")
    history.commit("feat: topic", same_second=True)
    git(history.path, "switch", "-q", "main")
    history.commit("fix: main", same_second=True)
    git(history.path, "merge", "-q", "--no-ff", "-m", "merge", "topic",
        env={"GIT_AUTHOR_DATE": "@1600000000 +0000", "GIT_COMMITTER_DATE": "@1600000000 +0000"})
    result = history.suggest()
    assert history.rev_list_count("v0.4.1..HEAD", "--no-merges") == 2
    assert result.commits == {"feat": 1, "fix": 1, "merge": 1}


def test_the_walk_is_bounded_and_says_so(history: History, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(suggest, "COMMIT_LIMIT", 5)
    history.commit("initial")
    git(history.path, "switch", "-q", "-c", "topic")
    history.commits(*(f"fix: {n}" for n in range(6)))  # older than the tag, merged after it
    git(history.path, "switch", "-q", "main")
    history.commit("chore: tagged")
    history.tag("v0.4.1")
    history.merge("topic", "Merge branch 'topic'")
    assert history.rev_list_count("v0.4.1..HEAD") == 7
    result = history.suggest()
    assert result.truncated and result.since == "v0.4.1"
    assert result.reason.startswith("4+ commits and 1 merge since v0.4.1 (read only the newest 5): 4 fix")


def test_a_release_beyond_the_bound_is_not_called_a_first_release(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(suggest, "COMMIT_LIMIT", 5)
    history.commit("initial")
    history.tag("v0.4.1")
    history.commits(*(f"fix: {n}" for n in range(7)))
    result = history.suggest()
    assert result.truncated and result.since is None
    assert "first release" not in result.reason
    assert result.reason.startswith('5+ commits (read only the newest 5), no tag vX.Y.Z, no commit "chore(release): vX.Y.Z"')


def test_bounded_walk_without_any_release(history: History, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(suggest, "COMMIT_LIMIT", 3)
    history.commits(*(f"feat: {n}" for n in range(5)))
    result = history.suggest()
    assert result.truncated and result.since is None
    assert "3+ commits (read only the newest 3)" in result.reason and result.part == "minor"


def test_an_unreadable_history_degrades_to_patch(history: History) -> None:
    history.commits("initial", "feat: a")
    history.tag("v0.4.1", target="HEAD~1")
    parent = git(history.path, "rev-parse", "HEAD~1").strip()
    # remove the parent object: the walk cannot continue past HEAD
    (history.path / ".git" / "objects" / parent[:2] / parent[2:]).unlink()
    result = history.suggest()
    assert result.part == "patch"
    assert result.reason.startswith("could not read the history")
