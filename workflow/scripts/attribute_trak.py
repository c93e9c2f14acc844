"""Adapter: TRAK scores of one ensemble grid point for one TRAK reading (Eq. 2 over its members'
kernels at the reading's ridge, rule member_kernels; for the forward-only Dropout Ensemble, Q
from the masked passes' Q files instead, Section 3.3)."""

import time

from tdacore.ensembles.combine import trak_scores
from tdacore.ensembles.grid import parse_point
from tdacore.ensembles.provenance import check_trak_members, trak_point_attrs
from tdacore.infra.runtime import configure
from tdacore.infra.store import read_attrs, read_h5, write_h5

log = configure(snakemake.threads, snakemake.log[0])
w = snakemake.wildcards
point = parse_point(w.ensemble, w.point, snakemake.params.epochs)
paths = list(map(str, snakemake.input.kernels))
q_paths = list(map(str, snakemake.input.q)) or paths  # forward_only: the masked passes' Q
attrs = {path: read_attrs(path) for path in paths}
q_attrs = {path: read_attrs(path) for path in q_paths}
check_trak_members(attrs, q_attrs, snakemake.params.ridge, w.method)


def read_one(path: str, name: str):
    return read_h5(path, [name])[0][name]


start = time.perf_counter()
scores = trak_scores(
    (read_one(path, "kernel").astype("float64") for path in paths), (read_one(path, "q_train") for path in q_paths)
)
provenance = trak_point_attrs(w.method, point, attrs, q_attrs, time.perf_counter() - start)
log.info(
    "%s %s %s (%s): %d kernels, %d Q, scores %s, %.1f s (serving total %.1f s)",
    w.method,
    point.ensemble,
    point.name,
    provenance["ridge"],
    len(paths),
    len(q_paths),
    scores.shape,
    provenance["aggregate_seconds"],
    provenance["serving_seconds"],
)
write_h5(snakemake.output[0], {"scores": scores}, provenance, {"scores": snakemake.params.dtype})
