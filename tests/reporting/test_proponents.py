"""The proponents figure: the top and bottom scores per test example, found by hand, and drawn for
images and for sequences."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tdacore.data.dataset import IGNORE, Dataset
from tdacore.evaluation.blocked import top_k_of_block
from tdacore.reporting.proponents import _image, _text, proponents_figure


def test_the_top_examples_are_the_highest_and_lowest_scores_of_each_row():
    scores = np.array([[0.5, -2.0, 3.0, 0.0, 3.0], [1.0, 2.0, -1.0, -1.0, 0.2]])
    top = top_k_of_block(scores, 0, 2)
    assert top.proponents.tolist() == [[2, 4], [1, 0]]  # ties: the lower column first
    assert top.opponents.tolist() == [[1, 3], [2, 3]]
    assert top.proponent_scores.tolist() == [[3.0, 3.0], [2.0, 1.0]]
    assert top.opponent_scores.tolist() == [[-2.0, 0.0], [-1.0, -1.0]]


@pytest.mark.parametrize(
    ("shape", "image_shape"), [((784,), (28, 28)), ((1, 8, 8), (8, 8)), ((3072,), (32, 32, 3)), ((10,), None)]
)
def test_examples_that_are_images_are_drawn_as_images(shape: tuple, image_shape: tuple | None):
    picture = _image(np.zeros(shape))
    assert (picture is None) if image_shape is None else picture[0].shape == image_shape


def test_bytes_are_drawn_as_characters_and_other_tokens_as_ids():
    assert _text(np.array([72, 105, 10, IGNORE]), 256) == "Hi."
    assert _text(np.array([300, 7]), 388) == "300 7"


@pytest.mark.parametrize("task", ["classification", "sequence"])
def test_the_figure_is_written(tmp_path: Path, task: str):
    rng = np.random.default_rng(0)
    if task == "classification":
        data = Dataset(rng.random((20, 1, 8, 8)), rng.integers(0, 3, 20), rng.random((5, 1, 8, 8)), np.arange(5) % 3, 3)
    else:
        tokens = rng.integers(32, 127, (25, 9))
        data = Dataset(tokens[:20, :-1], tokens[:20, 1:], tokens[20:, :-1], tokens[20:, 1:], 256, "sequence")
    out = tmp_path / "proponents.png"
    proponents_figure(top_k_of_block(rng.standard_normal((5, 20)), 0, 2), data, out, "title", n_test=3, k=2)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
