"""The MNIST IDX file format (LeCun et al.): reader, writer and the official files' checksums."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from tdacore.infra.store import atomic_path

# IDX type codes -> numpy big-endian dtypes.
_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

# The four official files with their MD5 checksums (the ones torchvision checks).
MNIST_FILES: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
MNIST_MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def _header(path: Path, first: bytes, read) -> tuple[np.dtype, tuple[int, ...], int]:
    """(dtype, shape, header length) from an IDX file's opening bytes; `read(n)` gives more."""
    if len(first) < 4 or first[0] != 0 or first[1] != 0:
        raise ValueError(f"{path}: not an IDX file (bad magic number {first[:4].hex()})")
    code, ndim = first[2], first[3]
    if code not in _DTYPES:
        raise ValueError(f"{path}: unknown IDX type code 0x{code:02x}")
    dims = read(4 * ndim)
    if len(dims) != 4 * ndim:
        raise ValueError(f"{path}: truncated IDX header ({ndim} dimensions announced)")
    return np.dtype(_DTYPES[code]), tuple(int(x) for x in np.frombuffer(dims, dtype=">u4")), 4 + 4 * ndim


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (optionally gzipped); errors name the file and what is wrong with it."""
    path = Path(path)
    try:
        with _open(path) as handle:
            raw = handle.read()
    except (OSError, EOFError) as err:  # a damaged or truncated .gz file
        raise ValueError(f"{path}: cannot be read as {'gzipped ' if path.suffix == '.gz' else ''}IDX ({err})") from None
    dtype, shape, header = _header(path, raw[:4], lambda n: raw[4 : 4 + n])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"{path}: header says shape {shape} ({expected} bytes) but {len(raw) - header} bytes follow")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def idx_header(path: str | os.PathLike) -> tuple[np.dtype, tuple[int, ...]]:
    """The dtype and shape an IDX file declares, without decoding its body, checked against the
    size the file holds (for a .gz file, the uncompressed size its gzip trailer records, modulo
    2**32), so that a truncated or padded file is caught too."""
    path = Path(path)
    try:
        with _open(path) as handle:
            dtype, shape, header = _header(path, handle.read(4), handle.read)
    except (OSError, EOFError) as err:
        raise ValueError(f"{path}: cannot be read as {'gzipped ' if path.suffix == '.gz' else ''}IDX ({err})") from None
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if path.suffix == ".gz":
        with open(path, "rb") as handle:
            handle.seek(-4, os.SEEK_END)
            stored, expected = int.from_bytes(handle.read(4), "little"), expected % 2**32
    else:
        stored = path.stat().st_size
    if stored != expected:
        raise ValueError(
            f"{path}: truncated or damaged: its header says shape {shape} ({expected} bytes in all) but it holds "
            f"{stored}"
        )
    return dtype.newbyteorder("="), shape


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write `array` as an IDX file (gzipped if the name ends in .gz), atomically."""
    array = np.asarray(array)
    codes = {np.dtype(v).newbyteorder("="): k for k, v in _DTYPES.items()}
    if array.dtype not in codes:
        raise ValueError(f"IDX cannot hold dtype {array.dtype}")
    code = codes[array.dtype]
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    body = array.astype(np.dtype(_DTYPES[code])).tobytes()
    path = Path(path)
    with atomic_path(path) as tmp:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(tmp, "wb") as handle:
            handle.write(header + body)


def load_mnist_idx(directory: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The official MNIST train and test sets from the four IDX files in `directory`.

    Returns (X_train, y_train, X_test, y_test) with images flattened to 784 uint8 pixels.
    """
    directory = Path(directory)
    missing = [name for name in MNIST_FILES if not (directory / name).exists()]
    if missing:
        raise FileNotFoundError(
            f"MNIST IDX file(s) missing: {', '.join(str(directory / m) for m in missing)} "
            "(tdacore.data.raw.fetch downloads an official one and keeps it only if its MD5 is right)"
        )
    arrays = [read_idx(directory / name) for name in MNIST_FILES]
    x_train, y_train, x_test, y_test = arrays
    for images, labels, split in ((x_train, y_train, "train"), (x_test, y_test, "t10k")):
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"{directory}: {split} images {images.shape} and labels {labels.shape} do not pair up")
    return x_train.reshape(len(x_train), -1), y_train, x_test.reshape(len(x_test), -1), y_test
