"""A rehearsal of a GitHub Actions workflow on this machine: its jobs' ``run:`` steps in order, as the
runner would run them.

Per job: a fresh workspace, the workflow/job/step ``env:`` with ``${{ }}`` expressions evaluated,
``if:`` conditions (and the implicit "every job it needs succeeded"), ``bash --noprofile --norc -eo
pipefail`` for each ``run:`` step with fresh ``GITHUB_OUTPUT``, ``GITHUB_ENV`` and
``GITHUB_STEP_SUMMARY`` files, step and job outputs read back from them, and the push event's
environment (``GITHUB_EVENT_PATH``, ``GITHUB_SHA``, ``GITHUB_REF``, ``GITHUB_REPOSITORY``, ...).

``uses:`` steps have local stand-ins: checkout clones the bare remote at the pushed commit (no
credentials kept), setup-python checks its input and uses this interpreter, upload/download-artifact
copy through a directory. The pinned publish action cannot run here: its inputs and its job's
permissions are recorded and checked, then a real ``twine upload`` stands in for it. Installing
pinned tools from PyPI is impossible offline: those steps are checked (exact pins equal to what this
test environment has installed) and not run.

Anything the harness does not understand (an expression, an action, a step shape) fails the
rehearsal: a change to the generated workflow must come with a change here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

import yaml

BIN = Path(sys.executable).parent
_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


@dataclass
class StepLog:
    job: str
    name: str
    status: str  # "success", "failure", "skipped", "checked" (an install not run offline), "stand-in"
    output: str = ""
    files: dict[str, str] = field(default_factory=dict)  # GITHUB_OUTPUT/ENV/STEP_SUMMARY contents


@dataclass
class JobResult:
    result: str  # success | failure | skipped
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class Run:
    jobs: dict[str, JobResult]
    steps: list[StepLog]
    publish_inputs: list[dict[str, Any]]

    def texts(self) -> list[str]:
        return [log.output for log in self.steps] + [text for log in self.steps for text in log.files.values()]

    def step(self, job: str, name: str) -> StepLog:
        (found,) = [log for log in self.steps if log.job == job and log.name == name]
        return found


@dataclass
class Runner:
    """Everything outside the workflow: the pushed repository, the event, the secrets, where uploads go."""

    remote: Path  # bare repository holding the pushed commit
    sha: str
    repository: str  # owner/name
    api_url: str
    token: str  # github.token
    secrets: dict[str, str]
    work: Path  # scratch directory of this rehearsal
    upload_url: str  # where the stand-in for the publish action uploads (twine)
    ref: str = "refs/heads/main"

    def event(self) -> dict[str, Any]:
        return {
            "ref": self.ref, "before": "0" * 40, "after": self.sha, "created": False, "deleted": False,
            "forced": False, "base_ref": None,
            "commits": [{"id": self.sha, "distinct": True,
                         "message": "Merge pull request #42 from acme/release/v0.1.0\n\nRelease 0.1.0"}],
            "head_commit": {"id": self.sha, "message": "Merge pull request #42 from acme/release/v0.1.0"},
            "repository": {"full_name": self.repository, "default_branch": "main"},
            "sender": {"login": "dev"},
        }


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["on"] = data.pop(True, data.get("on"))
    return data


def rehearse(workflow_path: Path, runner: Runner, name: str) -> Run:
    workflow = load(workflow_path)
    root = runner.work / name
    root.mkdir(parents=True)
    artifacts = root / "artifacts"
    artifacts.mkdir()
    event_path = root / "event.json"
    event_path.write_text(json.dumps(runner.event()))
    home = root / "home"
    home.mkdir()
    base_env = {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(home), "LANG": "C.UTF-8", "CI": "true", "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": str(event_path), "GITHUB_SHA": runner.sha,
        "GITHUB_REF": runner.ref, "GITHUB_REF_NAME": runner.ref.removeprefix("refs/heads/"),
        "GITHUB_REPOSITORY": runner.repository, "GITHUB_API_URL": runner.api_url,
        "GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "1", "RUNNER_OS": "Linux",
        "GIT_CONFIG_NOSYSTEM": "1",
        # The machine's package index settings (this runner's "network"), for python -m build.
        **{k: v for k, v in os.environ.items() if k.startswith("PIP_")},
    }
    state = _State(workflow, runner, base_env, artifacts)
    for job_name, job in workflow["jobs"].items():
        state.run_job(job_name, job, root / job_name)
    return Run(state.results, state.logs, state.publish_inputs)


class _State:
    def __init__(self, workflow: dict[str, Any], runner: Runner, base_env: dict[str, str], artifacts: Path) -> None:
        self.workflow = workflow
        self.runner = runner
        self.base_env = base_env
        self.artifacts = artifacts
        self.results: dict[str, JobResult] = {}
        self.logs: list[StepLog] = []
        self.publish_inputs: list[dict[str, Any]] = []

    # --- expressions ---------------------------------------------------------------------------

    def evaluate(self, expression: str, context: dict[str, Any]) -> str:
        expression = expression.strip()
        if "||" in expression:
            return _bool(any(self.evaluate(part, context) == "true" for part in expression.split("||")))
        if "&&" in expression:
            return _bool(all(self.evaluate(part, context) == "true" for part in expression.split("&&")))
        for operator in ("==", "!="):
            if operator in expression:
                left, right = (self.evaluate(part, context) for part in expression.split(operator, 1))
                return _bool((left == right) == (operator == "=="))
        if re.fullmatch(r"'[^']*'", expression):
            return expression[1:-1]
        path = expression.split(".")
        head = path[0]
        if head == "github" and len(path) == 2:
            values = {"token": self.runner.token, "repository": self.runner.repository, "sha": self.runner.sha}
            return values[path[1]]
        if head == "secrets" and len(path) == 2:
            return self.runner.secrets.get(path[1], "")
        if head == "env" and len(path) == 2:
            return context["env"].get(path[1], "")
        if head == "needs" and len(path) == 4 and path[2] == "outputs":
            assert path[1] in context["needs"], f"expression {expression!r}: {path[1]} is not in needs"
            return self.results[path[1]].outputs.get(path[3], "")
        if head == "needs" and len(path) == 3 and path[2] == "result":
            return self.results[path[1]].result
        if head == "steps" and len(path) == 4 and path[2] == "outputs":
            return context["steps"].get(path[1], {}).get(path[3], "")
        raise AssertionError(f"the rehearsal cannot evaluate ${{{{ {expression} }}}}")

    def expand(self, value: Any, context: dict[str, Any]) -> str:
        if isinstance(value, bool):
            return _bool(value)
        return _EXPRESSION.sub(lambda m: self.evaluate(m.group(1), context), str(value))

    def condition(self, text: str | None, context: dict[str, Any]) -> bool:
        if text is None:
            return True
        text = text.strip()
        match = _EXPRESSION.fullmatch(text)
        return self.evaluate(match.group(1) if match else text, context) == "true"

    # --- jobs and steps ------------------------------------------------------------------------

    def run_job(self, name: str, job: dict[str, Any], workspace: Path) -> None:
        needs = job.get("needs", [])
        needs = [needs] if isinstance(needs, str) else list(needs)
        for need in needs:
            assert need in self.results, f"job {name} needs {need}, which has not run before it"
        context: dict[str, Any] = {"needs": needs, "steps": {}, "env": {}}
        if any(self.results[need].result != "success" for need in needs) or not self.condition(job.get("if"), context):
            self.results[name] = JobResult("skipped")
            return
        workspace.mkdir()
        env = dict(self.base_env, GITHUB_WORKSPACE=str(workspace), GITHUB_JOB=name, RUNNER_TEMP=str(workspace.parent))
        for scope in (self.workflow.get("env", {}), job.get("env", {})):
            for key, value in scope.items():
                env[key] = self.expand(value, {**context, "env": env})
        context["env"] = env
        context["job"] = job
        result = "success"
        for index, step in enumerate(job["steps"]):
            step_name = step.get("name") or step.get("uses", "").split("@")[0] or step.get("run", "").split("\n")[0]
            if result != "success" or not self.condition(step.get("if"), context):
                self.logs.append(StepLog(name, step_name, "skipped"))
                continue
            ok = self.run_step(name, step_name, step, workspace, context, index)
            if not ok:
                result = "failure"
        outputs = {key: self.expand(value, context) for key, value in job.get("outputs", {}).items()}
        self.results[name] = JobResult(result, outputs)

    def run_step(self, job: str, step_name: str, step: dict[str, Any], workspace: Path,
                 context: dict[str, Any], index: int) -> bool:
        env = dict(context["env"])
        for key, value in step.get("env", {}).items():
            env[key] = self.expand(value, {**context, "env": env})
        if "uses" in step:
            return self.stand_in(job, step_name, step, workspace, context, env)
        script = step["run"]
        checked = self.offline_install(script, env)
        if checked is not None:
            self.logs.append(StepLog(job, step_name, "checked", checked))
            return True
        files = {kind: workspace.parent / f"{job}-{index}-{kind.lower()}" for kind in
                 ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_STEP_SUMMARY")}
        for path in files.values():
            path.write_text("")
        script_path = workspace.parent / f"{job}-{index}.sh"
        script_path.write_text(script)
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script_path)],
            cwd=workspace, env={**env, **{k: str(v) for k, v in files.items()}},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600, stdin=subprocess.DEVNULL,
        )
        contents = {kind: path.read_text(encoding="utf-8") for kind, path in files.items()}
        self.logs.append(StepLog(job, step_name, "success" if result.returncode == 0 else "failure",
                                 result.stdout, contents))
        if "id" in step:
            context["steps"][step["id"]] = _parse_commands(contents["GITHUB_OUTPUT"])
        context["env"].update(_parse_commands(contents["GITHUB_ENV"]))
        return result.returncode == 0

    def offline_install(self, script: str, env: dict[str, str]) -> str | None:
        """A pip install of pinned tools: checked against this environment, not run (offline)."""
        match = re.fullmatch(r"python -m pip install((?: \"[\w.-]+==\$?\{?[\w.]+\}?\")+)\s*", script)
        if not match:
            return None
        pins = re.findall(r"\"([\w.-]+)==([^\"]+)\"", match.group(1))
        for package, pinned in pins:
            pinned = re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], pinned)
            assert installed_version(package) == pinned, f"{package}=={pinned} is pinned, {installed_version(package)} installed"
        return "checked, not run (offline): " + " ".join(f"{p}=={v}" for p, v in pins)

    def stand_in(self, job: str, step_name: str, step: dict[str, Any], workspace: Path,
                 context: dict[str, Any], env: dict[str, str]) -> bool:
        action = step["uses"].split("@")[0]
        inputs = {key: self.expand(value, context) for key, value in step.get("with", {}).items()}
        if action == "actions/checkout":
            assert inputs == {"persist-credentials": "false"}, inputs
            _git(workspace, "init", "-q")
            _git(workspace, "fetch", "-q", "--depth", "1", str(self.runner.remote), self.runner.sha)
            _git(workspace, "checkout", "-q", "--detach", "FETCH_HEAD")
            # actions/checkout leaves origin pointing at the repository; here that is the bare remote.
            _git(workspace, "remote", "add", "origin", str(self.runner.remote))
        elif action == "actions/setup-python":
            assert inputs == {"python-version": context["env"]["PYTHON_VERSION"]}, inputs
        elif action == "actions/upload-artifact":
            source = workspace / inputs["path"]
            files = [p for p in source.rglob("*") if p.is_file()] if source.exists() else []
            if not files and inputs.get("if-no-files-found") == "error":
                self.logs.append(StepLog(job, step_name, "failure", "no files found"))
                return False
            shutil.copytree(source, self.artifacts / inputs["name"])
        elif action == "actions/download-artifact":
            shutil.copytree(self.artifacts / inputs["name"], workspace / inputs["path"], dirs_exist_ok=True)
        elif action == "pypa/gh-action-pypi-publish":
            record = {"inputs": inputs, "permissions": context["job"].get("permissions"),
                      "environment": context["job"].get("environment"),
                      "files": sorted(p.name for p in (workspace / inputs.get("packages-dir", "dist")).iterdir())}
            self.publish_inputs.append(record)
            # Stand-in for the action's upload: the same files, with real twine, to the rehearsal's index.
            files = [str(p) for p in sorted((workspace / inputs.get("packages-dir", "dist")).iterdir())]
            result = subprocess.run(
                [str(BIN / "twine"), "upload", "--non-interactive", "--disable-progress-bar", *files],
                env={**env, "TWINE_USERNAME": "__token__", "TWINE_PASSWORD": "oidc-minted-token-stand-in",
                     "TWINE_REPOSITORY_URL": self.runner.upload_url},
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300,
            )
            self.logs.append(StepLog(job, step_name, "stand-in" if result.returncode == 0 else "failure", result.stdout))
            return result.returncode == 0
        else:
            raise AssertionError(f"the rehearsal has no stand-in for {step['uses']}")
        self.logs.append(StepLog(job, step_name, "stand-in"))
        return True


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _parse_commands(text: str) -> dict[str, str]:
    """``name=value`` lines and ``name<<DELIMITER`` blocks, as the runner reads GITHUB_OUTPUT/GITHUB_ENV."""
    values: dict[str, str] = {}
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            block = []
            while lines[index] != delimiter:
                block.append(lines[index])
                index += 1
            index += 1
            values[name] = "\n".join(block)
        else:
            name, _, value = line.partition("=")
            values[name] = value
    return values


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1"})
