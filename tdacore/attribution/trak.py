"""TRAK (Park et al. 2023; Eq. 2 of the paper) and its ensembles (Section 3.3).

Per ensemble member m (an independently trained model, or a dropout pass of one):
    features:  Phi_m = P_m^T grad f(x_j) for training x_j, phi_m(x) for test x, Q_m = 1 - p
    kernel:    K_m = phi_m (Phi_m^T Phi_m + lambda I)^{-1} Phi_m^T      (test x train)
(lambda = 0 is Eq. 2 as written; Ridge: absolute, or relative to the member's mean eigenvalue),
and the ensemble score is  tau = mean_m(K_m) * mean_m(Q_m)  (Q scales training columns).
The forward-only Dropout Ensemble (Section 3.3) takes the kernels from the unmasked models and
the Q from their masked passes: a masked pass then needs forward_q alone, no gradient. Its
shared-gradient reading projects each unmasked model's gradients, computed once, with every
pass's projection (featurize_shared).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from tdacore.attribution.grads import batched_outputs
from tdacore.attribution.projection.projectors import Projector, project_grads_each
from tdacore.data.batches import Inputs
from tdacore.models.outputs import CLASSIFICATION, ModelOutputs


@dataclass
class Features:
    """One member's TRAK features: projected gradients and Q on the training set."""

    phi_train: np.ndarray  # n_train x k
    phi_test: np.ndarray  # n_test x k
    q_train: np.ndarray  # n_train
    seconds: float  # wall time spent making them (serving cost); see featurize_shared


def featurize(
    model: nn.Module,
    x_train: Inputs,
    y_train: torch.Tensor,
    x_test: Inputs,
    y_test: torch.Tensor,
    projector: Projector,
    chunk_size: int,
    outputs: ModelOutputs = CLASSIFICATION,
) -> Features:
    """TRAK features of `model` as it is (wrap it in variants.masked for a dropout pass), for the
    setting's model output f and Q (tdacore.models.outputs)."""
    (features,), shared_seconds = featurize_shared(
        model, x_train, y_train, x_test, y_test, [projector], chunk_size, outputs
    )
    return replace(features, seconds=features.seconds + shared_seconds)


def featurize_shared(
    model: nn.Module,
    x_train: Inputs,
    y_train: torch.Tensor,
    x_test: Inputs,
    y_test: torch.Tensor,
    projectors: Sequence[Projector],
    chunk_size: int,
    outputs: ModelOutputs = CLASSIFICATION,
) -> tuple[list[Features], float]:
    """TRAK features of `model` under each of `projectors`, its per-sample gradients and Q
    computed once ("shared gradients", Appendix E). Each Features' seconds is its projections'
    own time; the second result is the shared time (gradients, Q, the rest), so that the shared
    time plus the features' seconds is the wall time of the whole call."""
    start = time.perf_counter()
    phi_train, train_seconds = project_grads_each(model, x_train, y_train, projectors, chunk_size, outputs.f)
    phi_test, test_seconds = project_grads_each(model, x_test, y_test, projectors, chunk_size, outputs.f)
    q_train = forward_q(model, x_train, y_train, chunk_size, outputs)
    features = [
        Features(train.cpu().numpy(), test.cpu().numpy(), q_train, s_train + s_test)
        for train, test, s_train, s_test in zip(phi_train, phi_test, train_seconds, test_seconds)
    ]
    total = time.perf_counter() - start
    return features, total - sum(f.seconds for f in features)


@dataclass
class Part:
    """One member's projected gradients of some examples (a training shard, or the test set)
    under one projector, and Q for training examples (featurize.shard_size)."""

    phi: np.ndarray
    q: np.ndarray | None
    seconds: float  # its projection's own time; see featurize_part


def featurize_part(
    model: nn.Module,
    x: Inputs,
    y: torch.Tensor,
    projectors: Sequence[Projector],
    chunk_size: int,
    outputs: ModelOutputs = CLASSIFICATION,
    with_q: bool = True,
) -> tuple[list[Part], float]:
    """featurize_shared for one set of examples: each projector's features of `x` (with Q when
    `with_q`, i.e. training examples) and the time they share (gradients, Q, the rest)."""
    start = time.perf_counter()
    phis, seconds = project_grads_each(model, x, y, projectors, chunk_size, outputs.f)
    q = forward_q(model, x, y, chunk_size, outputs) if with_q else None
    parts = [Part(phi.cpu().numpy(), q, s) for phi, s in zip(phis, seconds)]
    return parts, time.perf_counter() - start - sum(seconds)


def forward_q(
    model: nn.Module,
    x_train: Inputs,
    y_train: torch.Tensor,
    chunk_size: int,
    outputs: ModelOutputs = CLASSIFICATION,
) -> np.ndarray:
    """Q on the training set (Eq. 2; classification: 1 - p of the correct class), by forward
    passes without gradients: all that a masked pass of the forward-only Dropout Ensemble computes."""
    return batched_outputs(model, x_train, y_train, outputs.q, chunk_size).cpu().numpy()
