"""The generative setting's data set (Appendix B.1): MIDI pieces -> event streams (tdacore.data.midi)
-> training sequences of L + 1 events and test prompts of L events, split by piece.

Training sequences are windows drawn uniformly over every position of every training piece
(music_corpus.sample_windows); prompts are one window from each of n_test test pieces chosen at
random (MAESTRO: 178 prompts from its official test split, which has 178 pieces). A piece that
cannot be read is skipped with a warning naming it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from tdacore.data.dataset import Dataset, sequence_dataset
from tdacore.data.midi import VOCAB_SIZE, read_event_streams
from tdacore.data.music_corpus import maestro_split, sample_windows, split_pieces
from tdacore.infra.seeds import derive_seed, numpy_rng


def piece_split(
    source: str, raw_dir: str | os.PathLike, seed: int, test_fraction: float | None = None
) -> tuple[list[Path], list[Path]]:
    """(train pieces, test pieces): MAESTRO's official train and test splits, or a seeded split
    of the exported chorales by piece (`test_fraction` of them held out)."""
    if source == "maestro":
        split = maestro_split(raw_dir)
        return split["train"], split["test"]
    if source == "bach_chorales":
        pieces = sorted(Path(raw_dir).glob("*.mid"))
        if not pieces:
            raise FileNotFoundError(
                f"no .mid files in {raw_dir} (tdacore.data.music_corpus.export_chorales writes them)"
            )
        return split_pieces(pieces, test_fraction, derive_seed(seed, "piece-split"))
    raise ValueError(f"data.source: '{source}' is not a music source (bach_chorales, maestro)")


def one_window_per_piece(streams: list[np.ndarray], n: int, length: int, seed: int) -> np.ndarray:
    """(n, length): one window at a random offset from each of n pieces drawn at random among
    those with at least `length` events."""
    long_enough = [s for s in streams if len(s) >= length]
    if n > len(long_enough):
        raise ValueError(
            f"asked for {n} prompts of {length} events, but only {len(long_enough)} of {len(streams)} test pieces "
            "are that long"
        )
    rng = numpy_rng(seed)
    pieces = rng.choice(len(long_enough), size=n, replace=False)
    starts = [rng.integers(0, len(long_enough[p]) - length + 1) for p in pieces]
    return np.stack([long_enough[p][s : s + length] for p, s in zip(pieces, starts)]).astype(np.int64)


def make_music_dataset(
    source: str,
    raw_dir: str | os.PathLike,
    n_train: int,
    n_test: int,
    seq_len: int,
    seed: int,
    test_fraction: float | None = None,
) -> tuple[Dataset, dict[str, Any]]:
    """The sequence data set and what went into it (pieces per side, events, files skipped)."""
    train_pieces, test_pieces = piece_split(source, raw_dir, seed, test_fraction)
    streams = read_event_streams([*train_pieces, *test_pieces])
    train = [streams[p] for p in map(Path, train_pieces) if p in streams]
    test = [streams[p] for p in map(Path, test_pieces) if p in streams]
    windows = sample_windows(train, n_train, seq_len + 1, derive_seed(seed, "train-windows"))
    prompts = one_window_per_piece(test, n_test, seq_len, derive_seed(seed, "test-prompts"))
    info = {
        "train_pieces": len(train),
        "test_pieces": len(test),
        "train_events": int(sum(map(len, train))),
        "test_events": int(sum(map(len, test))),
        "skipped_files": sorted(str(p) for p in map(Path, [*train_pieces, *test_pieces]) if p not in streams),
    }
    return sequence_dataset(windows, prompts, VOCAB_SIZE), info
