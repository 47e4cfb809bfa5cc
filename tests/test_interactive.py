"""The interactive release in a real pseudo-terminal: real keys in, the git binary checks the result."""

from __future__ import annotations

import os
import sys

import pexpect
import pytest

from support import Project, git

DOWN = "\x1b[B"
UP = "\x1b[A"
ENTER = "\r"
CTRL_C = "\x03"
ESC = "\x1b"
CURSOR_POSITION_REQUEST = "\x1b[6n"


class Terminal:
    """``directive-release`` running in a 24x80 xterm, driven by keystrokes."""

    def __init__(self, project: Project, *args: str) -> None:
        env = {**os.environ, "TERM": "xterm"}
        self.child = pexpect.spawn(sys.executable, ["-m", "directive_release", *args], cwd=str(project.path),
                                   env=env, dimensions=(24, 80), encoding="utf-8", timeout=60)
        self.seen = ""

    def _expect(self, pattern: str | type[pexpect.EOF]) -> None:
        """Wait for ``pattern``, answering cursor-position requests as xterm does meanwhile.

        prompt_toolkit asks where the cursor is (ESC [6n) and, unanswered, waits a
        second for the reply before it exits; a real terminal replies at once.
        """
        while self.child.expect_exact([CURSOR_POSITION_REQUEST, pattern]) == 0:
            self.seen += self.child.before
            self.child.send("\x1b[1;1R")
        self.seen += self.child.before + (self.child.after if isinstance(self.child.after, str) else "")

    def wait_for_choice(self) -> None:
        self._expect("Bump which part?")
        self._expect("to cancel)")  # the whole prompt is drawn: keys now reach it

    def wait_for_confirmation(self) -> None:
        self._expect("(y/N)")

    def press(self, keys: str) -> None:
        self.child.send(keys)

    def finish(self) -> tuple[int, str]:
        self._expect(pexpect.EOF)
        self.child.close()
        assert self.child.exitstatus is not None, f"killed by signal {self.child.signalstatus}"
        return self.child.exitstatus, self.seen


def assert_released(project: Project, new: str) -> None:
    branch = f"release/v{new}"
    assert project.git("symbolic-ref", "HEAD").strip() == f"refs/heads/{branch}"
    assert project.git("log", "--format=%s", f"main..{branch}").splitlines() == [f"chore(release): v{new}"]
    assert f'version = "{new}"' in project.git("show", f"{branch}:pyproject.toml")
    assert project.git("status", "--porcelain") == ""
    commit = project.git("rev-parse", branch).strip()
    assert git(project.remote, "rev-parse", f"refs/heads/{branch}").strip() == commit  # type: ignore[arg-type]


def assert_untouched(project: Project, before: dict[str, object], output: str) -> None:
    assert project.snapshot() == before
    assert "release/v" not in project.git("branch", "--list")
    assert "Traceback" not in output and "EOFError" not in output


@pytest.mark.parametrize(
    ("keys", "new"),
    [("", "0.4.2"), (DOWN, "0.5.0"), (DOWN + DOWN, "1.0.0"), (UP, "1.0.0")],
    ids=["patch-preselected", "minor-one-down", "major-two-down", "major-up-wraps"],
)
def test_choose_each_part_with_arrow_keys_and_accept(project: Project, keys: str, new: str) -> None:
    terminal = Terminal(project)
    terminal.wait_for_choice()
    terminal.press(keys + ENTER)
    terminal.wait_for_confirmation()
    terminal.press("y")
    code, output = terminal.finish()
    assert code == 0, output
    assert_released(project, new)
    # the list showed every part with the version it leads to, then the plan, then the result
    for line in ("patch  0.4.1 \u2192 0.4.2", "minor  0.4.1 \u2192 0.5.0", "major  0.4.1 \u2192 1.0.0"):
        assert line in output
    assert f"Release 0.4.1 \u2192 {new}:" in output
    assert f"Done: release/v{new} holds commit" in output


def test_suggestion_preselects_minor_and_enter_declines_by_default(project: Project) -> None:
    project.git("tag", "v0.4.1")
    for message in ("fix: a", "feat: b", "fix: c"):
        project.git("commit", "-q", "--allow-empty", "-m", message)
    before = project.snapshot()
    terminal = Terminal(project)
    terminal.wait_for_choice()
    terminal.press(ENTER)  # take the suggestion
    terminal.wait_for_confirmation()
    terminal.press(ENTER)  # the default answer is No
    code, output = terminal.finish()
    assert code == 1, output
    assert "Suggestion: 3 commits since v0.4.1: 1 feat, 2 fix \u2192 minor" in output
    assert "minor  0.4.1 \u2192 0.5.0  (suggested)" in output
    assert "Release 0.4.1 \u2192 0.5.0:" in output  # the plan of the suggested part
    assert "not released (you answered no); nothing was changed" in output
    assert_untouched(project, before, output)


def test_declining_with_n_changes_nothing(project: Project) -> None:
    before = project.snapshot()
    terminal = Terminal(project)
    terminal.wait_for_choice()
    terminal.press(DOWN + ENTER)
    terminal.wait_for_confirmation()
    terminal.press("n")
    code, output = terminal.finish()
    assert code == 1
    assert "not released (you answered no)" in output
    assert_untouched(project, before, output)


@pytest.mark.parametrize("key", [CTRL_C, ESC], ids=["ctrl-c", "esc"])
@pytest.mark.parametrize("prompt", ["choice", "confirmation"])
def test_cancel_at_each_prompt_exits_130_and_changes_nothing(project: Project, prompt: str, key: str) -> None:
    before = project.snapshot()
    terminal = Terminal(project)
    terminal.wait_for_choice()
    if prompt == "confirmation":
        terminal.press(ENTER)
        terminal.wait_for_confirmation()
    terminal.press(key)
    code, output = terminal.finish()
    assert code == 130, output
    assert "cancelled; nothing was changed" in output
    if prompt == "choice":
        assert "Release 0.4.1 \u2192" not in output  # no plan was made
    assert_untouched(project, before, output)


def test_part_without_yes_shows_the_plan_and_asks(project: Project) -> None:
    terminal = Terminal(project, "minor")
    terminal.wait_for_confirmation()
    terminal.press("y")
    code, output = terminal.finish()
    assert code == 0, output
    assert "Bump which part?" not in output
    assert "Release 0.4.1 \u2192 0.5.0:" in output and "create branch release/v0.5.0" in output
    assert output.index("create branch release/v0.5.0") < output.index("(y/N)")
    assert_released(project, "0.5.0")


def test_dry_run_without_part_asks_the_part_and_nothing_else(project: Project) -> None:
    before = project.snapshot()
    terminal = Terminal(project, "--dry-run")
    terminal.wait_for_choice()
    terminal.press(DOWN + DOWN + ENTER)
    code, output = terminal.finish()
    assert code == 0, output
    assert "Release 0.4.1 \u2192 1.0.0:" in output and "(y/N)" not in output
    assert_untouched(project, before, output)


def test_yes_skips_the_confirmation_but_not_the_choice(project: Project) -> None:
    terminal = Terminal(project, "--yes", "--no-push")
    terminal.wait_for_choice()
    terminal.press(DOWN + ENTER)
    code, output = terminal.finish()
    assert code == 0, output
    assert "(y/N)" not in output
    assert project.git("symbolic-ref", "HEAD").strip() == "refs/heads/release/v0.5.0"
    remote_branches = git(project.remote, "for-each-ref", "--format=%(refname)", "refs/heads")  # type: ignore[arg-type]
    assert remote_branches.split() == ["refs/heads/main"]  # --no-push: nothing was pushed


def test_unreleasable_repository_refused_before_the_question(project: Project) -> None:
    (project.path / "README.md").write_text("uncommitted\n")
    before = project.snapshot()
    terminal = Terminal(project)
    status, output = terminal.finish()
    assert status == 1
    assert "uncommitted changes (README.md)" in output
    assert "Bump which part?" not in output
    assert project.snapshot() == before


@pytest.mark.slow  # builds 20,000 commits (~2 s with git fast-import)
def test_suggestion_names_the_tag_20000_commits_back(project: Project) -> None:
    from test_part_auto import add_commits

    project.git("tag", "v0.4.1")
    kinds = ("fix", "docs", "feat", "chore")
    add_commits(project, *(f"{kinds[n % 4]}: change {n}" for n in range(20_000)))
    assert project.git("rev-list", "--count", "v0.4.1..HEAD").strip() == "20000"
    before = project.snapshot()
    terminal = Terminal(project)
    terminal.wait_for_choice()
    terminal.press(ESC)
    code, output = terminal.finish()
    assert code == 130, output
    assert "Suggestion: 20,000 commits since v0.4.1: 5,000 feat, 5,000 fix, 10,000 other \u2192 minor" in " ".join(
        output.split())  # wrapped to the 80-column terminal between words
    assert "minor  0.4.1 \u2192 0.5.0  (suggested)" in output
    assert_untouched(project, before, output)


def test_nothing_to_release_still_preselects_patch(project: Project) -> None:
    project.git("tag", "v0.4.1")
    for message in ("docs: a", "ci: b"):
        project.git("commit", "-q", "--allow-empty", "-m", message)
    terminal = Terminal(project, "--dry-run")
    terminal.wait_for_choice()
    terminal.press(ENTER)
    code, output = terminal.finish()
    assert code == 0, output
    # the line wraps to the 80-column terminal between words: compare the words
    assert "Suggestion: 2 commits since v0.4.1, all ci/docs \u2192 nothing to release (patch preselected)" in " ".join(
        output.split())
    assert "patch  0.4.1 \u2192 0.4.2  (suggested)" in output
    assert "Release 0.4.1 \u2192 0.4.2:" in output


def test_part_auto_in_a_terminal_shows_the_suggestion_the_plan_and_asks(project: Project) -> None:
    project.git("tag", "v0.4.1")
    for message in ("fix: a", "feat: b"):
        project.git("commit", "-q", "--allow-empty", "-m", message)
    terminal = Terminal(project, "--part", "auto")
    terminal.wait_for_confirmation()
    terminal.press("y")
    code, output = terminal.finish()
    assert code == 0, output
    assert "Bump which part?" not in output
    assert "Suggestion: 2 commits since v0.4.1: 1 feat, 1 fix \u2192 minor" in output
    assert output.index("Suggestion:") < output.index("Release 0.4.1 \u2192 0.5.0:") < output.index("(y/N)")
    assert_released(project, "0.5.0")


def test_release_off_the_base_branch_refused_before_the_question(project: Project) -> None:
    project.git("switch", "-q", "-c", "feature/x")
    before = project.snapshot()
    for args in (("--base-branch", "main"), ()):
        terminal = Terminal(project, *args)
        if not args:  # the base comes from the remote: known once the part is chosen, before any change
            terminal.wait_for_choice()
            terminal.press(ENTER)
        status, output = terminal.finish()
        assert status == 1, output
        assert "HEAD is on feature/x, not on the base branch main" in output
        assert ("Bump which part?" in output) is (not args)
        assert "(y/N)" not in output
        assert_untouched(project, before, output)
