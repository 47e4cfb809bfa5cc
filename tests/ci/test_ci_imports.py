"""Only src/directive_release/git/ may import dulwich: the CI helpers go through git/."""

from __future__ import annotations

import ast

from ci_support import ROOT

PACKAGE = ROOT / "src" / "directive_release"


def _imports_dulwich(path) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import) and any(alias.name.split(".")[0] == "dulwich" for alias in node.names):
            lines.append(node.lineno)
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "dulwich":
            lines.append(node.lineno)
    return lines


def test_ci_package_never_imports_dulwich() -> None:
    offenders = {str(path.relative_to(ROOT)): lines for path in sorted((PACKAGE / "ci").rglob("*.py"))
                 if (lines := _imports_dulwich(path))}
    assert offenders == {}


def test_the_check_would_see_an_import(tmp_path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from dulwich.objects import Tag\n    import dulwich.repo\n")
    assert _imports_dulwich(probe) == [2, 3]
