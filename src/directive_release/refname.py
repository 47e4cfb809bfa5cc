"""git's ref-name rules (``git check-ref-format``), so a bad name fails before any write."""

from __future__ import annotations

from .errors import ConfigError

_FORBIDDEN = set(" ~^:?*[\\")


def ref_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid full ref name, or None."""
    if not name or name == "@":
        return "empty or '@'"
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        return "contains a control character"
    bad = sorted(ch for ch in set(name) if ch in _FORBIDDEN)
    if bad:
        return "contains " + " ".join(repr(ch) for ch in bad)
    if ".." in name:
        return "contains '..'"
    if "@{" in name:
        return "contains '@{'"
    if name.startswith("/") or name.endswith("/") or "//" in name:
        return "has an empty path component"
    if name.endswith("."):
        return "ends with '.'"
    for component in name.split("/"):
        if component.startswith("."):
            return f"component {component!r} starts with '.'"
        if component.endswith(".lock"):
            return f"component {component!r} ends with '.lock'"
        if len(component.encode("utf-8")) > MAX_COMPONENT_BYTES:
            return f"a component is longer than {MAX_COMPONENT_BYTES} bytes (a file name cannot be)"
    return None


# A ref is a file, and git writes it through "<name>.lock": the file system's 255-byte name limit.
MAX_COMPONENT_BYTES = 255 - len(".lock")


def check_ref_name(ref: str, *, what: str) -> None:
    short = ref.removeprefix("refs/heads/").removeprefix("refs/tags/")
    problem = ref_name_problem(ref)
    if problem is None and short.startswith("-"):
        problem = "starts with '-', which git refuses for branch and tag names"
    if problem is None and short == "HEAD":
        problem = "HEAD is not a branch or tag name"
    if problem is not None:
        raise ConfigError(
            f"{what} {short!r} is not a valid git ref name ({problem});"
            " check branch-prefix / tag-format in [tool.directive-release] of pyproject.toml"
        )
