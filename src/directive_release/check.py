"""``directive-release-check``: the pre-commit hook that refuses a bad project version.

A ``pyproject.toml`` passes when its version, wherever the build backend keeps
it (a static ``[project].version``, or the file that hatchling, setuptools,
flit_core or pdm-backend read; see :mod:`directive_release.sources`), is a
string of the form ``MAJOR.MINOR.PATCH`` that :mod:`directive_release.version`
accepts, and every copy of it (``version-files``, the project's entry in
uv.lock) agrees. A version taken from git tags passes: there is nothing to
check. Every problem becomes one ``path:line: message`` line on stdout, in the
wording :mod:`directive_release.version` owns; the exit code is 0 when every
file passes, 1 when one does not, 2 for a usage error.

Every file is read through :func:`directive_release.sources.files.read_bytes`
(non-blocking open, regular files only, at most 10 MiB) and parsed with every
failure turned into one line: the hook runs on untrusted pull requests in CI.

The hook runs on every commit, so its cost is part of every ``git commit``. The
success path of a static version imports only ``os``, ``sys``, ``re``,
``tomllib`` and the small :mod:`directive_release.sources.files`; a dynamic
version adds the standard-library-only source resolver. The detailed reasons
(:mod:`directive_release.version`), the line finder, ``argparse`` and
``packaging`` are loaded only when there is something to explain.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from .sources.files import SourceError, decode, parse_toml_text, read_bytes

if TYPE_CHECKING:  # argparse is imported only when an option is given
    import argparse

DEFAULT_FILE = "pyproject.toml"
EXPECTED = 'version = "MAJOR.MINOR.PATCH"'

# Accepts exactly what ``version.parse`` accepts (a property test holds the two
# together). It only ever says "valid": every rejection is explained by
# ``version.parse``, which stays the single source of the reasons.
_PLAIN_VERSION = re.compile(r"(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)", re.ASCII)


class Problem(NamedTuple):
    line: int
    message: str
    path: str | None = None  # another file than the one checked (a version file, uv.lock)


# ---------------------------------------------------------------- checking


def check_file(path: str) -> list[Problem]:
    """Every problem with the project version of the pyproject.toml at ``path`` and of every copy of it
    (version files, uv.lock); empty when all agree and are valid, or when the version comes from git tags."""
    try:
        data = read_bytes(path, path)
        text = decode(data, path)
        document = parse_toml_text(text, path)
    except SourceError as error:
        return [Problem(error.line or 1, error.reason)]
    if _passes(document):
        directory = os.path.dirname(path)
        if not _may_have_copies(document, directory):
            return []
        return _scan(path, data, document)
    project = document.get("project")
    if isinstance(project, dict) and "version" not in project and _is_dynamic(project):
        return _scan(path, data, document)
    return _explain(document, text)


def _is_dynamic(project: dict[str, Any]) -> bool:
    dynamic = project.get("dynamic")
    return isinstance(dynamic, list) and "version" in dynamic


def _may_have_copies(document: dict[str, Any], directory: str) -> bool:
    """Whether a static version may have copies to compare: listed version files, or a uv.lock here or
    at a uv workspace root above (a few ``stat`` calls; uv.lock is read only when it exists)."""
    tool = document.get("tool")
    if isinstance(tool, dict) and isinstance(tool.get("directive-release"), dict) \
            and "version-files" in tool["directive-release"]:
        return True
    current = directory = os.path.abspath(directory)
    if os.path.lexists(os.path.join(current, "uv.lock")):
        return True
    while not os.path.lexists(os.path.join(current, ".git")):  # up to the repository root
        parent = os.path.dirname(current)
        if parent == current:
            return False
        current = parent
        if os.path.lexists(os.path.join(current, "uv.lock")):  # a uv workspace's lock, perhaps
            from .sources.inventory import find_lock, repository_root

            return find_lock(directory, repository_root(directory)) is not None
    return False


def _scan(path: str, data: bytes, document: dict[str, Any]) -> list[Problem]:
    """Resolve the version source (any backend) and compare every copy with it."""
    from .errors import ConfigError
    from .sources.inventory import scan

    directory = os.path.dirname(path)
    try:
        result = scan(directory or ".", display_dir=directory, pyproject_raw=data,
                      document=document, pyproject_name=os.path.basename(path), lock_by_lines=True)
    except SourceError as error:
        return [Problem(error.line or 1, error.reason, None if error.path == path else error.path)]
    except ConfigError as error:
        from .sources.toml_lines import key_lines

        message = str(error).removeprefix(f"{path}: ")
        return [Problem(key_lines(data.decode("utf-8")).get(("tool", "directive-release"), 1), message)]
    return [
        Problem(error.line or 1, error.reason, None if error.path == path else error.path)
        for error in result.problems
    ]


def _passes(document: dict[str, Any]) -> bool:
    """The fast check: a plain static version, not also listed as dynamic."""
    project = document.get("project")
    if not isinstance(project, dict):
        return False
    version = project.get("version")
    dynamic = project.get("dynamic")
    return (
        isinstance(version, str)
        and _PLAIN_VERSION.fullmatch(version) is not None
        and not (isinstance(dynamic, list) and "version" in dynamic)
    )


def _explain(document: dict[str, Any], text: str) -> list[Problem]:
    """The problems of a parsed document whose static version did not pass the fast check."""
    from . import version as versions
    from .sources.toml_lines import key_lines

    try:
        lines = key_lines(text)
    except RecursionError:
        lines = {}

    def line_of(*path: str) -> int:
        for depth in range(len(path), 0, -1):
            if path[:depth] in lines:
                return lines[path[:depth]]
        return 1

    if "project" not in document:
        return [Problem(1, versions.NO_PROJECT_TABLE)]
    project = document["project"]
    if not isinstance(project, dict):
        return [Problem(line_of("project"), versions.not_a_table(project))]
    if "version" not in project:
        return [Problem(line_of("project"), versions.NO_VERSION)]
    problems: list[Problem] = []
    if _is_dynamic(project):
        problems.append(Problem(line_of("project", "dynamic"), versions.BOTH_STATIC_AND_DYNAMIC))
    message = versions.problem(project["version"])
    if message is not None:
        problems.append(Problem(line_of("project", "version"), message))
    return problems


# --------------------------------------------------------------- the command


def main(argv: Sequence[str] | None = None) -> int:
    files = _parse_arguments(sys.argv[1:] if argv is None else list(argv))
    failed = False
    for path in dict.fromkeys(files):  # a path given twice is checked once
        problems = check_file(path)
        if problems:
            failed = True
            _report(path, problems)
    return 1 if failed else 0


def _parse_arguments(arguments: list[str]) -> list[str]:
    if not any(argument.startswith("-") for argument in arguments):
        # Only file names: the common pre-commit call skips argparse's import.
        return arguments or [DEFAULT_FILE]
    return _argument_parser().parse_args(arguments).files or [DEFAULT_FILE]


def _argument_parser() -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(
        prog="directive-release-check",
        description=(
            "Check that each pyproject.toml's version, static or in the file the build backend "
            "reads (hatchling path, setuptools attr/file, flit_core, pdm file), has the form "
            "MAJOR.MINOR.PATCH (ASCII digits, no leading zeros, no prefix, no pre-release "
            "or build suffix), the only form the directive-release flow and PyPI both accept, "
            "and that its copies (version-files, uv.lock) agree. A version from git tags passes. "
            "Prints one 'path:line: message' line per problem."
        ),
        epilog="exit status: 0 every file is valid, 1 a file has a problem, 2 usage error",
    )
    parser.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help=f"pyproject.toml files to check (default: {DEFAULT_FILE} in the current directory)",
    )
    return parser


_CONTROL_ESCAPES = {code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F)}


def _report(path: str, problems: list[Problem]) -> None:
    from .redact import redact

    # One problem, one line: control characters (a newline in a file name or a
    # value) are escaped, and so is whatever the terminal's encoding cannot show.
    encoding = sys.stdout.encoding or "utf-8"
    for problem in problems:
        line = redact(f"{problem.path or path}:{problem.line}: {problem.message}").translate(_CONTROL_ESCAPES)
        sys.stdout.write(line.encode(encoding, "backslashreplace").decode(encoding) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    raise SystemExit(main())
