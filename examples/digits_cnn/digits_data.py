"""scikit-learn's 1,797 bundled handwritten digits (8 x 8, 16 grey levels): the data a researcher
brings, as the four arrays of tdacore's layout (config.yaml names it as data.loader)."""

import numpy as np
from sklearn.datasets import load_digits


def load(test_fraction: float, seed: int) -> dict[str, np.ndarray]:
    """Images as (n, 1, 8, 8) floats in [0, 1] and their labels, split at random by `seed` into
    a training and a test pool (the workflow draws data.n_train and data.n_test from them)."""
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None]
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = round(test_fraction * len(x))
    test, train = order[:n_test], order[n_test:]
    return {"x_train": x[train], "y_train": digits.target[train], "x_test": x[test], "y_test": digits.target[test]}
