"""Run a repository's hooks the way git 2.39 runs them, with no git binary.

What git does, and so what we do (observed with a hook that dumps its
environment under ``git commit``):

- Where: ``core.hooksPath`` (``~`` expanded; a relative path is relative to the
  work tree root, where git runs hooks; an empty value means ``/``), else
  ``<commondir>/hooks``: linked worktrees share the main repository's hooks.
- Which: only a file git may execute; a non-executable hook is skipped with
  git's hint (unless ``advice.ignoredHook`` is false).
- How: ``argv[0]`` is the hook path spelled as git spells it; a script with no
  ``#!`` line is run by ``/bin/sh``; the working directory is the work tree
  root; stdin is ``/dev/null``; the hook's stdout *and* stderr go to our stderr
  (never captured: users must see their linters).
- Environment: ours plus ``GIT_PREFIX`` (where the user stands inside the work
  tree, "" at the root), ``GIT_DIR`` for a work tree whose ``.git`` is a file
  (linked worktrees), and what the caller passes (for commit hooks
  :func:`commit_hook_env` builds git's ``GIT_INDEX_FILE``, ``GIT_EDITOR=:``
  and ``GIT_AUTHOR_NAME/EMAIL/DATE``). Not set: ``GIT_EXEC_PATH`` (we are not
  git; a hook calling ``git`` finds its own).
- Failure: a non-zero exit, a death by signal or an exec failure (missing
  interpreter, a directory) raise :class:`HookError`.

No dulwich: ``dulwich.hooks`` ignores ``core.hooksPath``, looks in a linked
worktree's own ``.git/worktrees/<name>/hooks``, raises on a non-executable hook,
runs commit-msg in ``.git`` on a temporary file instead of ``COMMIT_EDITMSG`` and
sets no ``GIT_INDEX_FILE`` (notes/dulwich.md §1); tests/git/test_hooks.py runs the
same hooks under ``git commit`` and under us and compares what they saw.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import HookError
from ..redact import redact
from .config import GitConfig

if TYPE_CHECKING:  # subprocess is imported where used: only running a hook needs it
    import subprocess

    from .identity import Identity
    from .repo import Repository

COMMIT_HOOKS = frozenset({"pre-commit", "prepare-commit-msg", "commit-msg", "post-commit", "pre-merge-commit"})
_KILL_GRACE_SECONDS = 2.0


def _hooks_dir_as_git_spells_it(repo: Repository, config: GitConfig) -> str:
    hooks_path = config.get_path("core.hooksPath")
    if hooks_path is not None:
        return hooks_path  # relative values stay relative: resolved from the work tree root
    common = _spelled_from_worktree(repo, repo.commondir)
    return f"{common}/hooks"


def _spelled_from_worktree(repo: Repository, path: Path) -> str:
    """git names ``<worktree>/.git/...`` relatively (``.git/x``) and anything else absolutely."""
    return ".git" if path == repo.worktree / ".git" else str(path)


def _hook_argv0(repo: Repository, config: GitConfig, name: str) -> str:
    return f"{_hooks_dir_as_git_spells_it(repo, config)}/{name}"


def find_hook(repo: Repository, config: GitConfig, name: str) -> Path | None:
    """The hook git would run for ``name`` (absolute), or None (absent or not executable)."""
    path = _absolute(repo, _hook_argv0(repo, config, name))
    return path if os.access(path, os.X_OK) else None


def _advise_ignored(repo: Repository, config: GitConfig, name: str) -> None:
    path = _absolute(repo, _hook_argv0(repo, config, name))
    if path.exists() and config.get_bool("advice.ignoredHook", True):
        print(
            f"hint: The '{_hook_argv0(repo, config, name)}' hook was ignored because it's not set as executable.\n"
            "hint: You can disable this warning with `git config advice.ignoredHook false`.",
            file=sys.stderr,
        )


def _absolute(repo: Repository, spelled: str) -> Path:
    path = Path(spelled)
    return path if path.is_absolute() else repo.worktree / path


def _git_prefix(repo: Repository) -> str:
    """GIT_PREFIX: the user's directory relative to the work tree root, with a trailing '/'."""
    try:
        relative = Path(os.getcwd()).resolve().relative_to(repo.worktree)
    except (OSError, ValueError):
        return ""
    return "" if str(relative) == "." else f"{relative.as_posix()}/"


def hook_environment(repo: Repository, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Our environment as git would hand it to a hook, plus ``extra``."""
    env = dict(os.environ)
    env["GIT_PREFIX"] = _git_prefix(repo)
    if (repo.worktree / ".git").is_file():
        env["GIT_DIR"] = str(repo.gitdir)  # git exports the git dir it found through a gitfile
    env.update(extra or {})
    return env


def commit_hook_env(repo: Repository, author: Identity, index_file: Path | None = None) -> dict[str, str]:
    """What ``git commit`` adds for its hooks: index, no editor, and the author it will record."""
    index = index_file or repo.index_path
    spelled_gitdir = _spelled_from_worktree(repo, repo.gitdir)
    index_text = f"{spelled_gitdir}/index" if index == repo.index_path else str(index)
    tz_minutes = abs(author.tz_offset_seconds) // 60
    sign = "-" if author.tz_offset_seconds < 0 else "+"
    return {
        "GIT_INDEX_FILE": index_text,
        "GIT_EDITOR": ":",
        "GIT_AUTHOR_NAME": author.name,
        "GIT_AUTHOR_EMAIL": author.email,
        "GIT_AUTHOR_DATE": f"@{author.timestamp} {sign}{tz_minutes // 60:02d}{tz_minutes % 60:02d}",
    }


def write_commit_editmsg(repo: Repository, message: str) -> str:
    """Write ``<gitdir>/COMMIT_EDITMSG`` and return the argument git passes to commit-msg."""
    from .lockfile import write_file

    # Replaced by rename (the release keeps the previous one, hard-linked, for its undo).
    write_file(repo.gitdir / "COMMIT_EDITMSG", message.encode("utf-8"))
    return f"{_spelled_from_worktree(repo, repo.gitdir)}/COMMIT_EDITMSG"


def read_commit_editmsg(repo: Repository) -> str:
    """The message after the hooks (commit-msg may rewrite it)."""
    return (repo.gitdir / "COMMIT_EDITMSG").read_text(encoding="utf-8")


def run_hook(repo: Repository, config: GitConfig, name: str, args: Sequence[str] = (), *,
             env: Mapping[str, str] | None = None, timeout: float | None = None) -> None:
    import subprocess
    """Run hook ``name`` if git would; HookError when it fails, cannot start or times out.

    ``env`` adds to (and overrides) our environment, e.g. :func:`commit_hook_env`.
    ``timeout`` (seconds, default none, like git) stops the hook and its children.
    """
    hook = find_hook(repo, config, name)
    if hook is None:
        _advise_ignored(repo, config, name)
        return
    argv0 = _hook_argv0(repo, config, name)
    extra = {"GIT_EDITOR": ":"} if name in COMMIT_HOOKS else {}
    child_env = hook_environment(repo, {**extra, **(env or {})})
    process = _start(repo, hook, argv0, list(args), child_env, name)
    try:
        returncode = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(process)
        raise HookError(f"{name} hook timed out after {timeout:g}s: {redact(str(hook))}") from None
    except BaseException:
        _stop(process)  # Ctrl-C or SIGTERM: do not leave the hook running behind us
        raise
    if returncode < 0:
        raise HookError(f"{name} hook died of signal {-returncode}: {redact(str(hook))}")
    if returncode != 0:
        raise HookError(f"{name} hook failed (exit {returncode}): {redact(str(hook))}")


def _start(repo: Repository, hook: Path, argv0: str, args: list[str], env: dict[str, str],
           name: str) -> subprocess.Popen[bytes]:
    import subprocess

    def popen(argv: list[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            argv,  # a relative hook path is exec'd from the work tree root, so $0 reads as in git
            cwd=repo.worktree,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=2,  # git: stdout_to_stderr, so hook chatter never mixes with our output
            stderr=None,
            # Its own process group, so a time-out or an interruption stops the hook and
            # everything it started (linters, git) with one signal: no process-table walk.
            process_group=0,
        )

    try:
        return popen([argv0, *args])
    except OSError as exc:
        if exc.errno == errno.ENOEXEC:  # no "#!" line: git hands the script to /bin/sh
            try:
                return popen(["/bin/sh", argv0, *args])
            except OSError as retry:
                exc = retry
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise HookError(f"{name} hook cannot be run ({reason}): {redact(str(hook))}") from None


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the hook's process group, then SIGKILL whatever is left of it."""
    _signal_group(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + _KILL_GRACE_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None and not _group_alive(process.pid):
            return
        time.sleep(0.02)
    _signal_group(process.pid, signal.SIGKILL)
    process.wait()


def _signal_group(group: int, sig: signal.Signals) -> None:
    try:
        os.killpg(group, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except OSError:
        return False
    return True
