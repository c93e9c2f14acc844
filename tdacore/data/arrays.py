"""A researcher's own data as four arrays (data.source: arrays, or what a data.loader returns),
checked and drawn into the experiment's train/test sets.

The layout, in a `.npz` file (numpy.savez) or an `.h5` file (one dataset per name):
- `x_train`, `x_test`: the inputs, one row per example, any per-example shape, the same on both
  sides. Classification: numbers (stored as float32, used as they are: no scaling). Sequences:
  integer token ids (n, L).
  Or named inputs, passed to the model as keyword arguments (a Hugging Face model's input_ids
  and attention_mask; tdacore.data.batches): `x_train/<name>` and `x_test/<name>`, the same
  names on both sides (`.npz`: arrays saved under those keys; `.h5`: groups x_train and x_test
  of one dataset per name). Integer and boolean inputs are stored as int64, others as float32;
  sequences: every input is (n, L) of integers, like the targets.
- `y_train`, `y_test`: classification: integer labels 0..C-1, shape (n,). Sequences: integer
  targets (n, L), y_t the token that follows x_1..x_t, -1 where nothing is scored.
The classes (or the vocabulary) are data.n_classes, or one more than the largest label (token;
named inputs: the largest label only, so give data.n_classes when token ids exceed the targets).
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

from tdacore.infra.store import read_item

NAMES = ("x_train", "y_train", "x_test", "y_test")
SUFFIXES = (".npz", ".h5", ".hdf5")
TASK_NAMES = ("classification", "sequence")
Shape = tuple[tuple[int, ...], np.dtype]  # (shape, dtype) of one array


def _nested(flat: Mapping[str, object]) -> dict[str, object]:
    """Entries named `x_train/<name>` gathered into a dict under `x_train` (named inputs)."""
    nested: dict[str, object] = {}
    for key, value in flat.items():
        head, _, name = key.partition("/")
        if name:
            nested.setdefault(head, {})[name] = value  # type: ignore[index]
        else:
            nested[key] = value
    return nested


def _suffix(path: Path) -> str:
    if path.suffix not in SUFFIXES:
        raise ValueError(f"data.path: {path} is not one of {', '.join(SUFFIXES)} files")
    return path.suffix


def array_shapes(path: str | os.PathLike) -> dict[str, Shape | dict[str, Shape]]:
    """(shape, dtype) of each array in the file (named inputs: a dict of them), from its headers
    (no array is read)."""
    path = Path(path)
    shapes: dict[str, Shape] = {}
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
            handle.visititems(
                lambda name, item: (
                    shapes.__setitem__(name, (item.shape, item.dtype)) if isinstance(item, h5py.Dataset) else None
                )
            )
    return _nested(shapes)


def read_arrays(path: str | os.PathLike) -> dict[str, np.ndarray | dict[str, np.ndarray]]:
    """The four arrays of a file in the layout above (named inputs as dicts)."""
    path = Path(path)
    if _suffix(path) == ".npz":
        with np.load(path, allow_pickle=False) as arrays:
            found = _nested({key: arrays[key] for key in arrays.files if key.partition("/")[0] in NAMES})
        return {name: found[name] for name in NAMES if name in found}
    with h5py.File(path, "r") as handle:
        return {name: read_item(handle[name]) for name in NAMES if name in handle}


def _inputs(entry: Shape | Mapping[str, Shape], side: str) -> dict[str, Shape]:
    """The inputs of x_<side> by the name an error gives them: x_<side>, or x_<side>/<name>."""
    if isinstance(entry, Mapping):
        return {f"x_{side}/{name}": shape for name, shape in entry.items()}
    return {f"x_{side}": entry}


def integer_like(dtype: np.dtype) -> bool:
    """Integers or booleans: token ids, attention masks (stored as int64)."""
    return np.issubdtype(dtype, np.integer) or dtype == np.bool_


def check_layout(shapes: Mapping[str, Shape | Mapping[str, Shape]], task: str, where: str) -> None:
    """Refuse arrays (by shape and dtype) that do not follow the layout of `task`, naming them."""
    if task not in TASK_NAMES:
        raise ValueError(f"{where}: data.task '{task}' is not one of {', '.join(TASK_NAMES)}")
    absent = [name for name in NAMES if name not in shapes]
    if absent:
        raise ValueError(f"{where}: lacks {', '.join(absent)} (it holds {', '.join(sorted(shapes)) or 'nothing'})")
    inputs = {}
    for side in ("train", "test"):
        if isinstance(shapes[f"y_{side}"], Mapping):
            raise ValueError(f"{where}: y_{side} holds {', '.join(shapes[f'y_{side}'])}, not one array of targets")
        y, yt = shapes[f"y_{side}"]
        if not np.issubdtype(yt, np.integer):
            raise ValueError(
                f"{where}: y_{side} is {yt}, not integer {'labels' if task == 'classification' else 'targets'}"
            )
        if task == "classification" and len(y) != 1:
            raise ValueError(f"{where}: y_{side} has shape {y}, expected {y[:1]} for data.task {task}")
        inputs[side] = _inputs(shapes[f"x_{side}"], side)
        if not inputs[side]:
            raise ValueError(f"{where}: x_{side} holds no arrays")
        for name, (x, xt) in inputs[side].items():
            if not x or not y or x[0] != y[0] or x[0] < 1:
                raise ValueError(f"{where}: {name} {x} and y_{side} {y} do not hold the same number of examples")
            if task == "sequence" and (len(x) != 2 or not integer_like(xt)):
                raise ValueError(f"{where}: {name} is {xt} of shape {x}, not integer token ids of shape (n, L)")
            if task == "sequence" and y != x:
                raise ValueError(f"{where}: y_{side} has shape {y}, expected {x} (that of {name}) for data.task {task}")
            if task == "classification" and not (np.issubdtype(xt, np.number) or xt == np.bool_):
                raise ValueError(f"{where}: {name} is {xt}, not numbers")
    train = {name.removeprefix("x_train"): shape for name, shape in inputs["train"].items()}
    test = {name.removeprefix("x_test"): shape for name, shape in inputs["test"].items()}
    if set(train) != set(test):
        raise ValueError(
            f"{where}: x_train's inputs {sorted(inputs['train'])} do not match x_test's {sorted(inputs['test'])}"
        )
    for name, (x, _) in train.items():
        if x[1:] != test[name][0][1:]:
            raise ValueError(
                f"{where}: x_train{name}'s examples have shape {x[1:]} but x_test{name}'s {test[name][0][1:]}"
            )
