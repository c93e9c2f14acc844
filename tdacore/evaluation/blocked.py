"""What a score matrix too large to hold is reduced to, block by block of training columns: the
top-k proponents and opponents of every test example (merged across blocks), and the LDS's
subset predictions (Appendix D: sums of scores over each retrain's subset, which add over
blocks: tdacore.evaluation.lds.subset_predictions of each block, summed)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TopK:
    """Per test example (row), the k highest scores (proponents, highest first) and the k lowest
    (opponents, lowest first), with their training indices; ties: the lower index first."""

    proponents: np.ndarray  # n_test x k, training indices
    proponent_scores: np.ndarray
    opponents: np.ndarray
    opponent_scores: np.ndarray


TOP_K_ARRAYS = ("proponents", "proponent_scores", "opponents", "opponent_scores")  # TopK's fields, as stored


def _best(scores: np.ndarray, indices: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k highest of each row, highest first, the lower index first among equal scores."""
    order = np.lexsort((indices, -scores), axis=1)[:, :k]
    return np.take_along_axis(indices, order, 1), np.take_along_axis(scores, order, 1)


def _best_columns(scores: np.ndarray, offset: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """_best of a block whose column c is training example offset + c, in linear time per row:
    the k-th highest score by partition, every column above it and, of the columns equal to it,
    the leftmost (lowest index) that fill k; only those k are then sorted."""
    n = scores.shape[1]
    if k >= n:
        return _best(scores, np.broadcast_to(np.arange(offset, offset + n), scores.shape), k)
    kth = np.partition(scores, n - k, axis=1)[:, n - k, None]
    above, tied = scores > kth, scores == kth
    room = k - above.sum(1, keepdims=True)
    crowded = (tied.sum(1, keepdims=True) > room).ravel()  # rows with more ties at the k-th score than room
    if crowded.any():
        tied[crowded] &= np.cumsum(tied[crowded], axis=1) <= room[crowded]
    columns = np.nonzero(above | tied)[1].reshape(len(scores), k)
    return _best(np.take_along_axis(scores, columns, 1), columns + offset, k)


def top_k_of_block(block: np.ndarray, offset: int, k: int) -> TopK:
    """TopK of one block of columns (n_test x width) whose first column is training example `offset`."""
    block = np.asarray(block, dtype=np.float64)
    if np.isnan(block).any():
        raise ValueError(f"scores of training examples {offset}..{offset + block.shape[1] - 1} hold NaN")
    high, high_scores = _best_columns(block, offset, k)
    low, low_scores = _best_columns(-block, offset, k)
    return TopK(high, high_scores, low, -low_scores)


def stack_top_k(parts: list[TopK]) -> TopK:
    """TopK of consecutive test rows, one part after the other."""
    return TopK(*(np.concatenate([getattr(p, name) for p in parts]) for name in TOP_K_ARRAYS))


def merge_top_k(a: TopK, b: TopK, k: int) -> TopK:
    """The TopK of the union of two blocks' columns."""
    high, high_scores = _best(
        np.concatenate([a.proponent_scores, b.proponent_scores], 1), np.concatenate([a.proponents, b.proponents], 1), k
    )
    low, low_scores = _best(
        -np.concatenate([a.opponent_scores, b.opponent_scores], 1), np.concatenate([a.opponents, b.opponents], 1), k
    )
    return TopK(high, high_scores, low, -low_scores)
