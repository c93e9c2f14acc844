"""The cost-aware planner (tdacore.evaluation.planner) on moments and costs whose answer is known by hand."""

from __future__ import annotations

import numpy as np
import pytest

from tdacore.evaluation.planner import (
    CostModel,
    UnitCosts,
    cheapest,
    cost_model,
    fit_unit_costs,
    plan_rows,
    search_space,
    with_between_fallback,
)
from tdacore.evaluation.theory import Moments, naive_error

# Naive I = 3 has error 1/3. Two-step (K, D) errors (1.5 + 0.29 (D - 1)) / (K D) are <= 1/3 from
# D = 28 (K = 1), D = 4 (K = 2), D = 2 (K = 3) on: 1.21 + 0.29 D <= K D / 3.
MOMENTS = Moments(s11=1.0, sij=0.0, s_own=1.5, s_within=0.29, s_between=0.0)
# Dropout-like costs: training 10 s per base model, serving 1 s per member (pass).
COSTS = CostModel(
    {"training": 10.0, "serving": 1.0}, {"training": UnitCosts(10.0, 0.0), "serving": UnitCosts(0.0, 1.0)}
)


def test_the_cheapest_matching_ensemble_is_the_one_worked_out_by_hand():
    target = naive_error(MOMENTS, 3)
    assert cheapest(MOMENTS, COSTS, target, search_space(3, 50), "serving") == (
        3,
        2,
    )  # 6 s against 8 s (2, 4) and 28 s (1, 28)
    assert cheapest(MOMENTS, COSTS, target, search_space(3, 50), "training") == (1, 28)  # one base model; fewest passes
    assert cheapest(MOMENTS, COSTS, target, search_space(3, 20), "training") == (2, 4)  # D <= 20: two base models
    assert cheapest(MOMENTS, COSTS, target, search_space(2, 3), "training") is None


def test_unit_costs_are_fitted_from_measured_points():
    exact = [(k, d, 25.0 * k + 10.5 * k * d) for k, d in [(1, 3), (1, 10), (2, 3)]]  # LoRA-like: base + adapters
    assert fit_unit_costs(exact, per_base_fallback=99.0) == UnitCosts(pytest.approx(25.0), pytest.approx(10.5))
    # one D: per-base cost from the fallback, per-variant cost from what is left
    assert fit_unit_costs([(1, 5, 35.0), (3, 5, 105.0)], per_base_fallback=0.0) == UnitCosts(0.0, pytest.approx(7.0))
    assert fit_unit_costs([(1, 5, 6.0)], per_base_fallback=6.6) == UnitCosts(6.6, 0.0)  # never negative


def test_plan_rows_recommend_validate_and_rank():
    naive = [
        {"I": i, "D": 0, "lds": lds, "lds_sem": 0.01, "training_seconds": 10.0 * i, "serving_seconds": 1.0 * i}
        for i, lds in [(1, 0.10), (3, 0.20), (5, 0.25)]
    ]
    two_step = [
        {"I": k, "D": d, "lds": lds, "lds_sem": 0.01, "training_seconds": 10.0 * k, "serving_seconds": 1.0 * k * d}
        for k, d, lds in [(1, 10, 0.18), (3, 2, 0.195), (3, 10, 0.30)]
    ]
    costs = cost_model(naive, two_step)
    assert costs.naive == {"training": pytest.approx(10.0), "serving": pytest.approx(1.0)}
    assert costs.two_step["serving"] == UnitCosts(pytest.approx(0.0, abs=1e-9), pytest.approx(1.0))
    rows = {(r["I"], r["by"]): r for r in plan_rows(MOMENTS, costs, naive, two_step, max_variants=50)}
    three = rows[3, "serving"]
    assert (three["K"], three["D"], three["serving_seconds"]) == (3, 2, pytest.approx(6.0)) and three[
        "serving_saving"
    ] == pytest.approx(-1.0)
    # among the measured points (K <= 3) (3, 2) matches (predicted 0.298 <= 1/3); LDS 0.195 >= 0.20 - 0.01
    assert (three["grid_K"], three["grid_D"], three["grid_lds"], three["within_one_se"]) == (3, 2, 0.195, "True")
    # naive I = 1: K = 1 needs (1.5 + 0.29 (D - 1)) / D <= 1, D >= 2; measured: (1, 10)
    one = rows[1, "training"]
    assert (one["K"], one["D"], one["grid_K"], one["grid_D"], one["within_one_se"]) == (1, 2, 1, 10, "True")
    # naive I = 5 (error 0.2): (1, 10) and (3, 2) predict 0.4 and 0.3; (3, 10) 0.0803 matches
    five = rows[5, "serving"]
    assert (five["grid_K"], five["grid_D"], five["within_one_se"]) == (3, 10, "True")
    # predicted errors 1, .333, .2 | .411, .298, .137 against LDS .10, .20, .25 | .18, .195, .30
    predicted, lds = [1, 1 / 3, 0.2, 0.4111, 0.2983, 0.1370], [0.10, 0.20, 0.25, 0.18, 0.195, 0.30]
    ranks = lambda x: np.argsort(np.argsort(x))  # noqa: E731
    expected_rho = 1 - 6 * ((ranks(predicted) - ranks(lds)) ** 2).sum() / (6 * 35)
    assert three["spearman_error_lds"] == pytest.approx(expected_rho) and expected_rho < -0.8


def test_a_missing_between_group_moment_falls_back_to_eq_13():
    moments, source = with_between_fallback(Moments(1.0, 0.2, 1.5, 0.3, float("nan")))
    assert (moments.s_between, source) == (0.2, "Eq. 13 (= S_ij)")
    assert with_between_fallback(MOMENTS) == (MOMENTS, "estimated")
