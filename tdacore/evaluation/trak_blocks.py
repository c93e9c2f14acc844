"""Eq. 2 for one training shard of a grid point, a block of test rows at a time: what a sharded
TRAK run (featurize.shard_size) computes in place of the members' whole kernels.

Member m's kernel columns of shard s, for test rows R, are solved_m[R] Phi_{m,s}^T, where
solved_m = phi_test (Phi^T Phi + lambda I)^{-1} (rule member_solve, test x k) and Phi_{m,s} the
shard's features (tdacore.attribution.shards); the block's scores are their mean over members,
its columns scaled by the mean Q of the shard's examples (tdacore.ensembles.combine.trak_scores).
A job holds one block of test rows x shard columns, and one member's shard of features, at once,
and reduces each block as it is made: to its top-k proponents and opponents and the LDS's subset
predictions (tdacore.evaluation.collect merges them over shards); the scores themselves are kept
only when asked (a matrix small enough to keep whole, scores.full_max).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import h5py
import numpy as np

from tdacore.attribution.shards import kernel_columns, shard_slices
from tdacore.ensembles.combine import trak_scores
from tdacore.evaluation.blocked import TOP_K_ARRAYS, TopK, stack_top_k, top_k_of_block
from tdacore.evaluation.lds import subset_predictions
from tdacore.infra.store import create_narrowed, read_rows, write_rows


@dataclass(frozen=True)
class ShardMember:
    """A member's files for one shard: its solve (member_solve's `solved`, test x k) and its
    features of the shard (`phi_train`; `q_train` unless Q comes from elsewhere)."""

    solve: str
    features: str


@dataclass(frozen=True)
class QSource:
    """Where the shard's Q of one member is: `q_train`'s rows `rows` of a file (a shard's features:
    all of them; a forward-only pass's Q over the whole training set: the shard's)."""

    path: str
    rows: slice


def _kernel_blocks(members: Sequence[ShardMember], rows: slice) -> Iterator:
    """Each member's kernel columns of the shard for test rows `rows`, one member at a time."""
    for member in members:
        solved = read_rows(member.solve, "solved", rows)
        phi = read_rows(member.features, "phi_train", slice(None))
        yield kernel_columns(solved.T, phi)


@dataclass
class ShardResult:
    """What a shard's job keeps of its scores: its TopK (training indices of the whole set), its
    subset predictions (with masks; they add over shards) and its time."""

    top: TopK
    predictions: np.ndarray | None
    seconds: float


def score_shard(
    handle: h5py.File,
    members: Sequence[ShardMember],
    q_sources: Sequence[QSource],
    n_test: int,
    columns: slice,
    test_block: int,
    k: int,
    masks: np.ndarray | None,
    keep: str | None,
) -> ShardResult:
    """The shard's scores (n_test x its columns of the training set), test_block rows at a time,
    reduced as they are made: the top-k proponents and opponents of each test row, and with
    `masks` (m x the shard's columns) the subset predictions of Appendix D; with `keep` (a storage
    dtype) also the scores themselves, as dataset `scores` of the open file `handle`. Writes the
    TopK arrays (tdacore.evaluation.blocked.TOP_K_ARRAYS) and `subset_predictions` there."""
    start = time.perf_counter()
    width = columns.stop - columns.start
    scores = create_narrowed(handle, "scores", (n_test, width), keep) if keep else None
    predictions = None if masks is None else np.empty((n_test, masks.shape[0]))
    tops = []
    for rows in shard_slices(n_test, test_block):
        qs = (read_rows(source.path, "q_train", source.rows) for source in q_sources)
        block = trak_scores(_kernel_blocks(members, rows), qs)
        expected = (rows.stop - rows.start, width)
        if block.shape != expected:
            raise ValueError(
                f"{members[0].features}: scores of shape {block.shape} for this block, expected {expected}"
            )
        tops.append(top_k_of_block(block, columns.start, k))
        if predictions is not None:
            predictions[rows] = subset_predictions(block, masks)
        if scores is not None:
            write_rows(scores, rows, block)
    top = stack_top_k(tops)
    for name in TOP_K_ARRAYS:
        handle.create_dataset(name, data=getattr(top, name))
    if predictions is not None:
        handle.create_dataset("subset_predictions", data=predictions)
    return ShardResult(top, predictions, time.perf_counter() - start)
