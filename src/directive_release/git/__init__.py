"""The git backend: pure Python (dulwich plus small fast readers), never the git binary.

Modules, one job each (the release flow in ``release.py`` is their only caller):

- ``repo``        discovery (``discover``), HEAD/ref reads, in-progress operations.
- ``index``       fast index reader and a one-entry index update that keeps the
                  cache-tree extension valid.
- ``status``      the clean check, verdict identical to
                  ``git status --porcelain --untracked-files=no``; untracked listing.
- ``objects``     write blob/tree/commit objects (dulwich object store).
- ``refs``        ref and HEAD writes with git's lock files, reflogs, upstream config.
- ``config``      git configuration as git reads it (includes, includeIf, env).
- ``identity``    author/committer exactly as git resolves them.
- ``hooks``       pre-commit / commit-msg as git runs them.
- ``signing``     commit.gpgsign (openpgp and ssh).
- ``remote``      remote URLs: pushurl, insteadOf/pushInsteadOf, redaction.
- ``credentials`` git's credential-helper protocol.
- ``transport``   ls-remote and push over file://, git://, ssh://, https:// with
                  time-outs and per-ref status checks.
"""
