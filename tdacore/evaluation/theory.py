"""Section 5 on measured scores: the error moments of Lemma 5.1, the squared errors it predicts
for naive and two-step ensembles, its Cases 1 and 2, and resampled measurements to check them.

For one test example, tau(Theta) is a vector over the n training examples. Every moment is a
second moment of errors e = tau - tau(Theta*), averaged over training examples, <e_a, e_b> / n,
so that it carries the bias as well: the squared error of a mean of members is then exactly the
mean of their pairwise moments, with no equal-bias assumption (Appendix I.1 needs one because it
centres on the mean instead).

    S_11             <e_i, e_i> / n     an independently trained model with itself
    S_ij             <e_i, e_j> / n     two independently trained models, i != j
    S_(k,m),(k,m)    <e_km, e_km> / n   a variant with itself
    S_(k,m),(k,n)    <e_km, e_kn> / n   two variants of one base model (within-group), m != n
    S_(k,m),(l,n)    <e_km, e_ln> / n   variants of different base models (between-group), k != l

each averaged over every available pair, per test example, then over test examples (with the
standard error over test examples). Expected squared errors (Eq. 8, Eq. 10):

    naive I:            (S_11 + (I - 1) S_ij) / I
    two-step (K, D):    (S_(k,m),(k,m) + (D - 1) S_(k,m),(k,n) + D (K - 1) S_(k,m),(l,n)) / (K D)

and Delta = naive - two-step (Eq. 12); Case 1 (K = I, Eq. 3) and Case 2 (K D = I, Eq. 4) add
the assumptions S_(k,m),(k,m) = S_11 and S_(k,m),(l,n) = S_ij (Eq. 13).

Two readings of tau(Theta*) (REFERENCES):

- "all": the naive ensemble of every available model, r = mean_i tau_i. It contains the models
  it judges: with I models S_ij comes out near -S_11 / (I - 1), which favours naive ensembles.
- "leave_out": mu = E[tau_i], the infinitely large naive ensemble, estimated without bias from
  models independent of the members judged. Variant group k is made from naive model k, so the
  references R of a pair (a, b) are the naive models that are neither a's nor b's base; for
  p != q in R, E<tau_a - tau_p, tau_b - tau_q> / n = <E(tau_a - mu), ...>: the moment about mu.
  Averaged over the pairs of R, with G_ab = <tau_a, tau_b> / n:
      G_ab - mean_{q in R} G_aq - mean_{p in R} G_pb + mean_{p != q in R} G_pq.
  It needs |R| >= 2: I >= 3 models for S_11, a variant's own and within-group moments, I >= 4
  for between-group ones; a measured error needs two models outside the ensemble's base models.
  S_ij is 0 about mu (independently trained models are independent), and its leave-out
  estimate is identically 0 (the four terms cancel over all ordered quadruples), so it is 0.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass

import numpy as np

REFERENCES = ("all", "leave_out")


@dataclass(frozen=True)
class Moments:
    """The five error moments of Lemma 5.1: floats (averaged over test examples) or arrays (one
    value per test example); every formula below takes either."""

    s11: float | np.ndarray
    sij: float | np.ndarray
    s_own: float | np.ndarray
    s_within: float | np.ndarray
    s_between: float | np.ndarray

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Layout:
    """Members of a joint Gram matrix: I naive models, then K groups x D variants, group-major.
    Variant group k was made from naive model k (its base)."""

    n_models: int
    n_groups: int
    n_variants: int

    def variant(self, group: int, index: int) -> int:
        return self.n_models + group * self.n_variants + index

    def base(self, member: int) -> int:
        return member if member < self.n_models else (member - self.n_models) // self.n_variants

    def references(self, members) -> list[int]:
        """Leave-out references of a set of members: the naive models that are none's base."""
        bases = {self.base(a) for a in members}
        return [i for i in range(self.n_models) if i not in bases]

    def pairs(self) -> dict[str, list[tuple[int, int]]]:
        """The member pairs each moment averages over."""
        I, K, D = self.n_models, self.n_groups, self.n_variants
        v = self.variant
        return {
            "s11": [(i, i) for i in range(I)],
            "sij": [(i, j) for i, j in itertools.permutations(range(I), 2)],
            "s_own": [(v(k, m), v(k, m)) for k in range(K) for m in range(D)],
            "s_within": [(v(k, m), v(k, n)) for k in range(K) for m, n in itertools.permutations(range(D), 2)],
            "s_between": [
                (v(k, m), v(l, n)) for k, l in itertools.permutations(range(K), 2) for m in range(D) for n in range(D)
            ],
        }


def joint_gram(naive: np.ndarray, variants: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """<tau_a - r, tau_b - r> / n per test example over every member (Layout order): naive (I,
    test, train), variants (K, D, test, train), reference r (test, train) or None for r = 0.
    Returns (test, I + K D, I + K D), computed blockwise (no copy of the scores)."""
    if naive.shape[1:] != variants.shape[2:] or (reference is not None and reference.shape != naive.shape[1:]):
        shapes = f"naive {naive.shape}, variants {variants.shape}" + (
            "" if reference is None else f", reference {reference.shape}"
        )
        raise ValueError(f"shapes disagree: {shapes}")
    blocks = [naive, variants.reshape(-1, *naive.shape[1:])] + ([reference[None]] if reference is not None else [])
    sizes = [len(b) for b in blocks]
    edges = np.cumsum([0, *sizes])
    gram = np.empty((naive.shape[1], edges[-1], edges[-1]))
    for (x, a), (y, b) in itertools.combinations_with_replacement(enumerate(blocks), 2):
        part = np.einsum("atj,btj->tab", a, b, optimize=True) / naive.shape[-1]
        gram[:, edges[x] : edges[x + 1], edges[y] : edges[y + 1]] = part
        gram[:, edges[y] : edges[y + 1], edges[x] : edges[x + 1]] = part.transpose(0, 2, 1)
    if reference is None:
        return gram
    return centre(gram, np.eye(edges[-1])[-1])[:, :-1, :-1]


def centre(gram: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The Gram matrix about the reference r = sum_p weights_p tau_p (weights: (members,))."""
    gw = gram @ weights  # (test, M)
    return gram - gw[:, :, None] - gw[:, None, :] + (gw @ weights)[:, None, None]


def _block_mean(gram: np.ndarray, rows, cols) -> np.ndarray:
    return gram[:, rows][:, :, cols].mean((-2, -1))


def about(gram: np.ndarray, a: list[int], b: list[int], refs: list[int] | None) -> np.ndarray:
    """<mean_a tau - r, mean_b tau - r> / n per test example: about the reference the Gram is
    centred on (refs None), or about mu from the leave-out references refs (needs >= 2, else NaN)."""
    value = _block_mean(gram, a, b)
    if refs is None:
        return value
    if len(refs) < 2:
        return np.full(len(gram), np.nan)
    r = len(refs)
    pair_mean = (gram[:, refs][:, :, refs].sum((-2, -1)) - np.trace(gram[:, refs][:, :, refs], axis1=-2, axis2=-1)) / (
        r * (r - 1)
    )
    return value - _block_mean(gram, a, refs) - _block_mean(gram, refs, b) + pair_mean


def _about_reference(gram: np.ndarray, layout: Layout, reference: str, a: list[int], b: list[int]) -> np.ndarray:
    """`about` with the references the reading asks for (none: the Gram is centred on it)."""
    return about(gram, a, b, layout.references(a + b) if reference == "leave_out" else None)


def moments_per_test(gram: np.ndarray, layout: Layout, reference: str) -> dict[str, np.ndarray]:
    """The five moments for each test example: about the reference `gram` is centred on
    ("all", or any fixed reference), or about mu ("leave_out", from the uncentred Gram)."""
    if reference not in REFERENCES:
        raise ValueError(f"reference must be one of {REFERENCES}, got {reference!r}")
    if layout.n_models < 2 or layout.n_variants < 2:
        raise ValueError(
            f"the moments need I >= 2 models and D >= 2 variants, got I = {layout.n_models}, D = {layout.n_variants}"
        )
    moments = {}
    for name, pairs in layout.pairs().items():
        if reference == "leave_out" and name == "sij":
            moments[name] = np.zeros(len(gram))  # independent models about their mean (module docstring)
            continue
        values = [_about_reference(gram, layout, reference, [a], [b]) for a, b in pairs]
        # one base model: no between-group pair (NaN), and no two-step ensemble needs one
        moments[name] = np.mean(values, axis=0) if values else np.full(len(gram), np.nan)
    return moments


def mean_and_sem(per_test: np.ndarray) -> tuple[float, float]:
    """Mean over test examples and its standard error (NaN with one test example)."""
    n = len(per_test)
    return float(per_test.mean()), float(per_test.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")


def summarise(per_test: dict[str, np.ndarray]) -> tuple[Moments, Moments]:
    """The moments averaged over test examples, and their standard errors over test examples."""
    pairs = {k: mean_and_sem(v) for k, v in per_test.items()}
    return Moments(**{k: v[0] for k, v in pairs.items()}), Moments(**{k: v[1] for k, v in pairs.items()})


def naive_error(m: Moments, n_models: int):
    """Expected squared error of a naive ensemble of I models (Eq. 8 about the reference)."""
    return m.s11 if n_models == 1 else (m.s11 + (n_models - 1) * m.sij) / n_models


def two_step_error(m: Moments, n_groups: int, n_variants: int):
    """Expected squared error of a two-step ensemble of K base models x D variants (Eq. 10)."""
    within = (n_variants - 1) * m.s_within if n_variants > 1 else 0.0
    between = n_variants * (n_groups - 1) * m.s_between if n_groups > 1 else 0.0
    return (m.s_own + within + between) / (n_groups * n_variants)


def lemma_delta(m: Moments, n_models: int, n_groups: int, n_variants: int):
    """Eq. 12: naive I's squared error minus two-step (K, D)'s; positive: two-step is better."""
    return naive_error(m, n_models) - two_step_error(m, n_groups, n_variants)


def case1_delta(m: Moments, n_models: int, n_variants: int):
    """Eq. 3 (K = I, under Eq. 13): (D - 1) / (I D) (S_11 - S_(k,m),(k,n))."""
    return (n_variants - 1) / (n_models * n_variants) * (m.s11 - m.s_within)


def case2_delta(m: Moments, n_models: int, n_variants: int):
    """Eq. 4 (K D = I, under Eq. 13): (D - 1) / I (S_ij - S_(k,m),(k,n))."""
    return (n_variants - 1) / n_models * (m.sij - m.s_within)


def resampled_errors(
    gram: np.ndarray,
    layout: Layout,
    reference: str,
    n_models: int,
    n_groups: int,
    n_variants: int,
    draws: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Measured squared errors per test example (per training example, averaged over `draws`
    random subsets) of naive I (I of the available models) and two-step (K, D) (K of the base
    models, D of each one's variants, chosen for each apart), drawn without replacement; about
    the centred reference, or about mu from the models outside each subset's base models."""
    rng = np.random.default_rng(seed)
    naive_err, two_step_err = np.zeros(len(gram)), np.zeros(len(gram))
    for _ in range(draws):
        models = [int(i) for i in rng.choice(layout.n_models, n_models, replace=False)]
        groups = rng.choice(layout.n_groups, n_groups, replace=False)
        variants = [
            layout.variant(k, m) for k in groups for m in rng.choice(layout.n_variants, n_variants, replace=False)
        ]
        naive_err += _about_reference(gram, layout, reference, models, models)
        two_step_err += _about_reference(gram, layout, reference, variants, variants)
    return naive_err / draws, two_step_err / draws


def lemma_rows(
    gram: np.ndarray,
    layout: Layout,
    reference: str,
    sizes: list[int],
    points: list[tuple[int, int]],
    draws: int,
    seed: int,
) -> tuple[Moments, Moments, list[dict]]:
    """The moments, their standard errors, and one row per (naive I in `sizes`, two-step (K, D) in
    `points`) that the available members allow: predicted and measured (over `draws` random
    subsets) squared errors and Delta with standard errors over test examples, and where K = I or
    K D = I the Case's Delta (Eq. 3, 4). NaN where the reference leaves too few models."""
    per_test = Moments(**moments_per_test(gram, layout, reference))
    moments, sem = summarise(per_test.as_dict())
    rows = []
    for n_models in sizes:
        for n_groups, n_variants in points:
            if n_models > layout.n_models or n_groups > layout.n_groups or n_variants > layout.n_variants:
                continue
            measured_naive, measured_two_step = resampled_errors(
                gram, layout, reference, n_models, n_groups, n_variants, draws, seed
            )
            case, case_delta = "", np.full(len(gram), np.nan)
            if n_groups == n_models:
                case, case_delta = "K = I (Eq. 3)", case1_delta(per_test, n_models, n_variants)
            elif n_groups * n_variants == n_models:
                case, case_delta = "KD = I (Eq. 4)", case2_delta(per_test, n_models, n_variants)
            columns = {
                "naive_error": naive_error(per_test, n_models),
                "two_step_error": two_step_error(per_test, n_groups, n_variants),
                "naive_error_measured": measured_naive,
                "two_step_error_measured": measured_two_step,
                "delta": lemma_delta(per_test, n_models, n_groups, n_variants),
                "delta_measured": measured_naive - measured_two_step,
                "case_delta": case_delta,
            }
            row = {"reference": reference, "I": n_models, "K": n_groups, "D": n_variants, "case": case}
            for name, values in columns.items():
                row[name], sem_value = mean_and_sem(np.broadcast_to(values, (len(gram),)))
                if name.startswith(("delta", "case")):
                    row[f"{name}_sem"] = sem_value
            rows.append(row)
    return moments, sem, rows
