"""CIFAR-2 (Appendix B.1): the CIFAR-10 batch loader on fixture batches in the official pickle
layout, the CIFAR-2 MLP and ResNet-9 sizes (Table 5), ResNet-9 featurization memory, the paper
configs' plans and a tiny end-to-end run of the ResNet-9 path."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from helpers import write_cifar_batches

from tdacore.data.cifar import TEST_BATCH, TRAIN_BATCHES, load_cifar2, write_batch
from tdacore.data.dataset import make_dataset

CAT, DOG = 3, 5


def test_batches_are_written_in_the_official_layout(tmp_path: Path):
    """What CIFAR-10's own loading code (pickle.load with encoding="bytes") reads from them."""
    images = np.arange(2 * 3072, dtype=np.int64).reshape(2, 3072).astype(np.uint8)
    write_batch(tmp_path / "data_batch_1", images, [3, 5])
    with open(tmp_path / "data_batch_1", "rb") as handle:
        raw = handle.read()
    assert raw[:2] == b"\x80\x02"  # pickle protocol 2, as the official Python 2 pickles
    batch = pickle.loads(raw, encoding="bytes")
    assert batch[b"labels"] == [3, 5] and batch[b"data"].dtype == np.uint8
    np.testing.assert_array_equal(batch[b"data"], images)


def cats_and_dogs(batches: dict, names: tuple[str, ...]) -> tuple[np.ndarray, list[int]]:
    """The images labelled cat or dog, batch after batch, and 0 for a cat, 1 for a dog."""
    kept = [
        (batches[name][0][i], int(label == DOG))
        for name in names
        for i, label in enumerate(batches[name][1])
        if label in (CAT, DOG)
    ]
    return np.array([image for image, _ in kept]), [label for _, label in kept]


def test_the_loader_keeps_exactly_the_cats_and_dogs(tmp_path: Path):
    batches = write_cifar_batches(tmp_path)
    x_train, y_train, x_test, y_test = load_cifar2(tmp_path)
    for x, y, names in ((x_train, y_train, TRAIN_BATCHES), (x_test, y_test, (TEST_BATCH,))):
        expected_x, expected_y = cats_and_dogs(batches, names)
        np.testing.assert_array_equal(x, expected_x)
        assert y.tolist() == expected_y and set(expected_y) == {0, 1}
    assert len(y_train) == 5 * 6 and len(y_test) == 6  # 30 labels cycling through 10 classes: 3 cats, 3 dogs


def test_cifar2_draw_is_seeded_and_scaled(tmp_path: Path):
    write_cifar_batches(tmp_path)
    x_train, y_train, x_test, y_test = load_cifar2(tmp_path)
    a = make_dataset("cifar2", 20, 5, seed=1, cifar_dir=tmp_path)
    b = make_dataset("cifar2", 20, 5, seed=1, cifar_dir=tmp_path)
    c = make_dataset("cifar2", 20, 5, seed=2, cifar_dir=tmp_path)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert a.train_hash() != c.train_hash()
    assert a.x_train.dtype == np.float32 and a.x_train.shape == (20, 3072) and a.n_classes == 2
    # every drawn example is a distinct source example, pixels / 255, with its own label
    for drawn, labels, source, source_labels in (
        (a.x_train, a.y_train, x_train, y_train),
        (a.x_test, a.y_test, x_test, y_test),
    ):
        rows = [int(np.flatnonzero((source == np.round(row * 255)).all(axis=1))[0]) for row in drawn]
        assert len(set(rows)) == len(rows)
        np.testing.assert_array_equal(labels, source_labels[rows])
        np.testing.assert_allclose(drawn, source[rows] / 255.0, atol=1e-7)
    with pytest.raises(ValueError, match="data.n_train: asked for 31 examples but the source has 30"):
        make_dataset("cifar2", 31, 5, seed=1, cifar_dir=tmp_path)


def test_a_missing_batch_names_the_file_and_the_fetch_rule(tmp_path: Path):
    write_cifar_batches(tmp_path)
    (tmp_path / "data_batch_3").unlink()
    with pytest.raises(FileNotFoundError, match="CIFAR-10 batch file.*missing") as error:
        make_dataset("cifar2", 10, 5, seed=0, cifar_dir=tmp_path)
    assert str(tmp_path / "data_batch_3") in str(error.value) and "data_batch_2" not in str(error.value)
