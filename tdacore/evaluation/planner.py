"""A cost-aware ensemble planner on top of Lemma 5.1 (tdacore.evaluation.theory): from the error moments and
the measured costs, the cheapest two-step ensemble (K base models x D variants: dropout passes or
LoRA adapters) predicted to be as accurate as a naive ensemble of I models.

Costs are linear in the counts the paper's cost formulas use (Appendix E):
    naive I:           I * per_model
    two-step (K, D):   K * per_base + K * D * per_variant
with per-unit seconds fitted to the measured grid points (`fit_unit_costs`). Predicted squared
errors are Eq. 8 and Eq. 10 (tdacore.evaluation.theory.naive_error, two_step_error)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import nnls
from scipy.stats import spearmanr

from tdacore.evaluation.theory import Moments, naive_error, two_step_error

COSTS = ("training", "serving")


@dataclass(frozen=True)
class UnitCosts:
    """Seconds of a two-step ensemble: K * per_base + K * D * per_variant."""

    per_base: float
    per_variant: float

    def of(self, n_groups: int, n_variants: int) -> float:
        return n_groups * self.per_base + n_groups * n_variants * self.per_variant


def per_model_cost(points: Iterable[tuple[int, float]]) -> float:
    """Seconds per model of a naive ensemble: least squares of seconds = I * c over (I, seconds)."""
    sizes, seconds = np.array(list(points), dtype=float).T
    return float(sizes @ seconds / (sizes @ sizes))


def fit_unit_costs(points: Iterable[tuple[int, int, float]], per_base_fallback: float) -> UnitCosts:
    """Non-negative least squares of seconds = K per_base + K D per_variant over measured (K, D,
    seconds). With a single D the two are not separable: per_base is then `per_base_fallback`
    (for training, a naive model's cost; for serving, 0: the unmasked model is not a member)."""
    points = np.array(list(points), dtype=float)
    groups, variants, seconds = points.T
    if len(set(variants)) >= 2:
        (per_base, per_variant), _ = nnls(np.c_[groups, groups * variants], seconds)
        return UnitCosts(float(per_base), float(per_variant))
    per_variant = np.mean((seconds - groups * per_base_fallback) / (groups * variants))
    return UnitCosts(per_base_fallback, max(0.0, float(per_variant)))


@dataclass(frozen=True)
class CostModel:
    """Per-unit seconds of one method's naive and two-step ensembles, for each cost in COSTS."""

    naive: dict[str, float]
    two_step: dict[str, UnitCosts]

    def of_naive(self, n_models: int) -> dict[str, float]:
        return {cost: n_models * self.naive[cost] for cost in COSTS}

    def of_two_step(self, n_groups: int, n_variants: int) -> dict[str, float]:
        return {cost: self.two_step[cost].of(n_groups, n_variants) for cost in COSTS}


def cost_model(naive_points: list[dict], two_step_points: list[dict]) -> CostModel:
    """The cost model from measured rows with I (or K), D and `training_seconds`,
    `serving_seconds` (the cost table's columns; D is L for LoRA)."""
    naive = {cost: per_model_cost((row["I"], row[f"{cost}_seconds"]) for row in naive_points) for cost in COSTS}
    fallback = {"training": naive["training"], "serving": 0.0}
    two_step = {
        cost: fit_unit_costs(((row["I"], row["D"], row[f"{cost}_seconds"]) for row in two_step_points), fallback[cost])
        for cost in COSTS
    }
    return CostModel(naive, two_step)


def with_between_fallback(m: Moments) -> tuple[Moments, str]:
    """The moments with a between-group moment: the estimate, or where the grid has one base model
    only, Eq. 13's assumption S_(k,m),(l,n) = S_ij (said in the second value)."""
    if np.isfinite(m.s_between):
        return m, "estimated"
    return replace(m, s_between=m.sij), "Eq. 13 (= S_ij)"


def cheapest(
    moments: Moments, costs: CostModel, target: float, candidates: Iterable[tuple[int, int]], by: str
) -> tuple[int, int] | None:
    """The candidate (K, D) of least `by` cost (then the other cost, then fewer members) whose
    predicted squared error is at most `target`; None if none is."""
    other = next(cost for cost in COSTS if cost != by)
    matching = [(k, d) for k, d in candidates if two_step_error(moments, k, d) <= target]
    if not matching:
        return None
    return min(
        matching,
        key=lambda point: (costs.of_two_step(*point)[by], costs.of_two_step(*point)[other], point[0] * point[1]),
    )


def search_space(max_groups: int, max_variants: int) -> list[tuple[int, int]]:
    """Every (K, D) with 1 <= K <= max_groups, 1 <= D <= max_variants."""
    return list(itertools.product(range(1, max_groups + 1), range(1, max_variants + 1)))


def plan_rows(
    moments: Moments, costs: CostModel, naive_points: list[dict], two_step_points: list[dict], max_variants: int
) -> list[dict]:
    """For each measured naive I and each cost: the cheapest two-step (K <= I, D <= max_variants)
    predicted to match naive I's squared error (empty if none is), its predicted costs and savings, and the same
    choice among the measured two-step points with its measured LDS against naive I's (rows need
    I, D, lds, lds_sem; D is L for LoRA). `spearman` (the same on every row): the rank correlation
    of predicted squared error and measured LDS over all measured points (negative: it ranks)."""
    predicted = [naive_error(moments, row["I"]) for row in naive_points] + [
        two_step_error(moments, row["I"], row["D"]) for row in two_step_points
    ]
    lds = [row["lds"] for row in naive_points + two_step_points]
    rho = float(spearmanr(predicted, lds).statistic) if len(lds) >= 3 else float("nan")
    measured = {(row["I"], row["D"]): row for row in two_step_points}
    rows = []
    for naive in naive_points:
        target = naive_error(moments, naive["I"])
        naive_costs = costs.of_naive(naive["I"])
        for by in COSTS:
            row = {
                "I": naive["I"],
                "by": by,
                "naive_error": target,
                "naive_lds": naive["lds"],
                "naive_lds_sem": naive["lds_sem"],
            }
            row |= {f"naive_{cost}_seconds": naive_costs[cost] for cost in COSTS}
            best = cheapest(moments, costs, target, search_space(naive["I"], max_variants), by)
            row |= _recommended("", best, moments, costs, naive_costs)
            in_grid = cheapest(moments, costs, target, [point for point in measured if point[0] <= naive["I"]], by)
            row |= _recommended("grid_", in_grid, moments, costs, naive_costs)
            row["grid_lds"] = measured[in_grid]["lds"] if in_grid else None
            row["grid_lds_sem"] = measured[in_grid]["lds_sem"] if in_grid else None
            row["within_one_se"] = str(row["grid_lds"] >= naive["lds"] - naive["lds_sem"]) if in_grid else ""
            row["spearman_error_lds"] = rho
            rows.append(row)
    return rows


def _recommended(
    prefix: str, point: tuple[int, int] | None, moments: Moments, costs: CostModel, naive_costs: dict[str, float]
) -> dict:
    """A recommendation's columns: K, D, predicted error, costs and savings against the naive one."""
    if point is None:  # none predicted to match: empty cells
        return {f"{prefix}{name}": None for name in ("K", "D", "predicted_error")} | {
            f"{prefix}{cost}_{what}": None for cost in COSTS for what in ("seconds", "saving")
        }
    two_step_costs = costs.of_two_step(*point)
    return {
        f"{prefix}K": point[0],
        f"{prefix}D": point[1],
        f"{prefix}predicted_error": two_step_error(moments, *point),
    } | {
        f"{prefix}{cost}_{what}": value
        for cost in COSTS
        for what, value in (("seconds", two_step_costs[cost]), ("saving", 1 - two_step_costs[cost] / naive_costs[cost]))
    }
