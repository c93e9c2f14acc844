"""Files with provenance: atomic writes, the HDF5 layout and the checks that refuse to
combine files that disagree (DESIGN.md, "Conventions that keep results trustworthy")."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from tdacore import __version__
from tdacore.infra.precision import decode, encode, stored_numpy_dtype

STORAGE_DTYPE = "storage_dtype"  # a narrowed dataset's attribute: the dtype its stored values encode


class ProvenanceError(ValueError):
    """Files that are about to be combined disagree on what made them."""


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only on success.

    A killed or failing writer leaves no file that looks complete.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def content_hash(obj: Any) -> str:
    """sha256 of a JSON-serialisable object (keys sorted), e.g. the config a file depends on."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def array_hash(*arrays: np.ndarray | Mapping[str, np.ndarray]) -> str:
    """sha256 over arrays' dtypes, shapes and bytes (a dict of arrays: its names too, in sorted
    order): identifies a data set."""
    digest = hashlib.sha256()

    def update(array: np.ndarray) -> None:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())

    for array in arrays:
        if isinstance(array, Mapping):
            for name in sorted(array):
                digest.update(f"[{name}]".encode())
                update(array[name])
        else:
            update(array)
    return digest.hexdigest()


def file_hash(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes (sha256 by default; MNIST's mirrors publish md5)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _encode_attr(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool, np.integer, np.floating)):
        return value
    return "json:" + json.dumps(value, sort_keys=True, default=str)


def _decode_attr(value: Any) -> Any:
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str) and value.startswith("json:"):
        return json.loads(value[5:])
    if isinstance(value, np.generic):
        return value.item()
    return value


def job_stamp() -> dict[str, str]:
    """Which job made a file: the tdacore version, the host and, under SLURM, the job id ("" when
    run locally), stamped into every file's provenance."""
    return {
        "tdacore_version": __version__,
        "made_on": socket.gethostname(),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID", ""),
    }


def write_h5(
    path: str | os.PathLike,
    arrays: Mapping[str, Any],
    attrs: Mapping[str, Any],
    dtypes: Mapping[str, str] | None = None,
) -> None:
    """Write arrays and provenance attributes to `path` atomically, with the job stamp; a dict of
    arrays becomes a group of that name (named inputs, tdacore.data.batches). `dtypes`: arrays
    stored narrowed (tdacore.infra.precision: float16 or bfloat16), each recorded on its dataset
    (read back as float32 by read_item) and in the file's attributes as `<name>_dtype`."""
    dtypes = dict(dtypes or {})
    unknown = set(dtypes) - set(arrays)
    if unknown:
        raise KeyError(f"{path}: storage dtypes for arrays it does not hold: {sorted(unknown)}")
    with h5_writer(path) as handle:
        for name, array in arrays.items():
            if isinstance(array, Mapping):
                for member, values in array.items():
                    handle.create_dataset(f"{name}/{member}", data=np.asarray(values))
            elif name in dtypes:
                write_rows(create_narrowed(handle, name, np.shape(array), dtypes[name]), slice(None), array)
            else:
                handle.create_dataset(name, data=np.asarray(array))
        set_attrs(handle, attrs)


@contextmanager
def h5_writer(path: str | os.PathLike) -> Iterator[h5py.File]:
    """An HDF5 file open for writing at a temporary path, renamed onto `path` only when the block
    ends without error (atomic_path): for files written block by block. Call set_attrs on it."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as handle:
        yield handle


def set_attrs(handle: h5py.File, attrs: Mapping[str, Any]) -> None:
    """A file's provenance attributes, with the job stamp and the storage dtype of every narrowed
    array (`<name>_dtype`)."""
    stored = {
        f"{name}_dtype": item.attrs[STORAGE_DTYPE] for name, item in handle.items() if STORAGE_DTYPE in item.attrs
    }
    for key, value in {**attrs, **stored, **job_stamp()}.items():
        handle.attrs[key] = _encode_attr(value)


def create_narrowed(handle: h5py.File, name: str, shape: tuple[int, ...], dtype: str) -> h5py.Dataset:
    """An empty dataset whose values are stored in `dtype` (tdacore.infra.precision), filled by write_rows."""
    dataset = handle.create_dataset(name, shape=shape, dtype=stored_numpy_dtype(dtype))
    dataset.attrs[STORAGE_DTYPE] = dtype
    return dataset


def write_rows(dataset: h5py.Dataset, rows: slice | tuple[slice, ...], values: np.ndarray) -> None:
    """Values into a block of a dataset made by create_narrowed, encoded in its storage dtype."""
    dataset[rows] = encode(values, dataset.attrs[STORAGE_DTYPE])


def read_attrs(path: str | os.PathLike) -> dict[str, Any]:
    """The provenance attributes of an HDF5 file."""
    with h5py.File(_existing(path), "r") as handle:
        return {key: _decode_attr(value) for key, value in handle.attrs.items()}


def read_item(item: h5py.Dataset | h5py.Group, rows: slice | None = None) -> Any:
    """A dataset's array (or its `rows`), or a group's arrays by name; an array stored narrowed
    (write_h5's dtypes) comes back as float32."""
    if isinstance(item, h5py.Group):
        return {name: read_item(child, rows) for name, child in item.items()}
    values = item[()] if rows is None else item[rows]
    return decode(values, item.attrs[STORAGE_DTYPE]) if STORAGE_DTYPE in item.attrs else values


def array_names(path: str | os.PathLike) -> list[str]:
    """The names of an HDF5 file's arrays (and groups), without reading them."""
    with h5py.File(_existing(path), "r") as handle:
        return list(handle.keys())


def read_rows(path: str | os.PathLike, name: str, rows: slice) -> np.ndarray:
    """Rows of one array of an HDF5 file, read without the rest (a block of a large array)."""
    with h5py.File(_existing(path), "r") as handle:
        if name not in handle:
            raise KeyError(f"{path}: no dataset '{name}' (has {sorted(handle.keys())})")
        return read_item(handle[name], rows)


def read_h5(path: str | os.PathLike, names: list[str] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Arrays (all, or `names`) and attributes of an HDF5 file, a group as a dict of its
    arrays; a missing array is named."""
    with h5py.File(_existing(path), "r") as handle:
        wanted = list(handle.keys()) if names is None else names
        missing = [name for name in wanted if name not in handle]
        if missing:
            raise KeyError(f"{path}: no dataset {missing} (has {sorted(handle.keys())})")
        arrays = {name: read_item(handle[name]) for name in wanted}
        attrs = {key: _decode_attr(value) for key, value in handle.attrs.items()}
    return arrays, attrs


def require_agreement(attrs_by_file: Mapping[str, Mapping[str, Any]], keys: list[str]) -> None:
    """Raise ProvenanceError naming the key and the files if any `keys` differ between files."""
    files = list(attrs_by_file)
    for key in keys:
        values: dict[str, list[str]] = {}
        for name in files:
            if key not in attrs_by_file[name]:
                raise ProvenanceError(f"{name} records no '{key}': cannot check it agrees with the others")
            values.setdefault(json.dumps(attrs_by_file[name][key], sort_keys=True, default=str), []).append(name)
        if len(values) > 1:
            detail = "; ".join(f"{value} in {', '.join(names)}" for value, names in values.items())
            raise ProvenanceError(f"files disagree on '{key}': {detail}")


def require_distinct(attrs_by_file: Mapping[str, Mapping[str, Any]], key: str) -> None:
    """Raise ProvenanceError if two files share a value of `key` that must differ (e.g. a projection seed)."""
    seen: dict[str, str] = {}
    for name, attrs in attrs_by_file.items():
        value = json.dumps(attrs.get(key), sort_keys=True, default=str)
        if value in seen:
            raise ProvenanceError(f"'{key}' = {value} appears in both {seen[value]} and {name}; it must differ")
        seen[value] = name


def _existing(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    return path
