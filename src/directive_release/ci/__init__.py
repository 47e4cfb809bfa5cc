"""The helpers the GitHub Actions release workflow calls (console script ``directive-release-ci``).

Modules, one job each:

- ``commands``    the directive-release-ci command: argument parsing, one-line errors, secrets masked in all output.
- ``gate``        is this push the merge of a release pull request? (``gate``)
- ``github_api``  the GitHub REST API: GET (paginated lists), POST JSON, release asset uploads;
                  pinned version, strict errors, the token only to the API and its uploads host.
- ``published``   is this version (and which built file) on a package index? (``published``)
- ``tag``         the annotated release tag on the merge commit, idempotent (``tag``); the tag
                  object itself is made in ``git.tags`` (only ``git/`` imports dulwich).
- ``tag_remote``  read a remote's tag and push a new one via ``git.transport``, with the Actions token.
- ``github_release`` the GitHub Release for the tag, notes generated, dists attached (``github-release``).
- ``workflow``    the release workflow ``directive-release init`` writes (text, pinned actions).
- ``project``     name, static version and settings from ``pyproject.toml``.
- ``actions``     ``$GITHUB_OUTPUT``, ``$GITHUB_STEP_SUMMARY`` and annotations.
"""
