"""The suggested bump, on histories built with the git binary (which is also the oracle for counts)."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path

import pytest

from support import fast_commits, git
from directive_release.errors import ReleaseError
from directive_release.git.history import BATCH
from directive_release.settings import Settings
from directive_release.git.repo import discover, read_head
from directive_release.suggest import Suggestion, automatic_part, classify, suggest_part

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

    def fast_commits(self, messages: list[str], branch: str = "main") -> str:
        """Empty commits on top of ``branch`` through ``git fast-import``: thousands a second."""
        return fast_commits(self.path, messages, branch, clock=_clock)

    def rev_list_count(self, spec: str, *flags: str) -> int:
        return int(git(self.path, "rev-list", "--count", *flags, spec).strip())

    def suggest(self, version: str = "0.4.1", settings: Settings | None = None, seconds: float = 60.0) -> Suggestion:
        # A generous budget: the bound is tested with seconds=0, never with a guess at a machine's speed.
        repo = discover(self.path)
        return suggest_part(repo, read_head(repo).commit, settings or Settings(), version, seconds=seconds)


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


# Changed by issue 14: a merge commit used to be counted apart whatever its subject. Now a
# merge whose own subject is a Conventional Commit counts (teams that merge with the PR title);
# only git's and GitHub's default merge texts are counted apart.
@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("feat: merged via a merge commit", "feat"),
        ("fix(api)!: merged with a breaking title (#12)", "breaking"),
        ("docs: merged docs (#13)", "other"),
        ("Merge branch 'topic'", "merge"),
        ("Merge branch 'topic' into main", "merge"),
        ("Merge branches 'a' and 'b'", "merge"),
        ("Merge remote-tracking branch 'origin/topic'", "merge"),
        ("Merge tag 'v1.2.3'", "merge"),
        ("Merge commit 'abc1234'", "merge"),
        ("Merge branch 'main' of https://github.com/acme/widget", "merge"),
        ("Merge pull request #12 from acme/topic", "merge"),
        ("Merge pull request #12 from acme/topic\n\nfeat: the PR's title, in the body", "merge"),
        ("Merge 1234567890abcdef1234567890abcdef12345678 into fedcba0987654321fedcba0987654321fedcba09", "merge"),
        ("Merged in feature/x (pull request #4)", "merge"),
        ("Release the kraken", "unconventional"),  # not a default text: a commit like any other
    ],
)
def test_merge_commits_count_by_their_own_subject_unless_default_text(message: str, kind: str) -> None:
    assert classify(message, 2) == kind


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("docs: a\n\nfeat: a body line is never a header", "other"),
        ("Update the readme\n\nfix: nor here", "unconventional"),
        ("\nfeat: a subject is the first line", "unconventional"),
        ("FIX: upper case", "fix"),
        ("Perf(db): mixed case", "perf"),
    ],
)
def test_only_the_subject_is_a_header_and_types_ignore_case(message: str, kind: str) -> None:
    assert classify(message, 1) == kind


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


# Changed by issue 14: a reachable tag used to win over a newer release commit, so the commits
# of a release merged but not yet tagged were counted again. The newest release now wins.
def test_a_newer_release_commit_wins_over_an_older_tag(history: History) -> None:
    history.commit("initial")
    history.tag("v0.4.0")
    release = history.commits("feat: a", "chore(release): v0.4.1")
    history.commit("fix: b")
    result = history.suggest()
    assert result.since == f'"chore(release): v0.4.1" ({release[:7]})'
    assert history.rev_list_count(f"{release}..HEAD") == 1
    assert result.part == "patch" and result.commits == {"fix": 1}


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
    # git's default text (a merge is counted apart only with a default text since issue 14)
    git(history.path, "merge", "-q", "--no-ff", "-m", "Merge branch 'topic'", "topic",
        env={"GIT_AUTHOR_DATE": "@1600000000 +0000", "GIT_COMMITTER_DATE": "@1600000000 +0000"})
    result = history.suggest()
    assert history.rev_list_count("v0.4.1..HEAD", "--no-merges") == 2
    assert result.commits == {"feat": 1, "fix": 1, "merge": 1}


# Changed by issue 14: the walk was bounded by a count (COMMIT_LIMIT, 10,000); it is bounded
# by time now, the clock read every BATCH commits, so seconds=0 reads exactly one BATCH per walk.
def test_the_walk_is_bounded_and_says_so(history: History) -> None:
    history.commit("initial")
    git(history.path, "switch", "-q", "-c", "topic")
    history.fast_commits([f"fix: {n}" for n in range(BATCH + 40)], branch="topic")  # older than the tag, merged after it
    git(history.path, "switch", "-q", "main")
    history.commit("chore: tagged")
    history.tag("v0.4.1")
    history.merge("topic", "Merge branch 'topic'")
    assert history.rev_list_count("v0.4.1..HEAD") == BATCH + 41
    assert history.suggest().commits == {"fix": BATCH + 40, "merge": 1}  # with time to read it all
    result = history.suggest(seconds=0)
    assert result.truncated and result.since == "v0.4.1"
    fixes = result.commits["fix"]
    assert 0 < fixes < BATCH + 40 and result.commits == {"fix": fixes, "merge": 1}
    assert result.reason.startswith(f"{fixes}+ commits and 1 merge since v0.4.1 (read only the newest ")
    assert f": {fixes} fix \u2192 patch" in result.reason
    with pytest.raises(ReleaseError, match="cannot choose the part: .*read only the newest"):
        automatic_part(result)


def test_a_release_beyond_the_bound_is_not_called_a_first_release(history: History) -> None:
    history.commit("initial")
    history.tag("v0.4.1")
    history.fast_commits([f"fix: {n}" for n in range(BATCH + 7)])
    result = history.suggest(seconds=0)
    assert result.truncated and result.since is None
    assert "first release" not in result.reason
    assert result.reason.startswith(
        f'{BATCH}+ commits (read only the newest {BATCH} in ')
    assert 's), no tag vX.Y.Z, no commit "chore(release): vX.Y.Z" among them' in result.reason
    assert history.suggest().since == "v0.4.1"  # with time, it is found


def test_bounded_walk_without_any_release(history: History) -> None:
    history.commit("initial")
    history.fast_commits([f"feat: {n}" for n in range(BATCH + 2)])
    result = history.suggest(seconds=0)
    assert result.truncated and result.since is None
    assert f"{BATCH}+ commits (read only the newest {BATCH} in " in result.reason and result.part == "minor"


def test_an_unreadable_history_degrades_to_patch(history: History) -> None:
    history.commits("initial", "feat: a")
    history.tag("v0.4.1", target="HEAD~1")
    parent = git(history.path, "rev-parse", "HEAD~1").strip()
    # remove the parent object: the walk cannot continue past HEAD
    (history.path / ".git" / "objects" / parent[:2] / parent[2:]).unlink()
    result = history.suggest()
    assert result.part == "patch"
    assert result.reason.startswith("could not read the history")


# --- issue 14: which commit is the last release --------------------------------------------


def test_a_squash_merged_release_pr_not_yet_tagged_is_the_last_release(history: History) -> None:
    history.commit("initial")
    history.tag("v0.4.0")
    history.commits("feat: released in 0.4.1", "fix: released too")
    release = history.commit("chore(release): v0.4.1 (#12)")  # GitHub's squash merge of the release PR
    history.commits("fix: after the release", "docs: after the release")
    result = history.suggest()
    assert result.since == f'"chore(release): v0.4.1 (#12)" ({release[:7]})'
    assert sum(result.commits.values()) == history.rev_list_count(f"{release}..HEAD") == 2
    assert result.part == "patch" and result.commits == {"fix": 1, "other": 1}


def test_a_merged_release_branch_not_yet_tagged_is_the_last_release(history: History) -> None:
    history.commit("initial")
    history.tag("v0.4.0")
    history.commit("feat: released in 0.4.1")
    git(history.path, "switch", "-q", "-c", "release/v0.4.1")
    history.commit("chore(release): v0.4.1")
    git(history.path, "switch", "-q", "main")
    history.commit("feat: landed while the release PR was open")
    merge = history.merge("release/v0.4.1", "Merge pull request #12 from acme/release/v0.4.1")
    history.commit("fix: after the release")
    result = history.suggest()
    assert result.since == f'"Merge pull request #12 from acme/release/v0.4.1" ({merge[:7]})'
    assert history.rev_list_count(f"{merge}..HEAD") == 1
    assert result.commits == {"fix": 1} and result.part == "patch"


@pytest.mark.parametrize("text", ["Merge branch 'release/v0.4.1'", "Merge branch 'release/v0.4.1' into 'main'",
                                  "Merge remote-tracking branch 'origin/release/v0.4.1'"])
def test_git_and_gitlab_merge_texts_of_a_release_branch(history: History, text: str) -> None:
    history.commit("initial")
    history.tag("v0.4.0")
    git(history.path, "switch", "-q", "-c", "side")
    history.commit("feat: on a branch whose name says nothing")
    git(history.path, "switch", "-q", "main")
    merge = history.merge("side", text)
    history.commit("fix: after")
    result = history.suggest()
    assert result.since == f'"{text}" ({merge[:7]})' and result.commits == {"fix": 1}


def test_a_merge_whose_second_parent_is_a_release_commit(history: History) -> None:
    history.commit("initial")
    history.tag("v0.4.0")
    git(history.path, "switch", "-q", "-c", "prepare")
    history.commit("chore(release): v0.4.1")
    git(history.path, "switch", "-q", "main")
    history.commit("feat: landed meanwhile")
    merge = history.merge("prepare", "Ship it")  # any text: the second parent is the release
    history.commit("fix: after")
    result = history.suggest()
    assert result.since == f'"Ship it" ({merge[:7]})'
    assert result.commits == {"fix": 1}


def test_a_merge_on_the_release_branch_is_not_a_release(history: History) -> None:
    # main merged into a branch whose own first parent is the release commit: the second parent
    # is main's commit, not a release, so only the release commit itself counts.
    history.commit("initial")
    history.tag("v0.4.0")
    git(history.path, "switch", "-q", "-c", "other")
    history.commit("feat: on other")
    git(history.path, "switch", "-q", "main")
    release = history.commit("chore(release): v0.4.1")
    history.merge("other", "Merge branch 'other'")
    result = history.suggest()
    assert result.since == f'"chore(release): v0.4.1" ({release[:7]})'
    assert result.commits == {"feat": 1, "merge": 1}
    assert history.rev_list_count(f"{release}..HEAD") == 2


def test_a_tag_on_the_newest_release_wins_its_name(history: History) -> None:
    history.commit("initial")
    release = history.commit("chore(release): v0.4.1")
    history.tag("v0.4.1")
    history.commit("feat: b")
    result = history.suggest()
    assert result.since == "v0.4.1"  # the tag names it; the release commit is the same commit
    assert history.rev_list_count(f"{release}..HEAD") == 1 and result.commits == {"feat": 1}


# --- issue 14: which commits count -----------------------------------------------------------


def test_only_commits_without_semver_effect_mean_nothing_to_release(history: History) -> None:
    history.commit("initial")
    history.tag("v0.4.1")
    git(history.path, "switch", "-q", "-c", "topic")
    history.commits("docs: a", "ci: b")
    git(history.path, "switch", "-q", "main")
    history.commits("Docs: case does not matter", "chore: c", "test: d", "build: e", "style: f")
    history.merge("topic", "Merge pull request #3 from acme/topic\n\nfeat: a body line is not a header")
    result = history.suggest()
    assert history.rev_list_count("v0.4.1..HEAD", "--no-merges") == 7
    assert result.nothing_to_release and result.part == "patch"
    assert result.no_effect == {"docs": 2, "ci": 1, "chore": 1, "test": 1, "build": 1, "style": 1}
    assert result.reason == ("7 commits and 1 merge since v0.4.1, all docs/build/chore/ci/style/test"
                             " \u2192 nothing to release (patch preselected)")
    with pytest.raises(ReleaseError) as refused:
        automatic_part(result)
    assert str(refused.value) == ("nothing to release since v0.4.1: 7 commits and 1 merge,"
                                  " all docs/build/chore/ci/style/test")


@pytest.mark.parametrize("change", ["refactor: r", "revert: r", "Reword the readme", "perf: p"])
def test_one_change_among_commits_without_effect_is_a_release(history: History, change: str) -> None:
    history.commit("initial")
    history.tag("v0.4.1")
    history.commits("docs: a", change, "ci: b")
    result = history.suggest()
    assert not result.nothing_to_release and result.part == "patch"
    assert "nothing to release" not in result.reason


def test_a_merge_with_a_conventional_subject_counts(history: History) -> None:
    history.commit("initial")
    history.tag("v0.4.1")
    git(history.path, "switch", "-q", "-c", "topic")
    history.commits("docs: describe the thing", "test: cover the thing")
    git(history.path, "switch", "-q", "main")
    history.merge("topic", "feat: the thing (#7)")  # merged with the PR's title as the message
    result = history.suggest()
    assert result.commits == {"feat": 1, "other": 2}
    assert result.part == "minor" and not result.nothing_to_release
    assert result.reason == "3 commits since v0.4.1: 1 feat, 2 other \u2192 minor"


def test_no_commits_since_the_release_refuses_auto(history: History) -> None:
    history.commit("feat: a")
    history.tag("v0.4.1")
    result = history.suggest()
    assert result.nothing_to_release
    with pytest.raises(ReleaseError, match=r"^nothing to release since v0\.4\.1: no commits$"):
        automatic_part(result)


def test_auto_takes_the_suggestion_and_refuses_without_one(history: History) -> None:
    history.commit("initial")
    history.tag("v0.4.1")
    history.commits("fix: a", "feat: b")
    assert automatic_part(history.suggest()) == "minor"
    history.commit("feat!: c")
    assert automatic_part(history.suggest("1.2.0")) == "major"
    (history.path.parent / "other").mkdir()
    other = History(history.path.parent / "other")
    other.commit("initial")
    other.tag("v0.4.1")
    other.commits("Add a thing", "Fix another")
    with pytest.raises(ReleaseError, match="cannot choose the part: 2 commits since v0.4.1, none in Conventional"):
        automatic_part(other.suggest())


# --- issue 14: how far the walk goes ---------------------------------------------------------


@pytest.mark.slow  # ~2 s to build and read; more on a loaded machine
def test_twenty_thousand_commits_since_the_tag(history: History) -> None:
    history.commit("initial")
    history.tag("v0.4.1")
    kinds = ("fix", "docs", "chore", "feat", "refactor")
    history.fast_commits([f"{kinds[n % 5]}: change {n}" for n in range(20_000)])
    assert history.rev_list_count("v0.4.1..HEAD") == 20_000
    result = history.suggest()
    assert result.since == "v0.4.1" and not result.truncated
    assert result.commits == {"fix": 4000, "other": 12000, "feat": 4000}
    assert result.reason == "20,000 commits since v0.4.1: 4,000 feat, 4,000 fix, 12,000 other \u2192 minor"


def test_read_alike_from_loose_objects_packs_and_commit_deltas(history: History) -> None:
    history.commit("initial")
    history.tag("v0.4.1")
    git(history.path, "switch", "-q", "-c", "topic")
    body = "".join(f"Line {n} of a long body that packs well as a delta.\n" for n in range(60))
    history.commits(*(f"{'feat' if n % 3 == 0 else 'docs'}: topic {n}\n\n{body}" for n in range(30)))
    git(history.path, "switch", "-q", "main")
    history.commits(*(f"fix: main {n}\n\n{body}" for n in range(30)))
    history.merge("topic", "Merge branch 'topic'")
    history.commits("perf: last")
    loose = history.suggest()
    git(history.path, "repack", "-q", "-a", "-d", "-f", "--window=50", "--depth=50")
    pack = next((history.path / ".git" / "objects" / "pack").glob("*.idx"))
    listing = git(history.path, "verify-pack", "-v", str(pack))
    commit_deltas = [line for line in listing.splitlines() if " commit " in line and len(line.split()) >= 7]
    assert commit_deltas, "the repack should have stored some commits as deltas"
    packed = history.suggest()
    assert loose == packed
    assert packed.commits == {"feat": 10, "other": 20, "fix": 30, "perf": 1, "merge": 1}
    assert sum(packed.commits.values()) == history.rev_list_count("v0.4.1..HEAD")


def test_a_shallow_clone_without_the_release_says_so(history: History, tmp_path: Path) -> None:
    history.commit("initial")
    history.tag("v0.4.1")
    history.commits(*(f"fix: {n}" for n in range(6)))
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "3", "--no-tags", history.path.as_uri(), str(clone))
    repo = discover(clone)
    result = suggest_part(repo, read_head(repo).commit, Settings(), "0.4.1", seconds=60)
    assert result.shallow and result.since is None
    assert "shallow clone" in result.reason and "first release" not in result.reason
    with pytest.raises(ReleaseError, match="cannot choose the part: 3 commits in this shallow clone"):
        automatic_part(result)


def test_a_commit_in_another_encoding_is_read_as_git_shows_it(history: History) -> None:
    history.commit("initial")
    history.tag("v0.4.1")
    message = "feat: caf\u00e9 cr\u00e8me".encode("iso-8859-1")
    (history.path / "message").write_bytes(message)
    git(history.path, "-c", "i18n.commitEncoding=ISO-8859-1", "commit", "-q", "--allow-empty", "-F", "message")
    assert git(history.path, "log", "-1", "--format=%s").strip() == "feat: caf\u00e9 cr\u00e8me"
    assert history.suggest().commits == {"feat": 1}


def test_a_corrupt_pack_degrades_to_patch(history: History) -> None:
    history.commit("initial")
    history.tag("v0.4.1")
    history.commits("feat: a", "fix: b", "fix: c")
    git(history.path, "gc", "-q")
    pack = next((history.path / ".git" / "objects" / "pack").glob("*.pack"))
    middle = git(history.path, "rev-parse", "HEAD~1").strip()
    offset = next(int(line.split()[4]) for line in git(history.path, "verify-pack", "-v", str(pack.with_suffix(".idx"))).splitlines()
                  if line.startswith(middle))
    data = bytearray(pack.read_bytes())
    for at in range(offset + 4, offset + 12):  # inside the object's deflated data
        data[at] ^= 0xFF
    pack.chmod(0o644)
    pack.write_bytes(bytes(data))
    assert subprocess.run(["git", "log"], cwd=history.path, capture_output=True).returncode != 0  # git fails too
    result = history.suggest()
    assert result.part == "patch" and result.unreadable
    assert result.reason.startswith("could not read the history (")
    with pytest.raises(ReleaseError, match="cannot choose the part: could not read the history"):
        automatic_part(result)


def test_a_sha256_repository_packed_and_loose(tmp_path: Path) -> None:
    path = tmp_path / "sha256"
    git(tmp_path, "init", "-q", "--object-format=sha256", "-b", "main", str(path))
    for message in ("initial",):
        git(path, "commit", "-q", "--allow-empty", "-m", message)
    git(path, "tag", "-a", "-m", "release", "v0.4.1")
    git(path, "commit", "-q", "--allow-empty", "-m", "fix: a")
    git(path, "switch", "-q", "-c", "topic")
    git(path, "commit", "-q", "--allow-empty", "-m", "feat: b")
    git(path, "switch", "-q", "main")
    git(path, "merge", "-q", "--no-ff", "-m", "Merge branch 'topic'", "topic")
    git(path, "gc", "-q")  # packed, annotated tag peeled in packed-refs
    git(path, "commit", "-q", "--allow-empty", "-m", "perf: loose")
    repo = discover(path)
    assert repo.object_format == "sha256"
    result = suggest_part(repo, read_head(repo).commit, Settings(), "0.4.1", seconds=60)
    assert int(git(path, "rev-list", "--count", "v0.4.1..HEAD")) == 4
    assert result.since == "v0.4.1" and result.commits == {"perf": 1, "feat": 1, "fix": 1, "merge": 1}


@pytest.mark.parametrize("template", ["{version} released", "Release {version}", "\u00e9dition {version}"])
def test_release_commit_templates_wherever_the_version_sits(history: History, template: str) -> None:
    history.commit("initial")
    subject = template.format(version="0.4.1")
    release = history.commit(subject)
    history.commit("feat: b")
    result = history.suggest(settings=Settings(commit_message=template))
    assert result.since == f'"{subject}" ({release[:7]})' and result.commits == {"feat": 1}
