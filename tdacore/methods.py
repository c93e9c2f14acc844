"""Gradient-based TDA methods of Appendix A besides TRAK: IF (conjugate gradients), Grad-Dot,
Grad-Cos. Rows are test examples, columns training examples; a positive score means the
training example raises the model output on the test example."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from tdacore.cg import CGResult, conjugate_gradient
from tdacore.grads import per_sample_grads, trainable_params
from tdacore.hessian import damped_hvp, flatten_params, smallest_eigenvalue
from tdacore.outputs import CLASSIFICATION, ModelOutputs
from tdacore.projection import IdentityProjector, project_grads


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


def score_matrix(
    method: str,
    model: nn.Module,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    *,
    chunk_size: int,
    damping: float = 0.0,
    shift_negative_curvature: bool = False,
    rtol: float = 1e-4,
    max_iter: int = 100,
    seed: int = 0,
    outputs: ModelOutputs = CLASSIFICATION,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Scores (test x train) of one model (or dropout variant) by `method`, streaming the
    training gradients chunk by chunk; for IF also the CG residuals and iteration count.

    IF solves with H + (damping + shift) I, where shift = max(0, -lambda_min(H)) when
    `shift_negative_curvature` (lambda_min by Lanczos from `seed`), else 0.
    """
    n_params = sum(p.numel() for p in trainable_params(model).values())
    g_test = project_grads(model, x_test, y_test, IdentityProjector(n_params), chunk_size, outputs.f)
    info: dict[str, Any] = {}
    if method == "if":
        shift = 0.0
        if shift_negative_curvature:
            hessian = damped_hvp(model, x_train, y_train, outputs.loss, 0.0, chunk_size)
            lowest = smallest_eigenvalue(hessian, flatten_params(model)[0], seed)
            shift = max(0.0, -lowest)
            info["hessian_min_eigenvalue"] = lowest
        info["damping_total"] = damping + shift
        hvp = damped_hvp(model, x_train, y_train, outputs.loss, damping + shift, chunk_size)
        result = conjugate_gradient(hvp, g_test.T, rtol=rtol, max_iter=max_iter)
        info |= {
            "cg_iterations": result.iterations,
            "cg_converged": result.converged,
            "cg_relative_residual": result.relative_residual.tolist(),
        }
        left, train_fn, pair = result.solution.T, outputs.train_side, grad_dot
    elif method in ("graddot", "gradcos"):
        left, train_fn, pair = g_test, outputs.f, grad_dot if method == "graddot" else grad_cos
    else:
        raise ValueError(f"unknown method '{method}' (known: if, graddot, gradcos)")
    scores = np.empty((len(x_test), len(x_train)), dtype=np.float32)
    for rows, blocks in per_sample_grads(model, x_train, y_train, train_fn, chunk_size):
        scores[:, rows] = pair(left, torch.cat(blocks, dim=1)).cpu().numpy()
    return scores, info
