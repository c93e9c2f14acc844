"""The source files a Python file runs: its import closure, read statically while the workflow
plans (no module is executed), so that a rule's jobs rerun when any module they import is edited
and only then.

A module is tracked when it lies under one of the given roots (tdacore's checkout, a script's
folder, a user's package); anything else (numpy, torch, the standard library) is the
environment's, not the workflow's. Every `import` and `from ... import` counts wherever it is
written (a function's import runs when the function does), except under `if TYPE_CHECKING:`,
which never runs. Importing `a.b.c` runs `a/__init__.py` and `a/b/__init__.py` too; `from a
import b` imports the submodule `a.b` when there is one. Code imported by name at run time (the
configured model factory and data loader) is added by the workflow (tdacore.infra.references).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path


def module_file(name: str, roots: Sequence[Path]) -> Path | None:
    """The file that module `name` runs (a package's `__init__.py`) under the first root that has
    it, or None when no root does."""
    parts = name.split(".")
    for root in roots:
        base = Path(root).joinpath(*parts)
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate.resolve()
    return None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(nodes: Iterable[ast.AST]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement among `nodes` and inside them that can run (not in the body of an
    `if TYPE_CHECKING:`)."""
    for node in nodes:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _import_nodes(node.orelse)
        else:
            yield from _import_nodes(ast.iter_child_nodes(node))


def _with_parents(name: str) -> list[str]:
    """`a.b.c` -> [a, a.b, a.b.c]: importing a module runs its packages' `__init__` first."""
    parts = name.split(".")
    return [".".join(parts[: n + 1]) for n in range(len(parts))]


@lru_cache(maxsize=None)
def imported_names(path: Path, package: str) -> tuple[str, ...]:
    """Absolute names of what the file at `path` (in `package`, "" for a script) may import:
    each module with its parent packages; for `from m import x`, m and m.x (x may be a
    submodule or just a name in m)."""
    tree = ast.parse(path.read_bytes(), filename=str(path))
    names: list[str] = []
    for node in _import_nodes(tree.body):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names += _with_parents(alias.name)
            continue
        if node.module == "__future__":
            continue
        if node.level:
            anchor = package.split(".") if package else []
            if node.level - 1 > len(anchor) or not anchor:
                raise ImportError(
                    f"{path}: relative import beyond its package ('{'.' * node.level}{node.module or ''}')"
                )
            base = ".".join(anchor[: len(anchor) - (node.level - 1)] + ([node.module] if node.module else []))
        else:
            base = node.module or ""
        names += _with_parents(base)
        names += [f"{base}.{alias.name}" for alias in node.names if alias.name != "*"]
    return tuple(dict.fromkeys(names))


def _package_of(name: str, path: Path) -> str:
    """The package a module's relative imports are resolved in: itself for a package's __init__."""
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def import_closure(
    files: Iterable[str | Path] = (),
    modules: Iterable[str] = (),
    roots: Sequence[str | Path] = (),
) -> list[Path]:
    """Every file under `roots` that running the scripts `files` or importing `modules` runs,
    sorted, the scripts themselves excluded."""
    roots = [Path(root).resolve() for root in roots]
    seen: dict[Path, str] = {}
    queue: list[tuple[str, Path]] = []

    def visit(names: Iterable[str]) -> None:
        for name in names:
            path = module_file(name, roots)
            if path is not None and path not in seen:
                seen[path] = name
                queue.append((name, path))

    for script in files:
        visit(imported_names(Path(script).resolve(), ""))
    visit(name for module in modules for name in _with_parents(module))
    while queue:
        name, path = queue.pop()
        visit(imported_names(path, _package_of(name, path)))
    return sorted(seen)
