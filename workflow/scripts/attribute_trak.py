"""Adapter: TRAK scores of one ensemble grid point for one TRAK reading (Eq. 2 over its members'
kernels at the reading's ridge, rule member_kernels; for the forward-only Dropout Ensemble, Q
from the masked passes' Q files instead, Section 3.3)."""

import time

from tdacore.ensembles.combine import trak_scores
from tdacore.ensembles.grid import parse_point
from tdacore.ensembles.provenance import point_provenance
from tdacore.infra.runtime import configure
from tdacore.infra.store import content_hash, read_attrs, read_h5, require_agreement, require_distinct, write_h5

log = configure(snakemake.threads, snakemake.log[0])
point = parse_point(snakemake.wildcards.ensemble, snakemake.wildcards.point, snakemake.params.epochs)
paths = list(map(str, snakemake.input.kernels))
q_paths = list(map(str, snakemake.input.q)) or paths  # forward_only: the masked passes' Q
attrs = {path: read_attrs(path) for path in paths}
q_attrs = {path: read_attrs(path) for path in q_paths}
require_agreement(attrs, ["train_hash", "test_hash", "test_examples", "proj_kind", "proj_dim", "model_output", "ridge"])
require_agreement(attrs | q_attrs, ["train_hash", "model_output"])
require_agreement({path: a for path, a in (attrs | q_attrs).items() if a["mask_applied"]}, ["mask_mode"])
require_distinct(attrs, "proj_seed")
first = attrs[paths[0]]
if first["ridge"] != snakemake.params.ridge:
    raise ValueError(
        f"{paths[0]}: a kernel at {first['ridge']}, but {snakemake.wildcards.method} uses {snakemake.params.ridge}"
    )


def read_one(path: str, name: str):
    return read_h5(path, [name])[0][name]


start = time.perf_counter()
scores = trak_scores(
    (read_one(path, "kernel").astype("float64") for path in paths), (read_one(path, "q_train") for path in q_paths)
)
member_attrs = list(attrs.values()) + [q_attrs[path] for path in q_paths if path not in attrs]
provenance = point_provenance(point, member_attrs, time.perf_counter() - start)
log.info(
    "%s %s %s (%s): %d kernels, %d Q, scores %s, %.1f s (serving total %.1f s)",
    snakemake.wildcards.method,
    point.ensemble,
    point.name,
    first["ridge"],
    len(paths),
    len(q_paths),
    scores.shape,
    provenance["aggregate_seconds"],
    provenance["serving_seconds"],
)
write_h5(
    snakemake.output[0],
    {"scores": scores.astype("float32")},
    {
        "method": "trak",
        "reading": snakemake.wildcards.method,
        **provenance,
        "kernel_files": paths,
        "feature_files": [a["features_file"] for a in attrs.values()],
        "q_files": q_paths,
        "proj_seeds": [a["proj_seed"] for a in attrs.values()],
        "config_hash": content_hash(sorted({a["config_hash"] for a in member_attrs})),
        "proj_kind": first["proj_kind"],
        "proj_dim": first["proj_dim"],
        "ridge": first["ridge"],
        "ridge_values": [a["ridge_value"] for a in attrs.values()],
        "mean_eigenvalues": [a["mean_eigenvalue"] for a in attrs.values()],
    },
)
