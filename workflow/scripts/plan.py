"""Adapter: the cost-aware planner (tdacore.evaluation.planner) for every method and two-step kind of the
Section 5 rule, from its moments and the cost table's measured points."""

import json
import math

from tdacore.evaluation.planner import cost_model, plan_rows, with_between_fallback
from tdacore.evaluation.theory import Moments
from tdacore.infra.steplog import start_log
from tdacore.reporting.tables import read_tsv, write_html, write_tsv

log = start_log(snakemake.log[0])
NEEDED = ("s11", "sij", "s_own", "s_within")


def _said(row: dict, prefix: str) -> str:
    """A recommendation in words for the job log."""
    if row[f"{prefix}K"] is None:
        return "none predicted to match"
    serving, training = row[f"{prefix}serving_saving"], row[f"{prefix}training_saving"]
    saved = f"{100 * serving:.0f}% serving, {100 * training:.0f}% training saved"
    return f"K={row[f'{prefix}K']}, D={row[f'{prefix}D']} ({saved})" + (
        f", LDS {row['grid_lds']:.3f}" if prefix else ""
    )


costs = read_tsv(snakemake.input.costs)
rows = []
for path in snakemake.input.theory:
    with open(path) as handle:
        record = json.load(handle)
    method, kind = record["method"], record["kind"]
    # about the mean (leave-out) where the grid has the models for it, else about all models' mean
    reference = next(
        ref
        for ref in ("leave_out", "all")
        if all(math.isfinite(record["references"][ref]["moments"][k]) for k in NEEDED)
    )
    moments, between = with_between_fallback(Moments(**record["references"][reference]["moments"]))
    mine = [row for row in costs if row["method"] == method]
    naive = [row for row in mine if row["ensemble"] == "naive"]
    two_step = [row | {"D": row["D"] or row["L"]} for row in mine if row["ensemble"] == kind]
    model = cost_model(naive, two_step)
    log.info("%s %s: moments about %s (between-group: %s), unit costs %s", method, kind, reference, between, model)
    for row in plan_rows(moments, model, naive, two_step, snakemake.params.max_variants):
        rows.append({"method": method, "kind": kind, **row, "moments_about": reference, "s_between": between})
        if row["by"] == "serving":
            log.info(
                "%s %s, naive I=%d (LDS %.3f), cheapest two-step by serving: %s; among the measured points: %s",
                method,
                kind,
                row["I"],
                row["naive_lds"],
                _said(row, ""),
                _said(row, "grid_"),
            )
write_tsv(rows, snakemake.output.tsv)
write_html(rows, snakemake.output.html, "Ensemble planner")
