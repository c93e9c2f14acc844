"""How an ensemble combines its members' attributions: Eq. 1 (the mean of the members' scores:
IF, Grad-Dot, Grad-Cos) and Eq. 2 (TRAK: the mean kernel, its training columns scaled by the
mean Q), in float64, members streamed one at a time."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def running_mean(arrays: Iterable[np.ndarray], what: str = "member") -> np.ndarray:
    """The mean of `arrays` in float64, accumulated so that members are never all held at once."""
    total, count = None, 0
    for array in arrays:
        total = np.array(array, dtype=np.float64) if total is None else total + array
        count += 1
    if total is None:
        raise ValueError(f"an ensemble needs at least one {what}")
    return total / count


def mean_scores(member_scores: Iterable[np.ndarray]) -> np.ndarray:
    """Eq. 1: the ensemble's scores are the mean of its members' scores (IF, Grad-Dot, Grad-Cos)."""
    return running_mean(member_scores, "member's scores")


def trak_scores(kernels: Iterable[np.ndarray], qs: Iterable[np.ndarray]) -> np.ndarray:
    """Eq. 2: the mean of the members' kernels, its training columns scaled by the mean of their Q."""
    mean_kernel = running_mean(kernels, "kernel")
    mean_q = running_mean(qs, "Q")
    if mean_q.shape[0] != mean_kernel.shape[1]:
        raise ValueError(f"Q has {mean_q.shape[0]} training examples but the kernel has {mean_kernel.shape[1]}")
    return mean_kernel * mean_q[None, :]
