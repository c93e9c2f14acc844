"""tdacore's layers: every import points down (or within its own subpackage), never up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tdacore.infra.import_closure import imported_names

TDACORE = Path(__file__).resolve().parents[1] / "tdacore"
LAYERS = ["infra", "data", "models", "attribution", "ensembles", "evaluation", "reporting", "plan"]


def upward_imports(package: Path, layers: list[str]) -> list[str]:
    """`module -> module` for every import of a package's module from a higher layer than its own
    (a subpackage's layer is its place in `layers`; the package root's own `__init__` is below all)."""
    root = package.name
    found = []
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if len(parts) < 3:  # the package root's own modules: no layer
            continue
        own = layers.index(parts[1])
        for target in imported_names(path, name if parts[-1] == "__init__" else name.rpartition(".")[0]):
            pieces = target.split(".")
            if pieces[0] == root and len(pieces) > 1 and pieces[1] in layers and layers.index(pieces[1]) > own:
                found.append(f"{name} -> {target}")
    return sorted(set(found))


def test_every_module_lives_in_a_layer():
    assert sorted(p.name for p in TDACORE.iterdir() if p.is_dir() and p.name != "__pycache__") == sorted(LAYERS)
    assert [p.name for p in TDACORE.glob("*.py")] == ["__init__.py"]
    for layer in LAYERS:  # each says what lives there and what it may import
        doc = (TDACORE / layer / "__init__.py").read_text()
        assert doc.startswith('"""') and "import" in doc, layer


def test_no_import_points_up():
    assert upward_imports(TDACORE, LAYERS) == []


def test_an_upward_import_is_found(tmp_path: Path):
    package = tmp_path / "pkg"
    for layer, text in {"low": "from pkg.high.b import x\n", "high": "from pkg.low.a import y\n"}.items():
        (package / layer).mkdir(parents=True)
        (package / layer / "__init__.py").write_text("")
        (package / layer / ("a.py" if layer == "low" else "b.py")).write_text(text)
    (package / "__init__.py").write_text("")
    assert upward_imports(package, ["low", "high"]) == [
        "pkg.low.a -> pkg.high",
        "pkg.low.a -> pkg.high.b",
        "pkg.low.a -> pkg.high.b.x",
    ]


@pytest.mark.parametrize("layer", LAYERS)
def test_a_layer_imports_without_the_layers_above_it(layer: str):
    """Importing every module of a layer loads no module of a higher layer (a subprocess)."""
    code = (
        "import importlib, pkgutil, sys, tdacore\n"
        f"pkg = importlib.import_module('tdacore.{layer}')\n"
        "for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(' '.join(sorted({n.split('.')[1] for n in sys.modules if n.startswith('tdacore.')})))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = set(result.stdout.split())
    assert loaded <= set(LAYERS[: LAYERS.index(layer) + 1]), loaded
