"""Adapter: the proponents and opponents of the first test examples, by one grid point's scores
(tdacore.reporting.proponents): its whole matrix, or the top-k a sharded TRAK run kept
(tdacore.evaluation.collect)."""

from tdacore.data.dataset import read_dataset
from tdacore.evaluation.blocked import TopK, top_k_of_block
from tdacore.infra.steplog import start_log
from tdacore.infra.store import read_attrs, read_h5
from tdacore.reporting.proponents import proponents_figure

start_log(snakemake.log[0])
SHOWN = 4  # test examples drawn
data, _ = read_dataset(snakemake.input.data)
if "top_k" in read_attrs(snakemake.input.scores):
    top = TopK(*read_h5(snakemake.input.scores, list(TopK.__dataclass_fields__))[0].values())
else:
    top = top_k_of_block(read_h5(snakemake.input.scores, ["scores"])[0]["scores"][:SHOWN], 0, 3)
proponents_figure(top, data, snakemake.output[0], snakemake.params.title, n_test=SHOWN)
