"""The ``directive-release`` command: argument parsing and the one error handler.

Imports stay light at module level (argparse only) so ``--help`` and
``--version`` are instant; the release machinery, and questionary, load only
when they are needed.
"""

from __future__ import annotations

import argparse
import os
import sys

# Not typing.TYPE_CHECKING, and pathlib only where used: --help and --version must
# start in a couple of milliseconds more than Python itself.
TYPE_CHECKING = False

from . import __version__
from .errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, Interrupted, ReleaseError, UsageError

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from .output import Console
    from . import release
    from .release import Outcome, Plan
    from .suggest import Suggestion
    from .version import Part

PROG = "directive-release"
ARROW = "\N{RIGHTWARDS ARROW}"  # printed as -> where the terminal cannot show it (output.Console)

DESCRIPTION = """\
Release a Python package: bump its version (MAJOR.MINOR.PATCH) wherever it lives (pyproject.toml
or the file the build backend reads, version-files, the project's entry in uv.lock), create branch
release/vX.Y.Z from the base branch, commit "chore(release): vX.Y.Z" there (those files only) and
push it, ready for a pull request into the base branch.

The base branch is --base-branch, else base-branch in [tool.directive-release], else the remote's
default branch (its HEAD), else refs/remotes/origin/HEAD, else init.defaultBranch, else main.

Every check runs before anything changes: a valid version, the same in every copy; HEAD on the base branch, not
behind the remote's (ahead is fine: the plan counts the unpushed commits); no merge or rebase in
progress; a clean tracked working tree; branch and tag absent locally and on the remote; a
committer identity. If a later step fails or is interrupted, the steps already done are undone in
reverse: the repository is left exactly as it was.
"""

EPILOG = """\
Exit codes:
  0    released (or, with --dry-run, every check passed)
  1    refused or failed, with one line saying why; nothing was changed. Also when you answer No at the confirmation ("not released").
  2    usage error: bad arguments; no part or no --yes without a terminal; --json without a part and --yes or --dry-run
  130  interrupted (Ctrl-C or SIGTERM; Ctrl-C or Esc at a prompt); everything done so far was undone

A refusal names its cause: an invalid or missing version or pyproject.toml, a bad
[tool.directive-release] setting, not a repository, a bare one, a detached or unborn HEAD, HEAD on
another branch than the base branch, the base branch behind or diverged from the remote's, a
merge or rebase in progress, uncommitted changes, a release branch or tag that exists (locally or
on the remote), a git lock held by another process, no committer identity, a hook or signing that
failed, a remote missing, unreachable or rejecting the push.

In a terminal with no part, the three choices are listed with the versions they lead to,
preselected on the part the Conventional Commits since the last release call for; then the plan
and one confirmation (default No). With --json, stdout holds exactly one JSON object on success
and nothing on failure; every message goes to stderr. Colour is used on a terminal only, never
with NO_COLOR set or TERM=dumb; FORCE_COLOR forces it.

Untracked files do not block a release unless --untracked-blocks (or untracked-blocks = true in
[tool.directive-release]) is given.

A release killed outright (SIGKILL, a power cut) cannot undo itself: it leaves a journal in
.git/directive-release/, the next run refuses and says so, and `directive-release --recover` undoes
what the release changed, keeping whatever you changed since (and saying so).

Examples:
  directive-release                          first release: choose the part, read the plan, confirm
  directive-release patch --yes              in CI or a script: no questions (0.4.1 -> 0.4.2)
  directive-release minor --dry-run          show the exact plan; change nothing
  directive-release patch --base-branch 1.x  a maintenance release from branch 1.x
  directive-release --recover                after a release was killed: put the repository back
  directive-release init                     set up the release workflow (Trusted Publishing); see init --help
"""


def build_parser() -> argparse.ArgumentParser:
    from .helptext import HelpFormatter

    parser = argparse.ArgumentParser(
        prog=PROG,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("part_positional", nargs="?", metavar="{major,minor,patch}",
                        help="which part to bump (same as --part); e.g. `directive-release patch`")
    parser.add_argument("--part", choices=("major", "minor", "patch", "auto"),
                        help="which part to bump: major 1.4.2->2.0.0, minor 1.4.2->1.5.0, patch 1.4.2->1.4.3;"
                             " auto: the part the Conventional Commits since the last release call for"
                             " (refused when there is nothing to release)")
    parser.add_argument("-y", "--yes", action="store_true",
                        help="do not ask for confirmation (required without a terminal), e.g. `patch --yes`")
    parser.add_argument("-n", "--dry-run", action="store_true",
                        help="run every check and print the exact plan; change nothing, not even under .git;"
                             " e.g. `minor --dry-run`")
    parser.add_argument("--no-push", action="store_true",
                        help="commit on the release branch but do not push (and skip the remote look-up);"
                             " e.g. `patch --yes --no-push`, then `git push -u origin release/v0.4.2`")
    parser.add_argument("--remote", metavar="NAME",
                        help="remote to check and push to (default: origin, or remote in [tool.directive-release]);"
                             " e.g. `patch --yes --remote upstream`")
    parser.add_argument("--base-branch", metavar="NAME",
                        help="the branch to release from, which the pull request then targets (default: base-branch"
                             " in [tool.directive-release], else the remote's default branch); for a maintenance"
                             " branch, e.g. `patch --yes --base-branch 1.x`")
    parser.add_argument("--untracked-blocks", action="store_true", default=None,
                        help="refuse to release while untracked, non-ignored files exist;"
                             " e.g. `patch --yes --untracked-blocks`")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object on stdout (messages go to stderr); needs the part and"
                             " --yes or --dry-run, e.g. `patch --yes --json`")
    parser.add_argument("--recover", action="store_true",
                        help="undo a release that was killed half-way (e.g. by SIGKILL or a power cut),"
                             " using the journal it left in .git/directive-release/; e.g. `directive-release --recover`")
    parser.add_argument("-C", dest="directory", metavar="PATH",
                        help="run as if started in PATH (like git -C), e.g. `-C ../widget patch --yes`")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    return parser


def _part_from(args: argparse.Namespace) -> str | None:
    positional, option = args.part_positional, args.part
    if positional is not None and positional not in ("major", "minor", "patch"):
        raise UsageError(f"unknown part {positional!r}: choose major, minor or patch")
    if positional and option and positional != option:
        raise UsageError(f"part given twice ({positional} and --part {option}); give it once")
    return positional or option


def _is_interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def _say(text: str) -> None:
    print(text, file=sys.stderr)


def _recover(args: argparse.Namespace) -> int:
    from .git.repo import discover
    from .release import RollbackFailed, recover

    repo = discover(_start_directory(args))
    branch, report = recover(repo)
    if report.problems:
        raise RollbackFailed(f"--recover could not finish ({'; '.join(report.problems)}); fix that and run"
                             " directive-release --recover again")
    summary = "; ".join(report.done) if report.done else "nothing needed undoing"
    if report.kept:
        print(f"Recovered the interrupted release of {branch}: {summary}. Left as they are, because they"
              f" changed since the release: {'; '.join(report.kept)}.")
    else:
        print(f"Recovered the interrupted release of {branch}: {summary}. The repository is as it was before it.")
    return EXIT_OK


# What the release path needs of the system: signal masks (pthread_sigmask), process
# groups for hooks, POSIX shells for hooks and credential helpers as git runs them.
UNSUPPORTED_PLATFORM = (
    "releases run on Linux and macOS; Windows is not supported yet (signal masks, hooks and"
    " credential helpers as git runs them need a POSIX system): run it in WSL"
)


def run(args: argparse.Namespace) -> int:
    if sys.platform == "win32" or not hasattr(os, "killpg"):
        raise ReleaseError(UNSUPPORTED_PLATFORM)
    from . import release
    from .output import Console, release_summary, write_json

    if args.recover:
        if args.json:
            raise UsageError("--recover does not write JSON; run it without --json")
        others = [flag for flag, given in (("a part", args.part or args.part_positional), ("--dry-run", args.dry_run),
                                           ("--yes", args.yes), ("--no-push", args.no_push),
                                           ("--remote", args.remote), ("--untracked-blocks", args.untracked_blocks),
                                           ("--base-branch", args.base_branch))
                  if given]
        if others:
            raise UsageError(f"--recover takes no other option but -C (got {', '.join(others)})")
        _STATE.phase = "recovering"
        return _recover(args)

    if args.base_branch is not None:
        from .refname import ref_name_problem

        problem = "starts with '-'" if args.base_branch.startswith("-") else ref_name_problem(
            f"refs/heads/{args.base_branch}")
        if problem is not None:
            raise UsageError(f"--base-branch {args.base_branch!r} is not a valid branch name ({problem})")
    # Under --json, stdout carries the JSON object only: every human line goes to stderr.
    console = Console.create(json_mode=args.json)
    part = _part_from(args)
    interactive = _is_interactive()
    if args.json and (part is None or not (args.yes or args.dry_run)):
        raise UsageError("--json never prompts: give the part and --yes or --dry-run,"
                         " e.g. directive-release patch --yes --json")
    if part is None and not interactive:
        raise UsageError("no terminal to ask in: give the part and --yes, e.g. directive-release --part patch --yes")
    start = _start_directory(args)
    checked = None
    suggestion = None
    if part == "auto":
        if not args.yes and not args.dry_run and not interactive:
            raise UsageError("no terminal to confirm in: add --yes (directive-release --part auto --yes)")
        checked = release.check_repository(start, untracked_blocks=args.untracked_blocks,
                                           base_branch=args.base_branch, remote=args.remote)
        release.check_given_base(checked, args.base_branch)  # before reading the history
        part, suggestion = _auto_part(checked, console)
    if part is None:
        # Every part-independent check first: a repository that cannot be released
        # fails before the question, not after it.
        checked = release.check_repository(start, untracked_blocks=args.untracked_blocks,
                                           base_branch=args.base_branch, remote=args.remote)
        release.check_given_base(checked, args.base_branch)
        part = _ask_part(checked, console)
        if part is None:
            return _cancelled(console)
    if not args.yes and not args.dry_run and not interactive:
        raise UsageError(f"no terminal to confirm in: add --yes (directive-release --part {part} --yes)")

    options = release.Options(part=part, push=not args.no_push, remote=args.remote,
                              untracked_blocks=args.untracked_blocks, base_branch=args.base_branch,
                              clean_check_under_lock_only=args.yes and not args.dry_run and checked is None)
    plan = release.make_plan(start, options, checked)
    for warning in plan.project.warnings:
        console.line(f"warning: {warning}", "yellow")
    header = f"Release {plan.old_version} {ARROW} {plan.new_version}:"

    def show_header() -> None:
        console.line(header, "bold")
        if plan.base is not None:
            console.line(f"Base branch {plan.base.branch} ({plan.base.source}); {plan.base_status}.")

    if args.dry_run or not args.yes:
        show_header()
        for line in plan.describe():
            console.line(f"  {line}")
    if args.dry_run:
        console.line("Dry run: every check passed; nothing was changed.", "green")
        if args.json:
            write_json(release_summary(plan, None, suggestion))
        return EXIT_OK
    if not args.yes:
        answer = _confirm(plan)
        if answer is None:
            return _cancelled(console)
        if not answer:
            # Not an error, but scripts (and expect) must tell it from a release: exit 1.
            console.error(f"{PROG}: not released (you answered no); nothing was changed")
            return EXIT_FAILED
    done: list[str] = []

    def progress(description: str) -> None:
        # With --yes the plan is shown as it is carried out: a refusal stays one line.
        if not args.yes:
            return
        if not done:
            show_header()
        done.append(description)
        first, *details = description.split("\n")
        console.line(f"  {len(done)}. {first}")
        for detail in details:
            console.line(f"  {detail}")

    try:
        outcome = release.apply(plan, on_step=progress)
    except release.RollbackFailed:
        raise
    except ReleaseError as exc:
        raise type(exc)(f"{exc}; {_undone(exc)}") from exc
    except OSError as exc:  # a full disk, an I/O error: undone like any failure, said in one line
        raise ReleaseError(f"{_os_error_text(exc)}; {_undone(exc)}") from exc
    _STATE.phase = "released"
    _STATE.branch = plan.branch
    _report(plan, outcome, console)
    if args.json:
        write_json(release_summary(plan, outcome, suggestion))
    return EXIT_OK


def _kept(exc: BaseException) -> str:
    report = getattr(exc, "undo_report", None)
    return "; ".join(report.kept) if report is not None and report.kept else ""


def _undone(exc: BaseException) -> str:
    """What a failed release left: nothing, or all but what someone else changed meanwhile."""
    report = getattr(exc, "undo_report", None)
    kept = _kept(exc)
    if kept:
        return f"undone, except what changed meanwhile: {kept}"
    if report is None or not report.done:
        return "nothing was changed"  # it failed before its first change
    return "nothing was changed (every step was undone)"  # changes were made, and every one taken back


class _State:
    """Where the run is, so the one error handler can say truthfully what was changed."""

    phase = "planning"  # planning/applying: nothing changed on failure; released; recovering
    branch = ""


_STATE = _State()


def _os_error_text(exc: OSError) -> str:
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{exc.strerror or exc}"


def _cancelled(console: Console) -> int:
    console.error(f"{PROG}: cancelled; nothing was changed")
    return EXIT_INTERRUPTED


def _ask_part(checked: "release.Checked", console: Console) -> Part | None:
    """Suggest a part from the history, then let the user choose; None if cancelled."""
    from .suggest import suggest_part

    project = checked.project
    suggestion = suggest_part(checked.repo, checked.head.commit, project.settings, project.version)
    console.line(f"Suggestion: {suggestion.reason}", "dim")

    from . import interactive

    return interactive.choose_part(project.version, suggestion, console.arrow)


def _auto_part(checked: "release.Checked", console: Console) -> "tuple[Part, Suggestion]":
    """--part auto: the suggested part, or one line saying why there is none (exit 1, nothing changed)."""
    from .suggest import ARROW, AUTO_SECONDS, automatic_part, suggest_part

    project = checked.project
    suggestion = suggest_part(checked.repo, checked.head.commit, project.settings, project.version,
                              seconds=AUTO_SECONDS)
    console.line(f"Suggestion: {suggestion.reason.replace(ARROW, console.arrow)}", "dim")
    return automatic_part(suggestion), suggestion


def _confirm(plan: Plan) -> bool | None:
    """Yes or no (default no) for the plan just shown; None if cancelled."""
    from . import interactive

    action = f"Create {plan.branch} and push it to {plan.remote_name}?" if plan.remote_name else (
        f"Create {plan.branch} (not pushed)?")
    return interactive.confirm(action)


def _report(plan: Plan, outcome: Outcome, console: Console) -> None:
    base = plan.base_branch
    console.line(f"Done: {plan.branch} holds commit {outcome.commit_id[:7]} ({plan.message}).", "green")
    if outcome.pushed:
        console.line(f"Pushed to {plan.remote_name} ({plan.remote_display}), tracking {plan.remote_name}/{plan.branch}.")
        if plan.pull_request_url:
            console.line(f"Next: open the pull request from {plan.branch} into {base}: {plan.pull_request_url}", "bold")
        else:
            console.line(f"Next: open a pull request from {plan.branch} into {base} on {plan.remote_name}.", "bold")
    else:
        remote = plan.remote_name or plan.settings.remote
        console.line(f"Not pushed (--no-push). Next: git push -u {remote} {plan.branch}, then open a pull request"
                     f" from {plan.branch} into {base}.", "bold")
    console.line(f"You are on {plan.branch} now; to get back: git switch {base}")


def _start_directory(args: argparse.Namespace) -> "Path":
    from pathlib import Path

    return Path(args.directory) if args.directory is not None else Path.cwd()


def main(argv: "Sequence[str] | None" = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["init"]:  # `directive-release init`: its own parser, imported only when used
        from .init import main as init_main

        return init_main(arguments[1:])
    if arguments == ["--version"]:  # answered before argparse loads: scripts call it often
        print(f"{PROG} {__version__}")
        return EXIT_OK
    parser = build_parser()
    try:
        args = parser.parse_args(arguments)
    except SystemExit as exc:  # argparse: 0 for --help/--version, 2 for errors
        return int(exc.code or 0)
    from .redact import redact, register_secrets_from_env

    register_secrets_from_env()
    try:
        return run(args)
    except UsageError as exc:
        _say(f"{PROG}: {redact(str(exc))}")
        return EXIT_USAGE
    except ReleaseError as exc:
        _say(f"{PROG}: {redact(str(exc))}")
        return exc.exit_code
    except (KeyboardInterrupt, Interrupted) as exc:
        if _STATE.phase == "released":  # the release itself completed: only the report was cut short
            _say(f"{PROG}: interrupted while reporting; {_STATE.branch} was released")
            return EXIT_OK
        if _STATE.phase == "recovering":
            _say(f"{PROG}: interrupted; run directive-release --recover again to finish")
            return EXIT_INTERRUPTED
        kept = _kept(exc)
        _say(f"{PROG}: interrupted; " + (f"undone, except what changed meanwhile: {kept}" if kept
                                         else "nothing was changed"))
        return EXIT_INTERRUPTED
    except OSError as exc:
        if _STATE.phase in ("planning", "applying"):
            _say(f"{PROG}: {redact(_os_error_text(exc))}; nothing was changed")
            return EXIT_FAILED
        return _unexpected(exc, redact)
    except Exception as exc:  # unexpected: short message, traceback to a log
        return _unexpected(exc, redact)


def _unexpected(exc: BaseException, redact: "Callable[[str], str]") -> int:
    log = _write_crash_log()
    outcome = {
        "released": f"{_STATE.branch} was released; only the report failed",
        "recovering": "run directive-release --recover again",
    }.get(_STATE.phase, "nothing was changed")
    _say(f"{PROG}: unexpected error: {redact(type(exc).__name__ + ': ' + str(exc))}"
         f" (details in {log}; {outcome})")
    return EXIT_FAILED


def _write_crash_log() -> str:
    import traceback

    from .redact import redact

    from pathlib import Path

    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "directive-release"
    try:
        base.mkdir(parents=True, exist_ok=True)
        path = base / "last-error.log"
        path.write_text(redact(traceback.format_exc()), encoding="utf-8")
        return str(path)
    except OSError:
        return "(no log: cache directory not writable)"



def script() -> None:
    """The ``directive-release`` console script: :func:`main`, then exit.

    Once a release is done, Python's teardown of the ~150 modules it loaded costs ~10 ms
    more (``python -c "import <the release's modules>"`` with and without ``os._exit``:
    ~68 ms against ~55 ms here), a twentieth of a release on 20k files. When nothing else
    is registered to run at exit (no atexit callback, no other thread), the output is
    flushed and the process leaves with ``os._exit``; otherwise it exits normally.
    Callers of :func:`main` in-process, and ``python -m directive_release`` (which tools
    such as ``python -m cProfile`` wrap), exit normally.
    """
    import atexit

    code = main()
    pending = getattr(atexit, "_ncallbacks", lambda: 1)()  # CPython's count; elsewhere assume some
    threading = sys.modules.get("threading")
    if pending or (threading is not None and threading.active_count() > 1):
        raise SystemExit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        raise SystemExit(code) from None  # let the interpreter report what it cannot write
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
