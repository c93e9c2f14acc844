"""MIDI <-> event ids: the 388-event performance vocabulary of the Music Transformer experiment.

Appendix B.1 of *Efficient Ensembles Improve Training Data Attribution* trains a Music
Transformer on MAESTRO v2.0.0 with the vocabulary of Huang et al. 2018 (*Music Transformer*),
itself Oore et al.'s performance-RNN encoding:

    ids   0..127  NOTE_ON(pitch)
    ids 128..255  NOTE_OFF(pitch)
    ids 256..355  TIME_SHIFT of (k + 1) * 10 ms, k = id - 256  (10 ms .. 1000 ms)
    ids 356..387  VELOCITY(bin), bin = id - 356  (32 bins over velocities 1..127)

Encoding rules (`quantise_notes`, `notes_to_events`):

* Times are rounded to the 10 ms grid (negative times clamp to 0). The stream starts at
  time 0, so leading silence is kept as TIME_SHIFT events. A gap longer than 1 s becomes
  several TIME_SHIFT events: full 1 s shifts, then the remainder (2.5 s -> 100, 100, 50 steps).
* Velocity v (clipped to 1..127) falls in bin (v - 1) // 4; bin b decodes to the fixed
  representative 4 b + 2, whose bin is b again, so a quantised velocity round-trips exactly.
  A VELOCITY event precedes a NOTE_ON only when the bin differs from the last one emitted
  (the first NOTE_ON always gets one).
* At one time step the NOTE_OFFs come first (ascending pitch), then the NOTE_ONs (ascending pitch).
* (a) Same-pitch overlap: a note starting while an earlier note on its pitch still sounds
  ends that earlier note at its own start. Of several notes with the same pitch and the same
  quantised start only the longest is kept (the louder on a tie).
* (b) Pitches outside 0..127 are dropped and counted.
* (c) A note whose quantised end is not after its quantised start lasts one step (10 ms).
* (d) No notes (e.g. a MIDI file without notes) gives an empty event array.
* (e) `read_event_streams` skips a corrupt or unreadable file with a warning naming it.

Decoding (`events_to_notes`) is tolerant: a NOTE_OFF for a pitch that is not sounding is
ignored, a NOTE_ON on a sounding pitch first ends the sounding note, notes still open at the
end close at the final time, and zero-length notes are dropped. Before the first VELOCITY
event notes get `DEFAULT_VELOCITY`.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import pretty_midi

from tdacore.data.event_vocab import (
    N_PITCHES,
    N_TIME_SHIFTS,
    N_VELOCITY_BINS,
    NOTE_OFF,
    NOTE_ON,
    TIME_SHIFT,
    VELOCITY,
    VOCAB_SIZE,
)
from tdacore.infra.store import atomic_path

log = logging.getLogger(__name__)

STEPS_PER_SECOND = 100  # one TIME_SHIFT step is 10 ms
VELOCITY_BIN_WIDTH = 4  # ceil(127 / 32)

# The written MIDI file has 500 ticks per beat at 120 bpm: 1000 ticks per second, so every
# 10 ms grid point is a whole number of ticks.
_MIDI_RESOLUTION = 500
_MIDI_TEMPO = 120.0


@dataclass(frozen=True)
class Note:
    """One note: MIDI pitch, velocity 1..127, start and end in seconds."""

    pitch: int
    velocity: int
    start: float
    end: float


class NoteLike(Protocol):
    pitch: int
    velocity: int
    start: float
    end: float


def velocity_to_bin(velocity: int) -> int:
    """Velocity (clipped to 1..127) -> bin 0..31."""
    return (min(max(int(velocity), 1), 127) - 1) // VELOCITY_BIN_WIDTH


def bin_to_velocity(velocity_bin: int) -> int:
    """Bin 0..31 -> its representative velocity 4 b + 2 (2, 6, ..., 126)."""
    if not 0 <= velocity_bin < N_VELOCITY_BINS:
        raise ValueError(f"velocity bin {velocity_bin} outside 0..{N_VELOCITY_BINS - 1}")
    return VELOCITY_BIN_WIDTH * int(velocity_bin) + 2


DEFAULT_VELOCITY = bin_to_velocity(velocity_to_bin(64))  # 62


def _to_step(seconds: float) -> int:
    return max(0, int(np.floor(float(seconds) * STEPS_PER_SECOND + 0.5)))


def quantise_notes(notes: Iterable[NoteLike]) -> tuple[list[Note], dict[str, int]]:
    """Notes on the 10 ms grid with bin-representative velocities, after rules (a)-(c).

    Returns the notes sorted by (start, pitch) and the counts of what the rules changed:
    `out_of_range` (dropped pitches), `zero_length` (extended to one step), `same_start`
    (dropped duplicates of a pitch and start) and `cut` (notes ended early by a later note).
    """
    counts = {"out_of_range": 0, "zero_length": 0, "same_start": 0, "cut": 0}
    by_pitch: dict[int, dict[int, tuple[int, int]]] = {}  # pitch -> start step -> (end step, velocity)
    for note in notes:
        pitch = int(note.pitch)
        if not 0 <= pitch < N_PITCHES:
            counts["out_of_range"] += 1
            continue
        start, end = _to_step(note.start), _to_step(note.end)
        if end <= start:
            counts["zero_length"] += 1
            end = start + 1
        velocity = bin_to_velocity(velocity_to_bin(note.velocity))
        starts = by_pitch.setdefault(pitch, {})
        if start in starts:
            counts["same_start"] += 1
            if (end, velocity) <= starts[start]:
                continue
        starts[start] = (end, velocity)
    out: list[Note] = []
    for pitch, starts in by_pitch.items():
        ordered = sorted(starts)
        for i, start in enumerate(ordered):
            end, velocity = starts[start]
            if i + 1 < len(ordered) and end > ordered[i + 1]:
                counts["cut"] += 1
                end = ordered[i + 1]
            out.append(Note(pitch, velocity, start / STEPS_PER_SECOND, end / STEPS_PER_SECOND))
    out.sort(key=lambda n: (n.start, n.pitch))
    return out, counts


def notes_to_events(notes: Iterable[NoteLike]) -> np.ndarray:
    """Notes (`Note`, `pretty_midi.Note` or alike) -> int64 event ids, by the module's rules."""
    quantised, counts = quantise_notes(notes)
    if counts["out_of_range"]:
        log.info("dropped %d notes with pitch outside 0..127", counts["out_of_range"])
    # (step, 0 = off / 1 = on, pitch, velocity bin)
    actions = []
    for note in quantised:
        actions.append((_to_step(note.start), 1, note.pitch, velocity_to_bin(note.velocity)))
        actions.append((_to_step(note.end), 0, note.pitch, -1))
    actions.sort()
    events: list[int] = []
    now, current_bin = 0, None
    for step, is_on, pitch, velocity_bin in actions:
        gap = step - now
        while gap > 0:
            shift = min(gap, N_TIME_SHIFTS)
            events.append(TIME_SHIFT + shift - 1)
            gap -= shift
        now = step
        if is_on:
            if velocity_bin != current_bin:
                events.append(VELOCITY + velocity_bin)
                current_bin = velocity_bin
            events.append(NOTE_ON + pitch)
        else:
            events.append(NOTE_OFF + pitch)
    return np.asarray(events, dtype=np.int64)


def events_to_notes(events: Sequence[int] | np.ndarray) -> list[Note]:
    """Event ids -> notes sorted by (start, pitch); tolerant as the module docstring says.

    Raises ValueError on an id outside 0..VOCAB_SIZE-1.
    """
    ids = np.asarray(events, dtype=np.int64).reshape(-1)
    bad = ids[(ids < 0) | (ids >= VOCAB_SIZE)]
    if bad.size:
        raise ValueError(f"event id {int(bad[0])} outside 0..{VOCAB_SIZE - 1}")
    now, velocity = 0, DEFAULT_VELOCITY
    sounding: dict[int, tuple[int, int]] = {}  # pitch -> (start step, velocity)
    notes: list[Note] = []

    def close(pitch: int) -> None:
        start, vel = sounding.pop(pitch)
        if now > start:
            notes.append(Note(pitch, vel, start / STEPS_PER_SECOND, now / STEPS_PER_SECOND))

    for event in ids.tolist():
        if event < NOTE_OFF:
            if event in sounding:
                close(event)
            sounding[event] = (now, velocity)
        elif event < TIME_SHIFT:
            if event - NOTE_OFF in sounding:
                close(event - NOTE_OFF)
        elif event < VELOCITY:
            now += event - TIME_SHIFT + 1
        else:
            velocity = bin_to_velocity(event - VELOCITY)
    for pitch in list(sounding):
        close(pitch)
    notes.sort(key=lambda n: (n.start, n.pitch))
    return notes


def read_notes(path: str | os.PathLike) -> list[pretty_midi.Note]:
    """The notes of every non-drum instrument of a MIDI file, merged.

    Sustain pedal (and every other control change) is ignored: a note lasts from its
    note-on to its note-off.
    """
    midi = pretty_midi.PrettyMIDI(str(path))
    return [note for instrument in midi.instruments if not instrument.is_drum for note in instrument.notes]


def midi_to_events(path: str | os.PathLike) -> np.ndarray:
    """A MIDI file -> event ids (non-drum instruments merged, sustain pedal ignored)."""
    return notes_to_events(read_notes(path))


def events_to_midi(events: Sequence[int] | np.ndarray, path: str | os.PathLike, program: int = 0) -> None:
    """Write the decoded events as a one-instrument MIDI file (acoustic grand piano), atomically."""
    midi = pretty_midi.PrettyMIDI(resolution=_MIDI_RESOLUTION, initial_tempo=_MIDI_TEMPO)
    piano = pretty_midi.Instrument(program=program, name="Piano")
    piano.notes = [pretty_midi.Note(n.velocity, n.pitch, n.start, n.end) for n in events_to_notes(events)]
    midi.instruments.append(piano)
    with atomic_path(path) as tmp:
        midi.write(str(tmp))


def read_event_streams(paths: Iterable[str | os.PathLike]) -> dict[Path, np.ndarray]:
    """Encode each MIDI file; a file that cannot be parsed is skipped with a warning naming it.

    Keys are the paths as given (as `Path`), in input order. A missing file is not skipped:
    FileNotFoundError is raised, since it points at a wrong path rather than a bad file.
    """
    streams: dict[Path, np.ndarray] = {}
    for path in map(Path, paths):
        if not path.is_file():
            raise FileNotFoundError(f"no MIDI file at {path}")
        try:
            streams[path] = midi_to_events(path)
        except Exception as error:  # pretty_midi/mido raise many types on bad bytes
            warnings.warn(f"skipping unreadable MIDI file {path}: {type(error).__name__}: {error}", stacklevel=2)
    return streams
