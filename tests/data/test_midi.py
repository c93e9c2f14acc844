"""The MIDI event codec (tdacore.data.midi) and the music corpus helpers (tdacore.data.music_corpus)."""

from __future__ import annotations

import tempfile
import warnings

import numpy as np
import pretty_midi
import pytest

from tdacore.data import midi
from tdacore.data.midi import Note
from tdacore.data.music_corpus import export_chorales, maestro_split, sample_windows, split_pieces, window_positions

# Independent spellings of the token layout (Appendix B.1): NOTE_ON p, NOTE_OFF p, a shift of
# s steps of 10 ms, velocity bin b.
ON = lambda p: p  # noqa: E731
OFF = lambda p: 128 + p  # noqa: E731
SHIFT = lambda steps: 255 + steps  # noqa: E731
VEL = lambda b: 356 + b  # noqa: E731


def _bin(velocity: int) -> int:
    """32 bins of width 4 over 1..127, by their lower edges 1, 5, ..., 125."""
    return int(np.searchsorted(np.arange(1, 128, 4), velocity, side="right")) - 1


def _grid_notes(rng: np.random.Generator, n: int) -> list[Note]:
    """Random notes on the 10 ms grid, bin-representative velocities, no same-pitch overlap."""
    notes: list[Note] = []
    intervals: dict[int, list[tuple[int, int]]] = {}  # pitch -> (start, end) in steps
    while len(notes) < n:
        pitch = int(rng.integers(21, 109))
        start = int(rng.integers(0, 1500))
        end = start + int(rng.integers(1, 300))
        if any(start < e and s < end for s, e in intervals.get(pitch, [])):
            continue
        intervals.setdefault(pitch, []).append((start, end))
        notes.append(Note(pitch, 4 * int(rng.integers(0, 32)) + 2, start / 100, end / 100))
    return sorted(notes, key=lambda n: (n.start, n.pitch))


def _write_pretty_midi(path, notes: list[tuple[int, int, float, float]], drums=()) -> None:
    pm = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(program=0)
    piano.notes = [pretty_midi.Note(velocity=v, pitch=p, start=s, end=e) for p, v, s, e in notes]
    pm.instruments.append(piano)
    if drums:
        kit = pretty_midi.Instrument(program=0, is_drum=True)
        kit.notes = [pretty_midi.Note(velocity=v, pitch=p, start=s, end=e) for p, v, s, e in drums]
        pm.instruments.append(kit)
    pm.write(str(path))


def test_token_layout():
    assert (midi.NOTE_ON, midi.NOTE_OFF, midi.TIME_SHIFT, midi.VELOCITY, midi.VOCAB_SIZE) == (0, 128, 256, 356, 388)
    assert 128 + 128 + 100 + 32 == midi.VOCAB_SIZE


def test_velocity_bins():
    for velocity in range(1, 128):
        b = midi.velocity_to_bin(velocity)
        assert b == _bin(velocity) == (velocity - 1) // 4
        representative = midi.bin_to_velocity(b)
        assert midi.velocity_to_bin(representative) == b
        assert abs(representative - velocity) <= 2
    assert sorted({midi.velocity_to_bin(v) for v in range(1, 128)}) == list(range(32))
    assert midi.velocity_to_bin(0) == 0 and midi.velocity_to_bin(200) == 31  # clipped
    assert midi.DEFAULT_VELOCITY == 62


def test_hand_built_example():
    notes = [
        Note(60, 63, 0.5, 1.0),  # bin 15, after 0.5 s of leading silence
        Note(67, 61, 0.5, 1.0),  # same bin: no second VELOCITY event
        Note(72, 100, 3.5, 3.52),  # bin 24, after a 2.5 s gap
    ]
    expected = [
        SHIFT(50), VEL(15), ON(60), ON(67),
        SHIFT(50), OFF(60), OFF(67),
        SHIFT(100), SHIFT(100), SHIFT(50), VEL(24), ON(72),
        SHIFT(2), OFF(72),
    ]  # fmt: skip
    assert expected == [305, 371, 60, 67, 305, 188, 195, 355, 355, 305, 380, 72, 257, 200]
    events = midi.notes_to_events(notes)
    assert events.dtype == np.int64
    assert events.tolist() == expected
    assert midi.events_to_notes(events) == [
        Note(60, 62, 0.5, 1.0),
        Note(67, 62, 0.5, 1.0),
        Note(72, 98, 3.5, 3.52),
    ]


def test_quantisation_to_grid():
    # 0.0149 s -> step 1, 0.996 s -> step 100, velocity 90 -> bin 22 -> 90.
    events = midi.notes_to_events([Note(40, 90, 0.0149, 0.996)])
    assert events.tolist() == [SHIFT(1), VEL(22), ON(40), SHIFT(99), OFF(40)]


def test_grid_notes_round_trip_through_midi_file(tmp_path):
    notes = _grid_notes(np.random.default_rng(0), 80)
    events = midi.notes_to_events(notes)
    assert midi.events_to_notes(events) == notes
    assert (events >= 0).all() and (events < midi.VOCAB_SIZE).all()
    assert int((events < 128).sum()) == int(((events >= 128) & (events < 256)).sum()) == len(notes)
    shifts = events[(events >= 256) & (events < 356)] - 255
    assert int(shifts.sum()) == round(max(n.end for n in notes) * 100)
    path = tmp_path / "grid.mid"
    midi.events_to_midi(events, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid.mid"]  # no temporary left behind
    assert midi.midi_to_events(path).tolist() == events.tolist()
    pm = pretty_midi.PrettyMIDI(str(path))
    assert len(pm.instruments) == 1 and pm.instruments[0].program == 0
    assert len(pm.instruments[0].notes) == len(notes)


def test_midi_events_midi_events_is_stable(tmp_path):
    rng = np.random.default_rng(1)
    raw = [
        (int(rng.integers(37, 128)), int(rng.integers(1, 128)), float(s), float(s + rng.uniform(0.001, 2.0)))
        for s in np.sort(rng.uniform(0, 20, size=120))
    ]
    source = tmp_path / "source.mid"
    _write_pretty_midi(source, raw, drums=[(36, 100, 0.0, 0.1)])
    first = midi.midi_to_events(source)
    again = tmp_path / "again.mid"
    midi.events_to_midi(first, again)
    assert midi.midi_to_events(again).tolist() == first.tolist()
    # Drums are ignored: the events are those of the piano notes as read back. (Not of `raw`:
    # the file stores times in ticks and pairs overlapping same-pitch note-ons/offs its own way.)
    piano, drums = pretty_midi.PrettyMIDI(str(source)).instruments
    assert first.tolist() == midi.notes_to_events(piano.notes).tolist()
    assert len(drums.notes) == 1 and not (first == 36).any()


def test_overlapping_same_pitch_notes():
    notes = [
        Note(60, 64, 0.0, 1.0),
        Note(60, 64, 0.5, 0.8),  # starts while the first sounds: the first ends at 0.5
        Note(62, 40, 0.0, 0.3),
        Note(62, 90, 0.0, 0.6),  # same pitch and start: the longer one is kept
    ]
    kept, counts = midi.quantise_notes(notes)
    assert kept == [Note(60, 62, 0.0, 0.5), Note(62, 90, 0.0, 0.6), Note(60, 62, 0.5, 0.8)]
    assert counts == {"out_of_range": 0, "zero_length": 0, "same_start": 1, "cut": 1}
    events = midi.notes_to_events(notes)
    assert events.tolist() == [
        VEL(15), ON(60), VEL(22), ON(62),
        SHIFT(50), OFF(60), VEL(15), ON(60),
        SHIFT(10), OFF(62),
        SHIFT(20), OFF(60),
    ]  # fmt: skip
    assert midi.events_to_notes(events) == kept


def test_out_of_range_pitches_are_dropped_and_counted():
    inside = [Note(0, 62, 0.0, 0.1), Note(127, 62, 0.1, 0.2)]
    outside = [Note(-1, 64, 0.0, 0.5), Note(128, 64, 0.0, 0.5), Note(300, 64, 1.0, 2.0)]
    kept, counts = midi.quantise_notes(inside + outside)
    assert counts["out_of_range"] == 3
    assert kept == inside
    assert midi.notes_to_events(inside + outside).tolist() == midi.notes_to_events(inside).tolist()


def test_zero_length_notes_last_one_step():
    kept, counts = midi.quantise_notes([Note(60, 64, 1.001, 1.003), Note(61, 64, 2.0, 1.5)])
    assert counts["zero_length"] == 2
    assert kept == [Note(60, 62, 1.0, 1.01), Note(61, 62, 2.0, 2.01)]
    assert midi.notes_to_events([Note(60, 64, 1.001, 1.003)]).tolist() == [
        SHIFT(100),
        VEL(15),
        ON(60),
        SHIFT(1),
        OFF(60),
    ]


def test_decoding_is_tolerant():
    events = [
        OFF(50),  # nothing sounding: ignored
        ON(60),  # default velocity 62
        SHIFT(10), ON(60),  # re-strike: the first note ends here
        VEL(31), ON(64),
        SHIFT(5), ON(65), OFF(65),  # zero length: dropped
        SHIFT(20),  # 60 and 64 are still open: closed at the final time 0.35 s
    ]  # fmt: skip
    assert midi.events_to_notes(events) == [
        Note(60, 62, 0.0, 0.1),
        Note(60, 62, 0.1, 0.35),
        Note(64, 126, 0.1, 0.35),
    ]
    assert midi.events_to_notes([]) == []
    with pytest.raises(ValueError, match="388"):
        midi.events_to_notes([0, 388])


def test_read_event_streams_skips_corrupt_files(tmp_path):
    good = tmp_path / "good.mid"
    _write_pretty_midi(good, [(60, 64, 0.0, 0.5)])
    empty = tmp_path / "empty.mid"
    pretty_midi.PrettyMIDI().write(str(empty))
    corrupt = tmp_path / "corrupt.mid"
    corrupt.write_bytes(b"these bytes are not a MIDI file" * 4)
    truncated = tmp_path / "truncated.mid"
    truncated.write_bytes(b"")
    with pytest.warns(UserWarning) as record:
        streams = midi.read_event_streams([corrupt, good, truncated, empty])
    messages = [str(w.message) for w in record]
    assert len(messages) == 2
    assert "corrupt.mid" in messages[0] and "truncated.mid" in messages[1]
    assert list(streams) == [good, empty]
    assert streams[good].tolist() == [VEL(15), ON(60), SHIFT(50), OFF(60)]
    assert streams[empty].shape == (0,) and streams[empty].dtype == np.int64
    assert midi.midi_to_events(empty).shape == (0,)
    with pytest.raises(FileNotFoundError, match="missing.mid"):
        midi.read_event_streams([tmp_path / "missing.mid"])


@pytest.fixture
def music21_cache(tmp_path, monkeypatch):
    """Point music21's parse cache at tmp_path/tmp/music21 (as TMPDIR=tmp_path/tmp would)."""
    cache_root = tmp_path / "tmp"
    cache_root.mkdir()
    monkeypatch.setenv("TMPDIR", str(cache_root))
    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR (pytest has already read it)
    from music21 import environment

    core = environment.envSingleton()
    if hasattr(core, "defaultRootTempDir"):
        monkeypatch.setattr(core, "defaultRootTempDir", None)
    return cache_root / "music21"


def test_export_chorales(tmp_path, music21_cache):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the first two chorales export cleanly
        paths = export_chorales(tmp_path / "chorales", limit=2)
    assert [p.name for p in paths] == ["chorale_r001_bwv269.mid", "chorale_r002_bwv347.mid"]
    assert sorted(p.name for p in (tmp_path / "chorales").iterdir()) == [p.name for p in paths]
    assert any(music21_cache.iterdir())  # music21's parse cache went under TMPDIR
    streams = midi.read_event_streams(paths)
    assert list(streams) == paths
    for path, events in streams.items():
        notes = midi.read_notes(path)
        # music21 realises the (absent) dynamics of these scores as velocity 90 on every note.
        assert {n.velocity for n in notes} == {90}
        assert len(events) > 100
        velocity_events = events[events >= 356]
        assert velocity_events.tolist() == [356 + (90 - 1) // 4]  # one VELOCITY event, bin 22
        assert int((events < 128).sum()) <= len(notes)  # unison voices merge under rule (a)
    mtimes = [p.stat().st_mtime_ns for p in paths]
    assert export_chorales(tmp_path / "chorales", limit=2) == paths  # existing files are kept
    assert [p.stat().st_mtime_ns for p in paths] == mtimes


def test_chorale_with_unexpandable_repeats(music21_cache):
    # music21 cannot expand the repeats of Riemenschneider 15 (bach/bwv277): played once instead.
    from tdacore.data.music_corpus import _chorale_midi

    with pytest.warns(UserWarning, match=r"r015 \(bach/bwv277\).*played once"):
        midi_file = _chorale_midi(15, "bach/bwv277")
    assert len(midi_file.tracks) >= 4


MAESTRO_HEADER = "canonical_composer,canonical_title,split,year,midi_filename,audio_filename,duration\n"


def test_maestro_split(tmp_path):
    rows = [
        "Alban Berg,Sonata Op. 1,train,2018,2018/a.midi,2018/a.wav,698.66\n",
        '"Bach, J.S.","Prelude and Fugue in A Minor, WTC I",validation,2009,2009/b.mid,2009/b.wav,12.5\n',
        "Chopin,Ballade,test,2004,2004/c.midi,2004/c.wav,400\n",
        "Chopin,Etude,train,2006,2006/d.midi,2006/d.wav,100\n",
    ]
    (tmp_path / "maestro-v2.0.0.csv").write_text(MAESTRO_HEADER + "".join(rows), encoding="utf-8")
    split = maestro_split(tmp_path)
    assert split == {
        "train": [tmp_path / "2018/a.midi", tmp_path / "2006/d.midi"],
        "validation": [tmp_path / "2009/b.mid"],
        "test": [tmp_path / "2004/c.midi"],
    }

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "maestro-v2.0.0.csv").write_text("canonical_composer,split,year\nX,train,2018\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"maestro-v2\.0\.0\.csv.*midi_filename"):
        maestro_split(bad)
    with pytest.raises(FileNotFoundError, match=r"maestro-v2\.0\.0\.csv"):
        maestro_split(tmp_path / "nowhere")
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "maestro-v2.0.0.csv").write_text(MAESTRO_HEADER + "A,B,dev,2018,x.midi,x.wav,1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="dev"):
        maestro_split(odd)


def test_split_pieces(tmp_path):
    paths = [tmp_path / f"piece_{i:02d}.mid" for i in range(20)]
    train, test = split_pieces(paths, 0.25, seed=3)
    assert len(test) == 5 and len(train) == 15
    assert not set(train) & set(test)
    assert set(train) | set(test) == set(paths)
    assert (train, test) == split_pieces(list(reversed(paths)) + paths[:3], 0.25, seed=3)
    assert (train, test) != split_pieces(paths, 0.25, seed=4)
    assert split_pieces(paths[:3], 0.01, seed=0)[1].__len__() == 1
    assert split_pieces(paths[:3], 0.99, seed=0)[0].__len__() == 1
    with pytest.raises(ValueError):
        split_pieces(paths, 1.0, seed=0)
    with pytest.raises(ValueError):
        split_pieces(paths[:1], 0.5, seed=0)


def test_sample_windows():
    streams = [np.arange(10), np.arange(100, 103), np.arange(200, 206)]
    windows = sample_windows(streams, n=8, length=4, seed=0)
    assert windows.shape == (8, 4) and windows.dtype == np.int64
    # Positions: 7 in stream 0, none in stream 1 (too short), 3 in stream 2.
    possible = {tuple(s[o : o + 4]) for s in streams for o in range(len(s) - 3)}
    assert len(possible) == 10
    rows = {tuple(row) for row in windows.tolist()}
    assert len(rows) == 8 and rows <= possible
    assert np.array_equal(windows, sample_windows(streams, n=8, length=4, seed=0))
    assert not np.array_equal(windows, sample_windows(streams, n=8, length=4, seed=1))
    assert {tuple(r) for r in sample_windows(streams, n=10, length=4, seed=5).tolist()} == possible

    positions = window_positions([10, 3, 6], n=10, length=4, seed=5)
    assert sorted(map(tuple, positions.tolist())) == [(0, o) for o in range(7)] + [(2, o) for o in range(3)]

    with pytest.raises(ValueError, match=r"11 windows of 4 events.*only 10"):
        sample_windows(streams, n=11, length=4, seed=0)
    with pytest.raises(ValueError, match=r"0 of 3 streams.*longest has 10"):
        sample_windows(streams, n=1, length=11, seed=0)
