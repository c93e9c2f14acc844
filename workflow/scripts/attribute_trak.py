"""Adapter: TRAK scores of one ensemble grid point (Eq. 2 over its members' features)."""

import time

from tdacore.ensemble import parse_point
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
seconds = time.perf_counter() - start
serving = seconds + sum(a["seconds"] for a in attrs.values())
log.info("%s %s: %d members, scores %s, %.1f s (serving total %.1f s)", point.ensemble, point.name, len(paths), scores.shape, seconds, serving)
first = attrs[paths[0]]
write_h5(
    snakemake.output[0],
    {"scores": scores.astype("float32")},
    {
        "method": "trak",
        "ensemble": point.ensemble,
        "I": point.n_models,
        "D": point.n_passes,
        "members": [[a["model"], a["dropout_pass"]] for a in attrs.values()],
        "feature_files": paths,
        "proj_seeds": [a["proj_seed"] for a in attrs.values()],
        "mask_seeds": [a["mask_seed"] for a in attrs.values()],
        "model_hashes": sorted({a["model_hash"] for a in attrs.values()}),
        "config_hash": content_hash([snakemake.params.ridge, sorted({a["config_hash"] for a in attrs.values()})]),
        "proj_kind": first["proj_kind"],
        "proj_dim": first["proj_dim"],
        "ridge": snakemake.params.ridge,
        "model_output": first["model_output"],
        "train_hash": first["train_hash"],
        "test_hash": first["test_hash"],
        "test_examples": first["test_examples"],
        "aggregate_seconds": seconds,
        "serving_seconds": serving,
    },
)
