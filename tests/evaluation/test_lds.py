"""LDS (Appendix D) against Spearman correlations computed by hand."""

from __future__ import annotations

import numpy as np

from tdacore.evaluation.lds import lds_per_example, subset_predictions, summarize


def test_lds_equals_hand_computed_spearman():
    # One test example, 4 training examples, 5 subsets.
    scores = np.array([[1.0, 2.0, -1.0, 0.5]])
    masks = np.array(
        [
            [1, 1, 0, 0],  # 3.0
            [0, 1, 1, 0],  # 1.0
            [1, 0, 1, 1],  # 0.5
            [0, 0, 1, 1],  # -0.5
            [1, 1, 1, 1],  # 2.5
        ],
        dtype=bool,
    )
    outputs = np.array([[0.9], [0.1], [0.3], [0.2], [0.5]])
    # Prediction ranks: 3.0->5, 1.0->3, 0.5->2, -0.5->1, 2.5->4
    # Output ranks:     0.9->5, 0.1->1, 0.3->3,  0.2->2, 0.5->4
    # d = (0, 2, -1, -1, 0), sum d^2 = 6, rho = 1 - 6*6 / (5*24) = 0.7
    np.testing.assert_allclose(subset_predictions(scores, masks)[0], [3.0, 1.0, 0.5, -0.5, 2.5])
    np.testing.assert_allclose(lds_per_example(scores, masks, outputs), [0.7])


def test_mean_over_examples_and_undefined_counted():
    scores = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    masks = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1], [0, 0, 1]], dtype=bool)
    outputs = np.array([[4.0, 1.0, 7.0], [3.0, 2.0, 7.0], [2.0, 4.0, 7.0], [1.0, 3.0, 7.0]])
    per = lds_per_example(scores, masks, outputs)
    # example 0: predictions (1,1,0,0) vs outputs (4,3,2,1): ranks (3.5,3.5,1.5,1.5) vs (4,3,2,1)
    # -> Pearson of ranks = 2/sqrt(5); example 1: (0,1,1,0) vs (1,2,4,3): ranks (1.5,3.5,3.5,1.5)
    # vs (1,2,4,3), centred (-1,1,1,-1).(-1.5,-.5,1.5,.5) = 2 over norms 2*sqrt(5) -> 1/sqrt(5)
    np.testing.assert_allclose(per[:2], [2 / np.sqrt(5), 1 / np.sqrt(5)], rtol=1e-12)
    assert np.isnan(per[2])  # constant outputs: Spearman undefined
    summary = summarize(per)
    assert summary["n_undefined"] == 1 and summary["n_test"] == 3
    np.testing.assert_allclose(summary["lds"], (2 / np.sqrt(5) + 1 / np.sqrt(5)) / 2)


def test_shape_mismatch_is_named():
    try:
        lds_per_example(np.zeros((2, 3)), np.zeros((4, 3), dtype=bool), np.zeros((4, 5)))
    except ValueError as err:
        assert "outputs have shape (4, 5)" in str(err)
    else:
        raise AssertionError("mismatched outputs accepted")
