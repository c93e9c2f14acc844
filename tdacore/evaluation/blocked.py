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


def _best(scores: np.ndarray, indices: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k highest of each row, highest first, the lower index first among equal scores."""
    order = np.lexsort((indices, -scores), axis=1)[:, :k]
    return np.take_along_axis(indices, order, 1), np.take_along_axis(scores, order, 1)


def top_k_of_block(block: np.ndarray, offset: int, k: int) -> TopK:
    """TopK of one block of columns (n_test x width) whose first column is training example `offset`."""
    block = np.asarray(block, dtype=np.float64)
    indices = np.broadcast_to(np.arange(offset, offset + block.shape[1]), block.shape)
    high, high_scores = _best(block, indices, k)
    low, low_scores = _best(-block, indices, k)
    return TopK(high, high_scores, low, -low_scores)


def merge_top_k(a: TopK, b: TopK, k: int) -> TopK:
    """The TopK of the union of two blocks' columns."""
    high, high_scores = _best(
        np.concatenate([a.proponent_scores, b.proponent_scores], 1), np.concatenate([a.proponents, b.proponents], 1), k
    )
    low, low_scores = _best(
        -np.concatenate([a.opponent_scores, b.opponent_scores], 1), np.concatenate([a.opponents, b.opponents], 1), k
    )
    return TopK(high, high_scores, low, -low_scores)
