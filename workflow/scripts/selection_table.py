"""Adapter: per sweep and grid point, the reading chosen on the selection part of the scored
test examples and its LDS on the report part (tdacore.evaluation.selection): the row's lds, lds_sem and
n_test are the report part's, `setting` names the choice (e.g. ridge_relative=0.1), and
`reference_lds` is the sweep's first setting on the same report part."""

import json

import numpy as np

from tdacore.ensembles.grid import label, sort_rows
from tdacore.evaluation.selection import select_reading, split_test_examples
from tdacore.infra.steplog import start_log
from tdacore.reporting.tables import write_html, write_tsv

log = start_log(snakemake.log[0])
settings = snakemake.params.selection
rows = []
for sweep, points in snakemake.params.sweeps.items():
    names = snakemake.params.settings[sweep]  # reading -> the setting it names
    for files in points:  # one grid point: reading -> its LDS file
        records = {}
        for reading, path in files.items():
            with open(path) as handle:
                records[reading] = json.load(handle)
        first = next(iter(records.values()))
        per_example = {reading: np.array(record["per_example"], dtype=float) for reading, record in records.items()}
        split = split_test_examples(len(first["per_example"]), settings["fraction"], settings["seed"])
        choice = select_reading(per_example, split)
        reference = next(iter(files))
        row = {"method": sweep, **{key: first[key] for key in ("ensemble", "I", "D", "C", "L", "members")}}
        row |= {
            "chosen": choice["chosen"],
            "setting": names[choice["chosen"]],
            "lds": choice["report_lds"],
            "lds_sem": choice["report_lds_sem"],
            "n_test": choice["n_report"],
            "n_undefined": choice["n_report_undefined"],
            "n_select": choice["n_select"],
            "reference": names[reference],
            "reference_lds": choice["report"][reference],
        }
        row |= {f"select[{names[reading]}]": value for reading, value in choice["select"].items()}
        row |= {f"report[{names[reading]}]": value for reading, value in choice["report"].items()}
        log.info(
            "%s %s: chose %s (selection LDS %s), report LDS %.4f over %d test examples",
            sweep,
            label(first),
            names[choice["chosen"]],
            {names[k]: round(v, 4) for k, v in choice["select"].items()},
            choice["report_lds"],
            choice["n_report"],
        )
        rows.append(row)
rows = sort_rows(rows)
write_tsv(rows, snakemake.output.tsv)
write_html(rows, snakemake.output.html, "Selected readings (LDS on the report part)")
