"""Adapter: TRAK scores of one grid point on one training shard (featurize.shard_size): Eq. 2
over its members' solves at the reading's ridge (rule member_solve) and their features of the
shard, test_block rows at a time, each block reduced to its top-k and the LDS's subset
predictions and kept only when the point's whole matrix is (scores.full_max)
(tdacore.evaluation.trak_blocks); Q from the shard's features, or for the forward-only Dropout
Ensemble from the masked passes' Q files (Section 3.3)."""

from tdacore.ensembles.grid import parse_point
from tdacore.ensembles.provenance import check_trak_members
from tdacore.evaluation.collect import keeps_whole
from tdacore.evaluation.trak_blocks import QSource, ShardMember, score_shard
from tdacore.infra.steplog import start_log
from tdacore.infra.store import h5_writer, read_attrs, read_h5, require_agreement, set_attrs

log = start_log(snakemake.log[0])  # numpy and h5py only: no torch to start
p, w = snakemake.params, snakemake.wildcards
point = parse_point(w.ensemble, w.point, p.epochs)
solves = list(map(str, snakemake.input.solves))
features = list(map(str, snakemake.input.features))
q_paths = list(map(str, snakemake.input.q))  # forward_only: the masked passes' Q over the whole training set
attrs = {path: read_attrs(path) for path in solves}
q_attrs = {path: read_attrs(path) for path in q_paths} or attrs
check_trak_members(attrs, q_attrs, p.ridge, w.method)
columns = slice(*p.rows)
for solve, path in zip(solves, features):
    part = read_attrs(path)
    require_agreement({solve: attrs[solve], path: part}, ["member", "model_hash", "proj_seed", "train_hash"])
    if part["rows"] != list(p.rows):
        raise ValueError(f"{path}: features of rows {part['rows']}, but shard {w.part} is rows {list(p.rows)}")
masks = None
if snakemake.input.ground_truth:
    truth, truth_attrs = read_h5(snakemake.input.ground_truth, ["masks"])
    require_agreement({snakemake.input.ground_truth: truth_attrs, solves[0]: attrs[solves[0]]}, ["train_hash"])
    masks = truth["masks"][:, columns]
members = [ShardMember(solve, path) for solve, path in zip(solves, features)]
q_sources = [QSource(path, columns) for path in q_paths] or [QSource(path, slice(None)) for path in features]
n_test = attrs[solves[0]]["test_examples"]
keep = p.dtype if keeps_whole(n_test, p.n_train, p.full_max) else None
with h5_writer(snakemake.output[0]) as handle:
    made = score_shard(handle, members, q_sources, n_test, columns, p.test_block, p.top_k, masks, keep)
    set_attrs(
        handle,
        {
            "method": "trak",
            "reading": w.method,
            "ensemble": point.ensemble,
            "point": point.name,
            "part": w.part,
            "rows": list(p.rows),
            "seconds": made.seconds,
            "scores_kept": keep is not None,
            "solve_files": solves,
            "feature_files": features,
            "q_files": q_paths,
            **{key: attrs[solves[0]][key] for key in ("train_hash", "test_hash", "test_examples", "model_output")},
        },
    )
log.info(
    "%s %s %s shard %s: %d x %d scores in %.2f s (%s)",
    w.method,
    point.ensemble,
    point.name,
    w.part,
    n_test,
    columns.stop - columns.start,
    made.seconds,
    "kept" if keep else f"top {p.top_k} and subset predictions kept",
)
