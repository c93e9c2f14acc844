"""A researcher's own data as four arrays (data.source: arrays, or what a data.loader returns),
checked and drawn into the experiment's train/test sets.

The layout, in a `.npz` file (numpy.savez) or an `.h5` file (one dataset per name):
- `x_train`, `x_test`: the inputs, one row per example, any per-example shape, the same on both
  sides. Classification: numbers (stored as float32, used as they are: no scaling). Sequences:
  integer token ids (n, L).
- `y_train`, `y_test`: classification: integer labels 0..C-1, shape (n,). Sequences: integer
  targets (n, L), y_t the token that follows x_1..x_t, -1 where nothing is scored.
The classes (or the vocabulary) are data.n_classes, or one more than the largest label (token).
Shapes are read from the file's headers while the workflow plans (array_shapes), so that a file
of the wrong layout or too few examples is refused, naming it, before any job.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from tdacore.data.dataset import IGNORE, TASK_NAMES, Dataset, draw_split
from tdacore.infra.seeds import derive_seed, numpy_rng

NAMES = ("x_train", "y_train", "x_test", "y_test")
SUFFIXES = (".npz", ".h5", ".hdf5")


def _suffix(path: Path) -> str:
    if path.suffix not in SUFFIXES:
        raise ValueError(f"data.path: {path} is not one of {', '.join(SUFFIXES)} files")
    return path.suffix


def _header_2_0(handle):
    return np.lib.format.read_array_header_2_0(handle)


def array_shapes(path: str | os.PathLike) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """(shape, dtype) of each array in the file, from its headers (no array is read)."""
    path = Path(path)
    shapes = {}
    if _suffix(path) == ".npz":
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                with archive.open(member) as handle:
                    version = np.lib.format.read_magic(handle)
                    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else _header_2_0
                    shape, _, dtype = read_header(handle)
                shapes[member.removesuffix(".npy")] = (tuple(shape), np.dtype(dtype))
    else:
        with h5py.File(path, "r") as handle:
            shapes = {name: (item.shape, item.dtype) for name, item in handle.items() if isinstance(item, h5py.Dataset)}
    return shapes


def read_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The four arrays of a file in the layout above."""
    path = Path(path)
    if _suffix(path) == ".npz":
        with np.load(path, allow_pickle=False) as arrays:
            return {name: arrays[name] for name in NAMES if name in arrays}
    with h5py.File(path, "r") as handle:
        return {name: handle[name][()] for name in NAMES if name in handle}


def check_layout(shapes: Mapping[str, tuple[tuple[int, ...], np.dtype]], task: str, where: str) -> None:
    """Refuse arrays (by shape and dtype) that do not follow the layout of `task`, naming them."""
    if task not in TASK_NAMES:
        raise ValueError(f"{where}: data.task '{task}' is not one of {', '.join(TASK_NAMES)}")
    absent = [name for name in NAMES if name not in shapes]
    if absent:
        raise ValueError(f"{where}: lacks {', '.join(absent)} (it holds {', '.join(sorted(shapes)) or 'nothing'})")
    x_train, x_test = shapes["x_train"][0], shapes["x_test"][0]
    for side in ("train", "test"):
        (x, xt), (y, yt) = shapes[f"x_{side}"], shapes[f"y_{side}"]
        if not x or not y or x[0] != y[0] or x[0] < 1:
            raise ValueError(f"{where}: x_{side} {x} and y_{side} {y} do not hold the same number of examples")
        if task == "sequence" and (len(x) != 2 or not np.issubdtype(xt, np.integer)):
            raise ValueError(f"{where}: x_{side} is {xt} of shape {x}, not integer token ids of shape (n, L)")
        if not np.issubdtype(yt, np.integer):
            raise ValueError(
                f"{where}: y_{side} is {yt}, not integer {'labels' if task == 'classification' else 'targets'}"
            )
        expected = x if task == "sequence" else x[:1]
        if y != expected:
            raise ValueError(f"{where}: y_{side} has shape {y}, expected {expected} for data.task {task}")
        if task == "classification" and not (np.issubdtype(xt, np.number) or xt == np.bool_):
            raise ValueError(f"{where}: x_{side} is {xt}, not numbers")
    if x_train[1:] != x_test[1:]:
        raise ValueError(f"{where}: x_train's examples have shape {x_train[1:]} but x_test's {x_test[1:]}")


def dataset_from_arrays(
    arrays: Mapping[str, Any],
    task: str,
    n_train: int,
    n_test: int,
    seed: int,
    where: str,
    n_classes: int | None = None,
) -> Dataset:
    """The experiment's train/test sets from four arrays in the layout above: n_train training
    examples drawn at random (kept in their order), n_test test examples (in the order drawn)."""
    arrays = {name: np.asarray(arrays[name]) for name in NAMES if name in arrays}
    check_layout({name: (a.shape, a.dtype) for name, a in arrays.items()}, task, where)
    labels = np.concatenate([arrays["y_train"].ravel(), arrays["y_test"].ravel()])
    low = IGNORE if task == "sequence" else 0
    tokens = np.concatenate([arrays["x_train"].ravel(), arrays["x_test"].ravel()]) if task == "sequence" else []
    largest = int(max(labels.max(), max(tokens, default=0)))
    if labels.min() < low:
        raise ValueError(f"{where}: a label is {int(labels.min())}, below {low}")
    n_classes = largest + 1 if n_classes is None else n_classes
    if largest >= n_classes:
        raise ValueError(f"{where}: label or token {largest} is outside data.n_classes = {n_classes}")
    train, test = draw_split(
        len(arrays["y_train"]), len(arrays["y_test"]), n_train, n_test, numpy_rng(derive_seed(seed, "split"))
    )
    x_dtype = np.int64 if task == "sequence" else np.float32
    return Dataset(
        arrays["x_train"][train].astype(x_dtype),
        arrays["y_train"][train].astype(np.int64),
        arrays["x_test"][test].astype(x_dtype),
        arrays["y_test"][test].astype(np.int64),
        n_classes,
        task,
    )


def load(*, raw: list[str], n_train: int, n_test: int, seed: int, task: str = "classification", n_classes=None):
    """data.source: arrays: the file data.path (the layout above)."""
    return dataset_from_arrays(read_arrays(raw[0]), task, n_train, n_test, seed, f"data.path = {raw[0]}", n_classes)
