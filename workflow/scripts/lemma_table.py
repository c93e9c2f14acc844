"""Adapter: Lemma 5.1's rows of every method and two-step kind in one table (tdacore.theory)."""

import json

from tdacore.report import write_html, write_tsv
from tdacore.steplog import start_log

log = start_log(snakemake.log[0])
rows = []
for path in snakemake.input.theory:
    with open(path) as handle:
        record = json.load(handle)
    moments = record["moments"] | {f"{k}_sem": v for k, v in record["moments_sem"].items()}
    for row in record["rows"]:
        agrees = (row["delta"] > 0) == (row["delta_measured"] > 0)
        case_agrees = "" if not row["case"] else str((row["case_delta"] > 0) == (row["delta_measured"] > 0))
        rows.append({"method": record["method"], "kind": record["kind"], **row, "sign_agrees": str(agrees), "case_sign_agrees": case_agrees, **moments})
        if row["case"]:
            log.info(
                "%s %s I=%d K=%d D=%d, %s: predicted Delta %.3g, measured %.3g: the sign %s",
                record["method"], record["kind"], row["I"], row["K"], row["D"], row["case"], row["case_delta"], row["delta_measured"],
                "agrees" if case_agrees == "True" else "does not agree",
            )
write_tsv(rows, snakemake.output.tsv)
write_html(rows, snakemake.output.html, "Lemma 5.1")
