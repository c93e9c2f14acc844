"""Adapter: TRAK features of model i under dropout pass d (d = 0: the unmasked model)."""

import torch

from tdacore.data import read_dataset
from tdacore.models import load_model
from tdacore.projection import make_projector
from tdacore.runtime import configure, resolve_device
from tdacore.seeds import derive_seed
from tdacore.store import content_hash, file_hash, require_agreement, write_h5
from tdacore.trak import featurize
from tdacore.variants import masked, sample_masks

log = configure(snakemake.threads, snakemake.log[0])
p = snakemake.params
i, d = int(snakemake.wildcards.i), int(snakemake.wildcards.d)
device = resolve_device(p.device)
data, data_attrs = read_dataset(snakemake.input.data)
model, meta = load_model(snakemake.input.model, device)
require_agreement({snakemake.input.model: meta, snakemake.input.data: data_attrs}, ["train_hash"])
x_train, y_train, x_test, y_test = (torch.as_tensor(a, device=device) for a in (data.x_train, data.y_train, data.x_test, data.y_test))

mask_seed = derive_seed(p.seed, "dropout-mask", i, d)
proj_seed = derive_seed(p.seed, "projection", i, d)
masks = sample_masks(model, x_train, mask_seed) if d > 0 else None
projector = make_projector(p.projection["kind"], meta["n_params"], p.projection["dim"], proj_seed, device)
with masked(model, masks) as variant:
    features = featurize(variant, x_train, y_train, x_test, y_test, projector, p.chunk_size)
log.info("model %d pass %d: phi %s in %.1f s", i, d, features.phi_train.shape, features.seconds)
write_h5(
    snakemake.output[0],
    {"phi_train": features.phi_train, "phi_test": features.phi_test, "q_train": features.q_train},
    {
        "model": i,
        "dropout_pass": d,
        "mask_seed": mask_seed if d > 0 else -1,
        "proj_kind": projector.kind,
        "proj_dim": projector.dim,
        "proj_seed": proj_seed,
        "model_output": "margin",
        "model_file": str(snakemake.input.model),
        "model_hash": file_hash(snakemake.input.model),
        "train_hash": data_attrs["train_hash"],
        "test_hash": data_attrs["test_hash"],
        "config_hash": content_hash([p.projection, p.seed]),
        "seconds": features.seconds,
        "device": str(device),
    },
)
