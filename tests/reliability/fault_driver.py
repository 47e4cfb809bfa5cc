"""Run the real ``directive-release`` command with a fault at the N-th file-system or network operation.

Used by the reliability tests as ``python fault_driver.py <cli args>``. A Python
audit hook (PEP 578) sees every ``open`` for writing, rename, unlink, link,
mkdir, rmdir, chmod, utime, truncate, rmtree, subprocess start and socket
connect the command performs *inside the watched directories* (and every
subprocess/socket), and at the N-th one it:

- ``oserror``: makes the operation fail with ENOSPC (a full disk, an I/O error);
- ``bug``: raises RuntimeError there (a programming error: the crash-log path);
- ``sigkill`` / ``sigint`` / ``sigterm``: sends that signal to the process
  itself, so it lands in the middle of the step doing the operation;
- ``command``: runs ``RELIABILITY_FAULT_COMMAND`` (a shell snippet, e.g. a
  concurrent ``git checkout``) to completion, then lets the operation go on.

With ``RELIABILITY_FAULT_AT=0`` nothing is injected: every counted operation is
written to ``RELIABILITY_FAULT_LOG`` (one per line) so the test knows how many
points there are to try. The hook runs before the operation, so "fault at N"
is "after operation N-1 completed, before N starts".
"""

from __future__ import annotations

import errno
import os
import signal
import sys

ROOTS = tuple(p for p in os.environ.get("RELIABILITY_FAULT_ROOTS", "").split(os.pathsep) if p)
AT = int(os.environ.get("RELIABILITY_FAULT_AT", "0") or "0")
KIND = os.environ.get("RELIABILITY_FAULT_KIND", "oserror")
LOG = os.environ.get("RELIABILITY_FAULT_LOG", "")

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_PATH_EVENTS = {"os.rename", "os.remove", "os.link", "os.mkdir", "os.rmdir", "os.chmod", "os.utime",
                "os.truncate", "shutil.rmtree", "os.symlink"}
COMMAND = os.environ.get("RELIABILITY_FAULT_COMMAND", "")
_count = 0
_log: list[str] = []
_running_command = False


def _watched(path: object) -> bool:
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, str):
        return False
    absolute = os.path.abspath(path)
    return any(absolute == root or absolute.startswith(root + os.sep) for root in ROOTS)


def _describe(event: str, args: tuple) -> str | None:
    if event == "open":
        path, mode, flags = args
        writing = (isinstance(flags, int) and flags & _WRITE_FLAGS) or (
            isinstance(mode, str) and any(ch in mode for ch in "wax+"))
        return f"open {path}" if writing and _watched(path) else None
    if event in _PATH_EVENTS:
        return f"{event} {args[0]}" if _watched(args[0]) else None
    if event == "subprocess.Popen":
        return f"exec {args[0]}"
    if event == "socket.connect":
        return f"connect {args[1]}"
    return None


def _hook(event: str, args: tuple) -> None:
    global _count, _running_command
    if _running_command:
        return
    description = _describe(event, args)
    if description is None:
        return
    _count += 1
    if AT == 0:
        _log.append(description)
        return
    if _count != AT:
        return
    if KIND == "oserror":
        raise OSError(errno.ENOSPC, f"No space left on device (injected at {description})")
    if KIND == "bug":  # a programming error: the unexpected-error path and its crash log
        raise RuntimeError(f"injected bug at {description}")
    if KIND == "command":
        import subprocess

        _running_command = True
        try:
            subprocess.run(COMMAND, shell=True, check=True, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=sys.stderr)
        finally:
            _running_command = False
        return
    os.kill(os.getpid(), {"sigkill": signal.SIGKILL, "sigint": signal.SIGINT,
                          "sigterm": signal.SIGTERM}[KIND])


def main() -> int:
    sys.addaudithook(_hook)
    from directive_release.cli import main as cli_main

    try:
        return cli_main(sys.argv[1:])
    finally:
        if LOG and AT == 0:
            with open(LOG, "w", encoding="utf-8") as handle:
                handle.write("".join(line + "\n" for line in _log))


if __name__ == "__main__":
    raise SystemExit(main())
