"""Adapter: one TRAK grid point's score file from its shards' files (featurize.shard_size;
tdacore.evaluation.collect): the top-k proponents and opponents of every test example, the LDS's
subset predictions (Appendix D) when there is a ground truth, and the whole test x train matrix
when it has at most scores.full_max entries; with the point's provenance and costs (its members'
solves, features and Q, and every shard job's time)."""

import time

from tdacore.ensembles.grid import parse_point
from tdacore.ensembles.provenance import trak_point_attrs
from tdacore.evaluation.blocked import TOP_K_ARRAYS
from tdacore.evaluation.collect import collect_shards, keeps_whole
from tdacore.infra.steplog import start_log
from tdacore.infra.store import h5_writer, read_attrs, require_agreement, set_attrs

log = start_log(snakemake.log[0])  # numpy and h5py only: no torch to start
p, w = snakemake.params, snakemake.wildcards
point = parse_point(w.ensemble, w.point, p.epochs)
blocks = list(map(str, snakemake.input.blocks))
solves = list(map(str, snakemake.input.solves))
q_paths = list(map(str, snakemake.input.q))
attrs = {path: read_attrs(path) for path in solves}
q_attrs = {path: read_attrs(path) for path in q_paths} or attrs
block_attrs = {path: read_attrs(path) for path in blocks}
require_agreement({**block_attrs, solves[0]: attrs[solves[0]]}, ["train_hash", "test_hash", "test_examples"])
shards = [slice(*rows) for rows in p.shards]
n_test = attrs[solves[0]]["test_examples"]
full = keeps_whole(n_test, shards[-1].stop, p.full_max)
start = time.perf_counter()
with h5_writer(snakemake.output[0]) as handle:
    collected = collect_shards(blocks, shards, p.top_k, (handle, p.dtype, p.test_block) if full else None)
    for name in TOP_K_ARRAYS:
        handle.create_dataset(name, data=getattr(collected.top, name))
    if collected.predictions is not None:
        handle.create_dataset("subset_predictions", data=collected.predictions)
    seconds = time.perf_counter() - start + sum(a["seconds"] for a in block_attrs.values())
    provenance = trak_point_attrs(w.method, point, attrs, q_attrs, seconds)
    set_attrs(
        handle,
        {
            **provenance,
            "blocks": blocks,
            "shards": len(blocks),
            "full_scores": full,
            "top_k": p.top_k,
            "lds_input": "subset_predictions" if collected.predictions is not None else "none",
        },
    )
log.info(
    "%s %s %s: %d shards, %s, serving total %.1f s",
    w.method,
    point.ensemble,
    point.name,
    len(blocks),
    f"{n_test} x {shards[-1].stop} scores kept" if full else f"top {p.top_k} kept (over scores.full_max)",
    provenance["serving_seconds"],
)
