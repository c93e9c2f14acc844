"""Sharded TRAK scoring (featurize.shard_size): Eq. 2 made one training shard and one block of test
rows at a time, then collected, equals Eq. 2 on the members' whole kernels, written from closed
forms; and a scoring job's memory stays bounded by its blocks where the whole matrix would not fit."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tdacore.attribution.ridge import Ridge, solves
from tdacore.attribution.shards import gram_partial, shard_slices, sum_grams
from tdacore.evaluation.blocked import top_k_of_block
from tdacore.evaluation.collect import collect_shards
from tdacore.evaluation.lds import lds_from_predictions, lds_per_example
from tdacore.evaluation.trak_blocks import QSource, ShardMember, score_shard
from tdacore.infra.store import array_names, h5_writer, read_h5, read_rows, write_h5

N_TRAIN, N_TEST, K = 53, 9, 6


def _members(rng: np.random.Generator, n: int) -> list[dict[str, np.ndarray]]:
    return [
        {
            "phi_train": rng.standard_normal((N_TRAIN, K)).astype(np.float32),
            "phi_test": rng.standard_normal((N_TEST, K)).astype(np.float32),
            "q_train": rng.random(N_TRAIN).astype(np.float32),
        }
        for _ in range(n)
    ]


def _closed_form(members: list[dict[str, np.ndarray]], ridge: float, q: np.ndarray) -> np.ndarray:
    """Eq. 2 with a ridge, from the explicit inverse: mean_m phi_m (Phi_m^T Phi_m + lambda I)^-1 Phi_m^T, times Q."""
    kernels = []
    for m in members:
        phi, test = m["phi_train"].astype(np.float64), m["phi_test"].astype(np.float64)
        kernels.append(test @ np.linalg.inv(phi.T @ phi + ridge * np.eye(K)) @ phi.T)
    return np.mean(kernels, axis=0) * q[None, :]


def _sharded(
    tmp_path: Path,
    members,
    shards,
    test_block: int,
    keep: str | None = "float32",
    forward_q: np.ndarray | None = None,
    masks: np.ndarray | None = None,
    k: int = 5,
):
    """The block files of every shard, written as the workflow's jobs write them."""
    ridge = Ridge(absolute=0.5)
    member_files = []
    for i, m in enumerate(members):
        parts = []
        for s, rows in enumerate(shards):
            path = tmp_path / f"m{i}-s{s}.h5"
            write_h5(path, {"phi_train": m["phi_train"][rows], "q_train": m["q_train"][rows]}, {})
            parts.append(path)
        gram = sum_grams(gram_partial(read_rows(path, "phi_train", slice(None))) for path in parts)
        (solve,) = solves(gram, m["phi_test"], [ridge])
        write_h5(tmp_path / f"m{i}-solve.h5", {"solved": solve.solved.T.copy()}, {})
        member_files.append(parts)
    if forward_q is not None:
        write_h5(tmp_path / "forward.h5", {"q_train": forward_q}, {})
    blocks = []
    for s, rows in enumerate(shards):
        shard_members = [
            ShardMember(str(tmp_path / f"m{i}-solve.h5"), str(files[s])) for i, files in enumerate(member_files)
        ]
        if forward_q is None:
            q_sources = [QSource(member.features, slice(None)) for member in shard_members]
        else:
            q_sources = [QSource(str(tmp_path / "forward.h5"), rows)]
        path = tmp_path / f"block-s{s}.h5"
        shard_masks = None if masks is None else masks[:, rows]
        with h5_writer(path) as handle:
            score_shard(handle, shard_members, q_sources, N_TEST, rows, test_block, k, shard_masks, keep)
        blocks.append(str(path))
    return blocks


@pytest.mark.parametrize(("shard_size", "test_block"), [(10, 4), (53, 9), (20, 1)])
def test_blocks_of_shards_are_eq2_on_the_whole_kernels(tmp_path: Path, shard_size: int, test_block: int):
    members = _members(np.random.default_rng(0), 2)
    shards = shard_slices(N_TRAIN, shard_size)
    blocks = _sharded(tmp_path, members, shards, test_block)
    scores = np.concatenate([read_h5(path)[0]["scores"] for path in blocks], axis=1)
    expected = _closed_form(members, 0.5, np.mean([m["q_train"] for m in members], axis=0))
    np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-6 * np.abs(expected).max())


def test_a_forward_only_points_q_is_read_from_the_shards_rows_of_the_q_file(tmp_path: Path):
    members = _members(np.random.default_rng(1), 1)
    forward = np.random.default_rng(2).random(N_TRAIN).astype(np.float32)
    blocks = _sharded(tmp_path, members, shard_slices(N_TRAIN, 20), 4, forward_q=forward)
    scores = np.concatenate([read_h5(path)[0]["scores"] for path in blocks], axis=1)
    expected = _closed_form(members, 0.5, forward.astype(np.float64))
    np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-6 * np.abs(expected).max())


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_collected_shards_give_the_whole_matrix_its_top_k_and_its_lds(tmp_path: Path, dtype: str):
    members = _members(np.random.default_rng(3), 2)
    shards = shard_slices(N_TRAIN, 15)
    rng = np.random.default_rng(4)
    masks, outputs = rng.random((12, N_TRAIN)) < 0.5, rng.standard_normal((12, N_TEST))
    blocks = _sharded(tmp_path, members, shards, 4, dtype, masks=masks)
    stored = np.concatenate([read_h5(path)[0]["scores"] for path in blocks], axis=1)  # as a reader gets them back
    expected = _closed_form(members, 0.5, np.mean([m["q_train"] for m in members], axis=0))
    tolerance = {"float32": 1e-5, "bfloat16": 2**-8}[dtype]
    np.testing.assert_allclose(stored, expected, rtol=tolerance, atol=tolerance * np.abs(expected).max())
    with h5_writer(tmp_path / "collected.h5") as handle:
        collected = collect_shards(blocks, shards, 5, (handle, dtype, 4))
    np.testing.assert_array_equal(read_h5(tmp_path / "collected.h5")[0]["scores"], stored)
    # top-k and predictions come from the scores as computed (float64), before storage rounds them;
    # the closed form's rounding differs, so compare the chosen examples' scores, not near-tied indices
    whole = top_k_of_block(expected, 0, 5)
    for chosen, best in (
        (collected.top.proponents, whole.proponent_scores),
        (collected.top.opponents, whole.opponent_scores),
    ):
        np.testing.assert_allclose(np.take_along_axis(expected, chosen, 1), best, rtol=1e-5)
    np.testing.assert_allclose(collected.top.proponent_scores, whole.proponent_scores, rtol=1e-5)
    np.testing.assert_allclose(collected.predictions, expected @ masks.T.astype(np.float64), rtol=1e-5)
    np.testing.assert_allclose(
        lds_from_predictions(collected.predictions, outputs), lds_per_example(expected, masks, outputs), atol=1e-12
    )


def test_shards_that_keep_no_scores_still_give_the_top_k_and_the_predictions(tmp_path: Path):
    members = _members(np.random.default_rng(6), 1)
    shards = shard_slices(N_TRAIN, 20)
    masks = np.random.default_rng(7).random((4, N_TRAIN)) < 0.5
    blocks = _sharded(tmp_path, members, shards, 4, keep=None, masks=masks, k=3)
    assert all("scores" not in array_names(path) for path in blocks)
    collected = collect_shards(blocks, shards, 3)
    expected = _closed_form(members, 0.5, members[0]["q_train"].astype(np.float64))
    best = top_k_of_block(expected, 0, 3).proponent_scores
    np.testing.assert_allclose(np.take_along_axis(expected, collected.top.proponents, 1), best, rtol=1e-5)
    np.testing.assert_allclose(collected.predictions, expected @ masks.T.astype(np.float64), rtol=1e-5)


def test_collecting_refuses_shards_that_do_not_match(tmp_path: Path):
    members = _members(np.random.default_rng(5), 1)
    blocks = _sharded(tmp_path, members, shard_slices(N_TRAIN, 20), 4)
    with (
        h5_writer(tmp_path / "out.h5") as handle,
        pytest.raises(ValueError, match="block-s0.h5: 20 columns, but its shard has 25"),
    ):
        collect_shards(blocks, [slice(0, 25), slice(25, 40), slice(40, 53)], 3, (handle, "float32", 4))
    with pytest.raises(ValueError, match="2 block files for 3 shards"):
        collect_shards(blocks[:2], shard_slices(N_TRAIN, 20), 3)


# The memory test: 12,000 test x 12,000 training examples (the whole matrix: 576 MB in float32,
# 1.15 GB in float64), in 12 shards, 500 test rows a block; the scoring jobs and the collection run
# in a fresh interpreter whose peak resident memory must stay under BOUND_MB (about 110 MB of it is
# numpy, scipy and h5py imported; measured peak 141 MB).
BOUND_MB = 250
MEMORY_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import numpy as np
    from tdacore.attribution.shards import shard_slices
    from tdacore.evaluation.trak_blocks import QSource, ShardMember, score_shard
    from tdacore.evaluation.collect import collect_shards
    from tdacore.infra.store import h5_writer, write_h5

    out, n, k = Path(sys.argv[1]), 12_000, 16
    rng = np.random.default_rng(0)
    write_h5(out / "solve.h5", {"solved": rng.standard_normal((n, k))}, {})
    shards = shard_slices(n, 1_000)
    masks = rng.random((50, n)) < 0.5
    blocks = []
    for s, rows in enumerate(shards):
        features = out / f"s{s}.h5"
        phi = rng.standard_normal((1_000, k)).astype(np.float32)
        write_h5(features, {"phi_train": phi, "q_train": np.ones(1_000, np.float32)}, {})
        blocks.append(str(out / f"block{s}.h5"))
        with h5_writer(blocks[-1]) as handle:
            member = ShardMember(str(out / "solve.h5"), str(features))
            q = [QSource(str(features), slice(None))]
            score_shard(handle, [member], q, n, rows, 500, 10, masks[:, rows], "float16")
    collected = collect_shards(blocks, shards, 10)
    # this process's own peak resident set (getrusage's would include the parent's, kept across exec)
    status = Path("/proc/self/status").read_text()
    peak = int(status.split("VmHWM:")[1].split()[0]) / 1024
    top = collected.top.proponents[:2, :3].tolist()
    print(json.dumps({"peak_mb": peak, "top": top, "predictions": collected.predictions.shape}))
    """
)


def test_scoring_jobs_stay_within_a_memory_bound_the_whole_matrix_would_exceed(tmp_path: Path):
    assert 12_000 * 12_000 * 4 / 2**20 > BOUND_MB  # the whole matrix alone, in float32
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, str(tmp_path)], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["peak_mb"] < BOUND_MB, result
    assert result["predictions"] == [12_000, 50]
    # the top proponents of the first test rows, from the stored blocks read whole
    first = np.concatenate([read_rows(tmp_path / f"block{s}.h5", "scores", slice(0, 2)) for s in range(12)], axis=1)
    assert result["top"] == top_k_of_block(first, 0, 3).proponents.tolist()
