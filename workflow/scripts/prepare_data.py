"""Adapter: build the experiment's seeded train/test sets from the config's source, built-in or
a researcher's (tdacore.data.load)."""

from tdacore.data.dataset import write_dataset
from tdacore.data.load import load_data
from tdacore.infra.steplog import start_log
from tdacore.infra.store import content_hash

log = start_log(snakemake.log[0])
cfg, seed = snakemake.params.data, snakemake.params.seed
data, info = load_data(cfg, snakemake.input.raw, seed)
for path in info.get("skipped_files", []):
    log.warning("skipped unreadable MIDI file %s", path)
log.info(
    "%s: %d train / %d test examples, %d classes %s", data.task, data.n_train, len(data.y_test), data.n_classes, info
)
write_dataset(snakemake.output[0], data, {"data_config": cfg, "config_hash": content_hash(cfg), "seed": seed, **info})
