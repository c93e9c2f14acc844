"""The linear datamodeling score (Appendix D, Definition D.1).

For test example x: LDS(tau, x) = Spearman over subsets j of ( f_{Theta_{S_j}}(x),
sum_{i in S_j} tau(x)_i ). The LDS of a method is the mean over test examples.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.stats import spearmanr


def subset_predictions(scores: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """g_tau(x, S_j) of Eq. 5 for every test x and subset j: (n_test x m)."""
    if scores.shape[1] != masks.shape[1]:
        raise ValueError(f"scores cover {scores.shape[1]} training examples but subset masks {masks.shape[1]}")
    return np.asarray(scores, dtype=np.float64) @ np.asarray(masks, dtype=np.float64).T


def lds_per_example(scores: np.ndarray, masks: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    """Spearman correlation per test example (NaN where either side is constant).

    scores: n_test x n_train; masks: m x n_train (bool); outputs: m x n_test, the model output
    of the model retrained on subset j at each test example.
    """
    return lds_from_predictions(subset_predictions(scores, masks), outputs)


def lds_from_predictions(predictions: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    """Spearman correlation per test example of its subset predictions (n_test x m; from the
    whole score matrix, or summed over training shards' subset_predictions) with the retrained
    models' outputs (m x n_test); NaN where either side is constant."""
    if outputs.shape != predictions.T.shape:
        raise ValueError(f"outputs have shape {outputs.shape}, expected (subsets, test) = {predictions.T.shape}")
    result = np.empty(predictions.shape[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant inputs give NaN, counted by the caller
        for t in range(predictions.shape[0]):
            result[t] = spearmanr(predictions[t], outputs[:, t]).statistic
    return result


def summarize(per_example: np.ndarray) -> dict[str, float]:
    """Mean LDS over the test examples where it is defined, and how many it was not."""
    defined = np.isfinite(per_example)
    return {
        "lds": float(per_example[defined].mean()) if defined.any() else float("nan"),
        "lds_sem": float(per_example[defined].std(ddof=1) / np.sqrt(defined.sum()))
        if defined.sum() > 1
        else float("nan"),
        "n_test": int(per_example.size),
        "n_undefined": int((~defined).sum()),
    }
