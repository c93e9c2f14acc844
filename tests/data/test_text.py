"""Appendix J's Shakespeare setting: the text loader (windows, byte vocabulary, held-out split,
scored continuation) and the character-level GPT (causal, its size, gradients, dropout, LoRA)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tdacore.data.dataset import IGNORE
from tdacore.data.sources import model_dims
from tdacore.data.text import make_text_dataset


def _split_file(path: Path, text: str, test_fraction: float) -> int:
    """Write `text` with its training part lower-case and its held-out part upper-case, so that a
    character's case says which part it came from; returns where the held-out part starts."""
    cut = int(round((1 - test_fraction) * len(text)))
    path.write_text(text[:cut].lower() + text[cut:].upper())
    return cut


def _text(tokens: np.ndarray) -> str:
    return bytes(tokens.astype(np.uint8).tolist()).decode("ascii")


def test_text_windows_vocabulary_split_and_scored_continuation(tmp_path: Path, shakespeare_text: str):
    path = tmp_path / "input.txt"
    cut = _split_file(path, shakespeare_text, 0.25)
    data, info = make_text_dataset(path, n_train=50, n_test=10, seq_len=12, continuation=3, test_fraction=0.25, seed=0)
    content = path.read_text()
    train_part, test_part = content[:cut], content[cut:]
    assert (info["train_characters"], info["test_characters"]) == (cut, len(content) - cut)
    assert data.task == "sequence" and data.n_classes == 256 == model_dims({"source": "shakespeare", "seq_len": 12})[1]
    assert data.x_train.shape == data.y_train.shape == (50, 12) and data.x_test.shape == data.y_test.shape == (10, 12)
    # Training windows of 13 characters of the training part: targets are the inputs shifted by one.
    np.testing.assert_array_equal(data.y_train[:, :-1], data.x_train[:, 1:])
    windows = [_text(np.append(x, y[-1])) for x, y in zip(data.x_train, data.y_train)]
    assert len(set(windows)) == 50 and all(w in train_part and w == w.lower() for w in windows)
    # Test windows come from the held-out part: no lower-case (training) character in them.
    tests = [_text(np.append(x, y[-1])) for x, y in zip(data.x_test, data.y_test)]
    assert all(w in test_part and w == w.upper() and any(c.isalpha() for c in w) for w in tests)
    # Only each window's last 3 characters are scored, each given everything before it.
    assert (data.y_test[:, :-3] == IGNORE).all()
    for x, y, window in zip(data.x_test, data.y_test, tests):
        assert _text(y[-3:]) == window[-3:] and _text(x) == window[:-1]
    again, _ = make_text_dataset(path, n_train=50, n_test=10, seq_len=12, continuation=3, test_fraction=0.25, seed=0)
    other, _ = make_text_dataset(path, n_train=50, n_test=10, seq_len=12, continuation=3, test_fraction=0.25, seed=1)
    assert again.train_hash() == data.train_hash() and again.test_hash() == data.test_hash()
    assert other.train_hash() != data.train_hash()


def test_missing_or_mis_sized_text_is_an_error_naming_it(tmp_path: Path, shakespeare_text: str):
    missing = tmp_path / "resources/shakespeare/input.txt"
    with pytest.raises(FileNotFoundError, match=r"text file .*resources/shakespeare/input\.txt is missing"):
        make_text_dataset(missing, 10, 2, 8, 2, 0.1, seed=0)
    missing.parent.mkdir(parents=True)
    missing.write_text(shakespeare_text)
    with pytest.raises(ValueError, match="data.continuation = 9"):
        make_text_dataset(missing, 10, 2, 8, 9, 0.1, seed=0)
    with pytest.raises(ValueError, match="asked for 5000 windows"):
        make_text_dataset(missing, 5000, 2, 8, 2, 0.1, seed=0)
