"""The git backend: the only package that imports dulwich or reads git's files; never the git binary.

One owner per concern (the release, the hook's neighbours, ``suggest`` and ``ci`` call
these, never dulwich). Each module's docstring says which dulwich part it uses, or why
not: a measured speed gap or a behaviour that differs from git, with the test that
holds it to git.

- ``repo``          discovery, HEAD and ref reads, operations in progress.
- ``config_syntax`` git's config file grammar: the one parser of config text.
- ``config``        the configuration as git loads it (files, includes, includeIf, env).
- ``config_edit``   the release's config edit: add a branch's upstream keys, take them back.
- ``lockfile``      git's lock-file protocol: the one way a file is replaced atomically.
- ``refs``          ref, HEAD and reflog writes through it, compare-and-swap.
- ``index``         the index reader and the one-entry update that keeps its cache tree valid.
- ``status``        the clean check, git's verdict (``git status --porcelain -uno``); ``scan``
                    its stat loop; ``convert`` the clean conversion and gitattributes.
- ``odb``           the one object reader/writer (loose objects, packs, deltas, alternates).
- ``objects``       the release's blob, the trees on its path, its commit.
- ``history``       the commits since the last release, for the suggestion.
- ``tags``          annotated release tags (the CI tag helper).
- ``identity``      author and committer exactly as git resolves them.
- ``signing``       ``commit.gpgSign`` (openpgp, x509, ssh).
- ``hooks``         pre-commit and commit-msg as git runs them.
- ``remote``        remote URLs: pushurl, insteadOf/pushInsteadOf, redaction.
- ``credentials``   git's credential-helper protocol, never prompting.
- ``transport``     ls-remote and push over file://, git://, ssh://, http(s):// with
                    time-outs, compare-and-swap and per-ref status checks (no dulwich client);
                    ``wire`` git's protocol v0 (pkt-lines, advertisement, report-status);
                    ``pack`` the objects a push sends and the pack holding them;
                    ``streams`` git:// and ssh; ``smart_http`` http(s) on http.client
                    (TLS, proxies, extra headers, redirects); ``urlmatch`` git's
                    ``http.<url>.*``/``credential.<url>.*`` matching; ``local_remote`` a
                    path or file:// remote received in-process.
"""
