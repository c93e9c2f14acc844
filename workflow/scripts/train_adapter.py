"""Adapter: fine-tune LoRA adapter l of base model i (tdacore.models.lora.train_adapter; Section 3.4)."""

from tdacore.data.dataset import read_dataset
from tdacore.infra.runtime import configure, resolve_device
from tdacore.infra.store import content_hash, file_hash, require_agreement
from tdacore.models.build import load_model
from tdacore.models.lora import save_adapter, train_adapter

log = configure(snakemake.threads, snakemake.log[0])
p, w = snakemake.params, snakemake.wildcards
device = resolve_device(p.device)
data, data_attrs = read_dataset(snakemake.input.data)
base, base_meta = load_model(snakemake.input.base, device)
require_agreement({snakemake.input.base: base_meta, snakemake.input.data: data_attrs}, ["train_hash"])
model, meta = train_adapter(
    data,
    base,
    base_meta,
    snakemake.input.base,
    int(w.i),
    int(w.l),
    seed=p.seed,
    spec=p.lora,
    optimiser=p.train,
    device=device,
)
log.info(
    "adapter %s of model %s: %d trainable parameters (base %d), %d examples, %.1f s, final loss %.4f",
    w.l,
    w.i,
    meta["n_params"],
    meta["base_model_params"],
    len(meta["subset"]),
    meta["train_seconds"],
    meta["final_loss"],
)
save_adapter(
    snakemake.output[0],
    model,
    meta | {"config_hash": content_hash([p.lora, p.train, p.seed]), "data_file_hash": file_hash(snakemake.input.data)},
)
