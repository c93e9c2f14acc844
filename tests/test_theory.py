"""Lemma 5.1 on scores (tdacore.theory): the moment estimators on draws from a known covariance
structure, the squared errors they predict against resampled ensembles, and Cases 1 and 2."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tdacore.theory import (
    Moments,
    case1_delta,
    case2_delta,
    estimate_moments,
    lemma_delta,
    moments_per_test,
    naive_error,
    resampled_errors,
    two_step_error,
)

# Known structure about the reference r: a shared bias b (moment B = |b|^2 / n), independent
# model noise (SA), a base model's group effect shared by its variants (SG), variant noise (SV).
B, SA, SG, SV = 0.3, 1.0, 0.6, 0.5
TRUE = Moments(s11=B + SA, sij=B, s_own=B + SG + SV, s_within=B + SG, s_between=B)


def _draw(rng: np.random.Generator, n_models: int, n_groups: int, n_variants: int, n_test: int, n_train: int):
    reference = rng.normal(size=(n_test, n_train))
    bias = rng.normal(size=(n_test, n_train))
    bias *= np.sqrt(B / (bias**2).mean(-1, keepdims=True))  # |b|^2 / n = B exactly, per test example
    naive = reference + bias + np.sqrt(SA) * rng.normal(size=(n_models, n_test, n_train))
    group = np.sqrt(SG) * rng.normal(size=(n_groups, 1, n_test, n_train))
    variants = reference + bias + group + np.sqrt(SV) * rng.normal(size=(n_groups, n_variants, n_test, n_train))
    return naive, variants, reference


def test_the_estimators_recover_a_known_structure_within_their_standard_errors():
    naive, variants, reference = _draw(np.random.default_rng(0), 6, 5, 4, n_test=400, n_train=30)
    mean, sem = estimate_moments(naive, variants, reference)
    for name, true in TRUE.as_dict().items():
        assert abs(mean.as_dict()[name] - true) < 4 * sem.as_dict()[name] + 1e-9, (name, mean, sem)
        assert sem.as_dict()[name] < 0.05


def test_moments_are_the_pairwise_means_written_out():
    rng = np.random.default_rng(1)
    naive, variants, reference = rng.normal(size=(3, 2, 5)), rng.normal(size=(3, 2, 2, 5)), rng.normal(size=(2, 5))
    got = moments_per_test(naive, variants, reference)
    for t in range(2):
        e = naive[:, t] - reference[t]
        v = variants[:, :, t] - reference[t]
        dot = lambda a, b: float(a @ b) / 5  # noqa: E731
        assert got["s11"][t] == pytest.approx(np.mean([dot(e[i], e[i]) for i in range(3)]))
        assert got["sij"][t] == pytest.approx(np.mean([dot(e[i], e[j]) for i in range(3) for j in range(3) if i != j]))
        assert got["s_own"][t] == pytest.approx(np.mean([dot(v[k, m], v[k, m]) for k in range(3) for m in range(2)]))
        assert got["s_within"][t] == pytest.approx(np.mean([dot(v[k, m], v[k, n]) for k in range(3) for m in range(2) for n in range(2) if m != n]))
        assert got["s_between"][t] == pytest.approx(
            np.mean([dot(v[k, m], v[l, n]) for k in range(3) for l in range(3) if k != l for m in range(2) for n in range(2)])
        )


def test_measured_errors_converge_to_the_predicted_ones():
    naive, variants, reference = _draw(np.random.default_rng(2), 6, 5, 4, n_test=20, n_train=30)
    moments, _ = estimate_moments(naive, variants, reference)
    # Over every subset the expectation is exact (a finite-population identity) ...
    exact_naive = np.mean([((naive[list(s)].mean(0) - reference) ** 2).mean() for s in itertools.combinations(range(6), 3)])
    assert exact_naive == pytest.approx(naive_error(moments, 3), rel=1e-10)
    subsets = list(itertools.combinations(range(4), 3))  # each group's D variants chosen independently
    exact_two_step = np.mean([
        ((np.stack([variants[k, list(d)] for k, d in zip(g, ds)]).mean((0, 1)) - reference) ** 2).mean()
        for g in itertools.combinations(range(5), 2) for ds in itertools.product(subsets, repeat=2)
    ])
    assert exact_two_step == pytest.approx(two_step_error(moments, 2, 3), rel=1e-10)
    # ... and random draws approach Eq. 12 as they grow.
    predicted = lemma_delta(moments, 3, 2, 3)
    gaps = []
    for draws in (20, 2000):
        measured_naive, measured_two_step = resampled_errors(naive, variants, reference, 3, 2, 3, draws, seed=0)
        gaps.append(abs(measured_naive - measured_two_step - predicted))
    assert gaps[1] < 0.02 * abs(predicted) + 1e-3 and gaps[1] < gaps[0]


def test_cases_1_and_2_are_eq_12_under_eq_13():
    rng = np.random.default_rng(3)
    for _ in range(50):
        s11, sij, s_within = rng.uniform(0, 2, size=3)
        m = Moments(s11=s11, sij=sij, s_own=s11, s_within=s_within, s_between=sij)  # Eq. 13
        n_groups, n_variants = rng.integers(1, 8, size=2)
        assert lemma_delta(m, n_groups, n_groups, n_variants) == pytest.approx(case1_delta(m, n_groups, n_variants))
        assert lemma_delta(m, n_groups * n_variants, n_groups, n_variants) == pytest.approx(case2_delta(m, n_groups * n_variants, n_variants))
    with pytest.raises(ValueError, match="D >= 2"):
        moments_per_test(rng.normal(size=(2, 1, 3)), rng.normal(size=(1, 1, 1, 3)), rng.normal(size=(1, 3)))
    # one base model: no between-group moment, and a K = 1 two-step ensemble does not need it
    one = moments_per_test(rng.normal(size=(2, 1, 3)), rng.normal(size=(1, 3, 1, 3)), rng.normal(size=(1, 3)))
    assert np.isnan(one["s_between"]).all() and np.isfinite(two_step_error(Moments(1, 0, 1, 0.5, float("nan")), 1, 3))
