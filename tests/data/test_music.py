"""The generative setting's data set (tdacore.data.music, tdacore.data.dataset): pieces split by piece,
training windows shifted by one event, one prompt per test piece, generated events as targets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tdacore.data.dataset import IGNORE, read_dataset, with_generated_events, write_dataset
from tdacore.data.midi import NOTE_ON, Note, events_to_midi, notes_to_events
from tdacore.data.music import make_music_dataset


def _piece(path: Path, low: int, n_notes: int) -> np.ndarray:
    """A piece whose pitches are low..low+9 only, written as MIDI; its events."""
    notes = [Note(low + k % 10, 90, 0.25 * k, 0.25 * k + 0.2) for k in range(n_notes)]
    events = notes_to_events(notes)
    events_to_midi(events, path)
    return events


def test_windows_prompts_and_the_split_by_piece(tmp_path: Path):
    # 10 pieces, each with its own pitch range: a window's pitches tell which piece it came from.
    streams = {f"p{k:02d}.mid": _piece(tmp_path / f"p{k:02d}.mid", 20 + 10 * k, 30) for k in range(10)}
    (tmp_path / "broken.mid").write_bytes(b"not a MIDI file")
    with pytest.warns(UserWarning, match="broken.mid"):
        data, info = make_music_dataset(
            "bach_chorales", tmp_path, n_train=40, n_test=2, seq_len=8, seed=0, test_fraction=0.2
        )
    assert info["skipped_files"] == [str(tmp_path / "broken.mid")] and (info["train_pieces"], info["test_pieces"]) == (
        8,
        2,
    )
    assert data.task == "sequence" and data.n_classes == 388
    assert data.x_train.shape == (40, 8) and data.x_test.shape == (2, 8) and (data.y_test == IGNORE).all()
    np.testing.assert_array_equal(data.x_train[:, 1:], data.y_train[:, :-1])  # y_t is the event after x_t

    def piece_of(window: np.ndarray) -> set[int]:
        pitches = window[window < NOTE_ON + 128]
        return set((pitches - 20) // 10)

    train_pieces = set().union(*(piece_of(np.r_[x, y[-1:]]) for x, y in zip(data.x_train, data.y_train)))
    test_pieces = [piece_of(x) for x in data.x_test]
    assert all(len(p) == 1 for p in test_pieces) and len(set().union(*test_pieces)) == 2  # one prompt per piece
    assert not train_pieces & set().union(*test_pieces)  # no piece on both sides
    # every training window is a real stretch of its piece
    for x, y in zip(data.x_train[:5], data.y_train[:5]):
        window, stream = np.r_[x, y[-1]], streams[f"p{next(iter(piece_of(x))):02d}.mid"]
        assert any(np.array_equal(stream[s : s + 9], window) for s in range(len(stream) - 8))
    again, _ = make_music_dataset("bach_chorales", tmp_path, n_train=40, n_test=2, seq_len=8, seed=0, test_fraction=0.2)
    assert again.train_hash() == data.train_hash() and again.test_hash() == data.test_hash()
    with pytest.raises(ValueError, match="3 prompts of 8 events"):
        make_music_dataset("bach_chorales", tmp_path, n_train=4, n_test=3, seq_len=8, seed=0, test_fraction=0.2)


def test_generated_events_are_the_only_scored_targets(tmp_path: Path):
    for k in range(4):
        _piece(tmp_path / f"p{k}.mid", 30 + 10 * k, 20)
    data, _ = make_music_dataset("bach_chorales", tmp_path, n_train=6, n_test=2, seq_len=5, seed=1, test_fraction=0.5)
    generated = with_generated_events(data, np.array([7, 11]))
    assert (generated.y_test[:, :-1] == IGNORE).all() and generated.y_test[:, -1].tolist() == [7, 11]
    assert generated.train_hash() == data.train_hash() and generated.test_hash() != data.test_hash()
    write_dataset(tmp_path / "d.h5", generated, {})
    back, attrs = read_dataset(tmp_path / "d.h5")
    assert (back.task, back.n_classes, attrs["task"]) == ("sequence", 388, "sequence")
    np.testing.assert_array_equal(back.y_test, generated.y_test)
    with pytest.raises(ValueError, match="one event per prompt"):
        with_generated_events(data, np.array([1, 2, 3]))
