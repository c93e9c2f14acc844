"""Appendix J's language-modelling setting: a plain text file (tiny-shakespeare's `input.txt`)
-> training windows and test windows whose real continuation the model output scores.

Tokens are the file's bytes (tdacore.data.sources.BYTE_VOCAB_SIZE = 256; tiny-shakespeare is ASCII, so one
byte is one character). The text is split once: its first 1 - test_fraction is the training part,
the rest the held-out part, so that no test character is inside the training part. Training
examples are n_train distinct windows of L + 1 characters of the training part (inputs the first
L, targets the last L); test examples are n_test distinct windows of L + 1 characters of the
held-out part, each window's last `continuation` characters scored given everything before them
(the model output f is the log-likelihood of that real continuation; no generation step).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from tdacore.data.dataset import Dataset, sequence_dataset, with_test_targets
from tdacore.data.music_corpus import sample_windows
from tdacore.data.sources import BYTE_VOCAB_SIZE
from tdacore.infra.seeds import derive_seed


def read_text(path: str | os.PathLike) -> np.ndarray:
    """The file's bytes as int64 token ids in [0, 256); a missing or empty file is an error
    naming it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"text file {path} is missing")
    tokens = np.frombuffer(path.read_bytes(), dtype=np.uint8).astype(np.int64)
    if not len(tokens):
        raise ValueError(f"text file {path} is empty")
    return tokens


def split_text(tokens: np.ndarray, test_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """(training part, held-out part): the first round((1 - test_fraction) * n) tokens and the rest."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"data.test_fraction must be in (0, 1), got {test_fraction}")
    cut = int(round((1 - test_fraction) * len(tokens)))
    return tokens[:cut], tokens[cut:]


def make_text_dataset(
    path: str | os.PathLike, n_train: int, n_test: int, seq_len: int, continuation: int, test_fraction: float, seed: int
) -> tuple[Dataset, dict[str, Any]]:
    """The sequence data set of a text file and what went into it (characters per part)."""
    if not 1 <= continuation <= seq_len:
        raise ValueError(f"data.continuation = {continuation} must be between 1 and data.seq_len = {seq_len}")
    train_part, test_part = split_text(read_text(path), test_fraction)
    windows = sample_windows([train_part], n_train, seq_len + 1, derive_seed(seed, "train-windows"))
    tests = sample_windows([test_part], n_test, seq_len + 1, derive_seed(seed, "test-windows"))
    data = with_test_targets(sequence_dataset(windows, tests[:, :-1], BYTE_VOCAB_SIZE), tests[:, -continuation:])
    info = {
        "train_characters": len(train_part),
        "test_characters": len(test_part),
        "distinct_characters": len(np.unique(np.concatenate([train_part, test_part]))),
    }
    return data, info
