"""Every workflow ``directive-release init`` generates (and this repository's own) passes the
offline linters with no finding, keeps the hardening rules the linters cannot see, and this
repository's release.yml is what init generates for it (installing the tool from its checkout)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from ci_support import ROOT, copy_version_sources, tool

from directive_release import __version__
from directive_release.ci.workflow import ACTIONS, INSTALL_TOOL

WORKFLOWS = ROOT / ".github" / "workflows"
RELEASE = WORKFLOWS / "release.yml"
CI = WORKFLOWS / "ci.yml"
PINS = {action: sha for action, sha, _tag in ACTIONS.values()}
TAGS = {action: tag for action, _sha, tag in ACTIONS.values()}
SELF_INSTALL = "python -m pip install .  # this project releases itself from its own checkout"

# name -> init options; each is generated once per module by the real command.
VARIANTS = {
    "trusted": [],
    "token": ["--token"],
    "trusted-testpypi-develop": ["--base-branch", "develop", "--environment", "release",
                                 "--index-url", "https://test.pypi.org/simple/",
                                 "--repository-url", "https://test.pypi.org/legacy/"],
    "token-own-index": ["--token", "--index-url", "https://pypi.example.org/simple/",
                        "--repository-url", "https://pypi.example.org/upload/", "--python-version", "3.13"],
}


def run_init(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("directive-release"), "init", *args], cwd=project, capture_output=True, text=True, timeout=60,
        stdin=subprocess.DEVNULL, env={**os.environ, "NO_COLOR": "1"},
    )


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """variant -> its generated release.yml (each in its own project)."""
    paths = {}
    for name, args in VARIANTS.items():
        project = tmp_path_factory.mktemp(name)
        (project / "pyproject.toml").write_text('[project]\nname = "ci-demo-pkg"\nversion = "0.1.0"\n')
        result = run_init(project, "--yes", *args)
        assert result.returncode == 0, result.stderr
        paths[name] = project / ".github" / "workflows" / "release.yml"
    return paths


def load(path: Path | str) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8") if isinstance(path, Path) else path
    data = yaml.safe_load(text)
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data


def steps(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, step) for name, job in workflow["jobs"].items() for step in job.get("steps", [])]


def check_jsonschema(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *map(str, paths)],
        capture_output=True, text=True, timeout=120,
    )


def zizmor(*paths: Path) -> subprocess.CompletedProcess[str]:
    # Offline and without a GitHub token: with one and no network zizmor crashes.
    env = {k: v for k, v in os.environ.items() if k not in ("GH_TOKEN", "GITHUB_TOKEN")}
    return subprocess.run(
        [tool("zizmor"), "--offline", "--no-progress", *map(str, paths)],
        capture_output=True, text=True, timeout=120, env={**env, "NO_COLOR": "1"},
    )


def all_release_workflows(generated: dict[str, Path]) -> list[Path]:
    return [RELEASE, *generated.values()]


# --- the linters ------------------------------------------------------------------------------------


def test_check_jsonschema_accepts_every_workflow(generated: dict[str, Path]) -> None:
    result = check_jsonschema(*all_release_workflows(generated), CI)
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing_in_any_workflow(generated: dict[str, Path]) -> None:
    result = zizmor(WORKFLOWS, *(path.parent for path in generated.values()))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("No findings") == 1  # one summary for all inputs


@pytest.mark.parametrize(
    ("variant", "mutation", "finding"),
    [
        ("trusted", lambda t: t.replace(f"actions/checkout@{PINS['actions/checkout']}", "actions/checkout@v7", 1),
         "unpinned-uses"),
        ("trusted", lambda t: t.replace(f"pypa/gh-action-pypi-publish@{PINS['pypa/gh-action-pypi-publish']}",
                                        "pypa/gh-action-pypi-publish@release/v1", 1), "unpinned-uses"),
        ("token", lambda t: t.replace('run: directive-release-ci gate --base-branch "$BASE_BRANCH"',
                                      'run: echo "${{ github.event.head_commit.message }}"', 1), "template-injection"),
        ("trusted", lambda t: t.replace("        with:\n          persist-credentials: false\n", "", 1), "artipacked"),
        ("token", lambda t: t.replace("run: | # zizmor: ignore[use-trusted-publishing]", "run: |", 1),
         "use-trusted-publishing"),
        ("trusted", lambda t: t.replace("    permissions:\n      contents: read\n    steps:\n",
                                        "    permissions: write-all\n    steps:\n", 1), "excessive-permissions"),
    ],
    ids=["unpinned", "unpinned-publish-action", "injection", "credentials", "token-publishing", "write-all"],
)
def test_zizmor_would_catch_a_regression(tmp_path: Path, generated: dict[str, Path], variant: str,
                                         mutation, finding: str) -> None:
    original = generated[variant].read_text()
    mutated = mutation(original)
    assert mutated != original
    broken = tmp_path / "release.yml"
    broken.write_text(mutated)
    result = zizmor(broken)
    assert result.returncode != 0 and finding in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("timeout-minutes: 10", "timeout-minutes: ten", "timeout-minutes"),
        ("    runs-on: ubuntu-latest\n", "    runs-on: ubuntu-latest\n    id-token: write\n", "id-token"),
        ("cancel-in-progress: false", "cancel-in-progress: maybe", "cancel-in-progress"),
    ],
    ids=["type", "unknown-key", "not-a-boolean"],
)
def test_check_jsonschema_would_catch_a_regression(tmp_path: Path, generated: dict[str, Path],
                                                   old: str, new: str, where: str) -> None:
    for variant in ("trusted", "token"):
        text = generated[variant].read_text()
        assert old in text
        broken = tmp_path / f"{variant}.yml"
        broken.write_text(text.replace(old, new, 1))
        result = check_jsonschema(broken)
        assert result.returncode != 0 and where in result.stdout, result.stdout


# --- this repository's own release.yml is the generated one --------------------------------------


def test_own_release_workflow_is_what_init_generates_for_this_repository(tmp_path: Path) -> None:
    project = tmp_path / "directive-release"
    project.mkdir()
    copy_version_sources(project)
    subprocess.run(["git", "init", "-q", "-b", "main", str(project)], check=True)
    subprocess.run(["git", "-C", str(project), "remote", "add", "origin",
                    "https://github.com/directive-release/directive-release.git"], check=True)
    result = run_init(project, "--yes")
    assert result.returncode == 0, result.stderr
    generated = (project / ".github" / "workflows" / "release.yml").read_text()
    assert generated.count(INSTALL_TOOL) == 4
    assert RELEASE.read_text() == generated.replace(INSTALL_TOOL, SELF_INSTALL)
    assert "Owner:             directive-release" in result.stdout


# --- rules the linters do not check -----------------------------------------------------------------


def test_every_action_is_pinned_to_a_verified_full_sha_with_its_tag(generated: dict[str, Path]) -> None:
    for path in [*all_release_workflows(generated), CI]:
        for line in path.read_text().splitlines():
            match = re.search(r"uses: ([\w.-]+/[\w.-]+)@(\S+)(?: # (\S+))?$", line)
            if "uses:" in line:
                assert match, f"{path}: {line}"
                action, ref, tag = match.groups()
                assert PINS.get(action) == ref and re.fullmatch(r"[0-9a-f]{40}", ref), f"{path}: {line}"
                assert tag == TAGS[action], f"{path}: {line}"


def test_every_checkout_drops_its_credentials(generated: dict[str, Path]) -> None:
    for path in [*all_release_workflows(generated), CI]:
        checkouts = [step for _job, step in steps(load(path)) if step.get("uses", "").startswith("actions/checkout@")]
        assert checkouts and all(step["with"]["persist-credentials"] is False for step in checkouts)


def test_no_expression_is_interpolated_into_a_script(generated: dict[str, Path]) -> None:
    for path in [*all_release_workflows(generated), CI]:
        for job, step in steps(load(path)):
            assert "${{" not in step.get("run", ""), f"{path} job {job}: use env: instead"


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_permissions_are_empty_by_default_and_least_per_job(generated: dict[str, Path], variant: str) -> None:
    workflow = load(generated[variant])
    assert workflow["permissions"] == {}
    jobs = workflow["jobs"]
    assert jobs["gate"]["permissions"] == {"contents": "read", "pull-requests": "read"}
    assert jobs["build"]["permissions"] == {"contents": "read"}
    assert jobs["published"]["permissions"] == {"contents": "read"}
    if variant.startswith("trusted"):
        assert jobs["publish"]["permissions"] == {"id-token": "write"}
    else:
        assert jobs["publish"]["permissions"] == {"contents": "read"}
    assert jobs["tag"]["permissions"] == {"contents": "write"}
    assert jobs["github-release"]["permissions"] == {"contents": "write"}
    with_id_token = [name for name, job in jobs.items() if "id-token" in job["permissions"]]
    assert with_id_token == (["publish"] if variant.startswith("trusted") else [])
    assert generated[variant].read_text().count("id-token: write #") == len(with_id_token)
    assert all(job["permissions"] == {"contents": "read"} for job in load(CI)["jobs"].values())


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_jobs_chain_gate_build_published_publish_tag_release(generated: dict[str, Path], variant: str) -> None:
    workflow = load(generated[variant])
    jobs = workflow["jobs"]
    assert list(jobs) == ["gate", "build", "published", "publish", "tag", "github-release"]
    assert jobs["build"]["needs"] == "gate" and "if" not in jobs["build"]  # every push builds and checks
    assert jobs["published"]["needs"] == ["gate", "build"]
    assert jobs["publish"]["needs"] == ["gate", "published"]
    assert jobs["tag"]["needs"] == ["gate", "publish"]  # tag only after a successful publish
    assert jobs["github-release"]["needs"] == ["gate", "tag"]
    for name in ("published", "publish", "tag", "github-release"):
        assert jobs[name]["if"] == "needs.gate.outputs.release == 'true'"
    build_runs = [step.get("run", "") for step in jobs["build"]["steps"]]
    assert "python -m build" in build_runs and "python -m twine check --strict dist/*" in build_runs
    base = VARIANTS[variant][1] if "--base-branch" in VARIANTS[variant] else "main"
    assert workflow["on"] == {"push": {"branches": [base]}} and workflow["env"]["BASE_BRANCH"] == base
    for concurrency in (workflow["concurrency"], jobs["publish"]["concurrency"]):
        assert concurrency["cancel-in-progress"] is False and concurrency["queue"] == "max"
    assert workflow["concurrency"]["group"] != jobs["publish"]["concurrency"]["group"]


@pytest.mark.parametrize("variant", [v for v in VARIANTS if v.startswith("trusted")])
def test_trusted_publishing_job(generated: dict[str, Path], variant: str) -> None:
    text = generated[variant].read_text()
    publish = load(text)["jobs"]["publish"]
    testpypi = "--repository-url" in VARIANTS[variant]
    environment = "release" if "--environment" in VARIANTS[variant] else "pypi"
    site = "https://test.pypi.org" if testpypi else "https://pypi.org"
    assert publish["environment"] == {"name": environment, "url": f"{site}/p/ci-demo-pkg"}
    (upload,) = [step for step in publish["steps"] if step.get("uses", "").startswith("pypa/")]
    assert upload["if"] == "needs.published.outputs.published != 'true'"
    assert upload["with"]["attestations"] is True and upload["with"]["skip-existing"] is True
    assert "password" not in upload["with"] and "secrets." not in text
    assert upload["with"].get("repository-url") == ("https://test.pypi.org/legacy/" if testpypi else None)
    assert not any("run" in step for step in publish["steps"])  # no code of ours runs beside the OIDC token


@pytest.mark.parametrize("variant", [v for v in VARIANTS if v.startswith("token")])
def test_token_publishing_job(generated: dict[str, Path], variant: str) -> None:
    text = generated[variant].read_text()
    publish = load(text)["jobs"]["publish"]
    assert publish["environment"]["name"] == "pypi"
    (upload,) = [step for step in publish["steps"] if "twine upload" in step.get("run", "")]
    assert upload["env"]["TWINE_PASSWORD"] == "${{ secrets.PYPI_API_TOKEN }}"
    assert upload["if"] == "needs.published.outputs.published != 'true'"
    assert not re.search(r"(^|\s)(-p|--password)(\s|=)", upload["run"])
    assert text.count("secrets.") == 1  # nowhere else, in particular not on a command line
    assert not any(step.get("uses", "").startswith("pypa/") for step in publish["steps"])  # no attestations


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_the_tool_installed_is_exactly_the_version_that_generated_it(generated: dict[str, Path], variant: str) -> None:
    workflow = load(generated[variant])
    assert workflow["env"]["DIRECTIVE_RELEASE_VERSION"] == __version__
    installs = [step["run"] for _job, step in steps(workflow) if "directive-release" in step.get("run", "")
                and "pip install" in step.get("run", "")]
    assert installs == [INSTALL_TOOL] * 4
    others = [step["run"] for _job, step in steps(workflow) if "pip install" in step.get("run", "")
              and step["run"] not in installs]
    assert others and all(re.fullmatch(r'python -m pip install( "[\w.-]+==[\d.]+")+', run) for run in others)


def test_ci_runs_the_suite_and_the_publish_dry_run_on_prs_and_pushes() -> None:
    ci = load(CI)
    assert "pull_request" in ci["on"] and "push" in ci["on"]
    runs = [step.get("run", "") for _job, step in steps(ci)]
    assert "bash scripts/test.sh" in runs
    assert "python -m build" in runs and any("twine check --strict" in run for run in runs)
