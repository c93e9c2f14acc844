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
of the wrong layout or too few examples is refused, naming it, before any job: this module imports
no torch. Turning the arrays into the experiment's data set is tdacore.data.load's.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping
from pathlib import Path

import h5py
import numpy as np

NAMES = ("x_train", "y_train", "x_test", "y_test")
SUFFIXES = (".npz", ".h5", ".hdf5")
TASK_NAMES = ("classification", "sequence")


def _suffix(path: Path) -> str:
    if path.suffix not in SUFFIXES:
        raise ValueError(f"data.path: {path} is not one of {', '.join(SUFFIXES)} files")
    return path.suffix


def array_shapes(path: str | os.PathLike) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """(shape, dtype) of each array in the file, from its headers (no array is read)."""
    path = Path(path)
    shapes = {}
    if _suffix(path) == ".npz":
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                with archive.open(member) as handle:
                    version = np.lib.format.read_magic(handle)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
                    else:
                        shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
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
