"""Adapter: build the experiment's seeded train/test sets (tdacore.data.make_dataset)."""

from tdacore.data import make_dataset, write_dataset
from tdacore.steplog import start_log
from tdacore.store import content_hash

log = start_log(snakemake.log[0])
cfg = snakemake.params.data
data = make_dataset(cfg["source"], cfg["n_train"], cfg["n_test"], snakemake.params.seed, cfg.get("idx_dir"))
log.info("%d train / %d test examples, %d classes", data.n_train, len(data.y_test), data.n_classes)
write_dataset(snakemake.output[0], data, {"data_config": cfg, "config_hash": content_hash(cfg), "seed": snakemake.params.seed})
