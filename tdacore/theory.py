"""Section 5 on measured scores: the error moments of Lemma 5.1, the squared errors it predicts
for naive and two-step ensembles, its Cases 1 and 2, and resampled measurements to check them.

For one test example, tau(Theta) is a vector over the n training examples and r = tau(Theta*)
the reference. With e = (tau - r), every "covariance" below is a second moment about r,
averaged over training examples, <e_a, e_b> / n, so that it carries the bias as well: the
squared error of a mean of members is then exactly the mean of their pairwise moments, with
no equal-bias assumption (Appendix I.1 needs one because it centres on the mean instead).

    S_11             <e_i, e_i> / n     an independently trained model with itself
    S_ij             <e_i, e_j> / n     two independently trained models, i != j
    S_(k,m),(k,m)    <e_km, e_km> / n   a variant with itself
    S_(k,m),(k,n)    <e_km, e_kn> / n   two variants of one base model (within-group), m != n
    S_(k,m),(l,n)    <e_km, e_ln> / n   variants of different base models (between-group), k != l

each averaged over every available pair, then over test examples (with the standard error
over test examples). Expected squared errors over random subsets (Eq. 8, Eq. 10):

    naive I:            (S_11 + (I - 1) S_ij) / I
    two-step (K, D):    (S_(k,m),(k,m) + (D - 1) S_(k,m),(k,n) + D (K - 1) S_(k,m),(l,n)) / (K D)

and Delta = naive - two-step (Eq. 12); Case 1 (K = I, Eq. 3) and Case 2 (K D = I, Eq. 4) add
the assumptions S_(k,m),(k,m) = S_11 and S_(k,m),(l,n) = S_ij (Eq. 13).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

MOMENTS = ("s11", "sij", "s_own", "s_within", "s_between")


@dataclass(frozen=True)
class Moments:
    """The five error moments of Lemma 5.1 (averaged over test examples)."""

    s11: float
    sij: float
    s_own: float
    s_within: float
    s_between: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def _grams(errors: np.ndarray) -> np.ndarray:
    """<e_a, e_b> / n per test example: errors (members, test, train) -> (test, members, members)."""
    return np.einsum("atj,btj->tab", errors, errors, optimize=True) / errors.shape[-1]


def _off_diagonal_mean(gram: np.ndarray) -> np.ndarray:
    """Mean over a != b of gram[..., a, b] (per leading index)."""
    m = gram.shape[-1]
    if m < 2:
        raise ValueError(f"a covariance between different members needs at least 2, got {m}")
    return (gram.sum((-2, -1)) - np.trace(gram, axis1=-2, axis2=-1)) / (m * (m - 1))


def grams(naive: np.ndarray, variants: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The members' Gram matrices about the reference, per test example: naive (I, test, train)
    -> (test, I, I); variants (K, D, test, train) -> (test, K*D, K*D), group-major."""
    if naive.shape[1:] != reference.shape or variants.shape[2:] != reference.shape:
        raise ValueError(f"shapes disagree: naive {naive.shape}, variants {variants.shape}, reference {reference.shape}")
    n_groups, n_variants = variants.shape[:2]
    return _grams(naive - reference[None]), _grams((variants - reference[None, None]).reshape(n_groups * n_variants, *reference.shape))


def moments_from_grams(g_naive: np.ndarray, g_var: np.ndarray, n_variants: int) -> dict[str, np.ndarray]:
    """The five moments for each test example from the Gram matrices (`grams`)."""
    n_groups = g_var.shape[-1] // n_variants
    if g_naive.shape[-1] < 2 or n_variants < 2:
        raise ValueError(f"the moments need I >= 2 models and D >= 2 variants, got I = {g_naive.shape[-1]}, D = {n_variants}")
    blocks = g_var.reshape(-1, n_groups, n_variants, n_groups, n_variants)
    same_group = np.einsum("tkmkn->tkmn", blocks)  # (test, K, D, D)
    all_pairs = blocks.sum((2, 4))  # (test, K, K): summed over variants
    within_sum = same_group.sum((-2, -1)) - np.trace(same_group, axis1=-2, axis2=-1)  # (test, K)
    between_sum = all_pairs.sum((-2, -1)) - np.trace(all_pairs, axis1=-2, axis2=-1)
    # one base model: no between-group pair (NaN), and no two-step ensemble needs one
    between = between_sum / (n_groups * (n_groups - 1) * n_variants**2) if n_groups > 1 else np.full(len(g_var), np.nan)
    return {
        "s11": np.trace(g_naive, axis1=-2, axis2=-1) / g_naive.shape[-1],
        "sij": _off_diagonal_mean(g_naive),
        "s_own": np.trace(g_var, axis1=-2, axis2=-1) / g_var.shape[-1],
        "s_within": within_sum.sum(-1) / (n_groups * n_variants * (n_variants - 1)),
        "s_between": between,
    }


def moments_per_test(naive: np.ndarray, variants: np.ndarray, reference: np.ndarray) -> dict[str, np.ndarray]:
    """The five moments for each test example.

    naive: (I, test, train) scores of independently trained models; variants: (K, D, test,
    train) scores of D variants of each of K base models; reference: (test, train).
    """
    return moments_from_grams(*grams(naive, variants, reference), variants.shape[1])


def _mean_and_sem(per_test: dict[str, np.ndarray]) -> tuple[Moments, Moments]:
    n_test = len(next(iter(per_test.values())))
    mean = Moments(**{k: float(v.mean()) for k, v in per_test.items()})
    sem = Moments(**{k: float(v.std(ddof=1) / np.sqrt(n_test)) if n_test > 1 else float("nan") for k, v in per_test.items()})
    return mean, sem


def estimate_moments(naive: np.ndarray, variants: np.ndarray, reference: np.ndarray) -> tuple[Moments, Moments]:
    """The moments averaged over test examples, and their standard errors over test examples."""
    return _mean_and_sem(moments_per_test(naive, variants, reference))


def naive_error(m: Moments, n_models: int) -> float:
    """Expected squared error of a naive ensemble of I models (Eq. 8 about the reference)."""
    return (m.s11 + (n_models - 1) * m.sij) / n_models


def two_step_error(m: Moments, n_groups: int, n_variants: int) -> float:
    """Expected squared error of a two-step ensemble of K base models x D variants (Eq. 10)."""
    between = n_variants * (n_groups - 1) * m.s_between if n_groups > 1 else 0.0
    return (m.s_own + (n_variants - 1) * m.s_within + between) / (n_groups * n_variants)


def lemma_delta(m: Moments, n_models: int, n_groups: int, n_variants: int) -> float:
    """Eq. 12: naive I's squared error minus two-step (K, D)'s; positive: two-step is better."""
    return naive_error(m, n_models) - two_step_error(m, n_groups, n_variants)


def case1_delta(m: Moments, n_models: int, n_variants: int) -> float:
    """Eq. 3 (K = I, under Eq. 13): (D - 1) / (I D) (S_11 - S_(k,m),(k,n))."""
    return (n_variants - 1) / (n_models * n_variants) * (m.s11 - m.s_within)


def case2_delta(m: Moments, n_models: int, n_variants: int) -> float:
    """Eq. 4 (K D = I, under Eq. 13): (D - 1) / I (S_ij - S_(k,m),(k,n))."""
    return (n_variants - 1) / n_models * (m.sij - m.s_within)


def resampled_errors(
    naive: np.ndarray, variants: np.ndarray, reference: np.ndarray, n_models: int, n_groups: int, n_variants: int, draws: int, seed: int
) -> tuple[float, float]:
    """Measured mean squared errors (per training example, averaged over test examples and
    over `draws` random subsets) of naive I (I of the available models) and two-step (K, D)
    (K of the base models, D of each one's variants, chosen for each apart), drawn without
    replacement."""
    return resampled_errors_from_grams(*grams(naive, variants, reference), variants.shape[1], n_models, n_groups, n_variants, draws, seed)


def _subset_error(gram: np.ndarray, members: np.ndarray) -> float:
    """|mean of the members' errors|^2 / n, averaged over test examples: sum of G_ab / |S|^2."""
    return float(gram[:, members][:, :, members].sum((-2, -1)).mean() / len(members) ** 2)


def resampled_errors_from_grams(
    g_naive: np.ndarray, g_var: np.ndarray, per_group: int, n_models: int, n_groups: int, n_variants: int, draws: int, seed: int
) -> tuple[float, float]:
    """resampled_errors from the Gram matrices (`grams`; `per_group` variants of each base model)."""
    rng = np.random.default_rng(seed)
    naive_err = two_step_err = 0.0
    for _ in range(draws):
        naive_err += _subset_error(g_naive, rng.choice(g_naive.shape[-1], n_models, replace=False))
        groups = rng.choice(g_var.shape[-1] // per_group, n_groups, replace=False)
        two_step_err += _subset_error(g_var, np.concatenate([k * per_group + rng.choice(per_group, n_variants, replace=False) for k in groups]))
    return naive_err / draws, two_step_err / draws


def lemma_rows(
    naive: np.ndarray,
    variants: np.ndarray,
    reference: np.ndarray,
    sizes: list[int],
    points: list[tuple[int, int]],
    draws: int,
    seed: int,
) -> tuple[Moments, Moments, list[dict]]:
    """The moments, their standard errors, and one row per (naive I in `sizes`, two-step (K, D) in
    `points`) that the available members allow: predicted and measured (over `draws` random
    subsets) squared errors and Delta, and where K = I or K D = I the Case's Delta (Eq. 3, 4)."""
    g_naive, g_var = grams(naive, variants, reference)
    per_group = variants.shape[1]
    moments, sem = _mean_and_sem(moments_from_grams(g_naive, g_var, per_group))
    rows = []
    for n_models in sizes:
        for n_groups, n_variants in points:
            if n_models > naive.shape[0] or n_groups > variants.shape[0] or n_variants > variants.shape[1]:
                continue
            measured_naive, measured_two_step = resampled_errors_from_grams(g_naive, g_var, per_group, n_models, n_groups, n_variants, draws, seed)
            case, case_delta = "", float("nan")
            if n_groups == n_models:
                case, case_delta = "K = I (Eq. 3)", case1_delta(moments, n_models, n_variants)
            elif n_groups * n_variants == n_models:
                case, case_delta = "KD = I (Eq. 4)", case2_delta(moments, n_models, n_variants)
            rows.append({
                "I": n_models, "K": n_groups, "D": n_variants,
                "naive_error": naive_error(moments, n_models), "two_step_error": two_step_error(moments, n_groups, n_variants),
                "naive_error_measured": measured_naive, "two_step_error_measured": measured_two_step,
                "delta": lemma_delta(moments, n_models, n_groups, n_variants), "delta_measured": measured_naive - measured_two_step,
                "case": case, "case_delta": case_delta,
            })
    return moments, sem, rows
