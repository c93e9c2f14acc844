"""Loading the experiment's train/test sets from any source, built-in or a researcher's, through
one call (tdacore.data.sources): the loader gets the `data` section's options and what it names
of n_train, n_test, seed, raw (the raw files or folder, read in place), task and n_classes. It
returns a Dataset (with, optionally, a dict of what went into it), or the four arrays of
tdacore.data.arrays' layout, which are then checked and drawn from like a file of arrays."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tdacore.data.arrays import dataset_from_arrays
from tdacore.data.dataset import Dataset
from tdacore.data.sources import data_options, data_reference, data_task
from tdacore.infra.references import BadReference, call_with, load_reference


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
