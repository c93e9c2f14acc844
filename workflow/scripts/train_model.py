"""Adapter: train one base model (wildcard i), saving its intermediate checkpoints if asked, or
one LDS retrain (wildcard j)."""

from pathlib import Path

from tdacore.data.dataset import read_dataset
from tdacore.ensembles.grid import parse_member
from tdacore.infra.runtime import configure, resolve_device
from tdacore.infra.store import content_hash, file_hash
from tdacore.models.build import save_model
from tdacore.models.train import train_member

log = configure(snakemake.threads, snakemake.log[0])
p = snakemake.params
index = int(snakemake.wildcards.get("i", snakemake.wildcards.get("j")))
data, data_attrs = read_dataset(snakemake.input.data)
provenance = {
    "config_hash": content_hash([p.model, p.train, p.fraction, p.seed]),
    "data_file_hash": file_hash(snakemake.input.data),
}
# Intermediate checkpoints to save, by epoch, from their file names ({i}-epoch{e}.pt).
checkpoint_paths = {parse_member(Path(path).stem, "d0").epoch: path for path in snakemake.output.get("checkpoints", [])}


def save_checkpoint(model, meta):
    log.info(
        "checkpoint at epoch %d: %.1f s, loss %.4f", meta["epochs_trained"], meta["train_seconds"], meta["final_loss"]
    )
    save_model(checkpoint_paths[meta["epochs_trained"]], model, meta | provenance)


model, meta = train_member(
    data,
    p.role,
    index,
    seed=p.seed,
    fraction=p.fraction,
    model_spec=p.model,
    optimiser=p.train,
    device=resolve_device(p.device),
    checkpoints=sorted(checkpoint_paths),
    save_checkpoint=save_checkpoint,
)
log.info(
    "%s model %d: %d examples, %.1f s, final loss %.4f",
    p.role,
    index,
    len(meta["subset"]),
    meta["train_seconds"],
    meta["final_loss"],
)
save_model(snakemake.output.model, model, meta | provenance)
