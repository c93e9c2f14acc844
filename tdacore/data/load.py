"""Loading the experiment's train/test sets from any source, built-in or a researcher's, through
one call (tdacore.data.sources): the loader gets the `data` section's options and what it names
of n_train, n_test, seed, raw (the raw files or folder, read in place), task and n_classes. It
returns a Dataset (with, optionally, a dict of what went into it), or the four arrays of
tdacore.data.arrays' layout, which are then checked and drawn from like a file of arrays
(dataset_from_arrays; data.source: arrays is load_arrays)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tdacore.data.arrays import NAMES, check_layout, integer_like, read_arrays
from tdacore.data.batches import each, is_dict, take
from tdacore.data.dataset import IGNORE, Dataset, draw_split
from tdacore.data.sources import data_options, data_reference, data_task
from tdacore.infra.references import BadReference, call_with, load_reference
from tdacore.infra.seeds import derive_seed, numpy_rng


def load_data(data_cfg: Mapping[str, Any], raw: Sequence[str], seed: int) -> tuple[Dataset, dict[str, Any]]:
    """The data set of config section `data_cfg` and what its loader says went into it."""
    ref = data_reference(data_cfg)
    offered = {
        "n_train": data_cfg["n_train"],
        "n_test": data_cfg["n_test"],
        "seed": seed,
        "raw": [str(path) for path in raw],
        "task": data_task(data_cfg),
        "n_classes": data_cfg.get("n_classes"),
    }
    result = call_with(load_reference(ref), ref.key, data_options(data_cfg), offered)
    data, info = result if isinstance(result, tuple) else (result, {})
    if isinstance(data, Mapping):
        where = f"the arrays {ref.key} '{ref}' returned"
        data = dataset_from_arrays(
            data, offered["task"], offered["n_train"], offered["n_test"], seed, where, offered["n_classes"]
        )
    if not isinstance(data, Dataset):
        raise BadReference(
            f"{ref.key}: '{ref}' returned {type(data).__name__}, not a dict of x_train, y_train, x_test, y_test "
            "(tdacore.data.arrays) or a tdacore Dataset"
        )
    return data, dict(info)


def _stored(x: Any, task: str) -> Any:
    """Inputs as the data set stores them: one array as float32 (classification) or int64
    (sequences); named inputs each as int64 (integers, booleans) or float32 (tdacore.data.arrays)."""
    if is_dict(x):
        return {name: a.astype(np.int64 if integer_like(a.dtype) else np.float32) for name, a in x.items()}
    return x.astype(np.int64 if task == "sequence" else np.float32)


def dataset_from_arrays(
    arrays: Mapping[str, Any],
    task: str,
    n_train: int,
    n_test: int,
    seed: int,
    where: str,
    n_classes: int | None = None,
) -> Dataset:
    """The experiment's train/test sets from four arrays in tdacore.data.arrays' layout: n_train training
    examples drawn at random (kept in their order), n_test test examples (in the order drawn)."""
    arrays = {name: each(np.asarray, arrays[name]) for name in NAMES if name in arrays}
    check_layout({name: each(lambda a: (a.shape, a.dtype), x) for name, x in arrays.items()}, task, where)
    labels = np.concatenate([arrays["y_train"].ravel(), arrays["y_test"].ravel()])
    low = IGNORE if task == "sequence" else 0
    tokens = (
        np.concatenate([arrays["x_train"].ravel(), arrays["x_test"].ravel()])
        if task == "sequence" and not is_dict(arrays["x_train"])
        else []
    )
    largest = int(max(labels.max(), max(tokens, default=0)))
    if labels.min() < low:
        raise ValueError(f"{where}: a label is {int(labels.min())}, below {low}")
    n_classes = largest + 1 if n_classes is None else n_classes
    if largest >= n_classes:
        raise ValueError(f"{where}: label or token {largest} is outside data.n_classes = {n_classes}")
    train, test = draw_split(
        len(arrays["y_train"]), len(arrays["y_test"]), n_train, n_test, numpy_rng(derive_seed(seed, "split"))
    )
    return Dataset(
        _stored(take(arrays["x_train"], train), task),
        arrays["y_train"][train].astype(np.int64),
        _stored(take(arrays["x_test"], test), task),
        arrays["y_test"][test].astype(np.int64),
        n_classes,
        task,
    )


def load_arrays(
    *, raw: list[str], n_train: int, n_test: int, seed: int, task: str = "classification", n_classes: int | None = None
) -> Dataset:
    """data.source: arrays: the file data.path (tdacore.data.arrays' layout)."""
    return dataset_from_arrays(read_arrays(raw[0]), task, n_train, n_test, seed, f"data.path = {raw[0]}", n_classes)
