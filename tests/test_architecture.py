"""The layout the design asks for, checked on the source: who may import dulwich, no import
cycles, no two modules with one name. Each check is shown able to fail on a probe."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "directive_release"
NAME = "directive_release"


def _modules(root: Path = PACKAGE, name: str = NAME) -> dict[str, Path]:
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join([name, *parts])] = path
    return found


def _imports(module: str, path: Path, modules: dict[str, Path]) -> Iterator[tuple[str, int]]:
    """Every module ``module`` imports (at any depth of the file: lazy and type-only imports count)."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                yield (submodule if submodule in modules else target), node.lineno


def _dulwich_importers(modules: dict[str, Path], name: str = NAME) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for module, path in modules.items():
        lines = [line for target, line in _imports(module, path, modules) if target.split(".")[0] == "dulwich"]
        if lines and not module.startswith(f"{name}.git."):
            found[module] = lines
    return found


def _cycles(modules: dict[str, Path]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), i.e. import cycles."""
    graph = {m: sorted({t for t, _ in _imports(m, p, modules) if t in modules and t != m}) for m, p in modules.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return components


def test_only_the_git_package_imports_dulwich() -> None:
    assert _dulwich_importers(_modules()) == {}


def test_no_import_cycles() -> None:
    assert _cycles(_modules()) == []


def test_no_two_modules_share_a_name() -> None:
    names: dict[str, list[str]] = {}
    for module, path in _modules().items():
        if path.name not in ("__init__.py", "__main__.py"):
            names.setdefault(path.stem, []).append(module)
    assert {name: found for name, found in names.items() if len(found) > 1} == {}


def test_the_checks_can_fail(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    (root / "git").mkdir(parents=True)
    for name in ("__init__.py", "git/__init__.py"):
        (root / name).write_text("")
    (root / "a.py").write_text("def f():\n    from .b import x\n")
    (root / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import a\n")
    (root / "c.py").write_text("def g():\n    import dulwich.repo\n")
    (root / "git" / "ok.py").write_text("from dulwich.objects import Tag\n")
    modules = _modules(root, "pkg")
    assert _cycles(modules) == [["pkg.a", "pkg.b"]]
    assert _dulwich_importers(modules, "pkg") == {"pkg.c": [2]}


def test_every_git_module_says_what_it_takes_from_dulwich_or_why_not() -> None:
    silent = [path.name for path in sorted((PACKAGE / "git").glob("*.py"))
              if "dulwich" not in (ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or "").lower()]
    assert silent == []
