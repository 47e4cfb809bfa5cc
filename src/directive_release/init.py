"""``directive-release init``: set a project up for the whole publish flow in one command.

Writes ``.github/workflows/release.yml`` (see :mod:`directive_release.ci.workflow`),
records ``[tool.directive-release]`` settings only where they differ from the
defaults, offers the ``check-version`` pre-commit hook, and prints exactly what to
enter on PyPI (the trusted publisher, or the pending publisher of a project not on
PyPI yet) and the one GitHub setting to make (the environment, limited to the base
branch).

Idempotent: a second run changes nothing and says so. A workflow a person has
edited is never overwritten (one line, exit 1) unless ``--force``, which shows the
difference first. Imported only when ``directive-release init`` runs.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .ci.workflow import (
    PYPI_INDEX_URL,
    PYPI_UPLOAD_URL,
    TRUSTED_PUBLISHING_URLS,
    WORKFLOW_FILE,
    WORKFLOW_PATH,
    WorkflowOptions,
    is_unedited,
    render,
)
from .errors import EXIT_INTERRUPTED, EXIT_OK, ReleaseError, UsageError
from .settings import TABLE, Settings

PROG = "directive-release init"
HOME = "https://github.com/directive-release/directive-release"
HOOK_ID = "check-version"
_ENVIRONMENT = re.compile(r"^[A-Za-z0-9_.-]{1,255}$")


def _parser() -> argparse.ArgumentParser:
    from .helptext import HelpFormatter, Parser

    parser = Parser(
        prog=PROG,
        formatter_class=HelpFormatter,
        description=textwrap.dedent(
            """\
            Set this project up to publish to PyPI from GitHub Actions when a
            release/vX.Y.Z pull request is merged: writes .github/workflows/release.yml
            (gate -> build -> already published? -> publish -> tag -> GitHub Release)
            and prints what to enter on PyPI and GitHub.

            Publishing uses Trusted Publishing (OIDC, no stored secret, PEP 740
            attestations); --token writes the API-token variant for indexes without it.
            In a terminal it asks for the publish method, base branch and environment
            name (defaults shown); --yes takes the defaults. Running it again changes
            nothing; a workflow you edited is left alone unless --force.
            """
        ),
        epilog=textwrap.dedent(
            """\
            Examples:
              directive-release init                first release setup: ask, then write the workflow
              directive-release init --yes          in CI or a script: every default (Trusted Publishing, main, pypi)
              directive-release init --dry-run      show the files it would write; change nothing
              directive-release init --force        replace a workflow you edited (after showing the difference)
              directive-release init --token --yes  API-token variant (PYPI_API_TOKEN environment secret)
              directive-release init --base-branch develop --environment release --yes
            """
        ),
    )
    parser.add_argument("--project", type=Path, default=Path("."), help="project root holding pyproject.toml (default: .)")
    parser.add_argument("--token", action="store_true", help="publish with an API token instead of Trusted Publishing")
    parser.add_argument("--base-branch", help="branch release pull requests merge into (default: base-branch of [tool.directive-release], else main)")
    parser.add_argument("--environment", help="GitHub environment of the publish job (default: pypi)")
    parser.add_argument("--index-url", help=f"simple index asked before uploading (default: {PYPI_INDEX_URL})")
    parser.add_argument("--repository-url", help=f"upload URL (default: {PYPI_UPLOAD_URL}); Trusted Publishing: PyPI or TestPyPI only")
    parser.add_argument("--python-version", default="3.12", help="Python the jobs use (default: 3.12)")
    parser.add_argument("-y", "--yes", action="store_true", help="ask nothing: take the defaults and the options given")
    parser.add_argument("-n", "--dry-run", action="store_true", help="print the files it would write; change nothing")
    parser.add_argument("--force", action="store_true", help="replace an edited workflow (after showing the difference)")
    return parser


@dataclass
class Change:
    path: Path
    old: str | None
    new: str
    note: str

    def diff(self, root: Path) -> str:
        name = str(self.path.relative_to(root))
        return "".join(difflib.unified_diff(
            (self.old or "").splitlines(keepends=True), self.new.splitlines(keepends=True),
            fromfile=f"a/{name}" if self.old is not None else "/dev/null", tofile=f"b/{name}",
        ))


@dataclass
class Plan:
    root: Path
    changes: list[Change] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class GitHubRepo:
    owner: str
    name: str


def main(argv: Sequence[str] | None = None) -> int:
    from .redact import redact, register_secrets_from_env

    register_secrets_from_env()
    try:
        args = _parser().parse_args(list(sys.argv[2:] if argv is None else argv))
        return run(args)
    except ReleaseError as exc:
        sys.stderr.write(f"directive-release: {redact(str(exc))}\n")
        return exc.exit_code
    except (KeyboardInterrupt, EOFError):
        sys.stderr.write("directive-release: interrupted; nothing was changed\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `init --dry-run | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def run(args: argparse.Namespace) -> int:
    from .ci.project import read_project

    root = args.project.resolve()
    project = read_project(root)
    _check_repository_root(root)
    remote = origin_repository(root)
    interactive = not args.yes and sys.stdin.isatty() and sys.stdout.isatty()
    if not args.yes and not interactive:
        print("no terminal to ask in: taking the defaults and the options given (as --yes)")
    options, add_hook = _choose(args, project.name, project.settings, root, interactive)

    plan = Plan(root)
    workflow_path = root / WORKFLOW_PATH
    new_workflow = render(options)
    old_workflow = workflow_path.read_text(encoding="utf-8") if workflow_path.exists() else None
    if old_workflow == new_workflow:
        plan.unchanged.append(WORKFLOW_PATH)
    elif old_workflow is not None and not is_unedited(old_workflow):
        if not args.force:
            raise ReleaseError(
                f"{WORKFLOW_PATH} has been edited since init wrote it (or was not written by init);"
                " left as it is: --dry-run --force shows the difference, --force replaces it"
            )
        change = Change(workflow_path, old_workflow, new_workflow, "replaced (--force)")
        if not args.dry_run:  # a dry run shows it below with the other changes
            sys.stdout.write(change.diff(root))
        plan.changes.append(change)
    else:
        plan.changes.append(Change(workflow_path, old_workflow, new_workflow,
                                   "written" if old_workflow is None else "updated (it was unedited)"))

    settings_change = _settings_change(root, options.base_branch)
    if settings_change is None:
        plan.unchanged.append("pyproject.toml")
    else:
        plan.changes.append(settings_change)

    hook = _hook_change(root, add_hook)
    if isinstance(hook, Change):
        plan.changes.append(hook)
    elif hook:
        plan.notes.append(hook)

    if args.dry_run:
        _show_dry_run(plan)
    else:
        for change in plan.changes:
            change.path.parent.mkdir(parents=True, exist_ok=True)
            _write(change.path, change.new)
            print(f"{change.path.relative_to(root)}: {change.note}")
        if not plan.changes:
            print("nothing to change: the workflow and settings are already as init would write them")
    for note in plan.notes:
        print(note)
    print()
    print(publisher_instructions(options, remote))
    return EXIT_OK


def _write(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.init-{os.getpid()}")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def _show_dry_run(plan: Plan) -> None:
    if not plan.changes:
        print("dry run: nothing would change")
        return
    for change in plan.changes:
        name = change.path.relative_to(plan.root)
        if change.old is None:
            print(f"dry run: would write {name}:")
            print(change.new, end="" if change.new.endswith("\n") else "\n")
        else:
            print(f"dry run: would change {name}:")
            sys.stdout.write(change.diff(plan.root))


def _check_repository_root(root: Path) -> None:
    from .git.repo import discover

    try:
        repository = discover(root)
    except ReleaseError:
        return  # not a git repository (yet): the workflow is written all the same
    if repository.worktree.resolve() != root:
        raise UsageError(
            f"{root} is inside the git work tree {repository.worktree}; GitHub reads workflows from"
            " the repository root: run init there (one published project per repository)"
        )


# --- choices ------------------------------------------------------------------------------------


def _choose(args: argparse.Namespace, name: str, settings: Settings, root: Path,
            interactive: bool) -> tuple[WorkflowOptions, bool]:
    method = "token" if args.token else "trusted"
    base = args.base_branch or _found_base(root, settings)
    environment = args.environment or "pypi"
    has_precommit = (root / ".pre-commit-config.yaml").exists()
    add_hook = True
    if interactive:
        from questionary import confirm, select, text

        method = _ask(select(
            "Publish with", default="trusted" if method == "trusted" else "token",
            choices=[_choice("Trusted Publishing (OIDC, no stored secret, attestations)", "trusted"),
                     _choice("API token (PYPI_API_TOKEN environment secret)", "token")],
        ))
        base = _ask(text(f"Base branch release pull requests merge into [{base}]", default=base)).strip() or base
        environment = _ask(text(f"GitHub environment of the publish job [{environment}]",
                                default=environment)).strip() or environment
        if has_precommit and not _has_hook(root):
            add_hook = bool(_ask(confirm("Add the check-version hook to .pre-commit-config.yaml?", default=True)))
    _check_branch(base)
    if not _ENVIRONMENT.match(environment):
        raise UsageError(f"environment name {environment!r}: use letters, digits, '.', '_' and '-' only")
    index_url = args.index_url or PYPI_INDEX_URL
    repository_url = args.repository_url or PYPI_UPLOAD_URL
    if method == "trusted" and repository_url not in TRUSTED_PUBLISHING_URLS:
        raise UsageError(
            f"--repository-url {repository_url}: Trusted Publishing works with PyPI and TestPyPI only;"
            " add --token for another index"
        )
    for url in (index_url, repository_url):
        if not url.startswith(("https://", "http://")) or any(ch in url for ch in "\"'\\\n\r $`"):
            raise UsageError(f"{url!r} is not a plain http(s) URL")
    if not re.fullmatch(r"3\.\d{1,2}", args.python_version):
        raise UsageError(f"--python-version {args.python_version!r}: give a Python 3 version like 3.12")
    options = WorkflowOptions(
        project_name=name, tool_version=__version__, base_branch=base, environment=environment,
        method=method, index_url=index_url, repository_url=repository_url, python_version=args.python_version,
    )
    return options, add_hook


def _found_base(root: Path, settings: Settings) -> str:
    """base-branch when pyproject.toml sets it; else the branch a release finds without asking the
    remote (refs/remotes/<remote>/HEAD, init.defaultBranch, main), so a master repository gets master."""
    if "base_branch" in settings.configured:
        return settings.base_branch
    from .git.config import load_config
    from .git.repo import discover
    from .release.base import local_base

    try:
        repository = discover(root)
        return local_base(repository, settings, load_config(repository), settings.remote).branch
    except (ReleaseError, OSError):
        return settings.base_branch


def _choice(title: str, value: str):  # -> questionary.Choice
    from questionary import Choice

    return Choice(title=title, value=value)


def _ask(question):  # -> the answer; None (Ctrl-C, Esc) is an interruption
    from .interactive import _ask as ask

    answer = ask(question)
    if answer is None:
        raise KeyboardInterrupt
    return answer


def _check_branch(base: str) -> None:
    from .errors import ConfigError
    from .settings import settings_from_table

    try:
        settings_from_table({"base-branch": base}, source="--base-branch")
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


# --- pyproject.toml: [tool.directive-release] only where it differs from the defaults -----------


def _settings_change(root: Path, base_branch: str) -> Change | None:
    import tomlkit

    path = root / "pyproject.toml"
    old = path.read_text(encoding="utf-8")
    document = tomlkit.parse(old)
    tool = document.get("tool")
    table = tool.get(TABLE.removeprefix("tool.")) if tool is not None else None
    current = table.get("base-branch") if table is not None else None
    default = Settings().base_branch
    if base_branch == default:
        if current is None:
            return None
        del table["base-branch"]  # back to the default: the key goes
        if not table:
            del tool[TABLE.removeprefix("tool.")]
            if not tool:
                del document["tool"]
    else:
        if current == base_branch:
            return None
        if tool is None:
            tool = tomlkit.table(is_super_table=True)
            document["tool"] = tool
        if table is None:
            table = tomlkit.table()
            tool[TABLE.removeprefix("tool.")] = table
        table["base-branch"] = base_branch
    new = tomlkit.dumps(document).rstrip() + "\n"  # no blank line left where a table went
    return Change(path, old, new, f"[{TABLE}] base-branch {'set to ' + base_branch if base_branch != default else 'back to the default'}")


# --- .pre-commit-config.yaml: the check-version hook --------------------------------------------


def _has_hook(root: Path) -> bool:
    path = root / ".pre-commit-config.yaml"
    return path.exists() and re.search(rf"(?m)^\s*-?\s*id:\s*['\"]?{HOOK_ID}['\"]?\s*$", path.read_text(encoding="utf-8")) is not None


def hook_snippet(indent: str) -> str:
    step = indent + "  "
    return (
        f"{indent}- repo: {HOME}\n"
        f"{step}rev: v{__version__}\n"
        f"{step}hooks:\n"
        f"{step}  - id: {HOOK_ID}\n"
    )


def _hook_change(root: Path, wanted: bool) -> Change | str | None:
    path = root / ".pre-commit-config.yaml"
    if not path.exists() or _has_hook(root):
        return None
    if not wanted:
        return f"not added: the {HOOK_ID} pre-commit hook (add it any time with init, or by hand)"
    old = path.read_text(encoding="utf-8")
    lines = old.splitlines()
    # Only the plain layout is edited: `repos:` the last top-level key, its items `- repo:` lines.
    top_level = [i for i, line in enumerate(lines) if line and not line[0].isspace() and not line.startswith("#")]
    items = [re.match(r"^(\s*)- repo:", line) for line in lines]
    indents = {m.group(1) for m in items if m}
    if not top_level or not lines[top_level[-1]].rstrip() == "repos:" or len(indents) != 1:
        return (f"{path.name}: add the {HOOK_ID} hook by hand (init edits only a plain `repos:` list at the end):\n"
                + hook_snippet("  "))
    new = old + ("" if old.endswith("\n") else "\n") + hook_snippet(indents.pop())
    return Change(path, old, new, f"added the {HOOK_ID} hook")


# --- what to enter on PyPI and GitHub -----------------------------------------------------------


def origin_repository(root: Path) -> GitHubRepo | None:
    """owner/name of the ``origin`` remote when it is on github.com (https, ssh or scp-like)."""
    from .git.config import load_config
    from .git.remote import github_repository, resolve_remote
    from .git.repo import discover

    try:
        repository = discover(root)
        remote = resolve_remote(load_config(repository), "origin")
    except ReleaseError:
        return None
    found = github_repository(remote.fetch_url)
    if found is None:
        return None
    owner, name = found
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", owner) or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        return None
    return GitHubRepo(owner, name)


def publisher_instructions(options: WorkflowOptions, remote: GitHubRepo | None) -> str:
    owner = remote.owner if remote else "<your GitHub user or organization>"
    repo = remote.name if remote else "<the repository name on GitHub>"
    lines: list[str] = []
    if remote is None:
        lines.append("No GitHub remote (origin) found: fill in the owner and repository below yourself.")
    if options.method == "trusted":
        site = TRUSTED_PUBLISHING_URLS[options.repository_url]
        lines += [
            f"On {site.removeprefix('https://')}, add a trusted publisher (GitHub Actions) with exactly these values:",
            f"  Owner:             {owner}",
            f"  Repository name:   {repo}",
            f"  Workflow name:     {WORKFLOW_FILE}",
            f"  Environment name:  {options.environment}",
            f"  where: {site}/manage/project/{options.project_name}/settings/publishing/",
            f"Not on {site.removeprefix('https://')} yet? Add a pending publisher with the same values and",
            f"  PyPI Project Name: {options.project_name}",
            f"  at {site}/manage/account/publishing/ (the first upload creates the project).",
        ]
    else:
        lines += [
            "Create an API token on the index (for the first release an account-wide one, then a",
            "project-scoped one) and store it as the environment secret PYPI_API_TOKEN (below).",
        ]
    lines += [
        "On GitHub, once (Settings -> Environments -> New environment):",
        f"  Name: {options.environment}",
        f"  Deployment branches and tags: Selected branches -> {options.base_branch}",
    ]
    if options.method == "token":
        lines.append("  Environment secrets: PYPI_API_TOKEN = the token")
    if remote is not None:
        lines.append(f"  at https://github.com/{owner}/{repo}/settings/environments")
    lines += [
        f"Then commit {WORKFLOW_PATH}, and release with: directive-release (merge the release/vX.Y.Z pull request).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
