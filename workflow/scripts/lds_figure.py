"""Adapter: the Figure 1 analogue, LDS against I for each ensemble."""

from tdacore.plots import lds_vs_models
from tdacore.report import read_table
from tdacore.steplog import start_log

start_log(snakemake.log[0])
lds_vs_models(read_table(snakemake.input.table), snakemake.output[0], title=snakemake.params.title)
