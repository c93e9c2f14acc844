"""Adapter: per sweep and grid point, the reading chosen on the selection part of the scored
test examples and its LDS on the report part (tdacore.selection)."""

import json

import numpy as np

from tdacore.report import label, write_html, write_tsv
from tdacore.selection import select_reading, split_test_examples
from tdacore.steplog import start_log

log = start_log(snakemake.log[0])
settings = snakemake.params.selection
rows = []
for sweep, points in snakemake.params.sweeps.items():
    for files in points:  # one grid point: reading -> its LDS file
        records = {}
        for reading, path in files.items():
            with open(path) as handle:
                records[reading] = json.load(handle)
        first = next(iter(records.values()))
        per_example = {reading: np.array(record["per_example"], dtype=float) for reading, record in records.items()}
        split = split_test_examples(len(first["per_example"]), settings["fraction"], settings["seed"])
        choice = select_reading(per_example, split)
        row = {"sweep": sweep, **{key: first[key] for key in ("ensemble", "I", "D", "C", "L")}}
        row |= {key: value for key, value in choice.items() if key not in ("select", "report")}
        row |= {f"select_{reading}": value for reading, value in choice["select"].items()}
        row |= {f"report_{reading}": value for reading, value in choice["report"].items()}
        log.info("%s %s: chose %s (selection LDS %s), report LDS %.4f", sweep, label(first), choice["chosen"],
                 {k: round(v, 4) for k, v in choice["select"].items()}, choice["report_lds"])
        rows.append(row)
write_tsv(rows, snakemake.output.tsv)
write_html(rows, snakemake.output.html, "Selected readings")
