"""Expected failures, each with the exit code the CLI turns it into.

Every message is one line, says what is wrong and, where it can, what to do.
The top-level handler in ``cli`` prints ``directive-release: <message>`` and
exits with ``exit_code``; nothing here ever carries a credential (build the
message from :func:`directive_release.redact.redact` output when a URL is
involved).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class ReleaseError(Exception):
    """An expected failure: printed as one line, never as a traceback."""

    exit_code: int = EXIT_FAILED


class UsageError(ReleaseError):
    """The command line was wrong (exit 2)."""

    exit_code = EXIT_USAGE


class ConfigError(ReleaseError):
    """``[tool.directive-release]`` has an unknown key or a wrong type."""


class VersionError(ReleaseError):
    """A version string is not MAJOR.MINOR.PATCH."""


class PyprojectError(ReleaseError):
    """``pyproject.toml`` is missing, unreadable, invalid or has no static version."""


class RepositoryError(ReleaseError):
    """Not a repository, a bare one, detached/unborn HEAD, an operation in progress."""


class UnsupportedRepositoryError(RepositoryError):
    """A repository format we cannot handle safely (refuse rather than guess)."""


class DirtyTreeError(ReleaseError):
    """Tracked changes (or, when configured, untracked files) in the working tree."""


class RefExistsError(ReleaseError):
    """The release branch or tag already exists locally or on the remote."""


class LockError(ReleaseError):
    """A git lock file is held: another git process (or release) is running."""


class IdentityError(ReleaseError):
    """No committer identity is configured."""


class HookError(ReleaseError):
    """A ``pre-commit`` or ``commit-msg`` hook rejected the commit."""


class SigningError(ReleaseError):
    """``commit.gpgsign`` is set and signing failed."""


class RemoteError(ReleaseError):
    """The remote is missing, unreachable, timed out or rejected the push."""


class CredentialError(RemoteError):
    """Credentials were needed and none could be found (never prompts)."""


class Interrupted(BaseException):
    """Raised from the SIGTERM handler so ``apply`` unwinds like on Ctrl-C."""
