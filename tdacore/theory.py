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


def moments_per_test(naive: np.ndarray, variants: np.ndarray, reference: np.ndarray) -> dict[str, np.ndarray]:
    """The five moments for each test example.

    naive: (I, test, train) scores of independently trained models; variants: (K, D, test,
    train) scores of D variants of each of K base models; reference: (test, train).
    """
    if naive.shape[1:] != reference.shape or variants.shape[2:] != reference.shape:
        raise ValueError(f"shapes disagree: naive {naive.shape}, variants {variants.shape}, reference {reference.shape}")
    n_groups, n_variants = variants.shape[:2]
    if n_groups < 2 or n_variants < 2:
        raise ValueError(f"within- and between-group moments need K >= 2 and D >= 2 variants, got K = {n_groups}, D = {n_variants}")
    g_naive = _grams(naive - reference[None])
    g_var = _grams((variants - reference[None, None]).reshape(n_groups * n_variants, *reference.shape))
    blocks = g_var.reshape(-1, n_groups, n_variants, n_groups, n_variants)
    same_group = np.einsum("tkmkn->tkmn", blocks)  # (test, K, D, D)
    all_pairs = blocks.sum((2, 4))  # (test, K, K): summed over variants
    within_sum = same_group.sum((-2, -1)) - np.trace(same_group, axis1=-2, axis2=-1)  # (test, K)
    between = (all_pairs.sum((-2, -1)) - np.trace(all_pairs, axis1=-2, axis2=-1)) / (n_groups * (n_groups - 1) * n_variants**2)
    return {
        "s11": np.trace(g_naive, axis1=-2, axis2=-1) / g_naive.shape[-1],
        "sij": _off_diagonal_mean(g_naive),
        "s_own": np.trace(g_var, axis1=-2, axis2=-1) / g_var.shape[-1],
        "s_within": within_sum.sum(-1) / (n_groups * n_variants * (n_variants - 1)),
        "s_between": between,
    }


def estimate_moments(naive: np.ndarray, variants: np.ndarray, reference: np.ndarray) -> tuple[Moments, Moments]:
    """The moments averaged over test examples, and their standard errors over test examples."""
    per_test = moments_per_test(naive, variants, reference)
    n_test = reference.shape[0]
    mean = Moments(**{k: float(v.mean()) for k, v in per_test.items()})
    sem = Moments(**{k: float(v.std(ddof=1) / np.sqrt(n_test)) if n_test > 1 else float("nan") for k, v in per_test.items()})
    return mean, sem


def naive_error(m: Moments, n_models: int) -> float:
    """Expected squared error of a naive ensemble of I models (Eq. 8 about the reference)."""
    return (m.s11 + (n_models - 1) * m.sij) / n_models


def two_step_error(m: Moments, n_groups: int, n_variants: int) -> float:
    """Expected squared error of a two-step ensemble of K base models x D variants (Eq. 10)."""
    return (m.s_own + (n_variants - 1) * m.s_within + n_variants * (n_groups - 1) * m.s_between) / (n_groups * n_variants)


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
    (K of the base models, D of each one's variants), drawn without replacement."""
    rng = np.random.default_rng(seed)
    naive_err, two_step_err = 0.0, 0.0
    for _ in range(draws):
        chosen = rng.choice(naive.shape[0], n_models, replace=False)
        naive_err += float(((naive[chosen].mean(0) - reference) ** 2).mean())
        groups = rng.choice(variants.shape[0], n_groups, replace=False)
        picks = np.stack([variants[k, rng.choice(variants.shape[1], n_variants, replace=False)] for k in groups])
        two_step_err += float(((picks.mean((0, 1)) - reference) ** 2).mean())
    return naive_err / draws, two_step_err / draws
