"""git/history.py against the git binary: random histories with merges, equal dates and clock skew."""

from __future__ import annotations

import random
import subprocess
import time
from pathlib import Path

import pytest

from support import git
from directive_release.git.history import read_since_release
from directive_release.git.repo import discover


def random_history(path: Path, seed: int, commits: int = 300) -> list[str]:
    """A history of ``commits`` commits built with fast-import: branches, merges (some octopus),
    commits in the same second and clocks that run backwards; returns their ids by mark."""
    rng = random.Random(seed)
    git(path, "init", "-q", "-b", "main")
    stream: list[bytes] = []
    stamp = 1_600_000_000
    for number in range(1, commits + 1):
        roll = rng.random()
        if roll < 0.1:
            date = stamp  # the same second as the previous commit
        elif roll < 0.16:
            date = stamp - rng.randint(60, 20_000)  # a clock behind
        else:
            stamp += 60
            date = stamp
        message = f"c{number}".encode()
        stream.append(b"commit refs/heads/build\nmark :%d\n" % number)
        stream.append(b"committer C <c@example.test> %d +0000\n" % date)
        stream.append(b"data %d\n%s\n" % (len(message), message))
        if number > 1:
            first = max(1, number - rng.randint(1, 12))
            stream.append(b"from :%d\n" % first)
            if rng.random() < 0.3 and number > 3:
                for other in sorted({rng.randint(1, number - 1) for _ in range(rng.choice((1, 1, 1, 2)))} - {first}):
                    stream.append(b"merge :%d\n" % other)
        stream.append(b"\n")
    marks = path / "marks"
    subprocess.run(["git", "fast-import", "--quiet", f"--export-marks={marks}"], cwd=path,
                   input=b"".join(stream), check=True)
    ids = {}
    for line in marks.read_text().splitlines():
        mark, oid = line.split()
        ids[int(mark[1:])] = oid
    return [ids[number] for number in range(1, commits + 1)]


@pytest.mark.parametrize("seed", range(6))
def test_commits_since_a_release_are_git_rev_list(tmp_path: Path, seed: int) -> None:
    ids = random_history(tmp_path, seed)
    repo = discover(tmp_path)
    rng = random.Random(seed)
    heads = [ids[-1], *rng.sample(ids[len(ids) // 2 :], 3)]
    for head in heads:
        ancestors = git(tmp_path, "rev-list", head).split()
        for base in [*rng.sample(ancestors, min(5, len(ancestors))), rng.choice(ids)]:
            git(tmp_path, "tag", "-f", "v1.0.0", base)
            read = read_since_release(repo, head, tag_version=lambda name: 1 if name == "v1.0.0" else None,
                                      commit_version=lambda subject: None, settled=lambda version: True,
                                      deadline=time.monotonic() + 60)
            # not reachable: no release, and every commit of HEAD's history is read
            spec = [head, f"^{base}"] if base in ancestors else [head]
            assert (read.release is not None and read.release.commit == base) == (base in ancestors)
            expected = [(line.split()[0], len(line.split()) - 1)
                        for line in git(tmp_path, "log", "--format=%s %P", *spec).splitlines()]
            assert read.commits == expected, (head, base)  # the same commits, in git's order
