"""Adapter: build the experiment's seeded train/test sets: digits or CIFAR-2 images
(tdacore.data.dataset.make_dataset), music (tdacore.data.music.make_music_dataset) or text
(tdacore.data.text.make_text_dataset)."""

from pathlib import Path

from tdacore.data.dataset import make_dataset, write_dataset
from tdacore.data.music import make_music_dataset
from tdacore.data.sources import TASKS
from tdacore.data.text import make_text_dataset
from tdacore.infra.steplog import start_log
from tdacore.infra.store import content_hash

log = start_log(snakemake.log[0])
cfg, seed = snakemake.params.data, snakemake.params.seed
info = {}
if cfg["source"] == "shakespeare":
    data, info = make_text_dataset(
        snakemake.input.raw[0],
        cfg["n_train"],
        cfg["n_test"],
        cfg["seq_len"],
        cfg["continuation"],
        cfg["test_fraction"],
        seed,
    )
elif TASKS[cfg["source"]] == "sequence":
    data, info = make_music_dataset(
        cfg["source"],
        snakemake.input.raw[0],
        cfg["n_train"],
        cfg["n_test"],
        cfg["seq_len"],
        seed,
        cfg.get("test_fraction"),
    )
    for path in info["skipped_files"]:
        log.warning("skipped unreadable MIDI file %s", path)
else:
    # the raw data's folder (its default where the config gives none): data.idx_dir, data.cifar_dir
    raw = snakemake.input.raw
    folders = {"idx_dir": Path(raw[0]).parent} if cfg["source"] == "mnist_idx" else {"cifar_dir": raw[0]} if raw else {}
    data = make_dataset(cfg["source"], cfg["n_train"], cfg["n_test"], seed, **folders)
log.info(
    "%s: %d train / %d test examples, %d classes %s", data.task, data.n_train, len(data.y_test), data.n_classes, info
)
write_dataset(snakemake.output[0], data, {"data_config": cfg, "config_hash": content_hash(cfg), "seed": seed, **info})
