"""Adapter: the proponents and opponents of the first test examples, by one grid point's scores
(tdacore.reporting.proponents)."""

from tdacore.data.dataset import read_dataset
from tdacore.infra.steplog import start_log
from tdacore.infra.store import read_h5
from tdacore.reporting.proponents import proponents_figure

start_log(snakemake.log[0])
arrays, _ = read_h5(snakemake.input.scores, ["scores"])
data, _ = read_dataset(snakemake.input.data)
proponents_figure(arrays["scores"], data, snakemake.output[0], snakemake.params.title)
