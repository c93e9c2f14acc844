"""Lemma 5.1 on scores (tdacore.evaluation.theory): the moment estimators on draws from a known covariance
structure (about a fixed reference and about the mean, leave-out), the squared errors they
predict against resampled ensembles, and Cases 1 and 2."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tdacore.evaluation.theory import (
    Layout,
    Moments,
    case1_delta,
    case2_delta,
    joint_gram,
    lemma_delta,
    lemma_rows,
    moments_per_test,
    naive_error,
    resampled_errors,
    summarise,
    two_step_error,
)

# Known structure about a fixed reference r: a shared bias b (moment B = |b|^2 / n), independent
# model noise (SA), a base model's group effect shared by its variants (SG), variant noise (SV).
B, SA, SG, SV = 0.3, 1.0, 0.6, 0.5
TRUE = Moments(s11=B + SA, sij=B, s_own=B + SG + SV, s_within=B + SG, s_between=B)


def _scaled(rng: np.random.Generator, shape: tuple, moment: float) -> np.ndarray:
    """A vector per test example with |x|^2 / n = moment exactly."""
    x = rng.normal(size=shape)
    return x * np.sqrt(moment / (x**2).mean(-1, keepdims=True))


def _draw(rng: np.random.Generator, n_models: int, n_groups: int, n_variants: int, n_test: int, n_train: int):
    reference = rng.normal(size=(n_test, n_train))
    bias = _scaled(rng, (n_test, n_train), B)
    naive = reference + bias + np.sqrt(SA) * rng.normal(size=(n_models, n_test, n_train))
    group = np.sqrt(SG) * rng.normal(size=(n_groups, 1, n_test, n_train))
    variants = reference + bias + group + np.sqrt(SV) * rng.normal(size=(n_groups, n_variants, n_test, n_train))
    return naive, variants, reference


def _fixed(naive, variants, reference):
    return joint_gram(naive, variants, reference), Layout(len(naive), *variants.shape[:2])


def test_the_estimators_recover_a_known_structure_within_their_standard_errors():
    gram, layout = _fixed(*_draw(np.random.default_rng(0), 6, 5, 4, n_test=400, n_train=30))
    mean, sem = summarise(moments_per_test(gram, layout, "all"))
    for name, true in TRUE.as_dict().items():
        assert abs(mean.as_dict()[name] - true) < 4 * sem.as_dict()[name] + 1e-9, (name, mean, sem)
        assert sem.as_dict()[name] < 0.05


# About the mean mu = E[tau_i]: independent models have S_ij = 0; variant group k is made from
# naive model k (variant = naive_k + shift delta + its own noise), so its moments about mu are
# own = D_SHIFT + SA + SV, within = D_SHIFT + SA, between = D_SHIFT (|delta|^2 / n = D_SHIFT).
D_SHIFT = 0.4
ABOUT_MU = Moments(s11=SA, sij=0.0, s_own=D_SHIFT + SA + SV, s_within=D_SHIFT + SA, s_between=D_SHIFT)


def _draw_from_bases(
    rng: np.random.Generator, n_models: int, n_groups: int, n_variants: int, n_test: int, n_train: int
):
    mu = rng.normal(size=(n_test, n_train))
    naive = mu + np.sqrt(SA) * rng.normal(size=(n_models, n_test, n_train))
    shift = _scaled(rng, (n_test, n_train), D_SHIFT)
    variants = naive[:n_groups, None] + shift + np.sqrt(SV) * rng.normal(size=(n_groups, n_variants, n_test, n_train))
    return naive, variants, mu


def test_leave_out_recovers_the_moments_about_the_mean_which_the_all_model_reference_biases():
    naive, variants, mu = _draw_from_bases(np.random.default_rng(4), 6, 4, 3, n_test=400, n_train=30)
    layout = Layout(6, 4, 3)
    mean, sem = summarise(moments_per_test(joint_gram(naive, variants), layout, "leave_out"))
    for name, true in ABOUT_MU.as_dict().items():
        assert abs(mean.as_dict()[name] - true) < 4 * sem.as_dict()[name] + 1e-9, (name, mean, sem)
    # the naive mean of all six contains the judged models: S_ij ~ -S_11 / (I - 1) instead of 0
    biased, _ = summarise(moments_per_test(joint_gram(naive, variants, naive.mean(0)), layout, "all"))
    assert biased.sij == pytest.approx(-SA / 6, rel=0.15) and biased.s11 == pytest.approx(SA * 5 / 6, rel=0.05)
    # and ignoring that variants share their base model would bias the within-group moment
    assert (
        summarise(moments_per_test(joint_gram(naive, variants), _NoBases(6, 4, 3), "leave_out"))[0].s_within
        < ABOUT_MU.s_within - 0.1
    )


class _NoBases(Layout):
    """A layout that forgets which naive model each variant group was made from."""

    def base(self, member: int) -> int:
        return member if member < self.n_models else -1


def test_moments_are_the_pairwise_means_written_out():
    rng = np.random.default_rng(1)
    naive, variants, reference = rng.normal(size=(5, 2, 7)), rng.normal(size=(3, 2, 2, 7)), rng.normal(size=(2, 7))
    layout = Layout(5, 3, 2)
    fixed = moments_per_test(joint_gram(naive, variants, reference), layout, "all")
    leave_out = moments_per_test(joint_gram(naive, variants), layout, "leave_out")
    assert (leave_out["sij"] == 0).all()
    dot = lambda a, b: float(a @ b) / 7  # noqa: E731
    for t in range(2):
        e, v = naive[:, t] - reference[t], variants[:, :, t] - reference[t]
        assert fixed["s11"][t] == pytest.approx(np.mean([dot(e[i], e[i]) for i in range(5)]))
        assert fixed["sij"][t] == pytest.approx(
            np.mean([dot(e[i], e[j]) for i in range(5) for j in range(5) if i != j])
        )
        assert fixed["s_own"][t] == pytest.approx(np.mean([dot(v[k, m], v[k, m]) for k in range(3) for m in range(2)]))
        assert fixed["s_within"][t] == pytest.approx(np.mean([dot(v[k, 0], v[k, 1]) for k in range(3)]))
        assert fixed["s_between"][t] == pytest.approx(
            np.mean(
                [
                    dot(v[k, m], v[l, n])
                    for k in range(3)
                    for l in range(3)
                    if k != l
                    for m in range(2)
                    for n in range(2)
                ]
            )
        )

        def held_out(x, y, bases):  # mean over p != q outside the bases of <x - tau_p, y - tau_q>
            refs = [i for i in range(5) if i not in bases]
            return np.mean([dot(x - naive[p, t], y - naive[q, t]) for p in refs for q in refs if p != q])

        n, w = naive[:, t], variants[:, :, t]
        assert leave_out["s11"][t] == pytest.approx(np.mean([held_out(n[i], n[i], {i}) for i in range(5)]))
        # the leave-out S_ij statistic, written out, is identically 0: what moments_per_test returns
        assert np.mean([held_out(n[i], n[j], {i, j}) for i in range(5) for j in range(5) if i != j]) == pytest.approx(
            0, abs=1e-12
        )
        assert leave_out["s_within"][t] == pytest.approx(np.mean([held_out(w[k, 0], w[k, 1], {k}) for k in range(3)]))
        assert leave_out["s_between"][t] == pytest.approx(
            np.mean(
                [
                    held_out(w[k, m], w[l, n_], {k, l})
                    for k in range(3)
                    for l in range(3)
                    if k != l
                    for m in range(2)
                    for n_ in range(2)
                ]
            )
        )


def test_measured_errors_converge_to_the_predicted_ones():
    naive, variants, reference = _draw(np.random.default_rng(2), 6, 5, 4, n_test=20, n_train=30)
    gram, layout = _fixed(naive, variants, reference)
    moments, _ = summarise(moments_per_test(gram, layout, "all"))
    # Over every subset the expectation is exact (a finite-population identity) ...
    exact_naive = np.mean(
        [((naive[list(s)].mean(0) - reference) ** 2).mean() for s in itertools.combinations(range(6), 3)]
    )
    assert exact_naive == pytest.approx(naive_error(moments, 3), rel=1e-10)
    subsets = list(itertools.combinations(range(4), 3))  # each group's D variants chosen independently
    exact_two_step = np.mean(
        [
            ((np.stack([variants[k, list(d)] for k, d in zip(g, ds)]).mean((0, 1)) - reference) ** 2).mean()
            for g in itertools.combinations(range(5), 2)
            for ds in itertools.product(subsets, repeat=2)
        ]
    )
    assert exact_two_step == pytest.approx(two_step_error(moments, 2, 3), rel=1e-10)
    # ... and random draws approach Eq. 12 as they grow.
    predicted = lemma_delta(moments, 3, 2, 3)
    gaps = []
    for draws in (20, 2000):
        measured_naive, measured_two_step = resampled_errors(gram, layout, "all", 3, 2, 3, draws, seed=0)
        gaps.append(abs((measured_naive - measured_two_step).mean() - predicted))
    assert gaps[1] < 0.02 * abs(predicted) + 1e-3 and gaps[1] < gaps[0]


def test_leave_out_rows_measure_the_error_about_the_mean():
    naive, variants, _ = _draw_from_bases(np.random.default_rng(5), 7, 3, 4, n_test=300, n_train=30)
    layout = Layout(7, 3, 4)
    _, _, rows = lemma_rows(
        joint_gram(naive, variants), layout, "leave_out", [2, 3, 7], [(1, 4), (3, 2)], draws=50, seed=0
    )
    by_point = {(r["I"], r["K"], r["D"]): r for r in rows}
    for (n_models, n_groups, n_variants), row in by_point.items():
        assert row["reference"] == "leave_out"
        true = lemma_delta(ABOUT_MU, n_models, n_groups, n_variants)
        if n_models == 7:  # no model is left outside a naive ensemble of all seven
            assert np.isnan(row["delta_measured"]) and np.isfinite(row["delta"])
            continue
        assert abs(row["delta_measured"] - true) < 4 * row["delta_measured_sem"], row
        assert abs(row["delta"] - true) < 4 * row["delta_sem"], row
    assert by_point[3, 3, 2]["case"] == "K = I (Eq. 3)" and by_point[2, 1, 4]["case"] == ""


def test_cases_1_and_2_are_eq_12_under_eq_13():
    rng = np.random.default_rng(3)
    for _ in range(50):
        s11, sij, s_within = rng.uniform(0, 2, size=3)
        m = Moments(s11=s11, sij=sij, s_own=s11, s_within=s_within, s_between=sij)  # Eq. 13
        n_groups, n_variants = rng.integers(1, 8, size=2)
        assert lemma_delta(m, n_groups, n_groups, n_variants) == pytest.approx(case1_delta(m, n_groups, n_variants))
        assert lemma_delta(m, n_groups * n_variants, n_groups, n_variants) == pytest.approx(
            case2_delta(m, n_groups * n_variants, n_variants)
        )
    with pytest.raises(ValueError, match="D >= 2"):
        moments_per_test(joint_gram(*_fixed_arrays(rng, 2, 1, 1)), Layout(2, 1, 1), "all")
    with pytest.raises(ValueError, match="reference must be one of"):
        moments_per_test(joint_gram(*_fixed_arrays(rng, 2, 1, 3)), Layout(2, 1, 3), "median")
    # one base model: no between-group moment, and a K = 1 two-step ensemble does not need it
    one = moments_per_test(joint_gram(*_fixed_arrays(rng, 2, 1, 3)), Layout(2, 1, 3), "all")
    assert np.isnan(one["s_between"]).all() and np.isfinite(two_step_error(Moments(1, 0, 1, 0.5, float("nan")), 1, 3))


def _fixed_arrays(rng: np.random.Generator, n_models: int, n_groups: int, n_variants: int):
    return rng.normal(size=(n_models, 1, 3)), rng.normal(size=(n_groups, n_variants, 1, 3)), rng.normal(size=(1, 3))
