"""Adapter: base model i from the i-th trained model the researcher brings (model.checkpoints)."""

from tdacore.data.dataset import read_dataset
from tdacore.infra.steplog import start_log
from tdacore.infra.store import file_hash
from tdacore.models.build import save_model
from tdacore.models.checkpoint import import_checkpoint

log = start_log(snakemake.log[0])
data, _ = read_dataset(snakemake.input.data)
model, meta = import_checkpoint(snakemake.input.checkpoint, snakemake.params.model, data, int(snakemake.wildcards.i))
log.info(
    "base model %s from %s (sha256 %s, %d parameters): not trained here",
    meta["index"],
    *[meta[key] for key in ("checkpoint_file", "checkpoint_sha256", "n_params")],
)
save_model(snakemake.output.model, model, meta | {"data_file_hash": file_hash(snakemake.input.data)})
