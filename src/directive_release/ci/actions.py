"""The GitHub Actions runtime files: step outputs, the job summary, annotations.

Everything written here goes through :func:`redact` first, so a token that
slipped into a message still never reaches a log, an output or a summary.
Outside Actions (no ``GITHUB_OUTPUT``), outputs are printed as ``name=value``
so a maintainer can run the helpers by hand and read the answer.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from ..errors import UsageError
from ..redact import redact

_OUTPUT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def write_outputs(values: Mapping[str, str], environ: Mapping[str, str], stdout: TextIO | None = None) -> None:
    """Append ``name=value`` lines to ``$GITHUB_OUTPUT`` (and echo them on stdout)."""
    lines = []
    for name, value in values.items():
        if not _OUTPUT_NAME.match(name):
            raise ValueError(f"invalid output name {name!r}")
        value = redact(value)
        # Single-line values only: a newline would let a value forge another output.
        if "\n" in value or "\r" in value:
            raise ValueError(f"output {name} must be a single line")
        lines.append(f"{name}={value}\n")
    out = stdout if stdout is not None else sys.stdout
    for line in lines:
        out.write(line)
    target = environ.get("GITHUB_OUTPUT")
    if target:
        _append(target, "".join(lines), "GITHUB_OUTPUT")


def append_summary(markdown: str, environ: Mapping[str, str]) -> None:
    """Append Markdown to ``$GITHUB_STEP_SUMMARY`` when Actions provides one."""
    target = environ.get("GITHUB_STEP_SUMMARY")
    if target:
        _append(target, redact(markdown).rstrip("\n") + "\n", "GITHUB_STEP_SUMMARY")


def warning(message: str, stdout: TextIO | None = None) -> None:
    """A ``::warning::`` annotation; the message is escaped so it cannot start another command."""
    out = stdout if stdout is not None else sys.stdout
    out.write(f"::warning::{escape_command_data(redact(message))}\n")


def escape_command_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def markdown_code(text: str) -> str:
    """Inline code for text we do not control (ref names): no backticks, no line breaks."""
    cleaned = re.sub(r"[^A-Za-z0-9._/+@:-]", "?", text)
    return f"`{cleaned}`"


def _append(path: str, text: str, what: str) -> None:
    try:
        with Path(path).open("a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise UsageError(f"{what}={path}: cannot append ({exc.strerror})") from exc
