"""``directive-release-ci``: the helpers the release workflow calls (gate, published, tag, github-release).

Each prints its answer as ``name=value`` lines (also appended to
``$GITHUB_OUTPUT``) and a short Markdown note to ``$GITHUB_STEP_SUMMARY``.
Expected failures are one line, ``directive-release-ci: <message>``, on
stderr with a non-zero exit; secrets from the environment are masked in
everything printed, including unexpected tracebacks.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from ..errors import EXIT_FAILED, ReleaseError, UsageError
from ..helptext import HelpFormatter, Parser
from ..redact import redact, register_secrets_from_env
from . import actions
from .gate import GateEnvironment, decide
from .github_api import GitHubClient
from .published import DEFAULT_INDEX_URL, check_published, dist_files
from .project import ProjectInfo, read_project
from .tag import tag_release

PROG = "directive-release-ci"


def _parser() -> Parser:
    parser = Parser(
        prog=PROG,
        description="Helpers for the GitHub Actions release workflow of directive-release.",
        formatter_class=HelpFormatter,
        epilog=textwrap.dedent(
            """\
            Commands:
              gate            is this push the merge of a release/vX.Y.Z pull request?
              published       is this version (and which built file) already on the index?
              tag             create and push the annotated tag vX.Y.Z on the merge commit
              github-release  the GitHub Release for the tag: generated notes, the dists attached

            Run '%(prog)s COMMAND --help' for details and an example.

            Examples:
              directive-release-ci gate --base-branch main     in the gate job: does this push release?
              directive-release-ci published --dist dist       which built files are not on the index yet
              directive-release-ci tag --version 1.4.0         tag the merge commit v1.4.0, push the tag
              directive-release-ci github-release --dist dist  the GitHub Release, the files attached
            """
        ),
    )
    parser.add_argument("--project", type=Path, default=Path("."), help="project directory holding pyproject.toml (default: .)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True

    gate = commands.add_parser(
        "gate",
        help="decide whether this push releases",
        formatter_class=HelpFormatter,
        description=textwrap.dedent(
            """\
            Decide whether the pushed commit is the merge of a release pull request.

            Reads the push event (GITHUB_EVENT_PATH, GITHUB_SHA, GITHUB_REPOSITORY,
            GITHUB_API_URL, GITHUB_TOKEN) and asks GitHub which pull requests contain
            the commit (retrying for ~15 s while GitHub links them). A release is a
            merged pull request into the base branch from a branch named with the
            release prefix (release/vX.Y.Z), whose version equals pyproject.toml's.

            Writes release=true|false, version=, pr=, tag= to GITHUB_OUTPUT and a note
            to GITHUB_STEP_SUMMARY. Any API error, rate limit or version mismatch fails
            (exit 1): it never guesses either way.
            """
        ),
        epilog="Example (in a workflow step with GITHUB_TOKEN in env):\n  directive-release-ci gate --base-branch main",
    )
    gate.add_argument("--base-branch", help="branch releases merge into (default: base-branch of [tool.directive-release], else main)")

    published = commands.add_parser(
        "published",
        help="is this version already on the index?",
        formatter_class=HelpFormatter,
        description=textwrap.dedent(
            """\
            Ask the index's simple API whether pyproject.toml's name/version is there,
            and which of the files in --dist are missing.

            Writes published=true|false (true: nothing left to upload) and missing=
            (space-separated file names still to upload) to GITHUB_OUTPUT. Without a
            --dist directory only the version is looked up.
            """
        ),
        epilog=(
            "Examples:\n  directive-release-ci published --dist dist\n"
            "  directive-release-ci published --index-url https://test.pypi.org/simple/"
        ),
    )
    published.add_argument("--index-url", default=DEFAULT_INDEX_URL, help=f"simple index URL (default: {DEFAULT_INDEX_URL})")
    published.add_argument("--dist", type=Path, help="directory of built files (default: dist if it exists)")

    tag = commands.add_parser(
        "tag",
        help="create and push the release tag",
        formatter_class=HelpFormatter,
        description=textwrap.dedent(
            """\
            Create the annotated tag (tag-format of [tool.directive-release], default
            vX.Y.Z) on the released commit in pure Python and push it.

            Succeeds when the tag already leads to that commit (a re-run); fails when
            it leads elsewhere. For an https remote on GITHUB_SERVER_URL the push uses
            GITHUB_TOKEN (as x-access-token), never printed.
            """
        ),
        epilog="Example (after a successful publish, with GITHUB_TOKEN in env):\n  directive-release-ci tag --version 1.4.0",
    )
    tag.add_argument("--version", help="version to tag; must equal pyproject.toml's (default: pyproject.toml's)")
    tag.add_argument("--commit", help="commit to tag (default: $GITHUB_SHA, else HEAD)")
    tag.add_argument("--remote", help="remote name or URL to push to (default: remote of [tool.directive-release], else origin)")

    release = commands.add_parser(
        "github-release",
        help="create the GitHub Release for the tag, with the dists attached",
        formatter_class=HelpFormatter,
        description=textwrap.dedent(
            """\
            Create the GitHub Release for the release tag (tag-format of
            [tool.directive-release], default vX.Y.Z) through the REST API with the
            job's GITHUB_TOKEN (the job needs 'permissions: contents: write'): notes
            generated by GitHub, every .whl and .tar.gz of --dist attached.

            Idempotent: an existing release for the tag is left as it is (a file of
            --dist it lacks is attached, nothing is replaced); a release whose tag
            leads to another commit than GITHUB_SHA (or --commit) is an error.
            Reads GITHUB_REPOSITORY, GITHUB_SHA, GITHUB_API_URL, GITHUB_TOKEN.
            Writes release-url=, release-id=, created=true|false to GITHUB_OUTPUT.
            """
        ),
        epilog="Example (after the tag job, with GITHUB_TOKEN in env):\n  directive-release-ci github-release --dist dist",
    )
    release.add_argument("--version", help="released version; must equal pyproject.toml's (default: pyproject.toml's)")
    release.add_argument("--dist", type=Path, default=Path("dist"), help="directory of built files to attach (default: dist)")
    release.add_argument("--commit", help="the released commit (default: $GITHUB_SHA)")
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    env = dict(os.environ if environ is None else environ)
    register_secrets_from_env(env)
    try:
        args = _parser().parse_args(argv)
        if args.command == "gate":
            return _gate(args, env, sleep)
        if args.command == "published":
            return _published(args, env)
        if args.command == "github-release":
            return _github_release(args, env)
        return _tag(args, env)
    except ReleaseError as exc:
        _fail(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        _fail("interrupted")
        return 130
    except Exception:  # a bug: show where, but never a secret
        sys.stderr.write(redact(traceback.format_exc()))
        _fail("internal error (traceback above); please report it")
        return EXIT_FAILED


def _fail(message: str) -> None:
    sys.stderr.write(f"{PROG}: {redact(message)}\n")


def _gate(args: argparse.Namespace, env: dict[str, str], sleep: Callable[[float], None]) -> int:
    project = read_project(args.project)
    base_branch = args.base_branch or project.settings.base_branch
    gate_env = GateEnvironment.from_environ(env)
    client = GitHubClient(gate_env.api_url, gate_env.token)
    result = decide(gate_env, project, base_branch=base_branch, client=client, sleep=sleep)
    for message in result.warnings:
        actions.warning(message)
    tag = project.settings.tag_for(result.version) if result.release else ""
    actions.write_outputs(result.outputs(tag), env)
    actions.append_summary(result.summary(base_branch, gate_env.sha), env)
    verdict = f"release {result.version} (pull request #{result.pr})" if result.release else f"not a release: {result.reason}"
    sys.stderr.write(redact(verdict) + "\n")
    return 0


def _published(args: argparse.Namespace, env: dict[str, str]) -> int:
    project = read_project(args.project)
    dist = args.dist
    if dist is None and (args.project / "dist").is_dir():
        dist = args.project / "dist"
    built = dist_files(dist, project.name, project.version) if dist is not None else None
    state = check_published(args.index_url, project.name, project.version, built)
    actions.write_outputs(
        {"published": "true" if state.published else "false", "missing": " ".join(state.missing)}, env
    )
    lines = ["### directive-release published", ""]
    if state.published:
        lines.append(f"{project.name} {project.version} is already on the index: nothing to upload.")
    elif built is not None and state.present:
        lines.append(
            f"{project.name} {project.version} is partly on the index: {len(state.present)} file(s) there,"
            f" {len(state.missing)} to upload."
        )
    else:
        lines.append(f"{project.name} {project.version} is not on the index yet.")
    actions.append_summary("\n".join(lines) + "\n", env)
    return 0


def _built_version(args: argparse.Namespace, project: ProjectInfo, action: str) -> str:
    """``--version`` (default: the project's); refused unless it is the version that was built."""
    version = args.version or project.version
    if version != project.version:
        raise UsageError(
            f"--version {version} differs from {project.path}'s version {project.version};"
            f" {action} only the version that was built and published"
        )
    return version


def _tag(args: argparse.Namespace, env: dict[str, str]) -> int:
    project = read_project(args.project)
    version = _built_version(args, project, "tag")
    tag_name = project.settings.tag_for(version)
    result = tag_release(
        args.project,
        tag=tag_name,
        version=version,
        commit=args.commit,
        remote=args.remote or project.settings.remote,
        environ=env,
    )
    actions.write_outputs({"tag": result.tag, "tag-sha": result.tag_sha}, env)
    if result.pushed:
        what = f"pushed annotated tag {result.tag} -> {result.commit[:12]} to {result.remote}"
    else:
        what = f"tag {result.tag} already on {result.remote} at {result.commit[:12]}: nothing to do"
    sys.stderr.write(redact(what) + "\n")
    actions.append_summary(f"### directive-release tag\n\n{what}\n", env)
    return 0


def _github_release(args: argparse.Namespace, env: dict[str, str]) -> int:
    from .github_release import ReleaseTarget, dist_to_attach, publish_release

    project = read_project(args.project)
    version = _built_version(args, project, "release")
    token = env.get("GITHUB_TOKEN")
    if not token:
        raise UsageError("GITHUB_TOKEN is not set; pass the job's token in the step's env")
    api_url = env.get("GITHUB_API_URL") or "https://api.github.com"
    if not api_url.startswith(("https://", "http://")):
        raise UsageError("GITHUB_API_URL must be an http(s) URL")
    target = ReleaseTarget.from_environ(env, project.settings.tag_for(version), args.commit)
    files = dist_to_attach(args.dist)
    result = publish_release(GitHubClient(api_url, token), target, files)
    actions.write_outputs(
        {"release-url": result.url, "release-id": str(result.release_id), "created": "true" if result.created else "false"},
        env,
    )
    if result.created:
        what = f"created the GitHub Release {target.tag} with {len(result.attached)} file(s) attached"
    elif result.attached:
        what = f"GitHub Release {target.tag} exists; attached {len(result.attached)} missing file(s)"
    else:
        what = f"GitHub Release {target.tag} exists with every file: nothing to do"
    sys.stderr.write(redact(what) + "\n")
    actions.append_summary(f"### directive-release github-release\n\n{what}: {result.url}\n", env)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
