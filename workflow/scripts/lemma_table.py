"""Adapter: Lemma 5.1's rows of every method, two-step kind and reference in one table
(tdacore.evaluation.theory), and one log line per Case saying whether its sign of Delta agrees."""

import json
import math

from tdacore.infra.steplog import start_log
from tdacore.reporting.tables import write_html, write_tsv

log = start_log(snakemake.log[0])


def _signs(row: dict) -> dict[str, str]:
    """Whether Eq. 12's (and the Case's) sign of Delta agrees with the measured one ("" where
    either is missing: no Case, or no model left outside the ensemble for a leave-out reference)."""

    def agree(predicted: float) -> str:
        measured = row["delta_measured"]
        return str((predicted > 0) == (measured > 0)) if math.isfinite(predicted) and math.isfinite(measured) else ""

    return {"sign_agrees": agree(row["delta"]), "case_sign_agrees": agree(row["case_delta"]) if row["case"] else ""}


rows = []
for path in snakemake.input.theory:
    with open(path) as handle:
        record = json.load(handle)
    for reference, part in record["references"].items():
        moments = part["moments"] | {f"{k}_sem": v for k, v in part["moments_sem"].items()}
        for row in part["rows"]:
            rows.append({"method": record["method"], "kind": record["kind"], **row, **_signs(row), **moments})
            if row["case"]:
                log.info(
                    "%s %s about %s, I=%d K=%d D=%d, %s: predicted Delta %.3g, measured %.3g: the sign %s",
                    record["method"],
                    record["kind"],
                    reference,
                    row["I"],
                    row["K"],
                    row["D"],
                    row["case"],
                    row["case_delta"],
                    row["delta_measured"],
                    {"True": "agrees", "False": "does not agree"}.get(rows[-1]["case_sign_agrees"], "cannot be told"),
                )
write_tsv(rows, snakemake.output.tsv)
write_html(rows, snakemake.output.html, "Lemma 5.1")
