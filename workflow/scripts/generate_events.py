"""Adapter: the generative setting's test targets: one greedy event per prompt from base model 0,
recorded in the data set that attribution and the LDS ground truth read (Appendix B.1)."""

import numpy as np
import torch

from tdacore.data.dataset import read_dataset, with_generated_events, write_dataset
from tdacore.infra.runtime import configure, resolve_device
from tdacore.infra.store import file_hash, require_agreement
from tdacore.models.build import load_model
from tdacore.models.generation import greedy_next_events

log = configure(snakemake.threads, snakemake.log[0])
device = resolve_device(snakemake.params.device)
data, attrs = read_dataset(snakemake.input.data)
model, meta = load_model(snakemake.input.model, device)
require_agreement({snakemake.input.model: meta, snakemake.input.data: attrs}, ["train_hash"])
events = greedy_next_events(model, torch.as_tensor(data.x_test, device=device), snakemake.params.chunk_size)
log.info(
    "%d prompts: %d distinct generated events, most common %d",
    len(events),
    len(np.unique(events)),
    np.bincount(events).argmax(),
)
write_dataset(
    snakemake.output[0],
    with_generated_events(data, events),
    {
        **{k: v for k, v in attrs.items() if k not in ("train_hash", "test_hash")},
        "generator_file": snakemake.input.model,
        "generator_hash": file_hash(snakemake.input.model),
        "test_targets": "greedy next event",
    },
)
