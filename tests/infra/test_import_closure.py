"""Rerun tracking: the static import closure of each workflow script equals what Python itself
imports when the script runs, and the walk's rules on a package built here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tdacore.infra.import_closure import import_closure
from tdacore.infra.references import source_files
from tdacore.models.registry import ARCHITECTURES, model_reference

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = sorted((REPO / "workflow" / "scripts").glob("*.py"))

# Runs a workflow script as Snakemake would (its folder on sys.path) with a `snakemake` object
# that stops it at first use, i.e. once its imports are done, then imports the modules given by
# name (as tdacore.models.build does for an architecture), and prints the files of every module loaded
# from tdacore or the workflow's folder.
_PROBE = """
import json, runpy, sys
from pathlib import Path

class Stop(Exception):
    pass

class Snakemake:
    def __getattr__(self, name):
        raise Stop(name)

script, modules, repo = sys.argv[1], json.loads(sys.argv[2]), Path(sys.argv[3])
sys.path.append(str(Path(script).parent))
if script:
    try:
        runpy.run_path(script, init_globals={"snakemake": Snakemake()}, run_name="__main__")
    except Stop:
        pass
for module in modules:
    __import__(module)
files = {str(Path(m.__file__).resolve()) for m in list(sys.modules.values()) if getattr(m, "__file__", None)} - {script}
ours = [f for f in files if any(Path(f).is_relative_to(repo / part) for part in ("tdacore", "workflow"))]
print(json.dumps(sorted(ours)))
"""


def _loaded(script: str = "", modules: tuple[str, ...] = ()) -> list[Path]:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, script, json.dumps(list(modules)), str(REPO)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return [Path(f) for f in json.loads(result.stdout.splitlines()[-1])]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.stem)
def test_each_scripts_derived_sources_are_the_modules_it_imports(script: Path):
    derived = import_closure([script], roots=[script.parent, REPO])
    assert derived == _loaded(str(script))
    assert derived and all(path.is_relative_to(REPO / "tdacore") for path in derived)


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_building_an_architecture_imports_its_module_closure(name: str):
    """tdacore.models.build imports the configured architecture by name: its reference's files join
    the closure of whatever imports tdacore.models.build, and nothing of the other architectures does."""
    module = model_reference({"name": name}).module
    derived = sorted(
        set(import_closure(modules=["tdacore.models.build"], roots=[REPO]))
        | set(source_files(model_reference({"name": name}), REPO))
    )
    assert derived == _loaded(modules=("tdacore.models.build", module))
    others = {model_reference({"name": other}).module for other in ARCHITECTURES} - {module}
    files = {path.relative_to(REPO).with_suffix("").as_posix().replace("/", ".") for path in derived}
    shared = (
        {"tdacore.models.music_transformer"} if name == "gpt" else set()
    )  # the GPT's attention is the Music Transformer's
    assert others & files == shared
    assert module in files


def _package(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_walk_follows_what_can_run_and_nothing_else(tmp_path: Path):
    _package(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from . import b\nfrom .sub import c\nimport numpy\n",
            "pkg/b.py": "def f():\n    from pkg import lazy\n",  # a function's import runs when the function does
            "pkg/lazy.py": "",
            "pkg/sub/__init__.py": "from .d import x\n",
            "pkg/sub/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import "
            "typing_only\nelse:\n    from pkg import e\n",
            "pkg/sub/d.py": "x = 1\n",
            "pkg/e.py": "from pkg.b import f as g\n",
            "pkg/typing_only.py": "",
            "pkg/unused.py": "",
            "script.py": "import pkg.a\nfrom helper import h\n",
            "helper.py": "h = 0\n",
        },
    )
    closure = import_closure([tmp_path / "script.py"], roots=[tmp_path])
    names = {path.relative_to(tmp_path).as_posix() for path in closure}
    assert names == {
        "helper.py",
        "pkg/__init__.py",
        "pkg/a.py",
        "pkg/b.py",
        "pkg/lazy.py",
        "pkg/sub/__init__.py",
        "pkg/sub/c.py",
        "pkg/sub/d.py",
        "pkg/e.py",
    }


def test_a_relative_import_beyond_its_package_is_an_error(tmp_path: Path):
    _package(tmp_path, {"pkg/__init__.py": "", "pkg/a.py": "from ... import x\n", "script.py": "import pkg.a\n"})
    with pytest.raises(ImportError, match=r"a\.py: relative import beyond its package"):
        import_closure([tmp_path / "script.py"], roots=[tmp_path])
