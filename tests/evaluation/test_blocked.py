"""Scores reduced block by block of training columns: top-k and the LDS equal those of the whole matrix."""

from __future__ import annotations

from functools import reduce

import numpy as np
import pytest

from tdacore.attribution.shards import shard_slices
from tdacore.evaluation.blocked import merge_top_k, top_k_of_block
from tdacore.evaluation.lds import lds_from_predictions, lds_per_example, subset_predictions


def top_examples(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """By brute force: each row's columns sorted by score (stable, so ties keep the lower column first)."""
    return np.argsort(-scores, axis=1, kind="stable")[:, :k], np.argsort(scores, axis=1, kind="stable")[:, :k]


@pytest.mark.parametrize("shard_size", [5, 13, 40])
def test_blocked_top_k_equals_the_top_k_of_the_whole_matrix(shard_size: int):
    rng = np.random.default_rng(1)
    scores = rng.standard_normal((6, 40)).round(1)  # rounded: ties, broken by the lower index
    k = 4
    blocks = [top_k_of_block(scores[:, s], s.start, k) for s in shard_slices(40, shard_size)]
    merged = reduce(lambda a, b: merge_top_k(a, b, k), blocks)
    proponents, opponents = top_examples(scores, k)
    np.testing.assert_array_equal(merged.proponents, proponents)
    np.testing.assert_array_equal(merged.opponents, opponents)
    np.testing.assert_array_equal(merged.proponent_scores, np.take_along_axis(scores, proponents, 1))
    np.testing.assert_array_equal(merged.opponent_scores, np.take_along_axis(scores, opponents, 1))


def test_the_lds_from_blocks_equals_the_lds_of_the_whole_matrix():
    rng = np.random.default_rng(2)
    scores, masks = rng.standard_normal((5, 30)), rng.random((8, 30)) < 0.5
    outputs = rng.standard_normal((8, 5))
    predictions = sum(subset_predictions(scores[:, s], masks[:, s]) for s in shard_slices(30, 7))
    np.testing.assert_allclose(lds_from_predictions(predictions, outputs), lds_per_example(scores, masks, outputs))
    with pytest.raises(ValueError, match=r"outputs have shape \(5, 8\), expected \(subsets, test\) = \(8, 5\)"):
        lds_from_predictions(predictions, outputs.T)


def test_a_row_of_equal_scores_keeps_the_lowest_indices():
    scores = np.array([[1.0] * 8, [0.0, 2.0, 1.0, 1.0, 1.0, 1.0, -1.0, 1.0]])
    top = top_k_of_block(scores, 100, 3)
    assert top.proponents.tolist() == [[100, 101, 102], [101, 102, 103]]
    assert top.opponents.tolist() == [[100, 101, 102], [106, 100, 102]]
    with pytest.raises(ValueError, match="scores of training examples 100..107 hold NaN"):
        top_k_of_block(np.where(scores > 1.5, np.nan, scores), 100, 3)
