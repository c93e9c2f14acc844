"""The paper's cost claims as measurements (Section 3.2, Appendix E, G, H, K).

Per grid point of an ensemble kind and method, from what the run itself recorded:
    training time  sum over the training runs its members come from, each counted once, of the
                   run's recorded wall time (up to the latest checkpoint used); "not trained
                   here" where a member's model is one the researcher brought (model.checkpoints)
    serving time   the in-process time of its per-member jobs (featurize, forward-only Q, member
                   scores) plus its aggregation, process start-up excluded; the jobs' whole wall
                   times (start-up included) are reported beside it
    space          the parameter count of every distinct model file it needs (Table 5: dropout
                   passes add nothing; each checkpoint counts)
    peak memory    the largest resident set of its serving jobs (Snakemake benchmark files,
                   sampled by Snakemake) and, on a GPU, torch.cuda.max_memory_allocated (Table 3)
Relative costs divide each by those of one model (naive I = 1) of the same method (Table 7).
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable, Mapping
from typing import Any

from tdacore.ensembles.grid import label, point_columns, sort_rows

NOT_TRAINED = "not trained here"  # the training time of a model the researcher brought
RELATIVE_COSTS = {
    "training time": "training_seconds",
    "serving time": "serving_seconds",
    "space": "space_params",
    "peak memory": "peak_rss_mb",
}


def read_benchmark(path: str | os.PathLike) -> dict[str, float]:
    """Wall seconds and peak resident memory (MB) of one job from its Snakemake benchmark file
    (the largest over its rows, should the job have been repeated); NaN where Snakemake did not
    sample memory (jobs shorter than its sampling interval)."""
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    if not rows or "s" not in rows[0] or "max_rss" not in rows[0]:
        raise ValueError(f"{path}: not a Snakemake benchmark file (columns s, max_rss expected)")

    def number(value: str) -> float:
        try:
            return float(value)
        except ValueError:
            return math.nan

    return {"seconds": max(number(r["s"]) for r in rows), "max_rss_mb": max(number(r["max_rss"]) for r in rows)}


def point_costs(
    method: str, score_attrs: Mapping[str, Any], lds: Mapping[str, Any], benchmarks: list[dict[str, float]]
) -> dict[str, Any]:
    """One row of the cost table: a grid point's LDS (from its LDS record) beside its costs (from
    its score file's provenance, see tdacore.ensembles.provenance.point_provenance, and the benchmarks of
    its serving jobs)."""
    if not benchmarks:
        raise ValueError(f"{method} {score_attrs['ensemble']}: no serving job benchmarks given")
    rss = [b["max_rss_mb"] for b in benchmarks if math.isfinite(b["max_rss_mb"])]
    gpu = {"gpu_peak_mb": score_attrs["gpu_peak_bytes"] / 2**20} if "gpu_peak_bytes" in score_attrs else {}
    training = score_attrs["training_seconds"]
    return {
        "method": method,
        **point_columns(score_attrs),
        "lds": lds["lds"] if lds else None,
        "lds_sem": lds["lds_sem"] if lds else None,
        "n_test": lds["n_test"] if lds else score_attrs["test_examples"],
        "training_runs": len(score_attrs["training_runs"]),
        "training_seconds": NOT_TRAINED if training is None else training,
        "serving_seconds": score_attrs["serving_seconds"],
        "space_params": score_attrs["space_params"],
        "peak_rss_mb": max(rss) if rss else math.nan,
        "serving_jobs": len(benchmarks),
        "serving_job_seconds": sum(b["seconds"] for b in benchmarks),
        **gpu,
    }


def relative_costs(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Table 7: per method and cost type, every grid point's cost over that of one model (the
    method's naive I = 1 point, which must be in its grid); one column per grid point, in the
    same order for every method (None where a method lacks the point)."""
    rows = sort_rows(rows)
    columns = list(dict.fromkeys(label(r) for r in sort_rows({**r, "method": ""} for r in rows)))
    table = []
    for method in dict.fromkeys(r["method"] for r in rows):
        part = [r for r in rows if r["method"] == method]
        reference = [r for r in part if r["ensemble"] == "naive" and int(r["I"]) == 1]
        if not reference:
            raise ValueError(f"relative costs of {method} need its naive I = 1 grid point (one model) as the reference")
        for cost, column in RELATIVE_COSTS.items():
            if any(r[column] == NOT_TRAINED for r in part):
                values = {}
            else:
                base = float(reference[0][column])
                values = {label(r): float(r[column]) / base for r in part}
            table.append({"method": method, "cost": cost, **{c: values.get(c) for c in columns}})
    return table


def peak_memory_table(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Tables 3 and 4: peak serving memory (MB) per method, ensemble kind, I, C and L, one column per D."""
    rows = sort_rows(rows)
    passes = [f"D={d}" for d in sorted({int(r["D"]) for r in rows})]
    table: dict[tuple, dict[str, Any]] = {}
    for r in rows:
        key = (r["method"], r["ensemble"], int(r["I"]), int(r["C"]), int(r["L"]))
        entry = table.setdefault(
            key, {"method": key[0], "ensemble": key[1], "I": key[2], "C": key[3], "L": key[4], **dict.fromkeys(passes)}
        )
        entry[f"D={r['D']}"] = r["peak_rss_mb"]
    return list(table.values())
