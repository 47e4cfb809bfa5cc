"""``directive-release init`` on temporary projects, as a user runs it: files written, exit codes,
idempotence, the values printed for PyPI and GitHub; prompts in a real pseudo-terminal."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pexpect
import pytest
import yaml
from ci_support import ROOT, git, tool

from directive_release import __version__
from directive_release.ci.workflow import CHECKSUM_PREFIX

WORKFLOW = Path(".github/workflows/release.yml")
PYPROJECT = '[project]\nname = "ci-demo-pkg"\nversion = "0.1.0"\n\n[tool.other]\nkeep = "me"  # a comment\n'
PRECOMMIT = """\
# my hooks
repos:
  - repo: https://github.com/pre-commit/pre-commit-hooks
    rev: v6.0.0
    hooks:
      - id: trailing-whitespace
"""


def make_project(path: Path, origin: str | None = None, *, git_repo: bool = True) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "pyproject.toml").write_text(PYPROJECT)
    if git_repo:
        git(path, "init", "-q", "-b", "main")
        if origin:
            git(path, "remote", "add", "origin", origin)
    return path


def init(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [tool("directive-release"), "init", *args], cwd=project, capture_output=True, text=True, timeout=60,
        stdin=subprocess.DEVNULL, env={**os.environ, "NO_COLOR": "1"},
    )
    assert "Traceback" not in result.stderr
    return result


def snapshot(project: Path) -> dict[str, bytes]:
    return {str(p.relative_to(project)): p.read_bytes() for p in sorted(project.rglob("*"))
            if p.is_file() and ".git/" not in str(p.relative_to(project)) + "/"}


def snapshot_with_times(project: Path) -> dict[str, tuple[bytes, int]]:
    return {name: (data, (project / name).stat().st_mtime_ns) for name, data in snapshot(project).items()}


@pytest.mark.parametrize(
    "origin",
    ["https://github.com/acme/widget.git", "https://github.com/acme/widget", "git@github.com:acme/widget.git",
     "ssh://git@github.com/acme/widget.git"],
    ids=["https", "https-no-suffix", "scp-ssh", "ssh-url"],
)
def test_first_run_writes_the_workflow_and_prints_the_publisher_values(tmp_path: Path, origin: str) -> None:
    project = make_project(tmp_path / "widget", origin)
    result = init(project, "--yes")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    text = (project / WORKFLOW).read_text()
    assert text.startswith(f"# Release workflow written by `directive-release init` (directive-release {__version__})")
    assert "pypa/gh-action-pypi-publish@" in text
    out = result.stdout
    assert ".github/workflows/release.yml: written" in out
    for line in ["  Owner:             acme", "  Repository name:   widget", "  Workflow name:     release.yml",
                 "  Environment name:  pypi", "  PyPI Project Name: ci-demo-pkg",
                 "  at https://pypi.org/manage/account/publishing/ (the first upload creates the project).",
                 "  Deployment branches and tags: Selected branches -> main",
                 "  at https://github.com/acme/widget/settings/environments"]:
        assert line in out.splitlines(), out
    assert (project / "pyproject.toml").read_text() == PYPROJECT  # defaults: nothing recorded
    assert set(snapshot(project)) == {"pyproject.toml", str(WORKFLOW)}


def test_second_run_changes_nothing_and_says_so(tmp_path: Path) -> None:
    project = make_project(tmp_path / "widget", "https://github.com/acme/widget.git")
    (project / ".pre-commit-config.yaml").write_text(PRECOMMIT)
    assert init(project, "--yes", "--base-branch", "develop").returncode == 0
    before = snapshot_with_times(project)
    again = init(project, "--yes", "--base-branch", "develop")
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("nothing to change")
    assert snapshot_with_times(project) == before
    dry = init(project, "--yes", "--base-branch", "develop", "--dry-run")
    assert dry.returncode == 0 and dry.stdout.startswith("dry run: nothing would change")


def test_no_github_remote_still_writes_and_says_what_to_fill_in(tmp_path: Path) -> None:
    for project in (make_project(tmp_path / "plain", git_repo=False),
                    make_project(tmp_path / "no-origin"),
                    make_project(tmp_path / "gitlab", "https://gitlab.com/acme/widget.git")):
        result = init(project, "--yes")
        assert result.returncode == 0, result.stderr
        assert (project / WORKFLOW).exists()
        assert "No GitHub remote (origin) found: fill in the owner and repository below yourself." in result.stdout
        assert "  Owner:             <your GitHub user or organization>" in result.stdout
        assert "  Workflow name:     release.yml" in result.stdout
        assert "settings/environments" not in result.stdout


def test_token_variant_and_switching_back_while_unedited(tmp_path: Path) -> None:
    project = make_project(tmp_path / "widget", "git@github.com:acme/widget.git")
    result = init(project, "--yes", "--token")
    assert result.returncode == 0, result.stderr
    text = (project / WORKFLOW).read_text()
    assert "secrets.PYPI_API_TOKEN" in text and "pypa/gh-action-pypi-publish" not in text and "id-token: write" not in text
    assert "  Environment secrets: PYPI_API_TOKEN = the token" in result.stdout
    assert "trusted publisher" not in result.stdout
    # The file is init's own and unedited: another choice replaces it without --force.
    switched = init(project, "--yes")
    assert switched.returncode == 0, switched.stderr
    assert "release.yml: updated (it was unedited)" in switched.stdout
    assert "id-token: write" in (project / WORKFLOW).read_text()


def test_an_edited_workflow_is_never_overwritten_without_force(tmp_path: Path) -> None:
    project = make_project(tmp_path / "widget", "https://github.com/acme/widget.git")
    assert init(project, "--yes").returncode == 0
    path = project / WORKFLOW
    edited = path.read_text().replace("timeout-minutes: 15", "timeout-minutes: 25", 1)
    path.write_text(edited)
    before = snapshot_with_times(project)
    for args in (["--yes"], ["--yes", "--token"], ["--yes", "--dry-run"]):
        refused = init(project, *args)
        assert refused.returncode == 1
        assert refused.stderr.splitlines() == [
            "directive-release: .github/workflows/release.yml has been edited since init wrote it"
            " (or was not written by init); left as it is: --dry-run --force shows the difference,"
            " --force replaces it"
        ]
        assert snapshot_with_times(project) == before
    shown = init(project, "--yes", "--dry-run", "--force")
    assert shown.returncode == 0 and snapshot_with_times(project) == before
    assert shown.stdout.count("+    timeout-minutes: 15") == 1 and "-    timeout-minutes: 25" in shown.stdout
    forced = init(project, "--yes", "--force")
    assert forced.returncode == 0, forced.stderr
    assert "-    timeout-minutes: 25" in forced.stdout  # the diff was shown
    assert "+    timeout-minutes: 15" in forced.stdout
    assert "release.yml: replaced (--force)" in forced.stdout
    assert "timeout-minutes: 25" not in path.read_text()
    assert init(project, "--yes").stdout.startswith("nothing to change")


def test_a_workflow_not_written_by_init_counts_as_edited(tmp_path: Path) -> None:
    project = make_project(tmp_path / "widget")
    (project / WORKFLOW).parent.mkdir(parents=True)
    (project / WORKFLOW).write_text("name: mine\n")
    result = init(project, "--yes")
    assert result.returncode == 1 and (project / WORKFLOW).read_text() == "name: mine\n"
    # A forged or stale checksum line is no pass either.
    (project / WORKFLOW).write_text(f"{CHECKSUM_PREFIX}{'0' * 64}\nname: mine\n")
    assert init(project, "--yes").returncode == 1


def test_dry_run_prints_the_files_and_writes_nothing(tmp_path: Path) -> None:
    project = make_project(tmp_path / "widget", "https://github.com/acme/widget.git")
    (project / ".pre-commit-config.yaml").write_text(PRECOMMIT)
    before = snapshot_with_times(project)
    result = init(project, "--yes", "--dry-run", "--base-branch", "develop")
    assert result.returncode == 0, result.stderr
    assert snapshot_with_times(project) == before
    assert "dry run: would write .github/workflows/release.yml:" in result.stdout
    assert "    branches: [\"develop\"]" in result.stdout
    assert "dry run: would change pyproject.toml:" in result.stdout and '+base-branch = "develop"' in result.stdout
    assert "dry run: would change .pre-commit-config.yaml:" in result.stdout and "+      - id: check-version" in result.stdout


def test_settings_are_written_only_where_they_differ_from_the_defaults(tmp_path: Path) -> None:
    project = make_project(tmp_path / "widget")
    assert init(project, "--yes", "--environment", "release").returncode == 0
    assert (project / "pyproject.toml").read_text() == PYPROJECT  # the environment is not a setting
    assert init(project, "--yes", "--base-branch", "develop").returncode == 0
    written = (project / "pyproject.toml").read_text()
    assert written.startswith(PYPROJECT)  # everything else kept byte for byte
    assert tomllib.loads(written)["tool"] == {"other": {"keep": "me"}, "directive-release": {"base-branch": "develop"}}
    # The recorded setting is the next run's default; going back to main removes the key again.
    assert "branches: [\"develop\"]" in (project / WORKFLOW).read_text()
    assert init(project, "--yes").stdout.startswith("nothing to change")
    assert init(project, "--yes", "--base-branch", "main").returncode == 0
    assert (project / "pyproject.toml").read_text() == PYPROJECT


def test_the_precommit_hook_is_added_once_and_odd_layouts_are_left_alone(tmp_path: Path) -> None:
    project = make_project(tmp_path / "widget")
    (project / ".pre-commit-config.yaml").write_text(PRECOMMIT)
    result = init(project, "--yes")
    assert ".pre-commit-config.yaml: added the check-version hook" in result.stdout
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())
    assert config["repos"][0]["hooks"] == [{"id": "trailing-whitespace"}]
    assert config["repos"][1] == {"repo": "https://github.com/directive-release/directive-release",
                                  "rev": f"v{__version__}", "hooks": [{"id": "check-version"}]}
    assert init(project, "--yes").stdout.startswith("nothing to change")

    odd = make_project(tmp_path / "odd")
    text = "repos:\n- repo: local\n  hooks: []\ndefault_stages: [pre-commit]\n"
    (odd / ".pre-commit-config.yaml").write_text(text)
    result = init(odd, "--yes")
    assert result.returncode == 0 and (odd / ".pre-commit-config.yaml").read_text() == text
    assert "add the check-version hook by hand" in result.stdout and "  - id: check-version" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--repository-url", "https://pypi.example.org/upload/"],
         "directive-release: --repository-url https://pypi.example.org/upload/: Trusted Publishing works with"
         " PyPI and TestPyPI only; add --token for another index"),
        (["--base-branch", "bad..name"], "directive-release: --base-branch: [tool.directive-release] base-branch"),
        (["--environment", "a b"], "directive-release: environment name 'a b': use letters"),
        (["--bogus"], "directive-release: unrecognized arguments: --bogus"),
    ],
    ids=["oidc-elsewhere", "branch", "environment", "unknown-option"],
)
def test_bad_choices_are_one_line_and_change_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    project = make_project(tmp_path / "widget")
    before = snapshot_with_times(project)
    result = init(project, "--yes", *args)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(message)
    assert snapshot_with_times(project) == before


def test_a_master_repository_gets_master_without_asking(tmp_path: Path) -> None:
    """Unconfigured, the base branch is what a release would find: here the clone's origin/HEAD."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "master", str(bare))
    seed = make_project(tmp_path / "seed")
    git(seed, "add", "pyproject.toml")
    git(seed, "commit", "-q", "-m", "seed")
    git(seed, "push", "-q", str(bare), "main:master")
    project = tmp_path / "widget"
    git(tmp_path, "clone", "-q", str(bare), str(project))
    git(project, "remote", "set-url", "origin", "https://github.com/acme/widget.git")
    assert git(project, "symbolic-ref", "refs/remotes/origin/HEAD").strip() == "refs/remotes/origin/master"
    result = init(project, "--yes")
    assert result.returncode == 0, result.stderr
    workflow = yaml.safe_load((project / WORKFLOW).read_text())
    assert workflow[True]["push"]["branches"] == ["master"]  # yaml reads the key "on" as True
    table = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["directive-release"]
    assert table["base-branch"] == "master"  # so the CI gate and the release agree
    assert "Selected branches -> master" in result.stdout


def test_a_subdirectory_of_a_repository_is_refused(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "mono")
    sub = make_project(repo / "pkg", git_repo=False)
    result = init(sub, "--yes")
    assert result.returncode == 2 and "run init there" in result.stderr
    assert not (sub / ".github").exists() and not (repo / ".github").exists()


def test_help_shows_examples_and_the_main_command_stays_light() -> None:
    result = subprocess.run([tool("directive-release"), "init", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "Examples:" in result.stdout and "directive-release init --yes" in result.stdout
    probe = subprocess.run(
        [sys.executable, "-c", "import sys, directive_release.cli as c; c.main(['--version']);"
         " print(sorted(m for m in sys.modules if m.startswith(('directive_release.init', 'directive_release.ci',"
         " 'questionary', 'tomlkit'))))"],
        capture_output=True, text=True, timeout=60,
    )
    assert probe.stdout.splitlines() == [f"directive-release {__version__}", "[]"]


# --- prompts in a real pseudo-terminal --------------------------------------------------------------

CURSOR_POSITION_REQUEST = "\x1b[6n"
DOWN, ENTER, CTRL_C = "\x1b[B", "\r", "\x03"


class Terminal:
    def __init__(self, project: Path, *args: str) -> None:
        self.child = pexpect.spawn(tool("directive-release"), ["init", *args], cwd=str(project),
                                   env={**os.environ, "TERM": "xterm"}, dimensions=(24, 100),
                                   encoding="utf-8", timeout=60)
        self.seen = ""

    def expect(self, pattern) -> None:
        while self.child.expect_exact([CURSOR_POSITION_REQUEST, pattern]) == 0:
            self.seen += self.child.before
            self.child.send("\x1b[1;1R")
        self.seen += self.child.before + (self.child.after if isinstance(self.child.after, str) else "")

    def finish(self) -> int:
        self.expect(pexpect.EOF)
        self.child.close()
        assert self.child.exitstatus is not None
        return self.child.exitstatus


@pytest.mark.slow
def test_prompts_show_the_defaults_and_take_the_answers(tmp_path: Path) -> None:
    project = make_project(tmp_path / "widget", "https://github.com/acme/widget.git")
    (project / ".pre-commit-config.yaml").write_text(PRECOMMIT)
    terminal = Terminal(project)
    terminal.expect("Publish with")
    terminal.expect("(Use arrow keys)")
    terminal.child.send(DOWN + ENTER)  # the API token
    terminal.expect("Base branch release pull requests merge into [main]")
    terminal.child.send(ENTER)  # the default
    terminal.expect("GitHub environment of the publish job [pypi]")
    terminal.child.send("\x08" * 4 + "release" + ENTER)
    terminal.expect("Add the check-version hook to .pre-commit-config.yaml?")
    terminal.child.send("n")
    assert terminal.finish() == 0, terminal.seen
    text = (project / WORKFLOW).read_text()
    assert "secrets.PYPI_API_TOKEN" in text and 'name: "release"' in text and 'branches: ["main"]' in text
    assert (project / ".pre-commit-config.yaml").read_text() == PRECOMMIT
    assert "not added: the check-version pre-commit hook" in terminal.seen


@pytest.mark.slow
def test_ctrl_c_at_a_prompt_exits_130_and_changes_nothing(tmp_path: Path) -> None:
    project = make_project(tmp_path / "widget")
    before = snapshot_with_times(project)
    terminal = Terminal(project)
    terminal.expect("Publish with")
    terminal.expect("(Use arrow keys)")
    terminal.child.send(CTRL_C)
    assert terminal.finish() == 130
    assert "directive-release: interrupted; nothing was changed" in terminal.seen
    assert snapshot_with_times(project) == before


def test_the_readme_shows_what_init_really_prints(tmp_path: Path) -> None:
    section = (ROOT / "README.md").read_text().split("\n## Publishing\n", 1)[1].split("\n## ", 1)[0]
    shown = section.split("```text\n", 1)[1].split("```", 1)[0]
    shown = "\n".join(line.removeprefix("   ") for line in shown.splitlines())
    project = make_project(tmp_path / "widget", "git@github.com:acme/widget.git")
    (project / "pyproject.toml").write_text('[project]\nname = "widget"\nversion = "0.1.0"\n')
    result = init(project, "--yes")
    assert result.returncode == 0
    assert shown.strip() in result.stdout
    assert "https://github.com/directive-release/directive-release" in section
    assert "directive-release init --yes" in section and "--token" in section and "--force" in section


def test_the_project_names_its_home() -> None:
    urls = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]
    assert urls["Homepage"] == urls["Repository"] == "https://github.com/directive-release/directive-release"
    assert urls["Issues"] == urls["Repository"] + "/issues"
    from directive_release.init import HOME

    assert HOME == urls["Repository"]  # the pre-commit hook init adds points there too


def test_without_a_terminal_it_takes_the_defaults_and_says_so(tmp_path: Path) -> None:
    project = make_project(tmp_path / "widget", "https://github.com/acme/widget.git")
    result = init(project)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("no terminal to ask in: taking the defaults and the options given (as --yes)\n")
    assert init(project, "--yes").stdout.startswith("nothing to change")  # the same as --yes writes
