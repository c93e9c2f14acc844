"""Adapter: train one base model (wildcard i) or one LDS retrain (wildcard j)."""

from tdacore.data import read_dataset
from tdacore.models import save_model
from tdacore.runtime import configure, resolve_device
from tdacore.store import content_hash, file_hash
from tdacore.train import train_member

log = configure(snakemake.threads, snakemake.log[0])
p = snakemake.params
index = int(snakemake.wildcards.get("i", snakemake.wildcards.get("j")))
data, data_attrs = read_dataset(snakemake.input.data)
model, meta = train_member(
    data, p.role, index, seed=p.seed, fraction=p.fraction, model_spec=p.model, optimiser=p.train, device=resolve_device(p.device)
)
meta |= {"config_hash": content_hash([p.model, p.train, p.fraction, p.seed]), "data_file_hash": file_hash(snakemake.input.data)}
log.info("%s model %d: %d examples, %.1f s, final loss %.4f", p.role, index, len(meta["subset"]), meta["train_seconds"], meta["final_loss"])
save_model(snakemake.output[0], model, meta)
