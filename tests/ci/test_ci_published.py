"""``directive-release-ci published``: a real pypiserver and a real twine upload of this project's own
dist, plus a stub index for the answers pypiserver does not give (PEP 691 JSON, 500, odd names)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from ci_support import (SENTINEL, StubResponse, StubServer, assert_no_secret, copy_version_sources,
                        read_outputs, run_ci, tool)

from directive_release.ci.commands import main


def _this_project(tmp_path: Path, built_dist: Path) -> tuple[Path, Path, list[str]]:
    """A project dir with this repository's pyproject.toml and a copy of the session's dist."""
    project = tmp_path / "project"
    project.mkdir()
    copy_version_sources(project)
    dist = project / "dist"
    shutil.copytree(built_dist, dist)
    files = sorted(p.name for p in dist.iterdir())
    return project, dist, files


def _published(project: Path, index_url: str, *extra: str) -> tuple[dict[str, str], str]:
    output = project / "github-output.txt"
    output.unlink(missing_ok=True)
    result = run_ci("--project", str(project), "published", "--index-url", index_url, *extra,
                    env={"GITHUB_OUTPUT": str(output), "GITHUB_TOKEN": SENTINEL, "TWINE_PASSWORD": SENTINEL})
    assert result.returncode == 0, result.stderr
    assert_no_secret(result.stdout, result.stderr, output.read_text())
    return read_outputs(output), result.stdout


def _twine_upload(server_url: str, files: list[Path]) -> subprocess.CompletedProcess[str]:
    # As in the workflow: the token comes from the environment, never the command line.
    return subprocess.run(
        [tool("twine"), "upload", "--non-interactive", "--disable-progress-bar",
         "--repository-url", f"{server_url}/", *map(str, files)],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "TWINE_USERNAME": "__token__", "TWINE_PASSWORD": SENTINEL},
    )


def test_not_published_then_upload_then_published(tmp_path: Path, built_dist: Path, pypi_server) -> None:
    project, dist, files = _this_project(tmp_path, built_dist)
    version = tomllib.loads((project / "pyproject.toml").read_text())["project"]["version"]
    assert len(files) == 2 and all(version in name for name in files)

    before, stdout = _published(project, pypi_server.simple_url, "--dist", str(dist))
    assert before == {"published": "false", "missing": " ".join(files)}
    assert "published=false" in stdout

    upload = _twine_upload(pypi_server.url, sorted(dist.iterdir()))
    assert upload.returncode == 0, upload.stdout + upload.stderr
    assert sorted(p.name for p in pypi_server.packages.iterdir()) == files

    after, _ = _published(project, pypi_server.simple_url, "--dist", str(dist))
    assert after == {"published": "true", "missing": ""}

    # Version only (no dist directory): the version is there.
    shutil.rmtree(dist)
    only_version, _ = _published(project, pypi_server.simple_url)
    assert only_version["published"] == "true"


def test_partial_upload_lists_only_the_missing_file(tmp_path: Path, built_dist: Path, pypi_server) -> None:
    project, dist, files = _this_project(tmp_path, built_dist)
    sdist = next(name for name in files if name.endswith(".tar.gz"))
    wheel = next(name for name in files if name.endswith(".whl"))
    assert _twine_upload(pypi_server.url, [dist / sdist]).returncode == 0

    state, _ = _published(project, pypi_server.simple_url, "--dist", str(dist))
    assert state == {"published": "false", "missing": wheel}

    # The workflow then uploads exactly the missing files (no --skip-existing: twine refuses it here).
    assert _twine_upload(pypi_server.url, [dist / name for name in state["missing"].split()]).returncode == 0
    assert _published(project, pypi_server.simple_url, "--dist", str(dist))[0]["published"] == "true"


def test_a_version_not_on_the_index_is_not_published(tmp_path: Path, built_dist: Path, pypi_server) -> None:
    project, dist, _files = _this_project(tmp_path, built_dist)
    assert _twine_upload(pypi_server.url, sorted(dist.iterdir())).returncode == 0
    text = (project / "pyproject.toml").read_text()
    version = tomllib.loads(text)["project"]["version"]
    (project / "pyproject.toml").write_text(text.replace(f'version = "{version}"', 'version = "99.0.0"', 1))
    init = project / "src" / "directive_release" / "__init__.py"  # the copy moves with it, as a release moves it
    init.write_text(init.read_text().replace(f'"{version}"', '"99.0.0"'))
    shutil.rmtree(dist)
    assert _published(project, pypi_server.simple_url)[0] == {"published": "false", "missing": ""}


# --- stub index -------------------------------------------------------------------------------------


def _stub_project(tmp_path: Path, name: str = "CI_Demo.Pkg", version: str = "0.1.0",
                  files: tuple[str, ...] = ("ci_demo_pkg-0.1.0.tar.gz", "ci_demo_pkg-0.1.0-py3-none-any.whl")) -> Path:
    project = tmp_path / "stub-project"
    project.mkdir()
    (project / "pyproject.toml").write_text(f'[project]\nname = "{name}"\nversion = "{version}"\n')
    (project / "dist").mkdir()
    for filename in files:
        (project / "dist" / filename).write_bytes(b"x")
    return project


def _run(project: Path, index: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> tuple[int, dict[str, str], str]:
    output = tmp_path / "out.txt"
    output.unlink(missing_ok=True)
    code = main(["--project", str(project), "published", "--index-url", index],
                environ={"GITHUB_OUTPUT": str(output), "GITHUB_TOKEN": SENTINEL})
    captured = capsys.readouterr()
    assert_no_secret(captured.out, captured.err)
    return code, read_outputs(output), captured.err


def test_pep691_json_and_pep503_name(tmp_path: Path, github_stub: StubServer, capsys) -> None:
    project = _stub_project(tmp_path)
    github_stub.route("/simple/ci-demo-pkg/", StubResponse(
        raw=json.dumps({"meta": {"api-version": "1.1"}, "name": "ci-demo-pkg", "files": [
            {"filename": "ci_demo_pkg-0.1.0.tar.gz", "url": "x", "hashes": {}},
            {"filename": "ci_demo_pkg-0.1.0-py3-none-any.whl", "url": "y", "hashes": {}},
        ]}).encode(),
        headers={"Content-Type": "application/vnd.pypi.simple.v1+json"},
    ))
    code, outputs, err = _run(project, f"{github_stub.url}/simple", capsys, tmp_path)
    assert code == 0, err
    assert outputs == {"published": "true", "missing": ""}
    (request,) = github_stub.requests
    assert request.path == "/simple/ci-demo-pkg/"
    assert "application/vnd.pypi.simple.v1+json" in request.headers["accept"]


def test_pep503_html_with_relative_links_and_fragments(tmp_path: Path, github_stub: StubServer, capsys) -> None:
    project = _stub_project(tmp_path)
    html = (b'<!DOCTYPE html><html><body>'
            b'<a href="../../packages/ci_demo_pkg-0.1.0.tar.gz#sha256=00">ci_demo_pkg-0.1.0.tar.gz</a>'
            b'<a href="https://files.example/ci_demo_pkg-0.0.9-py3-none-any.whl">old</a>'
            b'</body></html>')
    github_stub.route("/simple/ci-demo-pkg/", StubResponse(raw=html, headers={"Content-Type": "text/html"}))
    code, outputs, err = _run(project, f"{github_stub.url}/simple/", capsys, tmp_path)
    assert code == 0, err
    assert outputs == {"published": "false", "missing": "ci_demo_pkg-0.1.0-py3-none-any.whl"}


def test_unknown_project_is_not_published(tmp_path: Path, github_stub: StubServer, capsys) -> None:
    project = _stub_project(tmp_path)
    code, outputs, err = _run(project, f"{github_stub.url}/simple/", capsys, tmp_path)  # unrouted: 404
    assert code == 0, err
    assert outputs["published"] == "false" and len(outputs["missing"].split()) == 2


def test_index_error_fails_instead_of_guessing(tmp_path: Path, github_stub: StubServer, capsys) -> None:
    project = _stub_project(tmp_path)
    github_stub.route("/simple/ci-demo-pkg/", StubResponse(503, {"message": "busy"}))
    code, outputs, err = _run(project, f"{github_stub.url}/simple/", capsys, tmp_path)
    assert code == 1 and outputs == {}
    assert err.startswith("directive-release-ci: ") and "HTTP 503" in err


def test_dist_of_another_version_is_refused(tmp_path: Path, github_stub: StubServer, capsys) -> None:
    project = _stub_project(tmp_path, files=("ci_demo_pkg-0.0.9-py3-none-any.whl",))
    code, outputs, err = _run(project, f"{github_stub.url}/simple/", capsys, tmp_path)
    assert code == 1 and outputs == {}
    assert "0.0.9" in err and "rebuild" in err
    assert github_stub.requests == []


def test_empty_dist_is_refused(tmp_path: Path, github_stub: StubServer, capsys) -> None:
    project = _stub_project(tmp_path, files=())
    code, _outputs, err = _run(project, f"{github_stub.url}/simple/", capsys, tmp_path)
    assert code == 2 and "python -m build" in err
