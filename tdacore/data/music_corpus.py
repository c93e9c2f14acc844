"""Where the pieces of the Music Transformer experiment come from and how they become windows.

Two sources: MAESTRO v2.0.0 (Appendix B.1; its own train/validation/test split, read from
`maestro-v2.0.0.csv`) and, as an offline stand-in, the Bach chorales shipped with music21.
Event streams come from `tdacore.data.midi`; `sample_windows` cuts them into fixed-length windows.
"""

from __future__ import annotations

import csv
import os
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tdacore.infra.store import atomic_path

if TYPE_CHECKING:
    from music21.midi import MidiFile

MAESTRO_CSV = "maestro-v2.0.0.csv"
MAESTRO_SPLITS = ("train", "validation", "test")


def chorale_sources(unique: bool = True) -> list[tuple[int, str]]:
    """(Riemenschneider number, music21 corpus name) of the Bach chorales, in Riemenschneider order.

    music21's `corpus.chorales.Iterator()` numbers 371 chorales, but several numbers point at
    the same corpus file (371 numbers, 350 files in music21 10.5). With `unique` only the
    first number of each file is kept, so no piece can land on both sides of a split.
    """
    from music21.corpus import chorales

    iterator = chorales.Iterator(returnType="filename")
    numbers = list(iterator.numberList)
    names = list(iterator)
    if len(numbers) != len(names):
        raise RuntimeError(f"music21 chorale iterator gave {len(names)} files for {len(numbers)} numbers")
    sources, seen = [], set()
    for number, name in zip(numbers, names):
        if unique and name in seen:
            continue
        seen.add(name)
        sources.append((int(number), str(name)))
    return sources


def chorale_file_name(number: int, corpus_name: str) -> str:
    """Stable file name, e.g. `chorale_r001_bwv269.mid` for Riemenschneider 1, corpus `bach/bwv269`."""
    return f"chorale_r{number:03d}_{corpus_name.rsplit('/', 1)[-1]}.mid"


def _chorale_midi(number: int, name: str) -> MidiFile:
    """The music21 MidiFile of one chorale, repeats expanded; see `export_chorales`."""
    from music21 import bar, corpus, repeat, stream
    from music21.midi.translate import streamToMidiFile

    score = corpus.parse(name)
    try:
        return streamToMidiFile(score)
    except repeat.ExpanderException as error:
        warnings.warn(f"chorale r{number:03d} ({name}): {error}; exported with its repeats played once", stacklevel=3)
    for measure in list(score.recurse().getElementsByClass(stream.Measure)):
        if isinstance(measure.leftBarline, bar.Repeat):
            measure.leftBarline = None
        if isinstance(measure.rightBarline, bar.Repeat):
            measure.rightBarline = bar.Barline()
    return streamToMidiFile(score)


def export_chorales(
    out_dir: str | os.PathLike, limit: int | None = None, unique: bool = True, overwrite: bool = False
) -> list[Path]:
    """Export the music21 Bach chorales to MIDI files in `out_dir`, one per chorale; their paths.

    Order and names follow `chorale_sources(unique)` and `chorale_file_name`; `limit` keeps the
    first `limit` chorales. Each file is written atomically, so an existing file is complete
    and is kept unless `overwrite`. The scores carry no dynamics; music21 10.5 writes every
    note at its default velocity 90 (bin 22), one track per voice, at 120 bpm.
    music21 expands repeats on export; a chorale whose repeats it cannot expand (music21 10.5:
    Riemenschneider 15, bach/bwv277) is exported with them played once, with a warning.
    music21 parses offline from its bundled corpus (export ~0.4 s a chorale) and caches parsed
    scores under `tempfile.gettempdir()`/music21, i.e. $TMPDIR/music21 when TMPDIR is set in
    the environment before the process first asks for the temp dir; the caller chooses TMPDIR.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sources = chorale_sources(unique)
    if limit is not None:
        sources = sources[:limit]
    paths = []
    for number, name in sources:
        path = out / chorale_file_name(number, name)
        if overwrite or not path.exists():
            midi_file = _chorale_midi(number, name)
            with atomic_path(path) as tmp:
                midi_file.open(str(tmp), "wb")
                try:
                    midi_file.write()
                finally:
                    midi_file.close()
        paths.append(path)
    return paths


def maestro_split(root: str | os.PathLike) -> dict[str, list[Path]]:
    """MAESTRO v2.0.0's official split: {'train', 'validation', 'test'} -> MIDI paths under `root`.

    Reads `root/maestro-v2.0.0.csv` (columns canonical_composer, canonical_title, split, year,
    midi_filename, audio_filename, duration); paths keep the CSV's row order and are not
    checked for existence.
    """
    table = Path(root) / MAESTRO_CSV
    if not table.is_file():
        raise FileNotFoundError(f"MAESTRO metadata not found: {table}")
    split: dict[str, list[Path]] = {name: [] for name in MAESTRO_SPLITS}
    with open(table, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ("split", "midi_filename") if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{table} lacks column(s) {missing}; it has {reader.fieldnames}")
        for line, row in enumerate(reader, start=2):
            if row["split"] not in split:
                raise ValueError(f"{table} line {line}: split {row['split']!r} is not one of {MAESTRO_SPLITS}")
            split[row["split"]].append(Path(root) / row["midi_filename"])
    return split


def split_pieces(paths: Iterable[str | os.PathLike], test_fraction: float, seed: int) -> tuple[list[Path], list[Path]]:
    """Seeded split of pieces (one file each) into (train, test), both sorted.

    Duplicate paths count once; the result depends on the set of paths, not their order.
    The test side gets round(test_fraction * n) pieces, at least 1 and at most n - 1.
    """
    pieces = sorted(set(map(Path, paths)))
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    if len(pieces) < 2:
        raise ValueError(f"need at least 2 pieces to split, got {len(pieces)}")
    n_test = min(max(round(test_fraction * len(pieces)), 1), len(pieces) - 1)
    order = np.random.default_rng(seed).permutation(len(pieces))
    test = sorted(pieces[i] for i in order[:n_test])
    train = sorted(pieces[i] for i in order[n_test:])
    return train, test


def window_positions(lengths: Sequence[int], n: int, length: int, seed: int) -> np.ndarray:
    """(n, 2) int64 rows (stream index, offset) of distinct windows of `length` events.

    Every (stream, offset) with offset + length <= that stream's length is equally likely, so
    longer streams give more windows; the n positions are distinct, in the order drawn.
    Raises ValueError when fewer than n positions exist.
    """
    if n < 0 or length < 1:
        raise ValueError(f"need n >= 0 and length >= 1, got n={n}, length={length}")
    counts = np.maximum(np.asarray(lengths, dtype=np.int64) - length + 1, 0)
    total = int(counts.sum())
    if n > total:
        raise ValueError(
            f"asked for {n} windows of {length} events, but only {total} distinct windows exist "
            f"({int((counts > 0).sum())} of {len(counts)} streams have >= {length} events; "
            f"longest has {int(max(lengths, default=0))})"
        )
    flat = np.random.default_rng(seed).choice(total, size=n, replace=False)
    ends = np.cumsum(counts)
    stream = np.searchsorted(ends, flat, side="right")
    offset = flat - (ends[stream] - counts[stream])
    return np.stack([stream, offset], axis=1).astype(np.int64)


def sample_windows(streams: Sequence[np.ndarray], n: int, length: int, seed: int) -> np.ndarray:
    """(n, length) int64: the windows at `window_positions([len(s) for s in streams], n, length, seed)`."""
    positions = window_positions([len(s) for s in streams], n, length, seed)
    windows = np.empty((n, length), dtype=np.int64)
    for row, (stream, offset) in enumerate(positions):
        windows[row] = streams[stream][offset : offset + length]
    return windows
