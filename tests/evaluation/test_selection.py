"""Selection of a reading on held-out test examples (tdacore.evaluation.selection): the split, the choice,
and that the reported LDS never took part in the choice."""

import numpy as np
import pytest

from tdacore.attribution.ridge import Ridge, kernels
from tdacore.evaluation.lds import lds_per_example
from tdacore.evaluation.selection import select_reading, split_test_examples


def test_the_split_is_seeded_disjoint_and_complete():
    split = split_test_examples(100, 0.3, seed=4)
    assert split.select.size == 30 and split.report.size == 70
    assert sorted(np.concatenate([split.select, split.report]).tolist()) == list(range(100))
    again = split_test_examples(100, 0.3, seed=4)
    assert np.array_equal(split.select, again.select) and np.array_equal(split.report, again.report)
    assert not np.array_equal(split.select, split_test_examples(100, 0.3, seed=5).select)
    with pytest.raises(ValueError, match="selection.fraction = 0.01 of 100"):
        split_test_examples(100, 0.01, seed=0)


def _candidates(split, rng):
    """Reading `a` is better than `b` on the selection part and worse on the report part."""
    a, b = rng.uniform(0.0, 0.2, 60), rng.uniform(0.0, 0.2, 60)
    a[split.select] += 0.5
    b[split.report] += 0.5
    return {"b": b, "a": a}


def test_the_choice_is_made_on_the_selection_part_and_reported_on_the_other():
    rng = np.random.default_rng(0)
    split = split_test_examples(60, 0.5, seed=1)
    per_example = _candidates(split, rng)
    per_example["a"][split.report[0]] = np.nan  # undefined LDS (constant ranks) is left out of the mean
    choice = select_reading(per_example, split)
    assert choice["chosen"] == "a"
    report = per_example["a"][split.report]
    assert choice["report_lds"] == pytest.approx(np.nanmean(report))
    assert choice["report_lds_sem"] == pytest.approx(np.nanstd(report, ddof=1) / np.sqrt(np.isfinite(report).sum()))
    assert (choice["n_select"], choice["n_report"], choice["n_report_undefined"]) == (30, 30, 1)
    assert choice["select"]["b"] == pytest.approx(per_example["b"][split.select].mean())
    assert choice["report"]["b"] == pytest.approx(per_example["b"][split.report].mean())


def test_perturbing_the_report_part_never_changes_the_choice():
    rng = np.random.default_rng(2)
    split = split_test_examples(60, 0.4, seed=3)
    per_example = {name: rng.uniform(-0.2, 0.6, 60) for name in ("x", "y", "z")}
    chosen = select_reading(per_example, split)["chosen"]
    assert chosen == max(per_example, key=lambda name: per_example[name][split.select].mean())
    for _ in range(20):
        perturbed = {name: values.copy() for name, values in per_example.items()}
        for values in perturbed.values():
            values[split.report] = rng.uniform(-1, 1, split.report.size)
        assert select_reading(perturbed, split)["chosen"] == chosen


def test_readings_scoring_different_test_examples_are_refused():
    split = split_test_examples(10, 0.5, seed=0)
    with pytest.raises(ValueError, match="same test examples"):
        select_reading({"a": np.zeros(10), "b": np.zeros(12)}, split)


def test_perturbing_the_report_parts_ground_truth_never_changes_the_chosen_ridge():
    """The whole path from ground truth to choice: TRAK kernels at three ridges of a small random
    linear datamodel, LDS per test example against retrained outputs (tdacore.evaluation.lds), lambda chosen
    on the selection part. Redrawing the retrained outputs at the report part's test examples
    changes their LDS (the report) but never the chosen lambda."""
    rng = np.random.default_rng(7)
    n_train, n_test, k, m = 60, 30, 12, 25
    phi_train, phi_test = rng.normal(size=(n_train, k)) * np.logspace(0, -2, k), rng.normal(size=(n_test, k))
    masks = rng.random((m, n_train)) < 0.5
    true_effects = rng.normal(size=(n_test, n_train))
    outputs = (masks.astype(float) @ true_effects.T) + rng.normal(scale=3.0, size=(m, n_test))  # m x n_test
    ridges = [Ridge(), Ridge(relative=0.1), Ridge(relative=10.0)]
    scores = {r.setting: made.kernel for r, made in zip(ridges, kernels(phi_train, phi_test, ridges))}
    split = split_test_examples(n_test, 0.4, seed=2)

    def choose(truth):
        return select_reading({name: lds_per_example(s, masks, truth) for name, s in scores.items()}, split)

    choice = choose(outputs)
    for _ in range(5):
        perturbed = outputs.copy()
        perturbed[:, split.report] = rng.normal(size=(m, split.report.size))
        again = choose(perturbed)
        assert again["chosen"] == choice["chosen"] and again["select"] == choice["select"]
        assert again["report_lds"] != choice["report_lds"]
    # ... whereas the same perturbation of the selection part's ground truth is what chooses
    perturbed = outputs.copy()
    perturbed[:, split.select] = rng.normal(size=(m, split.select.size))
    assert choose(perturbed)["select"] != choice["select"]
