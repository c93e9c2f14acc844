"""Adapter: the cost tables (tdacore.evaluation.costs): one row per method x ensemble x grid point with its
LDS, Table 7's relative costs and Table 3's peak memory."""

import json

from tdacore.ensembles.grid import sort_rows
from tdacore.evaluation.costs import peak_memory_table, point_costs, read_benchmark, relative_costs
from tdacore.infra.steplog import start_log
from tdacore.infra.store import read_attrs
from tdacore.reporting.tables import write_html, write_tsv

log = start_log(snakemake.log[0])
rows = []
lds_paths = snakemake.input.lds or [None] * len(snakemake.input.scores)  # none in a scores-only run
for point, lds_path, scores_path in zip(snakemake.params.points, lds_paths, snakemake.input.scores):
    lds = None
    if lds_path is not None:
        with open(lds_path) as handle:
            lds = json.load(handle)
    row = point_costs(
        point["method"], read_attrs(scores_path), lds, [read_benchmark(path) for path in point["benchmarks"]]
    )
    log.info("%s", row)
    rows.append(row)
rows = sort_rows(rows)
for name, table in (
    ("costs", rows),
    ("relative_costs", relative_costs(rows)),
    ("peak_memory", peak_memory_table(rows)),
):
    write_tsv(table, snakemake.output[name])
    write_html(table, snakemake.output[f"{name}_html"], name)
