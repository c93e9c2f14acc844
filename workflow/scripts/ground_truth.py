"""Adapter: model outputs of every LDS retrain on the test set (Appendix D ground truth)."""

import numpy as np

from tdacore.attribution.grads import batched_outputs
from tdacore.data.batches import to_tensors
from tdacore.data.dataset import read_dataset
from tdacore.infra.runtime import configure, resolve_device
from tdacore.infra.store import content_hash, file_hash, require_agreement, write_h5
from tdacore.models.build import load_model
from tdacore.models.outputs import model_outputs

log = configure(snakemake.threads, snakemake.log[0])
device = resolve_device(snakemake.params.device)
data, data_attrs = read_dataset(snakemake.input.data)
x_test, y_test = to_tensors(data.x_test, device), to_tensors(data.y_test, device)
outputs = np.empty((len(snakemake.input.models), len(y_test)), dtype=np.float64)
masks = np.zeros((len(snakemake.input.models), data.n_train), dtype=bool)
metas = []
for j, path in enumerate(snakemake.input.models):
    model, meta = load_model(path, device)
    require_agreement({path: meta, snakemake.input.data: data_attrs}, ["train_hash"])
    f = model_outputs(meta["model"], data.task)  # the retrains share one model section: one f
    outputs[j] = batched_outputs(model, x_test, y_test, f.f, snakemake.params.chunk_size).cpu().numpy()
    masks[j, meta["subset"]] = True
    metas.append(meta)
log.info("ground truth: %d subsets x %d test examples; mean %s %.3f", *outputs.shape, f.name, outputs.mean())
write_h5(
    snakemake.output[0],
    {"outputs": outputs, "masks": masks},
    {
        "model_output": f.name,
        "config_hash": content_hash(sorted({meta["config_hash"] for meta in metas})),
        "num_subsets": len(metas),
        "train_hash": data_attrs["train_hash"],
        "test_hash": data_attrs["test_hash"],
        "model_files": list(map(str, snakemake.input.models)),
        "model_hashes": [file_hash(path) for path in snakemake.input.models],
    },
)
