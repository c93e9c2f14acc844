"""TRAK's kernel from a training set in shards: phi (Phi^T Phi + lambda I)^{-1} Phi^T (Eq. 2 with a
ridge, tdacore.attribution.ridge) never needs all of Phi at once.

Phi^T Phi is the sum over shards of Phi_s^T Phi_s (k x k each, accumulated in float64); the solve
needs only that sum and the test features; the kernel's columns of shard s need only Phi_s. So a
shard's features, its Gram partial and its block of kernel columns can each be one job, and the
reduce is a sum of k x k matrices. With one shard this is the unsharded computation, operation for
operation.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import scipy.linalg


def shard_slices(n: int, shard_size: int | None) -> list[slice]:
    """Consecutive shards of range(n), each of shard_size examples but the last (the remainder);
    one shard of all n when shard_size is None."""
    if shard_size is None:
        return [slice(0, n)]
    if shard_size < 1:
        raise ValueError(f"featurize.shard_size must be >= 1, got {shard_size}")
    return [slice(start, min(start + shard_size, n)) for start in range(0, n, shard_size)]


def gram_partial(phi_shard: np.ndarray) -> np.ndarray:
    """Phi_s^T Phi_s of one shard's features, in float64 (k x k)."""
    phi = np.asarray(phi_shard, dtype=np.float64)
    return phi.T @ phi


def sum_grams(partials: Iterable[np.ndarray]) -> np.ndarray:
    """Phi^T Phi from the shards' partials, summed in float64 in shard order."""
    total = None
    for partial in partials:
        partial = np.asarray(partial, dtype=np.float64)
        if total is not None and partial.shape != total.shape:
            raise ValueError(f"a Gram partial of shape {partial.shape} cannot add to one of {total.shape}")
        total = partial.copy() if total is None else total + partial
    if total is None:
        raise ValueError("no Gram partials to sum")
    return total


def solve_test(gram: np.ndarray, phi_test: np.ndarray, value: float, setting: str) -> np.ndarray:
    """(Phi^T Phi + lambda I)^{-1} phi_test^T (k x n_test) by a Cholesky solve in float64; `setting`
    names the ridge in the error a matrix that is not positive definite raises."""
    try:
        factor = scipy.linalg.cho_factor(gram + value * np.eye(gram.shape[0]), lower=True)
    except np.linalg.LinAlgError as err:
        raise np.linalg.LinAlgError(
            f"Phi^T Phi + {value:g} I ({gram.shape[0]}x{gram.shape[0]}, {setting}) is not positive definite: "
            "raise trak.ridge or trak.ridge_relative, or lower trak.projection.dim below the number of training "
            "examples"
        ) from err
    return scipy.linalg.cho_solve(factor, np.asarray(phi_test, dtype=np.float64).T)


def kernel_columns(solved: np.ndarray, phi_shard: np.ndarray) -> np.ndarray:
    """The kernel's columns of one shard (n_test x shard): solve_test's result mapped onto the
    shard's features."""
    return solved.T @ np.asarray(phi_shard, dtype=np.float64).T
