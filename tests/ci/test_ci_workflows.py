"""The workflows (and the caller shown in the README) pass the offline linters with no finding,
and keep the hardening rules the linters cannot see."""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from ci_support import ROOT, tool

WORKFLOWS = ROOT / ".github" / "workflows"
RELEASE = WORKFLOWS / "release.yml"
CI = WORKFLOWS / "ci.yml"
PINS = {
    "actions/checkout": "3d3c42e5aac5ba805825da76410c181273ba90b1",  # v7.0.1
    "actions/setup-python": "5fda3b95a4ea91299a34e894583c3862153e4b97",  # v7.0.0
    "actions/upload-artifact": "043fb46d1a93c77aae656e7c1c64a875d1fc6a0a",  # v7.0.1
    "actions/download-artifact": "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c",  # v8.0.1
}


def readme_caller() -> str:
    """The first ```yaml block of the README's "Publishing" section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Publishing\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert match, "the Publishing section shows no caller workflow"
    return match.group(1)


@pytest.fixture
def caller_dir(tmp_path: Path) -> Path:
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "release.yml").write_text(readme_caller())
    return workflows


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
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


# --- the linters ------------------------------------------------------------------------------------


def test_check_jsonschema_accepts_the_workflows_and_the_readme_caller(caller_dir: Path) -> None:
    result = check_jsonschema(RELEASE, CI, caller_dir / "release.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing_in_the_workflows(caller_dir: Path) -> None:
    result = zizmor(WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings" in result.stdout


def test_zizmor_finds_nothing_in_the_readme_caller(caller_dir: Path) -> None:
    result = zizmor(caller_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings" in result.stdout


@pytest.mark.parametrize(
    ("mutation", "finding"),
    [
        (lambda text: text.replace(f"actions/checkout@{PINS['actions/checkout']}", "actions/checkout@v7", 1),
         "unpinned-uses"),
        (lambda text: text.replace('run: directive-release-ci gate --base-branch "$BASE_BRANCH"',
                                   'run: echo "${{ github.event.head_commit.message }}"', 1),
         "template-injection"),
        (lambda text: text.replace("        with:\n          persist-credentials: false\n", "", 1), "artipacked"),
    ],
    ids=["unpinned", "injection", "credentials"],
)
def test_zizmor_would_catch_a_regression(tmp_path: Path, mutation, finding: str) -> None:
    broken = tmp_path / "release.yml"
    mutated = mutation(RELEASE.read_text())
    assert mutated != RELEASE.read_text()
    broken.write_text(mutated)
    result = zizmor(broken)
    assert result.returncode != 0 and finding in result.stdout, result.stdout + result.stderr


def test_check_jsonschema_would_catch_a_regression(tmp_path: Path) -> None:
    broken = tmp_path / "release.yml"
    broken.write_text(RELEASE.read_text().replace("timeout-minutes: 10", "timeout-minutes: ten", 1))
    result = check_jsonschema(broken)
    assert result.returncode != 0 and "timeout-minutes" in result.stdout


# --- rules the linters do not check -----------------------------------------------------------------


def test_every_action_is_pinned_to_the_known_commit() -> None:
    for path in (RELEASE, CI):
        for _job, step in steps(load(path)):
            if "uses" in step:
                action, _, ref = step["uses"].partition("@")
                assert PINS.get(action) == ref, f"{path.name}: {step['uses']}"


def test_every_checkout_drops_its_credentials() -> None:
    for path in (RELEASE, CI):
        checkouts = [step for _job, step in steps(load(path)) if step.get("uses", "").startswith("actions/checkout@")]
        assert checkouts and all(step["with"]["persist-credentials"] is False for step in checkouts)


def test_no_expression_is_interpolated_into_a_script() -> None:
    for path in (RELEASE, CI):
        for job, step in steps(load(path)):
            assert "${{" not in step.get("run", ""), f"{path.name} job {job}: use env: instead"


def test_permissions_are_empty_by_default_and_least_per_job() -> None:
    release = load(RELEASE)
    assert release["permissions"] == {} and load(CI)["permissions"] == {}
    jobs = release["jobs"]
    assert jobs["gate"]["permissions"] == {"contents": "read", "pull-requests": "read"}
    assert jobs["build"]["permissions"] == {"contents": "read"}
    assert jobs["publish"]["permissions"] == {"contents": "read"}
    assert jobs["tag"]["permissions"] == {"contents": "write"}
    assert all(job["permissions"] == {"contents": "read"} for job in load(CI)["jobs"].values())


def test_release_jobs_chain_gate_build_publish_tag() -> None:
    jobs = load(RELEASE)["jobs"]
    assert jobs["build"]["needs"] == "gate" and "if" not in jobs["build"]  # every push builds and checks
    assert set(jobs["publish"]["needs"]) == {"gate", "build"}
    assert set(jobs["tag"]["needs"]) == {"gate", "publish"}  # tag only after a successful publish
    for name in ("publish", "tag"):
        assert jobs[name]["if"] == "needs.gate.outputs.release == 'true'"
    build_runs = [step.get("run", "") for step in jobs["build"]["steps"]]
    assert "python -m build" in build_runs and any("twine check --strict" in run for run in build_runs)


def test_publish_uses_the_pypi_environment_and_passes_the_token_by_environment() -> None:
    publish = load(RELEASE)["jobs"]["publish"]
    assert publish["environment"] == "pypi"
    (upload,) = [step for step in publish["steps"] if "twine upload" in step.get("run", "")]
    assert upload["env"]["TWINE_PASSWORD"] == "${{ secrets.PYPI_API_TOKEN }}"
    assert upload["if"] == "steps.published.outputs.published != 'true'"
    assert not re.search(r"(^|\s)(-p|--password)(\s|=)", upload["run"])
    text = RELEASE.read_text()
    assert text.count("secrets.") == 1  # nowhere else, in particular not on a command line


def test_runs_never_publish_at_once_and_none_is_cancelled() -> None:
    release = load(RELEASE)
    for concurrency in (release["concurrency"], release["jobs"]["publish"]["concurrency"]):
        assert concurrency["cancel-in-progress"] is False and concurrency["queue"] == "max"
        assert "github.repository" in concurrency["group"]
    assert release["concurrency"]["group"] != release["jobs"]["publish"]["concurrency"]["group"]


def test_triggers_push_to_main_and_workflow_call() -> None:
    on = load(RELEASE)["on"]
    assert on["push"] == {"branches": ["main"]}
    call = on["workflow_call"]
    assert {"base-branch", "index-url", "repository-url"} <= set(call["inputs"])
    assert call["inputs"]["base-branch"]["default"] == "main"
    assert "PYPI_API_TOKEN" in call["secrets"]


def test_the_helpers_installed_are_a_pinned_release_never_latest() -> None:
    """The pin is an exact, already-released version: never floating, never ahead of this checkout.

    It cannot be kept equal to pyproject.toml's version by the release commit itself
    (that commit must change exactly one value, and its version is not on the index
    until after the merge), so it trails by design and moves in a follow-up commit.
    """
    from directive_release.version import parse

    release = load(RELEASE)
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    pinned = release["env"]["DIRECTIVE_RELEASE_VERSION"]
    assert parse(pinned) <= parse(version)
    installs = [step["run"] for _job, step in steps(release) if "directive-release" in step.get("run", "")
                and "pip install" in step.get("run", "")]
    assert len(installs) == 3
    for run in installs:
        assert '"directive-release==${DIRECTIVE_RELEASE_VERSION}"' in run
        assert "--upgrade" not in run and "-U " not in run


def test_ci_runs_the_suite_and_the_publish_dry_run_on_prs_and_pushes() -> None:
    ci = load(CI)
    assert "pull_request" in ci["on"] and "push" in ci["on"]
    runs = [step.get("run", "") for _job, step in steps(ci)]
    assert "bash scripts/test.sh" in runs
    assert "python -m build" in runs and any("twine check --strict" in run for run in runs)


def test_readme_caller_calls_the_reusable_workflow_pinned_by_sha() -> None:
    caller = yaml.safe_load(readme_caller())
    (job,) = caller["jobs"].values()
    assert re.fullmatch(r"[\w.-]+/directive-release/\.github/workflows/release\.yml@[0-9a-f]{40}", job["uses"])
    assert caller["permissions"] == {}
    assert job["permissions"] == {"contents": "write", "pull-requests": "read"}
    assert job["secrets"] == {"PYPI_API_TOKEN": "${{ secrets.PYPI_API_TOKEN }}"}
