"""TRAK's kernel with a ridge: phi (Phi^T Phi + lambda I)^{-1} Phi^T per ensemble member (Eq. 2
has lambda = 0; here lambda is a first-class choice, absolute or relative to the member's
mean eigenvalue of Phi^T Phi, selected on held-out test examples by tdacore.evaluation.selection)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tdacore.attribution.shards import gram_partial, kernel_columns, solve_test
from tdacore.infra.store import content_hash


def value_name(value: float) -> str:
    """A number as part of a reading or file name: 0.01 -> 0p01, 1e-05 -> 1em05."""
    return f"{value:g}".replace(".", "p").replace("-", "m")


@dataclass(frozen=True)
class Ridge:
    """The lambda of (Phi^T Phi + lambda I)^{-1}: absolute (trak.ridge) or relative to the
    member's mean eigenvalue of Phi^T Phi, trace(Phi^T Phi) / k (trak.ridge_relative), so that
    one setting means the same regularisation for members of different gradient scale."""

    absolute: float = 0.0
    relative: float = 0.0

    def __post_init__(self) -> None:
        if self.absolute < 0 or self.relative < 0 or (self.absolute and self.relative):
            raise ValueError(
                f"ridge = {self.absolute}, ridge_relative = {self.relative}: give one of them, >= 0 (the other 0)"
            )

    @property
    def tag(self) -> str:
        """Its name in file names: ridge0, ridge<absolute> or ridge_rel<relative>."""
        if self.relative:
            return "ridge_rel" + value_name(self.relative)
        return "ridge" + value_name(self.absolute)

    @property
    def setting(self) -> str:
        """How tables name it, e.g. `ridge_relative=0.1`."""
        return f"ridge_relative={self.relative:g}" if self.relative else f"ridge={self.absolute:g}"

    def value(self, gram: np.ndarray) -> float:
        """lambda for a member whose Phi^T Phi is `gram`."""
        return self.absolute + self.relative * float(np.trace(gram)) / gram.shape[0]


@dataclass
class Solve:
    """One member's (Phi^T Phi + lambda I)^{-1} phi_test^T under one ridge (k x test): all of the
    kernel but its training side, which shards apply column block by column block."""

    solved: np.ndarray
    ridge: Ridge
    value: float  # lambda as applied
    mean_eigenvalue: float  # trace(Phi^T Phi) / k
    seconds: float  # its own solve, plus Phi^T Phi (shared by every ridge of the call)


@dataclass
class Kernel:
    """One member's kernel under one ridge (test x train) and how it was made."""

    kernel: np.ndarray
    ridge: Ridge
    value: float
    mean_eigenvalue: float
    seconds: float  # its solve's, plus mapping it onto the training set


def ridge_provenance(made: Solve | Kernel, features_seconds: float, features_hash: str) -> dict[str, Any]:
    """What a member's kernel or solve file records of its ridge, and its serving time: its
    features' (`features_seconds`), then this solve's."""
    return {
        "ridge": made.ridge.setting,
        "ridge_absolute": made.ridge.absolute,
        "ridge_relative": made.ridge.relative,
        "ridge_value": made.value,
        "mean_eigenvalue": made.mean_eigenvalue,
        "kernel_seconds": made.seconds,
        "seconds": features_seconds + made.seconds,
        "config_hash": content_hash([features_hash, made.ridge.tag]),
    }


def solves(gram: np.ndarray, phi_test: np.ndarray, ridges: Sequence[Ridge], gram_seconds: float = 0.0) -> list[Solve]:
    """(Phi^T Phi + lambda I)^{-1} phi_test^T in float64 for each ridge, from Phi^T Phi (`gram`,
    whole or summed from shards, tdacore.attribution.shards) that took `gram_seconds` to form."""
    mean_eigenvalue = float(np.trace(gram)) / gram.shape[0]
    made = []
    for ridge in ridges:
        start = time.perf_counter()
        value = ridge.value(gram)
        solved = solve_test(gram, phi_test, value, ridge.setting)
        made.append(Solve(solved, ridge, value, mean_eigenvalue, gram_seconds + time.perf_counter() - start))
    return made


def kernels(phi_train: np.ndarray, phi_test: np.ndarray, ridges: Sequence[Ridge]) -> list[Kernel]:
    """phi_test (Phi^T Phi + lambda I)^{-1} Phi^T in float64 for each ridge (Eq. 2 with a ridge):
    Phi^T Phi is formed once; per ridge the k x k system is Cholesky-solved for the test rows
    (n_test right-hand sides), then mapped onto the training set (tdacore.attribution.shards: the
    same steps, one shard)."""
    start = time.perf_counter()
    gram = gram_partial(phi_train)
    made = []
    for solve in solves(gram, phi_test, ridges, time.perf_counter() - start):
        start = time.perf_counter()
        kernel = kernel_columns(solve.solved, phi_train)
        seconds = solve.seconds + time.perf_counter() - start
        made.append(Kernel(kernel, solve.ridge, solve.value, solve.mean_eigenvalue, seconds))
    return made


def kernel(phi_train: np.ndarray, phi_test: np.ndarray, ridge: float) -> np.ndarray:
    """phi_test (Phi^T Phi + ridge I)^{-1} Phi^T (test x train), for an absolute ridge."""
    return kernels(phi_train, phi_test, [Ridge(absolute=ridge)])[0].kernel
