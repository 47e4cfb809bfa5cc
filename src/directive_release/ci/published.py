"""Is this name/version (and which of the built files) already on a package index?

Asks the index's simple repository API (PEP 503 HTML or PEP 691 JSON), the one
API every index serves: PyPI, pypiserver, devpi, proxies that forward only
``/simple/``. A 404 means the project does not exist there yet; any other
failure is an error, because "not published" on a guess means a duplicate
upload and "published" on a guess means a skipped release.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from ..errors import ReleaseError, RemoteError, UsageError
from ..redact import redact, redact_url
from .project import normalize_name

DEFAULT_INDEX_URL = "https://pypi.org/simple/"
TIMEOUT_SECONDS = 30.0
_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
)


@dataclass(frozen=True)
class PublishedState:
    """What the index holds for one version, compared with the files built for it."""

    version_on_index: bool
    present: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def published(self) -> bool:
        """True when nothing is left to upload (with no dist: when the version exists)."""
        return self.version_on_index and not self.missing


def dist_files(dist: Path, name: str, version: str) -> list[str]:
    """The sdists and wheels in ``dist``; each must be this project's name and version."""
    if not dist.is_dir():
        raise UsageError(f"{dist}: no such directory; build first (python -m build) or pass --dist DIR")
    files = sorted(p.name for p in dist.iterdir() if p.is_file() and p.name.endswith((".whl", ".tar.gz")))
    if not files:
        raise UsageError(f"{dist}: no .whl or .tar.gz files; build first (python -m build)")
    for filename in files:
        file_name, file_version = _parse_filename(filename)
        if file_name != canonicalize_name(name) or file_version != Version(version):
            raise ReleaseError(
                f"{dist / filename}: built for {file_name} {file_version}, not {name} {version};"
                " clean the directory and rebuild"
            )
    return files


def check_published(index_url: str, name: str, version: str, built: Iterable[str] | None) -> PublishedState:
    """Compare the index's files for ``name`` with ``built`` (None: only ask whether the version exists)."""
    on_index = _files_on_index(index_url, name)
    wanted = Version(version)
    canonical = canonicalize_name(name)
    version_files = set()
    for filename in on_index:
        try:
            file_name, file_version = _parse_filename(filename)
        except ReleaseError:
            continue  # other kinds of files (.zip, .egg) cannot match a file we built
        if file_name == canonical and file_version == wanted:
            version_files.add(filename)
    if built is None:
        return PublishedState(version_on_index=bool(version_files), present=tuple(sorted(version_files)), missing=())
    built = list(built)
    present = tuple(f for f in built if f in on_index)
    missing = tuple(f for f in built if f not in on_index)
    return PublishedState(version_on_index=bool(version_files), present=present, missing=missing)


def project_page_url(index_url: str, name: str) -> str:
    return urllib.parse.urljoin(index_url.rstrip("/") + "/", normalize_name(name) + "/")


def _parse_filename(filename: str) -> tuple[str, Version]:
    try:
        if filename.endswith(".whl"):
            parsed_name, parsed_version, _build, _tags = parse_wheel_filename(filename)
            return str(parsed_name), parsed_version
        if filename.endswith(".tar.gz"):
            parsed_name, parsed_version = parse_sdist_filename(filename)
            return str(parsed_name), parsed_version
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion) as exc:
        raise ReleaseError(f"{filename}: not a valid distribution file name ({exc})") from None
    raise ReleaseError(f"{filename}: not a wheel or sdist")


def _files_on_index(index_url: str, name: str) -> set[str]:
    if not index_url.startswith(("https://", "http://")):
        raise UsageError(f"--index-url {redact_url(index_url)}: must be an http(s) URL of a simple index")
    url = project_page_url(index_url, name)
    shown = redact_url(url)
    request = urllib.request.Request(
        url,
        headers={"Accept": _ACCEPT, "User-Agent": "directive-release-ci", "Cache-Control": "max-age=0"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            content_type = response.headers.get("Content-Type", "")
            body = response.read()
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return set()
        raise RemoteError(f"{shown}: HTTP {exc.code}; cannot tell whether {name} is published") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise RemoteError(redact(f"{shown}: cannot connect ({reason}); cannot tell whether {name} is published")) from None
    text = body.decode("utf-8", errors="replace")
    if "json" in content_type:
        return _files_from_json(text, shown)
    return _files_from_html(text)


def _files_from_json(text: str, shown: str) -> set[str]:
    try:
        data = json.loads(text)
        return {str(entry["filename"]) for entry in data["files"]}
    except (ValueError, KeyError, TypeError):
        raise RemoteError(f"{shown}: the PEP 691 JSON answer has no files list") from None


class _AnchorFiles(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.files: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "a":
            return
        href = dict(attrs).get("href")
        if href:
            path = urllib.parse.urlsplit(href).path
            self.files.add(urllib.parse.unquote(path.rsplit("/", 1)[-1]))


def _files_from_html(text: str) -> set[str]:
    parser = _AnchorFiles()
    parser.feed(text)
    return parser.files
