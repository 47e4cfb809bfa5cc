"""The release workflow ``directive-release init`` writes: one plain (non-reusable) file.

gate -> build -> published? -> publish -> tag -> GitHub Release, on every push to
the base branch (every push that is not a release merge builds and checks only).

Publishing is Trusted Publishing by default: the publish job is the only one with
``id-token: write``, runs in the ``pypi`` environment and uploads with
``pypa/gh-action-pypi-publish``, which adds PEP 740 attestations. It must live in
the project's own workflow file (PyPI refuses trusted publishers from reusable
workflows), which is why this is a template and not a reusable workflow. The
``token`` variant uploads with twine and the ``PYPI_API_TOKEN`` environment
secret instead, for indexes without OIDC (attestations need OIDC, so none).

Pure text, no YAML library: the file is written exactly as shown here, comments
and all, and ``CHECKSUM_PREFIX`` lets ``init`` tell its own unedited file from
one a person has changed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

WORKFLOW_PATH = ".github/workflows/release.yml"
WORKFLOW_FILE = "release.yml"
CHECKSUM_PREFIX = "# directive-release-init-checksum: sha256:"
PYPI_INDEX_URL = "https://pypi.org/simple/"
PYPI_UPLOAD_URL = "https://upload.pypi.org/legacy/"
TESTPYPI_INDEX_URL = "https://test.pypi.org/simple/"
TESTPYPI_UPLOAD_URL = "https://test.pypi.org/legacy/"
# Upload URLs where Trusted Publishing (and twine's --skip-existing) work.
TRUSTED_PUBLISHING_URLS = {PYPI_UPLOAD_URL: "https://pypi.org", TESTPYPI_UPLOAD_URL: "https://test.pypi.org"}

# Every action by full commit SHA. Each SHA was checked against the action's own
# repository: `git --git-dir <snapshot> rev-parse <tag>^{commit}` on a snapshot of
# github.com/<action> (2026-12-02), not copied from another project's workflow.
#   actions/checkout          v7.0.1 -> 3d3c42e5aac5ba805825da76410c181273ba90b1 (verified; v7 -> same)
#   actions/setup-python      v7.0.0 -> 5fda3b95a4ea91299a34e894583c3862153e4b97 (verified; v7 -> same)
#   actions/upload-artifact   v7.0.0 -> bbbca2ddaa5d8feaa63e36b76fdaad77386f024f (verified; the snapshot's
#                             newest tag: the v7.0.1 SHA used before, 043fb46d…, is not in it, so not used)
#   actions/download-artifact v8.0.1 -> 3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c (verified; v8 -> same)
#   pypa/gh-action-pypi-publish v1.14.2 -> dc37677b2e1c63e2034f94d8a5b11f265b73ba33: NOT verified here.
#                             The snapshot of pypa/gh-action-pypi-publish ends at v1.8.14 (2024-03,
#                             81e9d935…), which predates attestations (v1.11.0) and twine 7 / core
#                             metadata 2.5 (v1.14.2). The SHA is the one several independent projects
#                             record for v1.14.2; verify it before relying on it:
#                             git ls-remote https://github.com/pypa/gh-action-pypi-publish 'refs/tags/v1.14.2^{}'
ACTIONS = {
    "checkout": ("actions/checkout", "3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "setup-python": ("actions/setup-python", "5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
    "upload-artifact": ("actions/upload-artifact", "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0"),
    "download-artifact": ("actions/download-artifact", "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c", "v8.0.1"),
    "pypi-publish": ("pypa/gh-action-pypi-publish", "dc37677b2e1c63e2034f94d8a5b11f265b73ba33", "v1.14.2"),
}
BUILD_TOOLS = '"build==1.6.1" "twine==7.0.0"'
TWINE = '"twine==7.0.0"'
# The exact version that generated the file. No --hash: pip's hash-checking mode needs the hash
# of every file of every dependency too, which init cannot know offline (and would go stale).
INSTALL_TOOL = 'python -m pip install "directive-release==${DIRECTIVE_RELEASE_VERSION}"'


@dataclass(frozen=True)
class WorkflowOptions:
    project_name: str
    tool_version: str
    base_branch: str = "main"
    environment: str = "pypi"
    method: str = "trusted"  # "trusted" (OIDC) or "token"
    index_url: str = PYPI_INDEX_URL
    repository_url: str = PYPI_UPLOAD_URL
    python_version: str = "3.12"

    @property
    def environment_url(self) -> str:
        site = TRUSTED_PUBLISHING_URLS.get(self.repository_url)
        if site is not None:
            return f"{site}/p/{self.project_name}"
        return self.index_url


def uses(key: str) -> str:
    action, sha, tag = ACTIONS[key]
    return f"{action}@{sha} # {tag}"


def q(value: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(value)


def _setup(indent: str = "      ") -> str:
    return (
        f"{indent}- uses: {uses('checkout')}\n"
        f"{indent}  with:\n"
        f"{indent}    persist-credentials: false\n"
        f"{indent}- uses: {uses('setup-python')}\n"
        f"{indent}  with:\n"
        f"{indent}    python-version: ${{{{ env.PYTHON_VERSION }}}}\n"
    )


def _install_tool() -> str:
    return (
        "      - name: Install directive-release\n"
        f"        run: {INSTALL_TOOL}\n"
    )


def _download() -> str:
    return (
        f"      - uses: {uses('download-artifact')}\n"
        "        with:\n"
        "          name: dist\n"
        "          path: dist/\n"
    )


def _publish_job(options: WorkflowOptions) -> str:
    head = (
        "  publish:\n"
        f"    name: Publish to the index ({'Trusted Publishing' if options.method == 'trusted' else 'API token'})\n"
        "    needs: [gate, published]\n"
        "    if: needs.gate.outputs.release == 'true'\n"
        "    runs-on: ubuntu-latest\n"
        "    timeout-minutes: 15\n"
        "    environment:\n"
        f"      name: {q(options.environment)}\n"
        f"      url: {q(options.environment_url)}\n"
    )
    concurrency = (
        "    # One publish at a time per repository, none cancelled.\n"
        "    concurrency:\n"
        "      group: directive-release-publish-${{ github.repository }}\n"
        "      cancel-in-progress: false\n"
        "      queue: max\n"
    )
    if options.method == "trusted":
        extra = ""
        if options.repository_url != PYPI_UPLOAD_URL:
            extra = f"          repository-url: {q(options.repository_url)}\n"
        return (
            head
            + "    permissions:\n"
            "      id-token: write # Trusted Publishing: PyPI mints a 15-minute token for this job only\n"
            + concurrency
            + "    steps:\n"
            + _download()
            + "      - name: Upload with attestations\n"
            "        if: needs.published.outputs.published != 'true'\n"
            f"        uses: {uses('pypi-publish')}\n"
            "        with:\n"
            "          packages-dir: dist/\n"
            "          attestations: true # PEP 740, signed with this job's identity\n"
            "          # A re-run after a partial upload sends only the missing files.\n"
            "          skip-existing: true\n"
            + extra
        )
    return (
        head
        + "    permissions:\n"
        "      contents: read\n"
        + concurrency
        + "    steps:\n"
        f"      - uses: {uses('setup-python')}\n"
        "        with:\n"
        "          python-version: ${{ env.PYTHON_VERSION }}\n"
        "      - name: Install twine\n"
        f"        run: python -m pip install {TWINE}\n"
        + _download()
        + "      - name: Upload the missing files\n"
        "        if: needs.published.outputs.published != 'true'\n"
        "        env:\n"
        "          TWINE_USERNAME: __token__\n"
        "          TWINE_PASSWORD: ${{ secrets.PYPI_API_TOKEN }}\n"
        f"          TWINE_REPOSITORY_URL: {q(options.repository_url)}\n"
        "          MISSING: ${{ needs.published.outputs.missing }}\n"
        "        # An API token on purpose (init --token): no attestations without OIDC.\n"
        "        run: | # zizmor: ignore[use-trusted-publishing]\n"
        '          if [ -z "$TWINE_PASSWORD" ]; then\n'
        "            echo \"::error::PYPI_API_TOKEN is empty: add it as a secret of the environment\"\n"
        "            exit 1\n"
        "          fi\n"
        '          read -r -a files <<< "$MISSING"\n'
        "          cd dist\n"
        '          python -m twine upload --non-interactive --disable-progress-bar -- "${files[@]}"\n'
    )


def render_body(options: WorkflowOptions) -> str:
    """Everything after the checksum line."""
    return (
        "name: release\n"
        "\n"
        "on:\n"
        "  push:\n"
        f"    branches: [{q(options.base_branch)}]\n"
        "\n"
        "permissions: {}\n"
        "\n"
        "# Release runs go one at a time, in push order; a waiting run queues\n"
        "# (queue: max) instead of being cancelled by a newer one.\n"
        "concurrency:\n"
        "  group: directive-release-${{ github.repository }}\n"
        "  cancel-in-progress: false\n"
        "  queue: max\n"
        "\n"
        "env:\n"
        "  # The directive-release that wrote this file, exactly: never a floating latest.\n"
        f"  DIRECTIVE_RELEASE_VERSION: {q(options.tool_version)}\n"
        f"  BASE_BRANCH: {q(options.base_branch)}\n"
        f"  INDEX_URL: {q(options.index_url)}\n"
        f"  PYTHON_VERSION: {q(options.python_version)}\n"
        '  PIP_DISABLE_PIP_VERSION_CHECK: "1"\n'
        "\n"
        "jobs:\n"
        "  gate:\n"
        "    name: Is this push a release merge?\n"
        "    runs-on: ubuntu-latest\n"
        "    timeout-minutes: 10\n"
        "    permissions:\n"
        "      contents: read # check out pyproject.toml\n"
        "      pull-requests: read # list the pull requests of the pushed commit\n"
        "    outputs:\n"
        "      release: ${{ steps.gate.outputs.release }}\n"
        "      version: ${{ steps.gate.outputs.version }}\n"
        "      tag: ${{ steps.gate.outputs.tag }}\n"
        "    steps:\n"
        + _setup()
        + _install_tool()
        + "      - name: Decide\n"
        "        id: gate\n"
        "        env:\n"
        "          GITHUB_TOKEN: ${{ github.token }}\n"
        '        run: directive-release-ci gate --base-branch "$BASE_BRANCH"\n'
        "\n"
        "  build:\n"
        "    name: Build and check\n"
        "    needs: gate\n"
        "    runs-on: ubuntu-latest\n"
        "    timeout-minutes: 15\n"
        "    permissions:\n"
        "      contents: read\n"
        "    steps:\n"
        + _setup()
        + "      - name: Install build tools\n"
        f"        run: python -m pip install {BUILD_TOOLS}\n"
        "      - name: Build\n"
        "        run: python -m build\n"
        "      - name: Check metadata\n"
        "        run: python -m twine check --strict dist/*\n"
        "      - name: Keep the dist for the publish jobs\n"
        f"        uses: {uses('upload-artifact')}\n"
        "        with:\n"
        "          name: dist\n"
        "          path: dist/\n"
        "          if-no-files-found: error\n"
        "          retention-days: 7\n"
        "\n"
        "  published:\n"
        "    name: Already on the index?\n"
        "    needs: [gate, build]\n"
        "    if: needs.gate.outputs.release == 'true'\n"
        "    runs-on: ubuntu-latest\n"
        "    timeout-minutes: 10\n"
        "    permissions:\n"
        "      contents: read\n"
        "    outputs:\n"
        "      published: ${{ steps.published.outputs.published }}\n"
        "      missing: ${{ steps.published.outputs.missing }}\n"
        "    steps:\n"
        + _setup()
        + _install_tool()
        + _download()
        + "      - name: Ask the index which files it has\n"
        "        id: published\n"
        '        run: directive-release-ci published --index-url "$INDEX_URL" --dist dist\n'
        "\n"
        + _publish_job(options)
        + "\n"
        "  tag:\n"
        "    name: Tag the release commit\n"
        "    needs: [gate, publish]\n"
        "    if: needs.gate.outputs.release == 'true'\n"
        "    runs-on: ubuntu-latest\n"
        "    timeout-minutes: 10\n"
        "    permissions:\n"
        "      contents: write # push the release tag\n"
        "    steps:\n"
        + _setup()
        + _install_tool()
        + "      - name: Create and push the annotated tag\n"
        "        env:\n"
        "          GITHUB_TOKEN: ${{ github.token }}\n"
        "          VERSION: ${{ needs.gate.outputs.version }}\n"
        '        run: directive-release-ci tag --version "$VERSION"\n'
        "\n"
        "  github-release:\n"
        "    name: GitHub Release\n"
        "    needs: [gate, tag]\n"
        "    if: needs.gate.outputs.release == 'true'\n"
        "    runs-on: ubuntu-latest\n"
        "    timeout-minutes: 10\n"
        "    permissions:\n"
        "      contents: write # create the release and attach the files\n"
        "    steps:\n"
        + _setup()
        + _install_tool()
        + _download()
        + "      - name: Create the GitHub Release with the files attached\n"
        "        env:\n"
        "          GITHUB_TOKEN: ${{ github.token }}\n"
        "          VERSION: ${{ needs.gate.outputs.version }}\n"
        '        run: directive-release-ci github-release --version "$VERSION" --dist dist\n'
    )


def render(options: WorkflowOptions) -> str:
    body = render_body(options)
    if options.method == "trusted":
        how = (
            "# Publishing: Trusted Publishing (OIDC). Only the publish job may ask for an\n"
            "# identity token (id-token: write); no PyPI secret is stored anywhere.\n"
        )
    else:
        how = (
            "# Publishing: an API token, the PYPI_API_TOKEN secret of the environment,\n"
            "# passed to twine through env: only (never on a command line).\n"
        )
    header = (
        f"# Release workflow written by `directive-release init` (directive-release {options.tool_version}).\n"
        "#\n"
        f"# On a push to {options.base_branch}: gate (is this the merge of a release/vX.Y.Z pull\n"
        "# request?) -> build and check -> already on the index? -> publish -> tag ->\n"
        "# GitHub Release. Any other push only builds and checks. Re-running is safe.\n"
        "#\n"
        + how
        + "# Hardening: no permissions by default and the least per job; every action\n"
        "# pinned to a full commit SHA (its tag in the comment); no credentials kept\n"
        "# in a checkout; no event text in a run: line (values reach scripts via env:).\n"
        "#\n"
        "# `directive-release init` replaces this file only while it is as written\n"
        "# (the checksum below); once edited, only `directive-release init --force`.\n"
        f"{CHECKSUM_PREFIX}{checksum(body)}\n"
    )
    return header + body


def checksum(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def is_unedited(text: str) -> bool:
    """Was ``text`` written by ``init`` (any version or options) and not changed since?"""
    head, found, rest = text.partition(CHECKSUM_PREFIX)
    if not found:
        return False
    line, newline, body = rest.partition("\n")
    return bool(newline) and line.strip() == checksum(body)
