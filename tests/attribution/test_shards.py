"""TRAK's kernel from shards of the training features equals the kernel of the whole set."""

from __future__ import annotations

import numpy as np
import pytest

from tdacore.attribution.ridge import Ridge, kernels
from tdacore.attribution.shards import gram_partial, kernel_columns, shard_slices, solve_test, sum_grams


def test_shards_cover_the_set_once_with_an_uneven_last_shard():
    assert shard_slices(10, 4) == [slice(0, 4), slice(4, 8), slice(8, 10)]
    assert shard_slices(8, 4) == [slice(0, 4), slice(4, 8)]
    assert shard_slices(7, None) == [slice(0, 7)]
    with pytest.raises(ValueError, match="featurize.shard_size must be >= 1"):
        shard_slices(7, 0)


@pytest.mark.parametrize("shard_size", [7, 16, 50])
def test_the_sharded_gram_and_kernel_equal_the_whole_sets(shard_size: int):
    rng = np.random.default_rng(0)
    phi_train = rng.standard_normal((50, 12)).astype(np.float32)
    phi_test = rng.standard_normal((6, 12)).astype(np.float32)
    shards = shard_slices(50, shard_size)
    gram = sum_grams(gram_partial(phi_train[s]) for s in shards)
    explicit = phi_train.astype(np.float64).T @ phi_train.astype(np.float64)
    np.testing.assert_allclose(gram, explicit, rtol=1e-12, atol=1e-12)
    ridge = Ridge(relative=0.01)
    solved = solve_test(gram, phi_test, ridge.value(gram), ridge.setting)
    blocks = np.concatenate([kernel_columns(solved, phi_train[s]) for s in shards], axis=1)
    (whole,) = kernels(phi_train, phi_test, [ridge])
    np.testing.assert_allclose(blocks, whole.kernel, rtol=1e-10, atol=1e-12)
    # and both equal the closed form phi_test (Phi^T Phi + lambda I)^{-1} Phi^T
    closed = phi_test @ np.linalg.inv(explicit + whole.value * np.eye(12)) @ phi_train.T
    np.testing.assert_allclose(blocks, closed, rtol=1e-6, atol=1e-8)


def test_partials_of_different_widths_do_not_add():
    with pytest.raises(ValueError, match=r"shape \(3, 3\) cannot add to one of \(2, 2\)"):
        sum_grams([np.eye(2), np.eye(3)])
    with pytest.raises(ValueError, match="no Gram partials"):
        sum_grams([])
