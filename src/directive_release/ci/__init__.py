"""The helpers the GitHub Actions release workflow calls (console script ``directive-release-ci``).

Modules, one job each:

- ``cli``         argument parsing, one-line errors, secrets masked in all output.
- ``gate``        is this push the merge of a release pull request? (``gate``)
- ``github_api``  GET JSON lists from the GitHub REST API: pinned version, pagination, strict errors.
- ``published``   is this version (and which built file) on a package index? (``published``)
- ``tag``         the annotated release tag on the merge commit, idempotent (``tag``).
- ``tag_remote``  read a remote's tag and push a new one via ``git.transport``, with the Actions token.
- ``project``     name, static version and settings from ``pyproject.toml``.
- ``actions``     ``$GITHUB_OUTPUT``, ``$GITHUB_STEP_SUMMARY`` and annotations.
"""
