"""Storage precision of large arrays (projected features, scores): float32, float16 or bfloat16 on
disk, float32 in memory. HDF5 has no bfloat16, so a bfloat16 array is stored as its 16-bit patterns
(uint16); each narrowed dataset says which dtype its values are, and the file's attributes repeat
it (`<name>_dtype`); tdacore.infra.store decodes on every read. Arithmetic (Gram matrices,
kernels) stays in float32/float64: only storage is narrowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

STORAGE_DTYPES = ("float32", "float16", "bfloat16")


def _require(dtype: str) -> None:
    if dtype not in STORAGE_DTYPES:
        raise ValueError(f"storage dtype '{dtype}' is not one of {', '.join(STORAGE_DTYPES)}")


def _bfloat16_bits(values: np.ndarray) -> np.ndarray:
    """float32 -> the upper 16 bits, rounded to nearest even (NaN kept a quiet NaN)."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    rounded = bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))
    out = (rounded >> np.uint32(16)).astype(np.uint16)
    nan = np.isnan(values)
    out[nan] = ((bits[nan] >> np.uint32(16)) | np.uint32(0x0040)).astype(np.uint16)
    return out


def encode(values: np.ndarray, dtype: str) -> np.ndarray:
    """The array as stored in `dtype` (bfloat16: its uint16 bit patterns)."""
    _require(dtype)
    values = np.asarray(values, dtype=np.float32)
    if dtype == "bfloat16":
        return _bfloat16_bits(values)
    return values.astype(dtype)


def decode(stored: np.ndarray, dtype: str) -> np.ndarray:
    """A stored array back as float32."""
    _require(dtype)
    if dtype == "bfloat16":
        if stored.dtype != np.uint16:
            raise ValueError(f"a bfloat16 array is stored as uint16 bit patterns, got {stored.dtype}")
        return (stored.astype(np.uint32) << np.uint32(16)).view(np.float32)
    return np.asarray(stored, dtype=np.float32)


def stored_numpy_dtype(dtype: str) -> np.dtype:
    """The numpy dtype an array of storage dtype `dtype` is written as (bfloat16: uint16)."""
    _require(dtype)
    return np.dtype(np.uint16 if dtype == "bfloat16" else dtype)


def round_trip(values: np.ndarray, dtype: str) -> np.ndarray:
    """The float32 values a reader gets back after storing `values` in `dtype`: what a job that
    also stores them must compute with, so that its results match its readers'."""
    return decode(encode(values, dtype), dtype)


def stored_dtype(attrs: Mapping[str, Any], name: str) -> str:
    """The storage dtype a file's attributes record for its array `name` (float32 if none)."""
    return str(attrs.get(f"{name}_dtype", "float32"))
