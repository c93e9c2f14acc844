"""Adapter: one figure (wildcard `figure`) from the LDS or cost table (tdacore.reporting.plots)."""

from tdacore.infra.steplog import start_log
from tdacore.reporting import plots
from tdacore.reporting.tables import read_tsv

start_log(snakemake.log[0])
draw = {
    "lds_vs_I": plots.lds_vs_models,
    "lds_vs_cost": plots.lds_vs_cost,
    "forward_only": plots.forward_only,
    "checkpoints": plots.checkpoints,
    "lemma": plots.lemma,
    "selected_lds_vs_I": plots.selected_lds_vs_models,
}[snakemake.wildcards.figure]
draw(read_tsv(snakemake.input.table), snakemake.output[0], title=snakemake.params.title)
