"""What a user looks at first: for a few test examples, the training examples whose scores raise
the model output most (proponents) and lower it most (opponents), drawn beside the test example,
images as images and sequences as text."""

from __future__ import annotations

import os
import textwrap

import numpy as np

from tdacore.data.batches import Inputs, first_array, is_dict
from tdacore.data.dataset import IGNORE, Dataset
from tdacore.evaluation.blocked import TopK
from tdacore.reporting.plots import _save, plt

BYTE_VOCAB = 256  # a sequence of bytes (text) is drawn as characters, any other as token ids


def _image(x: np.ndarray) -> tuple[np.ndarray, str | None] | None:
    """An example as an image (array, colour map), or None if it is not one: a (1|3, H, W) or
    (H, W) array, or a flat one of a square number of grey values or 3 x a square of RGB values."""
    if x.ndim == 3 and x.shape[0] in (1, 3):
        return (x[0], "gray_r") if x.shape[0] == 1 else (np.moveaxis(x, 0, -1).clip(0, 1), None)
    if x.ndim == 2:
        return x, "gray_r"
    side = int(round(np.sqrt(x.size)))
    if side * side == x.size:
        return x.reshape(side, side), "gray_r"
    side = int(round(np.sqrt(x.size / 3)))
    if 3 * side * side == x.size:
        return np.moveaxis(x.reshape(3, side, side), 0, -1).clip(0, 1), None
    return None


def _text(tokens: np.ndarray, vocab: int, width: int = 22) -> str:
    """A sequence as text: bytes as characters (unprintable ones as '.'), other tokens as ids."""
    tokens = tokens[tokens != IGNORE]
    if vocab <= BYTE_VOCAB:
        text = "".join(chr(t) if 32 <= t < 127 else "." for t in tokens.tolist())
    else:
        text = " ".join(map(str, tokens.tolist()))
    return "\n".join(textwrap.wrap(text, width, replace_whitespace=False, drop_whitespace=False)[-6:])


def _example(x: Inputs, row: int) -> np.ndarray:
    """The array drawn for one example: the input, or of named inputs (tdacore.data.batches)
    `input_ids` (else the first), at the positions `attention_mask` (if given) marks as real."""
    if not is_dict(x):
        return x[row]
    shown = x["input_ids"][row] if "input_ids" in x else first_array(x)[row]
    return shown[x["attention_mask"][row].astype(bool)] if "attention_mask" in x else shown


def _draw(ax, x: np.ndarray, y: np.ndarray, data: Dataset, label: str) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    picture = _image(x) if data.task == "classification" else None
    if picture is not None:
        ax.imshow(picture[0], cmap=picture[1])
        ax.set_title(f"{label}\nlabel {int(y)}", fontsize=7)
        return
    shown = _text(np.asarray(x), data.n_classes) if data.task == "sequence" else np.array2string(x.ravel()[:12])
    target = _text(np.asarray(y), data.n_classes) if data.task == "sequence" else f"label {int(y)}"
    ax.text(0.02, 0.98, shown, va="top", ha="left", fontsize=5, family="monospace", transform=ax.transAxes)
    ax.set_title(f"{label}\n→ {target[-12:]!s}", fontsize=6)


def proponents_figure(
    top: TopK, data: Dataset, out: str | os.PathLike, title: str, n_test: int = 4, k: int = 3
) -> None:
    """One row per test example (the first n_test rows of `top`, from a whole score matrix or
    merged over its blocks, tdacore.evaluation.blocked): the test example, its k proponents
    (highest scores, +) and its k opponents (lowest, −), each with its index in the training set
    and its score."""
    rows = min(n_test, len(top.proponents))
    k = min(k, top.proponents.shape[1])
    fig, axes = plt.subplots(rows, 1 + 2 * k, figsize=(1.3 * (1 + 2 * k), 1.8 * rows + 0.4), squeeze=False)
    for r in range(rows):
        _draw(axes[r, 0], _example(data.x_test, r), data.y_test[r], data, f"test {r}")
        shown = [
            *zip(top.proponents[r, :k], top.proponent_scores[r, :k]),
            *zip(top.opponents[r, :k], top.opponent_scores[r, :k]),
        ]
        for c, (j, score) in enumerate(shown, start=1):
            sign = "+" if c <= k else "−"
            _draw(axes[r, c], _example(data.x_train, j), data.y_train[j], data, f"{sign}{j}: {score:.2g}")
    _save(fig, out, title)
