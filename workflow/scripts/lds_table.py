"""Adapter: collect every grid point's LDS into one TSV."""

from tdacore.report import write_lds_table
from tdacore.steplog import start_log

log = start_log(snakemake.log[0])
rows = write_lds_table(snakemake.input.lds, snakemake.output.tsv, snakemake.output.html)
for row in rows:
    log.info("%s", row)
