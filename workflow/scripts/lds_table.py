"""Adapter: collect every grid point's LDS into one TSV."""

from tdacore.infra.steplog import start_log
from tdacore.reporting.tables import write_lds_table

log = start_log(snakemake.log[0])
rows = write_lds_table(snakemake.input.lds, snakemake.output.tsv, snakemake.output.html)
for row in rows:
    log.info("%s", row)
