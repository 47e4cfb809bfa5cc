"""Help, the picker and the plan in real pseudo-terminals of 80 and 120 columns.

Nothing may be wider than the terminal (it would wrap there, inside a word), nor
wider than 100 columns; and wrapping may only move words, never cut one: the
words printed, in order, are exactly the words of the same text unwrapped.
"""

from __future__ import annotations

import io
import os
import re
import sys
from collections.abc import Callable
from contextlib import redirect_stdout
from pathlib import Path

import pexpect
import pytest

from support import Project, run_cli
from directive_release import helptext
from directive_release.output import colour_enabled

BIN = Path(sys.executable).parent
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
CURSOR_POSITION_REQUEST = "\x1b[6n"
WIDTHS = [80, 120]


def _environment(**extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in ("COLUMNS", "LINES")}
    env["TERM"] = "xterm"
    env.update(extra)
    return env


def _in_terminal(argv: list[str], columns: int, cwd: Path | None = None) -> str:
    child = pexpect.spawn(argv[0], argv[1:], cwd=str(cwd) if cwd else None, env=_environment(),
                          dimensions=(40, columns), encoding="utf-8", timeout=60)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    return child.before


def _unwrapped(run: Callable[[], object], monkeypatch: pytest.MonkeyPatch) -> str:
    """The same help, rendered in-process as wide as it wants (no wrapping at all)."""
    monkeypatch.setattr(helptext, "help_width", lambda columns=None: 100_000)
    out = io.StringIO()
    with redirect_stdout(out):
        try:
            run()
        except SystemExit as exc:
            assert not exc.code
    return out.getvalue()


def _main_help() -> None:
    from directive_release.cli import main

    main(["--help"])


def _init_help() -> None:
    from directive_release.cli import main

    main(["init", "--help"])


def _check_help() -> None:
    from directive_release.check import main

    main(["--help"])


def _ci_help(*command: str) -> Callable[[], None]:
    def run() -> None:
        from directive_release.ci.commands import main

        main([*command, "--help"])

    return run


HELPS = {
    "directive-release": (["directive-release", "--help"], _main_help),
    "init": (["directive-release", "init", "--help"], _init_help),
    "check": (["directive-release-check", "--help"], _check_help),
    "ci": (["directive-release-ci", "--help"], _ci_help()),
    "ci published": (["directive-release-ci", "published", "--help"], _ci_help("published")),
    "ci github-release": (["directive-release-ci", "github-release", "--help"], _ci_help("github-release")),
}


@pytest.mark.parametrize("columns", WIDTHS)
@pytest.mark.parametrize("name", list(HELPS))
def test_help_fits_the_terminal_and_breaks_no_word(name: str, columns: int,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    argv, in_process = HELPS[name]
    shown = _in_terminal([str(BIN / argv[0]), *argv[1:]], columns)
    lines = shown.replace("\r\n", "\n").splitlines()
    too_wide = [line for line in lines if len(line) > min(columns, helptext.MAX_WIDTH) - 1]
    assert not too_wide, too_wide
    unwrapped = _unwrapped(in_process, monkeypatch)
    assert shown.split() == unwrapped.split()  # only whitespace moved: no word, no command cut
    assert "directive-/release" not in shown and "bra/nch" not in shown
    # and the help ends with its examples
    assert "Example" in shown.rsplit("\n\n", 1)[-1] or "Example" in shown.rsplit("\n\n", 2)[-2]
    if columns == 120:  # wide enough: the 100-column limit itself is what wraps
        assert max(len(line) for line in lines) > 80


def test_help_width_is_capped_and_floored() -> None:
    assert helptext.help_width(80) == 79
    assert helptext.help_width(300) == helptext.MAX_WIDTH - 1
    assert helptext.help_width(5) == 20


def test_wrap_keeps_hyphenated_words_and_quoted_commands_whole() -> None:
    text = "e.g. `directive-release patch --yes --base-branch 1.x` on a maintenance branch MAJOR.MINOR.PATCH"
    for width in range(12, 60):
        lines = helptext.wrap(text, width)
        assert " ".join(lines).split() == text.split()
        assert any("`directive-release patch --yes --base-branch 1.x`" in line for line in lines)
        assert any("MAJOR.MINOR.PATCH" in line for line in lines)


# --- the picker -----------------------------------------------------------------------------------


def _long_history(project: Project) -> None:
    """No release tag: the suggestion then explains itself at length."""
    for message in ("fix: a", "feat: b", "docs: c", "chore: d", "refactor: e", "perf: f", "test: g",
                    "build: h", "ci: i", "style: j", "revert: k", "update things"):
        project.git("commit", "-q", "--allow-empty", "-m", message)
    project.git("push", "-q", "origin", "main")


def _picker(project: Project, columns: int, **env: str) -> str:
    child = pexpect.spawn(sys.executable, ["-m", "directive_release", "--dry-run"], cwd=str(project.path),
                          env=_environment(**env), dimensions=(24, columns), encoding="utf-8", timeout=60)
    seen = ""
    while child.expect_exact([CURSOR_POSITION_REQUEST, "to cancel)"]) == 0:
        seen += child.before
        child.send("\x1b[1;1R")
    seen += child.before + child.after
    child.send("\x03")
    child.expect(pexpect.EOF)
    seen += child.before
    child.close()
    assert child.exitstatus == 130, seen
    return seen


def _suggestion(project: Project) -> str:
    from directive_release.git.repo import discover, read_head
    from directive_release.pyproject import read
    from directive_release.suggest import suggest_part

    repo = discover(project.path)
    pyproject = read(repo.worktree, display_root=repo.worktree)
    return "Suggestion: " + suggest_part(repo, read_head(repo).commit, pyproject.settings, pyproject.version).reason


@pytest.mark.parametrize("columns", WIDTHS)
def test_picker_fits_the_terminal_and_breaks_no_word(project: Project, columns: int) -> None:
    _long_history(project)
    expected = _suggestion(project)
    assert len(expected) > 80  # long enough to need wrapping at 80 columns
    shown = _picker(project, columns)
    before_prompt = ANSI.split(shown, maxsplit=1)[0]
    printed = [line for line in before_prompt.replace("\r\n", "\n").split("\n") if line]
    assert all(len(line) < columns for line in printed), printed
    assert " ".join(printed).split() == expected.split()
    plain = ANSI.sub("", shown)
    for line in ("Bump which part? (arrow keys, Enter to choose, Esc or Ctrl-C to cancel)",
                 "patch  0.4.1 \u2192 0.4.2", "minor  0.4.1 \u2192 0.5.0  (suggested)", "major  0.4.1 \u2192 1.0.0"):
        assert line in plain


@pytest.mark.parametrize(("env", "emphasis"), [({}, True), ({"NO_COLOR": "1"}, False),
                                                ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, False)])
def test_picker_emphasis_follows_no_color(project: Project, env: dict[str, str], emphasis: bool,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    shown = _picker(project, 80, **env)
    reverse_or_bold = re.search(r"\x1b\[[0-9;]*(?<![0-9])[17]m", shown)
    assert (reverse_or_bold is not None) is emphasis, repr(shown[-600:])
    assert "\u00bb patch" in ANSI.sub("", shown)  # the pointer still marks the choice


@pytest.mark.parametrize(
    ("environ", "expected"),
    [({"FORCE_COLOR": "1"}, True), ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),
     ({"FORCE_COLOR": ""}, False), ({"FORCE_COLOR": "1", "TERM": "dumb"}, True)],
)
def test_force_color_on_a_pipe(environ: dict[str, str], expected: bool) -> None:
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd), os.fdopen(write_fd, "w") as pipe:
        assert colour_enabled(pipe, environ) is expected


def test_force_color_colours_a_piped_plan(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    forced = run_cli("patch", "--dry-run", cwd=project.path, env={"FORCE_COLOR": "1"})
    assert forced.returncode == 0, forced.stderr
    assert "\x1b[1mRelease 0.4.1 \u2192 0.4.2:\x1b[0m" in forced.stdout
    plain = run_cli("patch", "--dry-run", cwd=project.path, env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert "\x1b[" not in plain.stdout


# --- the plan -------------------------------------------------------------------------------------


@pytest.mark.parametrize("columns", WIDTHS)
def test_plan_fits_the_terminal_and_breaks_no_word(project: Project, columns: int) -> None:
    piped = run_cli("patch", "--dry-run", cwd=project.path)
    assert piped.returncode == 0, piped.stderr
    assert max(len(line) for line in piped.stdout.splitlines()) > 80  # a pipe is never wrapped
    shown = ANSI.sub("", _in_terminal([sys.executable, "-m", "directive_release", "patch", "--dry-run"], columns,
                                      cwd=project.path))
    lines = shown.replace("\r\n", "\n").splitlines()
    # only a word longer than the terminal itself (the remote's long file:// URL here) may overflow
    assert all(len(line) < columns or len(line.split()) == 1 for line in lines), lines
    assert any(len(line) > 60 for line in lines)
    assert shown.split() == piped.stdout.split()
