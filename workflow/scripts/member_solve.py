"""Adapter: one member's TRAK solve from its features in shards (featurize.shard_size): Phi^T Phi
summed from the training shards' Gram partials in float64 (tdacore.attribution.shards), then per
ridge (Phi^T Phi + lambda I)^{-1} phi_test^T (tdacore.attribution.ridge.solves), stored test x k,
one file per ridge with the member's provenance and its serving time (every part's features and
the solve). The kernel's training side is applied shard by shard by the scoring jobs
(tdacore.evaluation.trak_blocks)."""

import time

from tdacore.attribution.ridge import Ridge, ridge_provenance, solves
from tdacore.attribution.shards import sum_grams
from tdacore.infra.steplog import start_log
from tdacore.infra.store import read_attrs, read_h5, read_rows, require_agreement, write_h5

log = start_log(snakemake.log[0])
train_parts = list(map(str, snakemake.input.train))
test_part = str(snakemake.input.test)
attrs = {path: read_attrs(path) for path in [*train_parts, test_part]}
require_agreement(
    attrs, ["member", "model_hash", "mask_seed", "proj_seed", "proj_kind", "proj_dim", "train_hash", "test_hash"]
)
expected = [list(rows) for rows in snakemake.params.shards]
found = [attrs[path]["rows"] for path in train_parts]
if found != expected:
    raise ValueError(f"{train_parts[0]}..: the shards cover rows {found}, but featurize.shard_size plans {expected}")
test_attrs = attrs[test_part]
phi_test = read_h5(test_part, ["phi_test"])[0]["phi_test"]
start = time.perf_counter()
gram = sum_grams(read_rows(path, "gram", slice(None)) for path in train_parts)
gram_seconds = time.perf_counter() - start
features_seconds = sum(a["seconds"] for a in attrs.values())
shared = {"shared_job": test_attrs["shared_job"].rsplit("/", 1)[0]}
shared["shared_seconds"] = sum(a["shared_seconds"] for a in attrs.values())
gpu = [a["gpu_peak_bytes"] for a in attrs.values() if "gpu_peak_bytes" in a]
for path, made in zip(
    snakemake.output, solves(gram, phi_test, [Ridge(**r) for r in snakemake.params.ridges], gram_seconds)
):
    log.info(
        "%s: lambda = %.6g (mean eigenvalue of Phi^T Phi %.6g) from %d shards, %.2f s",
        made.ridge.setting,
        made.value,
        made.mean_eigenvalue,
        len(train_parts),
        made.seconds,
    )
    write_h5(
        path,
        {"solved": made.solved.T.copy()},
        {
            **{key: value for key, value in test_attrs.items() if key not in ("part", "gpu_peak_bytes")},
            **shared,
            **({"gpu_peak_bytes": max(gpu)} if gpu else {}),
            "features_file": [*train_parts, test_part],
            "shards": len(train_parts),
            **ridge_provenance(made, features_seconds, test_attrs["config_hash"]),  # serving: every part, then this
        },
    )
