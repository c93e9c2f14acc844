"""CIFAR-10's python-pickle batches (Krizhevsky 2009) and the CIFAR-2 subset of the paper
(Appendix B.1: the "cat" and "dog" classes, as in TRAK, Park et al. 2023).

Each batch file is a pickled dict with b"data" (N x 3072 uint8, channel-major: 1024 red, then
1024 green, then 1024 blue pixels of a 32 x 32 image, rows top to bottom) and b"labels" (N ints
in 0..9). Light on imports (numpy only): the workflow reads the names below while it plans.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np

from tdacore.infra.store import atomic_path

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"  # as the official page publishes it
DEFAULT_DIR = "resources/cifar10/cifar-10-batches-py"  # data.cifar_dir unless set
TRAIN_BATCHES = tuple(f"data_batch_{b}" for b in range(1, 6))
TEST_BATCH = "test_batch"
CIFAR2_CLASSES = (3, 5)  # CIFAR-10's "cat" and "dog", relabelled 0 and 1
IMAGE_SHAPE = (3, 32, 32)  # channels, height, width of a flat 3072-vector


def read_batch(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """(images N x 3072 uint8, labels N int64) of one batch file; errors name the file."""
    try:
        with open(path, "rb") as handle:
            batch = pickle.load(handle, encoding="bytes")  # the official files were pickled by Python 2
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        KeyError,
        AttributeError,
        ImportError,
        IndexError,
    ) as err:
        raise ValueError(f"{path}: not a CIFAR-10 batch (it does not unpickle: {err})") from None
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise ValueError(f"{path}: not a CIFAR-10 batch (a pickled dict with b'data' and b'labels')")
    images, labels = np.asarray(batch[b"data"]), np.asarray(batch[b"labels"], dtype=np.int64)
    if images.dtype != np.uint8 or images.ndim != 2 or images.shape[1] != 3072 or len(images) != len(labels):
        raise ValueError(
            f"{path}: data {images.shape} {images.dtype} and {labels.shape} labels are not N x 3072 uint8 images "
            "with N labels"
        )
    return images, labels


def write_batch(path: str | os.PathLike, images: np.ndarray, labels: np.ndarray) -> None:
    """Write a batch file in the official layout (protocol 2, bytes keys), atomically."""
    batch = {
        b"batch_label": Path(path).name.encode(),
        b"labels": [int(v) for v in labels],
        b"data": np.asarray(images, np.uint8),
    }
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        pickle.dump(batch, handle, protocol=2)


def _cat_dog(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The cats (label 0) and dogs (label 1) of a batch, in the batch's order."""
    keep = np.isin(labels, CIFAR2_CLASSES)
    return images[keep], (labels[keep] == CIFAR2_CLASSES[1]).astype(np.int64)


def load_cifar2(directory: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """CIFAR-2 from the batches in `directory`: (X_train, y_train, X_test, y_test), the cats and
    dogs of the five training batches and of the test batch, images as 3072 uint8 values."""
    directory = Path(directory)
    missing = [str(directory / name) for name in (*TRAIN_BATCHES, TEST_BATCH) if not (directory / name).exists()]
    if missing:
        raise FileNotFoundError(
            f"CIFAR-10 batch file(s) missing: {', '.join(missing)} (the folder cifar-10-batches-py "
            "of CIFAR-10's python archive holds them)"
        )
    train = [_cat_dog(*read_batch(directory / name)) for name in TRAIN_BATCHES]
    x_test, y_test = _cat_dog(*read_batch(directory / TEST_BATCH))
    return np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train]), x_test, y_test
