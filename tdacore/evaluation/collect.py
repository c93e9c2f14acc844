"""A grid point's scores from its shards' files (tdacore.evaluation.trak_blocks): each shard's top-k
proponents and opponents merged into those of the whole training set, the LDS's subset
predictions summed (Appendix D: they add over shards), and, when the shards kept their scores, the
whole test x train matrix written test_block rows at a time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import h5py
import numpy as np

from tdacore.attribution.shards import shard_slices
from tdacore.evaluation.blocked import TOP_K_ARRAYS, TopK, merge_top_k
from tdacore.infra.store import array_names, create_narrowed, read_rows, write_rows


def keeps_whole(n_test: int, n_train: int, full_max: int) -> bool:
    """Whether a grid point's whole score matrix is kept (scores.full_max: at most that many entries)."""
    return n_test * n_train <= full_max


@dataclass
class Collected:
    """What the shards reduce to: TopK of every test example and, where the shards made them, the
    predictions g_tau(x, S_j) (n_test x m)."""

    top: TopK
    predictions: np.ndarray | None


def collect_shards(
    blocks: Sequence[str],
    shards: Sequence[slice],
    k: int,
    full: tuple[h5py.File, str, int] | None = None,
) -> Collected:
    """Merge the shards' files (`blocks[s]` scored the columns `shards[s]`); `full` (an open file,
    a storage dtype, test rows per block): also copy their kept scores into its dataset `scores`."""
    if len(blocks) != len(shards):
        raise ValueError(f"{len(blocks)} block files for {len(shards)} shards")
    with_predictions = [path for path in blocks if "subset_predictions" in array_names(path)]
    if with_predictions and len(with_predictions) < len(blocks):
        raise ValueError(f"{with_predictions[0]}: subset predictions in some shards' files but not in others")
    top, predictions = None, None
    for path in blocks:
        part = TopK(*(read_rows(path, name, slice(None)) for name in TOP_K_ARRAYS))
        top = part if top is None else merge_top_k(top, part, k)
        if with_predictions:
            block_predictions = read_rows(path, "subset_predictions", slice(None))
            predictions = block_predictions if predictions is None else predictions + block_predictions
    if full is not None:
        handle, dtype, test_block = full
        n_test = len(top.proponents)
        scores = create_narrowed(handle, "scores", (n_test, shards[-1].stop), dtype)
        for rows in shard_slices(n_test, test_block):
            for path, shard in zip(blocks, shards):
                block = read_rows(path, "scores", rows)
                if block.shape[1] != shard.stop - shard.start:
                    raise ValueError(f"{path}: {block.shape[1]} columns, but its shard has {shard.stop - shard.start}")
                write_rows(scores, (rows, shard), block)
    return Collected(top, predictions)
