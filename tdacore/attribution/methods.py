"""Gradient-based TDA methods of Appendix A besides TRAK: IF (conjugate gradients), Grad-Dot,
Grad-Cos. Rows are test examples, columns training examples; a positive score means the
training example raises the model output on the test example."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from tdacore.attribution.cg import CGResult, conjugate_gradient
from tdacore.attribution.grads import gradient_matrix, per_sample_grads
from tdacore.attribution.hessian import damped_gauss_newton_vp, damped_hvp, flatten_params, smallest_eigenvalue
from tdacore.attribution.registry import METHODS
from tdacore.data.batches import Inputs, each
from tdacore.models.dropout import dropout_off
from tdacore.models.outputs import CLASSIFICATION, ModelOutputs


def grad_dot(g_test: torch.Tensor, g_train: torch.Tensor) -> torch.Tensor:
    """Grad-Dot (Charpiat et al.): g(x)^T g(x_j)."""
    return g_test @ g_train.T


def grad_cos(g_test: torch.Tensor, g_train: torch.Tensor) -> torch.Tensor:
    """Grad-Cos: g(x)^T g(x_j) / (|g(x)| |g(x_j)|); a zero gradient scores 0. The dot products
    are divided by the norms afterwards: no normalised copy of the gradients is made."""
    norms = g_test.norm(dim=1)[:, None] * g_train.norm(dim=1)[None, :]
    return grad_dot(g_test, g_train) / norms.clamp_min(torch.finfo(g_test.dtype).tiny)


def influence(
    g_test: torch.Tensor, g_train_loglik: torch.Tensor, solve: Callable[[torch.Tensor], CGResult]
) -> tuple[torch.Tensor, CGResult]:
    """IF (Koh & Liang): tau_j = g_f(x)^T (H + lambda I)^{-1} grad log p(y_j | x_j).

    Upweighting x_j moves the parameters by -(H + lambda I)^{-1} grad loss_j, so tau_j > 0 means
    including x_j raises f(x). `solve` applies (H + lambda I)^{-1} to the columns of its argument
    (conjugate gradients); its result, with the residual of every solve, is returned too.
    """
    result = solve(g_test.T)
    return result.solution.T @ g_train_loglik.T, result


def lowest_hessian_eigenvalue(
    model: nn.Module, x: Inputs, y: torch.Tensor, outputs: ModelOutputs, chunk_size: int, seed: int
) -> float:
    """lambda_min of the Hessian of the mean training loss at `model` (Lanczos from `seed`), to 4
    significant digits, the same in every run. Its HVPs run on a float64 copy of the model: float32
    HVPs vary in their last bits with the process's memory layout (vectorised reductions), which
    Lanczos at tolerance 1e-2 carried into the 4th digit of lambda_min, hence into IF's shift and
    scores; float64's noise lies about 1e-12 below the rounding."""
    wide = copy.deepcopy(model).double()
    wide_x = each(lambda a: a.double() if a.is_floating_point() else a, x)
    hvp = damped_hvp(wide, wide_x, y, outputs.loss, 0.0, chunk_size)
    return float(f"{smallest_eigenvalue(hvp, flatten_params(wide)[0], seed):.4g}")


GRADIENTS = ("margin", "loss")  # Grad-Dot / Grad-Cos: the model output's gradient, or the loss's
CURVATURES = ("hessian", "gauss_newton")  # IF's H


def score_matrix(
    method: str,
    model: nn.Module,
    x_train: Inputs,
    y_train: torch.Tensor,
    x_test: Inputs,
    y_test: torch.Tensor,
    *,
    chunk_size: int,
    damping: float = 0.0,
    shift_negative_curvature: bool = False,
    curvature: str = "hessian",
    gradient: str = "margin",
    rtol: float = 1e-4,
    max_iter: int = 100,
    seed: int = 0,
    outputs: ModelOutputs = CLASSIFICATION,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Scores (test x train) of one model (or dropout variant) by `method`, streaming the
    training gradients chunk by chunk; for IF also the CG residuals and iteration count.

    IF solves with C + (damping + shift) I, C the Hessian of the training loss or its
    Gauss-Newton matrix (`curvature`); shift = max(0, -lambda_min(H)) when
    `shift_negative_curvature` and C is the Hessian (lambda_min by Lanczos from `seed`), else 0
    (the Gauss-Newton matrix is positive semi-definite); with dropout sites in eval mode (fixed
    masks act through hooks and stay; per-example masks are off for it). One damping for every member of an
    ensemble: shift_negative_curvature False with a damping above every member's -lambda_min.
    Grad-Dot and Grad-Cos take `gradient`: "margin" (g_f on both sides, Appendix A) or "loss"
    (the training loss's gradient on both sides, -g of log p_y: the two signs cancel).
    """
    if gradient not in GRADIENTS or curvature not in CURVATURES:
        raise ValueError(
            f"gradient must be one of {GRADIENTS} (got {gradient!r}), curvature one of {CURVATURES} (got {curvature!r})"
        )
    side = outputs.f if gradient == "margin" else outputs.train_side
    g_test = gradient_matrix(model, x_test, y_test, outputs.f if method == "if" else side, chunk_size)
    info: dict[str, Any] = {}
    if method == "if":
        shift = 0.0
        with dropout_off(model):  # per-example masks: the curvature is the unmasked model's
            if shift_negative_curvature and curvature == "hessian":
                lowest = lowest_hessian_eigenvalue(model, x_train, y_train, outputs, chunk_size, seed)
                shift = max(0.0, -lowest)
                info["hessian_min_eigenvalue"] = lowest
            info["damping_total"] = damping + shift
            matvec = damped_hvp if curvature == "hessian" else damped_gauss_newton_vp
            hvp = matvec(model, x_train, y_train, outputs.loss, damping + shift, chunk_size)
            result = conjugate_gradient(hvp, g_test.T, rtol=rtol, max_iter=max_iter)
        info |= {
            "cg_iterations": result.iterations,
            "cg_converged": result.converged,
            "cg_relative_residual": result.relative_residual.tolist(),
        }
        left, train_fn, pair = result.solution.T, outputs.train_side, grad_dot
    elif method in ("graddot", "gradcos"):
        left, train_fn, pair = g_test, side, grad_dot if method == "graddot" else grad_cos
    else:
        raise ValueError(
            f"unknown method '{method}': score_matrix scores "
            f"{', '.join(n for n, m in METHODS.items() if not m.kernels)}"
        )
    scores = np.empty((len(y_test), len(y_train)), dtype=np.float32)
    for rows, blocks in per_sample_grads(model, x_train, y_train, train_fn, chunk_size):
        scores[:, rows] = pair(left, torch.cat(blocks, dim=1)).cpu().numpy()
    return scores, info
