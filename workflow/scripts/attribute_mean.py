"""Adapter: IF / Grad-Dot / Grad-Cos scores of one ensemble grid point (Eq. 1: the mean over members)."""

import time

from tdacore.ensembles.combine import mean_scores
from tdacore.ensembles.grid import parse_point
from tdacore.ensembles.provenance import point_provenance
from tdacore.infra.steplog import start_log
from tdacore.infra.store import read_attrs, read_h5, require_agreement, write_h5

log = start_log(snakemake.log[0])
point = parse_point(snakemake.wildcards.ensemble, snakemake.wildcards.point, snakemake.params.epochs)
paths = list(map(str, snakemake.input.members))
attrs = {path: read_attrs(path) for path in paths}
require_agreement(attrs, ["method", "train_hash", "test_hash", "test_examples", "model_output", "config_hash"])

start = time.perf_counter()
scores = mean_scores(read_h5(path, ["scores"])[0]["scores"] for path in paths)
provenance = point_provenance(point, list(attrs.values()), time.perf_counter() - start)
first = attrs[paths[0]]
log.info(
    "%s %s %s: %d members, %.1f s (serving total %.1f s)",
    first["method"],
    point.ensemble,
    point.name,
    len(paths),
    provenance["aggregate_seconds"],
    provenance["serving_seconds"],
)
residuals = [r for a in attrs.values() for r in a.get("cg_relative_residual", [])]
write_h5(
    snakemake.output[0],
    {"scores": scores},
    {
        "method": first["method"],
        "reading": first["reading"],
        **provenance,
        "member_files": paths,
        "config_hash": first["config_hash"],
        **({"cg_max_relative_residual": max(residuals)} if residuals else {}),
    },
    {"scores": snakemake.params.dtype},
)
