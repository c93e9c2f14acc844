"""References to a researcher's own code in the config: "module:attribute", the module either a
dotted name (a package installed in the environment, or one under the working directory) or the
path of a Python file (relative to the working directory). The built-in models and data sources
are named the same way (tdacore.models.registry, tdacore.data.sources), so there is one way to
bring a model or data, not two.

Parsing and locating a reference's source files is static (no import), so the workflow can track
a user's module while it plans; loading it imports it, in a job. Every error names the config key
that holds the reference.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from tdacore.infra.import_closure import import_closure, module_file


class BadReference(ValueError):
    """A reference that is malformed, does not resolve, or is called with what it does not take."""


@dataclass(frozen=True)
class Reference:
    """`module:attribute` as written under config key `key`."""

    key: str
    module: str
    attribute: str

    @property
    def is_file(self) -> bool:
        return self.module.endswith(".py")

    def __str__(self) -> str:
        return f"{self.module}:{self.attribute}"


def parse_reference(text: Any, key: str) -> Reference:
    """A reference from its config text, "module:attribute" or "path/to/file.py:attribute"."""
    module, sep, attribute = str(text).rpartition(":")
    if not isinstance(text, str) or not sep or not module or not attribute.isidentifier():
        raise BadReference(
            f"{key}: '{text}' is not a reference: write 'package.module:function' or 'path/to/file.py:function'"
        )
    if not module.endswith(".py") and not all(part.isidentifier() for part in module.split(".")):
        raise BadReference(f"{key}: '{module}' is neither a dotted module name nor a path ending in .py")
    return Reference(key, module, attribute)


def _file_path(ref: Reference, base: Path) -> Path:
    path = (base / ref.module).resolve()
    if not path.is_file():
        raise BadReference(f"{ref.key}: '{ref}' names the file {path}, which does not exist")
    return path


def source_files(ref: Reference, base: Path, roots: Sequence[Path] = ()) -> list[Path]:
    """The files that importing `ref`'s module runs, within its own folder or package (static:
    nothing is imported): what the workflow tracks, so that editing them reruns what depends on
    them. A dotted module is looked up under `base` (the working directory), then under each of
    `roots` (e.g. the checkout whose tdacore the workflow tracks), then located by importlib
    without importing it (an installed package)."""
    if ref.is_file:
        path = _file_path(ref, base)
        return [path, *import_closure([path], roots=[path.parent])]
    top = ref.module.split(".")[0]
    root = next((Path(r) for r in (base, *roots) if module_file(top, [Path(r)]) is not None), None)
    if root is None:
        spec = importlib.util.find_spec(top)
        if spec is None or spec.origin is None:
            raise BadReference(f"{ref.key}: module '{top}' of '{ref}' is not under {base} nor installed")
        root = Path(spec.origin).resolve().parent
        root = root.parent if Path(spec.origin).name == "__init__.py" else root
    package = root / top
    closure = import_closure(modules=[ref.module], roots=[root])
    if not closure:
        raise BadReference(f"{ref.key}: module '{ref.module}' of '{ref}' is not found under {root}")
    return [path for path in closure if path == package.with_suffix(".py") or package in path.parents]


def load_reference(ref: Reference, base: Path | None = None) -> Any:
    """Import `ref`'s module and return its attribute: a file's own module (_import_file); a
    dotted module is looked up under `base` (the working directory), then in the environment, as
    source_files does."""
    base = Path.cwd() if base is None else base
    try:
        if ref.is_file:
            module = _import_file(_file_path(ref, base))
        elif module_file(ref.module.split(".")[0], [base]) is not None:
            module = _import_from(str(base.resolve()), ref.module)
        else:
            module = importlib.import_module(ref.module)
    except ImportError as error:
        raise BadReference(f"{ref.key}: cannot import '{ref.module}' of '{ref}': {error}") from error
    if not hasattr(module, ref.attribute):
        raise BadReference(f"{ref.key}: module '{ref.module}' has no attribute '{ref.attribute}'")
    return getattr(module, ref.attribute)


def _import_file(path: Path) -> ModuleType:
    """The module of the file at `path` (named after it, its folder first on sys.path so that it
    can import its neighbours): the one already imported from that file, or loaded from it even
    where another module of its name exists (that one is left as it is)."""
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    known = sys.modules.get(path.stem)
    if known is not None and Path(getattr(known, "__file__", None) or "").resolve() == path:
        return known
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    if known is None:
        sys.modules[path.stem] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        if sys.modules.get(path.stem) is module:
            del sys.modules[path.stem]
        raise
    return module


def _import_from(folder: str, name: str) -> ModuleType:
    """Import module `name` with `folder` first on sys.path."""
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return importlib.import_module(name)


def call_with(function: Callable[..., Any], key: str, options: Mapping[str, Any], offered: Mapping[str, Any]) -> Any:
    """Call `function` with the config's `options` (each must be a parameter it takes) and those of
    the `offered` values the workflow knows (data sizes, seed, ...) that its signature names."""
    if not callable(function):
        raise BadReference(f"{key}: {function!r} is not callable")
    parameters = inspect.signature(function).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    unknown = [name for name in options if name not in parameters and not takes_any]
    missing = [
        name
        for name, p in parameters.items()
        if p.default is inspect.Parameter.empty
        and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        and name not in options
        and name not in offered
    ]
    if missing:
        raise BadReference(
            f"{key}: {function.__module__}.{function.__qualname__} needs {', '.join(missing)}: give "
            f"{'it' if len(missing) == 1 else 'them'} under {key.rpartition('.')[0] or key}"
        )
    if unknown:
        raise BadReference(
            f"{key}: {function.__module__}.{function.__qualname__} takes no parameter {', '.join(unknown)} "
            f"(it takes: {', '.join(parameters) or 'none'})"
        )
    extra = {name: value for name, value in offered.items() if name not in options and name in parameters}
    return function(**options, **extra)
