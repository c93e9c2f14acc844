"""References to a researcher's code: parsed, located without importing, loaded, and called with
the options it takes; every error names the config key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tdacore.infra.references import BadReference, call_with, load_reference, parse_reference, source_files


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize("text", ["no_colon", "a.b:", ":f", "a b:f", "mod:not-an-identifier", 3])
def test_malformed_references_name_the_key(text):
    with pytest.raises(BadReference, match="^model.factory: "):
        parse_reference(text, "model.factory")


def test_a_file_reference_loads_with_its_neighbours_and_tracks_them(tmp_path: Path):
    write(tmp_path / "code" / "helper_for_ref.py", "SCALE = 3\n")
    code = "from helper_for_ref import SCALE\n\ndef make(n):\n    return n * SCALE\n"
    module = write(tmp_path / "code" / "my_factory_ref.py", code)
    write(tmp_path / "code" / "unrelated_ref.py", "X = 1\n")
    ref = parse_reference("code/my_factory_ref.py:make", "model.factory")
    assert load_reference(ref, tmp_path)(4) == 12
    assert source_files(ref, tmp_path) == [module.resolve(), (tmp_path / "code" / "helper_for_ref.py").resolve()]


def test_a_dotted_module_under_the_working_directory_is_found_and_only_its_package_tracked(tmp_path: Path):
    write(tmp_path / "userpkg_ref" / "__init__.py", "")
    code = "import numpy\nfrom userpkg_ref import layers\n\ndef build():\n    return layers.W\n"
    write(tmp_path / "userpkg_ref" / "models.py", code)
    write(tmp_path / "userpkg_ref" / "layers.py", "W = 7\n")
    ref = parse_reference("userpkg_ref.models:build", "model.factory")
    assert load_reference(ref, tmp_path)() == 7
    package = (tmp_path / "userpkg_ref").resolve()
    assert source_files(ref, tmp_path) == [package / "__init__.py", package / "layers.py", package / "models.py"]


def test_an_installed_module_is_tracked_within_its_package_only():
    ref = parse_reference("tdacore.models.mlp:build", "model.name")
    files = source_files(ref, Path("/nonexistent"))
    assert all("tdacore" in path.parts for path in files)
    assert any(path.name == "mlp.py" for path in files)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("missing_dir/none.py:f", "names the file .* which does not exist"),
        ("no_such_module_anywhere_xyz:f", "cannot import 'no_such_module_anywhere_xyz'"),
        ("code/plain_ref.py:absent", "has no attribute 'absent'"),
    ],
)
def test_references_that_do_not_resolve_say_why(tmp_path: Path, text: str, message: str):
    write(tmp_path / "code" / "plain_ref.py", "VALUE = 1\n")
    with pytest.raises(BadReference, match=f"^data.loader: .*{message}"):
        load_reference(parse_reference(text, "data.loader"), tmp_path)


def test_a_file_is_loaded_even_where_another_module_has_its_name(tmp_path: Path):
    write(tmp_path / "json.py", "def f():\n    return 'mine'\n")  # the standard library's json is imported already
    for folder in ("a", "b"):
        write(tmp_path / folder / "same_stem_ref.py", f"def f():\n    return {folder!r}\n")
    assert load_reference(parse_reference("json.py:f", "model.factory"), tmp_path)() == "mine"
    assert load_reference(parse_reference("a/same_stem_ref.py:f", "model.factory"), tmp_path)() == "a"
    assert load_reference(parse_reference("b/same_stem_ref.py:f", "data.loader"), tmp_path)() == "b"
    import json

    assert json.dumps([1]) == "[1]"


def test_call_with_passes_options_and_the_offered_values_a_function_names():
    def factory(width, n_classes, dropout=0.0):
        return width, n_classes, dropout

    offered = {"n_classes": 10, "in_dim": 64, "input_shape": (1, 8, 8)}
    assert call_with(factory, "model.factory", {"width": 5}, offered) == (5, 10, 0.0)
    with pytest.raises(BadReference, match=r"^model.factory: .*factory takes no parameter depth \(it takes: width"):
        call_with(factory, "model.factory", {"width": 5, "depth": 2}, offered)
    with pytest.raises(BadReference, match="^model.factory: .*factory needs width: give it under model"):
        call_with(factory, "model.factory", {}, offered)
    with pytest.raises(BadReference, match="is not callable"):
        call_with(3, "model.factory", {}, offered)
