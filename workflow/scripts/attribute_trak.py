"""Adapter: TRAK scores of one ensemble grid point (Eq. 2 over its members' features)."""

import time

from tdacore.ensemble import parse_point, point_provenance
from tdacore.runtime import configure
from tdacore.store import content_hash, read_attrs, read_h5, require_agreement, require_distinct, write_h5
from tdacore.trak import ensemble_scores, kernel

log = configure(snakemake.threads, snakemake.log[0])
point = parse_point(snakemake.wildcards.ensemble, snakemake.wildcards.point)
paths = list(map(str, snakemake.input.features))
attrs = {path: read_attrs(path) for path in paths}
require_agreement(attrs, ["train_hash", "test_hash", "test_examples", "proj_kind", "proj_dim", "model_output"])
require_distinct(attrs, "proj_seed")


def member_kernel(path: str):
    arrays, _ = read_h5(path, ["phi_train", "phi_test"])
    return kernel(arrays["phi_train"], arrays["phi_test"], snakemake.params.ridge)


def member_q(path: str):
    return read_h5(path, ["q_train"])[0]["q_train"]


start = time.perf_counter()
scores = ensemble_scores((member_kernel(path) for path in paths), (member_q(path) for path in paths))
provenance = point_provenance(point, list(attrs.values()), time.perf_counter() - start)
log.info(
    "%s %s: %d members, scores %s, %.1f s (serving total %.1f s)",
    point.ensemble, point.name, len(paths), scores.shape, provenance["aggregate_seconds"], provenance["serving_seconds"],
)
first = attrs[paths[0]]
write_h5(
    snakemake.output[0],
    {"scores": scores.astype("float32")},
    {
        "method": "trak",
        **provenance,
        "feature_files": paths,
        "proj_seeds": [a["proj_seed"] for a in attrs.values()],
        "config_hash": content_hash([snakemake.params.ridge, sorted({a["config_hash"] for a in attrs.values()})]),
        "proj_kind": first["proj_kind"],
        "proj_dim": first["proj_dim"],
        "ridge": snakemake.params.ridge,
    },
)
