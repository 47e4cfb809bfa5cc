"""git configuration: every answer checked against the git binary (``git config``)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from directive_release.errors import ConfigError
from directive_release.git.config import (
    GitConfig,
    canonical_key,
    load_config,
    parse_config,
    wildmatch,
)
from directive_release.git.repo import discover
from support import Project, git, make_project


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A repository with an ``origin`` URL but no remote to push to (fast)."""
    made = make_project(tmp_path, with_remote=False)
    git(made.path, "remote", "add", "origin", (tmp_path / "remote.git").as_uri())
    return made


def git_list(path: Path) -> list[tuple[str, str | None]] | str:
    """``git config -f path --list -z`` as (key, value) pairs, or git's error line."""
    result = subprocess.run(["git", "config", "-f", str(path), "--list", "-z"], capture_output=True)
    if result.returncode != 0:
        return result.stderr.decode().strip().removeprefix("fatal: ")
    pairs: list[tuple[str, str | None]] = []
    for item in result.stdout.split(b"\0")[:-1]:
        key, newline, value = item.decode("utf-8", "surrogateescape").partition("\n")
        pairs.append((key, value if newline else None))
    return pairs


def ours_list(path: Path) -> list[tuple[str, str | None]] | str:
    try:
        entries = parse_config(path.read_bytes().decode("utf-8", "surrogateescape"), str(path))
    except ConfigError as exc:
        return str(exc)
    return [(key, value) for key, value, _ in entries]


SAMPLES = [
    "[core]\n\tbare = false\n",
    "[a] x = 1 ; comment\n[b \"Q\\\"z\"] y\n[c.D] z = \"a  b\"  c  \t d  \n",
    "[a]\n\tx = 1\r\n\ty=a\rb\n",
    "\ufeff[bom]\nk = v\n",
    "[a]x=\"a\\\nb\"\n",
    "[a]x=a\\",
    "[a]\nx = \"quoted ; # kept\" # dropped\n",
    "[a]\nx = tab\\there\\nnew\\bback\\\\slash\\\"q\n",
    "[a]\nx = \"\"   y\n",
    "[a]\nx =\n y = \t\n",
    "[Section \"Sub Section\"]\n\tKey-Name = V\n",
    "[remote \"origin\"]\nurl = https://example.test/x.git\nfetch = +refs/heads/*:refs/remotes/origin/*\n",
    "[url \"https://x.test/\"]\n\tinsteadOf = gh:\n\tinsteadOf = github:\n",
    "# only comments\n; here\n\n",
    "",
    "foo=bar\n[a]x=1\n",
    "[a]\nmulti = one \\\n  two \\\n three\n",
    "[a] [b] x = 1\n",
    "[a.b.c] x = 1\n[a.b \"C\"] y = 2\n",
    "[a \"x\\y\"] k = 1\n",
    "[a]\nk=v\n[a]\nk=w\n",
    # malformed: git's line number must match ours
    "[a\n",
    "[a \"x]\n",
    "[]\n",
    "[a]\n\nx=1\n[b\n\n",
    "\n\n[a] 9=1\n",
    "[a]\nx = \"unterminated\n",
    "[a]\nx # c\n",
    "[a]\nx = a\\q\n",
    "[a]\nk_v = 1\n",
    "[a b]\n",
    "[a \"b\" ]\n",
    "[a]\nk = \"x\n\"\n",
    "[a \"sub\\\n\"] k = 1\n",
    "x\n",
    "[a]\n  = 1\n",
    "[a]\nok = 1\nbad key = 2\n",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_parser_matches_git(tmp_path: Path, text: str) -> None:
    path = tmp_path / "sample.config"
    path.write_bytes(text.encode())
    assert ours_list(path) == git_list(path)


def test_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken"
    path.write_text("[a]\nok = 1\n\nbad key\n")
    with pytest.raises(ConfigError, match=rf"bad config line 4 in file {path}$"):
        parse_config(path.read_text(), str(path))


def test_malformed_local_config_raises(project) -> None:
    with (project.path / ".git" / "config").open("a") as handle:
        handle.write("[broken\n")
    lines = (project.path / ".git" / "config").read_text().count("\n")
    with pytest.raises(ConfigError, match=rf"bad config line {lines} in file .*\.git/config"):
        load_config(discover(project.path))
    result = subprocess.run(["git", "config", "--get", "core.bare"], cwd=project.path, capture_output=True, text=True)
    assert f"bad config line {lines}" in result.stderr


# ---------------------------------------------------------------------------
# Scopes and order
# ---------------------------------------------------------------------------

def oracle_all(cwd: Path, key: str, env: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """(origin file, value) pairs from ``git config --get-all --show-origin``."""
    out = subprocess.run(
        ["git", "config", "--get-all", "--show-origin", "-z", key],
        cwd=cwd, capture_output=True, env={**os.environ, **(env or {})},
    )
    assert out.returncode in (0, 1), out.stderr
    items = out.stdout.decode().split("\0")[:-1]
    return [(_real(cwd, items[i].removeprefix("file:")), items[i + 1]) for i in range(0, len(items), 2)]


def _real(cwd: Path, origin: str) -> str:
    """git prints repository files relative to the work tree; compare real paths."""
    return origin if origin == "command line:" else os.path.realpath(os.path.join(cwd, origin))


def ours_all(cwd: Path, key: str, env: dict[str, str] | None = None) -> list[tuple[str, str]]:
    config = load_config(discover(cwd), {**os.environ, **(env or {})})
    return [
        (_real(cwd, "command line:" if e.origin == "command line" else e.origin), "" if e.value is None else e.value)
        for e in config.entries_for(key)
    ]


def same_as_git(cwd: Path, key: str, env: dict[str, str] | None = None) -> list[tuple[str, str]]:
    expected = oracle_all(cwd, key, env)
    assert ours_all(cwd, key, env) == expected
    return expected


def test_scope_order_matches_git(project, tmp_path: Path, isolated_git_env: Path) -> None:
    home = isolated_git_env
    system = tmp_path / "system.gitconfig"
    system.write_text("[order]\n\tv = system\n")
    xdg = tmp_path / "xdg"
    (xdg / "git").mkdir(parents=True)
    (xdg / "git" / "config").write_text("[order]\n\tv = xdg\n")
    with (home / ".gitconfig").open("a") as handle:
        handle.write("[order]\n\tv = home\n")
    git(project.path, "config", "--add", "order.v", "local")
    git(project.path, "config", "extensions.worktreeConfig", "true")
    (project.path / ".git" / "config.worktree").write_text("[order]\n\tv = worktree\n")
    env = {
        "GIT_CONFIG_NOSYSTEM": "0",
        "GIT_CONFIG_SYSTEM": str(system),
        "XDG_CONFIG_HOME": str(xdg),
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "Order.V",
        "GIT_CONFIG_VALUE_0": "count",
        "GIT_CONFIG_PARAMETERS": "'order.v'='params' 'order.v=old style'",
    }
    found = same_as_git(project.path, "order.v", env)
    assert [value for _, value in found] == [
        "system", "xdg", "home", "local", "worktree", "count", "params", "old style",
    ]
    config = load_config(discover(project.path), {**os.environ, **env})
    assert config.get("ORDER.v") == "old style"
    assert [e.scope for e in config.entries_for("order.v")] == [
        "system", "global", "global", "local", "worktree", "command", "command", "command",
    ]


def test_global_override_and_nosystem(project, tmp_path: Path) -> None:
    special = tmp_path / "special"
    special.write_text("[user]\n\tname = From Global Override\n")
    system = tmp_path / "system"
    system.write_text("[user]\n\tname = From System\n")
    env = {"GIT_CONFIG_GLOBAL": str(special), "GIT_CONFIG_SYSTEM": str(system), "GIT_CONFIG_NOSYSTEM": "1"}
    assert [v for _, v in same_as_git(project.path, "user.name", env)] == ["From Global Override"]
    env["GIT_CONFIG_NOSYSTEM"] = "false"
    assert len(same_as_git(project.path, "user.name", env)) == 2
    # ~/.gitconfig is not read when GIT_CONFIG_GLOBAL is set
    assert same_as_git(project.path, "init.defaultbranch", env) == []


def test_worktree_config_needs_extension(project) -> None:
    (project.path / ".git" / "config.worktree").write_text("[wt]\n\tv = 1\n")
    assert same_as_git(project.path, "wt.v") == []
    git(project.path, "config", "extensions.worktreeConfig", "yes")
    assert same_as_git(project.path, "wt.v") != []


def test_linked_worktree_reads_its_own_config_worktree(project, tmp_path: Path) -> None:
    git(project.path, "config", "extensions.worktreeConfig", "true")
    linked = tmp_path / "linked"
    git(project.path, "worktree", "add", "-q", str(linked))
    git(linked, "config", "--worktree", "wt.who", "linked")
    git(project.path, "config", "--worktree", "wt.who", "main")
    assert [v for _, v in same_as_git(linked, "wt.who")] == ["linked"]
    assert [v for _, v in same_as_git(project.path, "wt.who")] == ["main"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GIT_CONFIG_COUNT": "x"}, "bogus count in GIT_CONFIG_COUNT"),
        ({"GIT_CONFIG_COUNT": "1"}, "missing config key GIT_CONFIG_KEY_0"),
        ({"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "a.b"}, "missing config value GIT_CONFIG_VALUE_0"),
        ({"GIT_CONFIG_PARAMETERS": "'a.b'x"}, "bogus format in GIT_CONFIG_PARAMETERS"),
        ({"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "nodot", "GIT_CONFIG_VALUE_0": "v"},
         "key does not contain a section: nodot"),
    ],
)
def test_bad_command_line_env_fails_like_git(project, env: dict[str, str], message: str) -> None:
    result = subprocess.run(["git", "config", "--get", "a.b"], cwd=project.path, capture_output=True,
                            text=True, env={**os.environ, **env})
    assert message in result.stderr
    with pytest.raises(ConfigError, match=message):
        load_config(discover(project.path), {**os.environ, **env})


def test_parameters_quoting_and_implicit_bool(project) -> None:
    env = {"GIT_CONFIG_PARAMETERS": "'q.a'='it'\\''s' 'q.flag'= 'q.b'='x!y'"}
    assert same_as_git(project.path, "q.a", env) == [("command line:", "it's")]
    assert load_config(discover(project.path), {**os.environ, **env}).get_bool("q.flag", False) is True
    assert same_as_git(project.path, "q.b", env) == [("command line:", "x!y")]


# ---------------------------------------------------------------------------
# Includes and conditions
# ---------------------------------------------------------------------------

def test_include_relative_tilde_nested_missing(project, isolated_git_env: Path) -> None:
    home = isolated_git_env
    (home / "conf.d").mkdir()
    (home / "conf.d" / "a").write_text("[inc]\n\tv = a\n[include]\n\tpath = b\n")  # relative to conf.d
    (home / "conf.d" / "b").write_text("[inc]\n\tv = b\n")
    with (home / ".gitconfig").open("a") as handle:
        handle.write("[include]\n\tpath = ~/conf.d/a\n\tpath = missing-file\n[inc]\n\tv = after\n")
    (project.path / ".git" / "local-extra").write_text("[inc]\n\tv = local-relative\n")
    git(project.path, "config", "--add", "include.path", "local-extra")
    assert [v for _, v in same_as_git(project.path, "inc.v")] == ["a", "b", "after", "local-relative"]
    same_as_git(project.path, "include.path")


def test_include_loop_is_an_error(project) -> None:
    loop = project.path / ".git" / "loop"
    loop.write_text(f"[include]\n\tpath = {loop}\n")
    git(project.path, "config", "include.path", str(loop))
    result = subprocess.run(["git", "config", "--get", "x.y"], cwd=project.path, capture_output=True, text=True)
    assert "exceeded maximum include depth" in result.stderr
    with pytest.raises(ConfigError, match="exceeded maximum include depth"):
        load_config(discover(project.path))


GITDIR_PATTERNS = [
    "gitdir:{work}/.git",
    "gitdir:{work}/",
    "gitdir:{root}/",
    "gitdir:{root}/*/.git",
    "gitdir:{root}/**/.git",
    "gitdir:{root}/**",
    "gitdir:{root_upper}/",
    "gitdir/i:{root_upper}/",
    "gitdir:work/",
    "gitdir:work",
    "gitdir:**/work/.git",
    "gitdir:~/",
    "gitdir:/elsewhere/",
    "gitdir:{root}/w?rk/.git",
    "gitdir:{root}/w[a-z]rk/",
    "gitdir:{root}/w[!o]rk/",
    "gitdir:{root}/wor[[:alpha:]]/",
    "onbranch:main",
    "onbranch:ma*",
    "onbranch:other",
    "onbranch:feature/",
    "hasconfig:remote.*.url:file://**",
    "hasconfig:remote.*.url:https://nowhere/**",
    "unknown:condition",
]


@pytest.mark.parametrize("in_global", [True, False], ids=["global", "local"])
@pytest.mark.parametrize("condition", GITDIR_PATTERNS)
def test_include_if_matches_git(project, isolated_git_env: Path, condition: str, in_global: bool) -> None:
    root = project.path.parent
    condition = condition.format(work=project.path, root=root, root_upper=str(root).upper())
    included = isolated_git_env / "included"
    included.write_text("[cond]\n\tv = included\n")
    target = isolated_git_env / ".gitconfig" if in_global else project.path / ".git" / "config"
    with target.open("a") as handle:
        handle.write(f'[includeIf "{condition}"]\n\tpath = {included}\n')
    same_as_git(project.path, "cond.v")


def test_include_if_branch_directory_pattern(project, isolated_git_env: Path) -> None:
    git(project.path, "switch", "-q", "-c", "feature/x")
    (isolated_git_env / "inc").write_text("[cond]\n\tv = feature\n")
    git(project.path, "config", "includeIf.onbranch:feature/.path", str(isolated_git_env / "inc"))
    assert [v for _, v in same_as_git(project.path, "cond.v")] == ["feature"]


def test_include_if_relative_to_including_file(project, isolated_git_env: Path) -> None:
    # "./" in gitdir: means "relative to the directory of the file holding the condition"
    (project.path.parent / "rel.inc").write_text("[cond]\n\tv = rel\n")
    extra = project.path.parent / "extra.gitconfig"
    extra.write_text(f'[includeIf "gitdir:./work/"]\n\tpath = {project.path.parent / "rel.inc"}\n')
    with (isolated_git_env / ".gitconfig").open("a") as handle:
        handle.write(f"[include]\n\tpath = {extra}\n")
    assert [v for _, v in same_as_git(project.path, "cond.v")] == ["rel"]


def test_include_if_in_linked_worktree_uses_its_gitdir(project, tmp_path: Path, isolated_git_env: Path) -> None:
    linked = tmp_path / "linked"
    git(project.path, "worktree", "add", "-q", str(linked))
    (isolated_git_env / "wt.inc").write_text("[cond]\n\tv = worktree\n")
    (isolated_git_env / "main.inc").write_text("[cond]\n\tv = main\n")
    with (isolated_git_env / ".gitconfig").open("a") as handle:
        handle.write(f'[includeIf "gitdir:{project.path}/.git/worktrees/**"]\n\tpath = {isolated_git_env}/wt.inc\n')
        handle.write(f'[includeIf "gitdir:{project.path}/.git"]\n\tpath = {isolated_git_env}/main.inc\n')
    assert [v for _, v in same_as_git(linked, "cond.v")] == ["worktree"]
    assert [v for _, v in same_as_git(project.path, "cond.v")] == ["main"]


def test_include_if_through_symlinked_path(project, tmp_path: Path, isolated_git_env: Path) -> None:
    # git retries the pattern against the path as reached (``$PWD``) when the real path fails
    link = tmp_path / "link"
    link.symlink_to(project.path.parent)
    (isolated_git_env / "sym.inc").write_text("[cond]\n\tv = via-link\n")
    git(project.path, "config", "includeIf.gitdir:" + str(link) + "/work/.path", str(isolated_git_env / "sym.inc"))
    cwd = link / "work"
    env = {"PWD": str(cwd)}
    assert [v for _, v in same_as_git(cwd, "cond.v", env)] == ["via-link"]


def test_hasconfig_forbids_remote_url_in_included_file(project, isolated_git_env: Path) -> None:
    bad = isolated_git_env / "bad.inc"
    bad.write_text('[remote "x"]\n\turl = https://evil.test/\n')
    git(project.path, "config", "includeIf.hasconfig:remote.*.url:file://**.path", str(bad))
    result = subprocess.run(["git", "config", "--get", "a.b"], cwd=project.path, capture_output=True, text=True)
    assert "remote URLs cannot be configured" in result.stderr
    with pytest.raises(ConfigError, match="remote URLs cannot be configured"):
        load_config(discover(project.path))


# ---------------------------------------------------------------------------
# Typed values and lookups
# ---------------------------------------------------------------------------

BOOLS = ["true", "TRUE", "yes", "On", "1", "0", "false", "No", "off", "", "0x10", "010", "1k", "-1",
         "maybe", "2 ", "1 k", "tru"]


@pytest.mark.parametrize("raw", BOOLS)
def test_bool_spellings_match_git(project, raw: str) -> None:
    git(project.path, "config", "b.v", raw)
    result = subprocess.run(["git", "config", "--type=bool", "--get", "b.v"], cwd=project.path,
                            capture_output=True, text=True)
    config = load_config(discover(project.path))
    if result.returncode == 0:
        assert config.get_bool("b.v", default=not (result.stdout.strip() == "true")) is (
            result.stdout.strip() == "true"
        )
    else:
        assert "bad boolean config value" in result.stderr
        with pytest.raises(ConfigError, match=r"bad boolean config value .* for 'b\.v' \(.*config:\d+\)"):
            config.get_bool("b.v", default=False)


def test_bare_key_is_true_and_missing_uses_default(project) -> None:
    with (project.path / ".git" / "config").open("a") as handle:
        handle.write("[flag]\n\ton\n")
    config = load_config(discover(project.path))
    assert config.get_bool("flag.on", default=False) is True
    assert config.get_bool("flag.absent", default=True) is True
    assert config.get("flag.on") == git(project.path, "config", "--get", "flag.on").rstrip("\n")


@pytest.mark.parametrize("raw", ["12", "0x1f", "017", "2k", "1m", "-3", "3x", "1g", "k"])
def test_int_values_match_git(project, raw: str) -> None:
    git(project.path, "config", "n.v", raw)
    result = subprocess.run(["git", "config", "--type=int", "--get", "n.v"], cwd=project.path,
                            capture_output=True, text=True)
    config = load_config(discover(project.path))
    if result.returncode == 0:
        assert config.get_int("n.v", 0) == int(result.stdout)
    else:
        with pytest.raises(ConfigError, match="n.v"):
            config.get_int("n.v", 0)


def test_path_values_expand_tilde(project, isolated_git_env: Path) -> None:
    git(project.path, "config", "core.hooksPath", "~/hooks")
    expected = git(project.path, "config", "--type=path", "--get", "core.hooksPath").strip()
    assert load_config(discover(project.path)).get_path("core.hookspath") == expected == f"{isolated_git_env}/hooks"


def test_case_rules_and_subsections(project) -> None:
    git(project.path, "remote", "add", "Upper", "https://example.test/u.git")
    git(project.path, "config", 'url.https://Mirror.test/.insteadOf', "https://example.test/")
    config = load_config(discover(project.path))
    assert config.subsections("REMOTE") == ["origin", "Upper"]
    assert config.get("Remote.Upper.URL") == "https://example.test/u.git"
    assert config.get("remote.upper.url") is None
    assert config.subsection_values("url", "insteadof") == [("https://Mirror.test/", "https://example.test/")]
    assert config.get("url.https://Mirror.test/.insteadof") == git(
        project.path, "config", "--get", "url.https://Mirror.test/.insteadOf").strip()


@pytest.mark.parametrize("key", ["nodot", ".x", "a.", "a.1b", "a_b.c", "a.b.c_d"])
def test_invalid_lookup_keys(key: str) -> None:
    with pytest.raises(ConfigError):
        canonical_key(key)
    assert "a.B.c" == canonical_key("A.B.C")[0] + ".B." + "c"


def test_outside_a_repository(isolated_git_env: Path, tmp_path: Path) -> None:
    config = load_config(None)
    assert config.get("init.defaultBranch") == "main"
    outside = subprocess.run(["git", "config", "--get", "init.defaultBranch"], cwd=tmp_path,
                             capture_output=True, text=True).stdout.strip()
    assert outside == "main"


@pytest.mark.parametrize(
    ("pattern", "text"),
    [("a/**/b", "a/b"), ("a/**/b", "a/x/y/b"), ("a/*", "a/b/c"), ("a/**", "a/b/c"), ("a/**", "a"),
     ("**/x", "x"), ("*.git", "a/b.git"), ("[]a]", "]"), ("a[!b]c", "a/c"), ("b[a-]x", "b-x"), ("x\\?y", "xay"),
     ("x\\*", "xy"), ("x\\y", "xy"), ("a/c", "a/c"), ("a**b", "a/b"), ("a**b", "axxb"), ("[[:upper:]]", "Q"), ("[z-a]", "m"),
     ("[abc", "a"), ("[[:nope:]]", "n")],
)
def test_wildmatch_matches_git_pathname_rules(tmp_path: Path, pattern: str, text: str) -> None:
    # oracle: onbranch: uses wildmatch(WM_PATHNAME) on the branch name
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    assert _valid_branch(repo, text), "every case must be a branch name git accepts"
    ours = wildmatch(pattern, text)
    git(repo, "symbolic-ref", "HEAD", f"refs/heads/{text}")
    (tmp_path / "inc").write_text("[m]\n\tv = yes\n")
    git(repo, "config", f"includeIf.onbranch:{pattern}.path", str(tmp_path / "inc"))
    expected = git(repo, "config", "--get", "m.v", check=False).strip() == "yes"
    assert ours is expected


def _valid_branch(repo: Path, name: str) -> bool:
    return subprocess.run(["git", "check-ref-format", "--branch", name], cwd=repo,
                          capture_output=True).returncode == 0


def test_git_config_is_immutable_snapshot() -> None:
    config = GitConfig([], {})
    assert config.get("a.b") is None and config.get_all("a.b") == [] and "a.b" not in config


def test_hasconfig_pass_and_remote_urls_in_other_conditional_includes(project, isolated_git_env: Path) -> None:
    # A remote URL in a gitdir:-included file, next to a hasconfig: condition: git's verdict, either way.
    with_url = isolated_git_env / "with-url.inc"
    with_url.write_text('[remote "mirror"]\n\turl = https://mirror.test/x.git\n')
    plain = isolated_git_env / "plain.inc"
    plain.write_text("[cond]\n\tv = hasconfig\n")
    git(project.path, "config", f"includeIf.gitdir:{project.path}/.git.path", str(with_url))
    git(project.path, "config", "includeIf.hasconfig:remote.*.url:https://mirror.test/**.path", str(plain))
    result = subprocess.run(["git", "config", "--get-all", "cond.v"], cwd=project.path, capture_output=True,
                            text=True)
    if result.returncode == 0:
        assert load_config(discover(project.path)).get_all("cond.v") == result.stdout.splitlines()
    else:
        with pytest.raises(ConfigError, match="remote URLs cannot be configured"):
            load_config(discover(project.path))
        assert "remote URLs cannot be configured" in result.stderr
