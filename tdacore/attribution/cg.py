"""Conjugate gradients for symmetric positive-definite systems A X = B, many right-hand sides
at once (Appendix A: IF's inverse-Hessian-vector products), with a real stopping rule."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

MatVec = Callable[[torch.Tensor], torch.Tensor]


class NotPositiveDefiniteError(ArithmeticError):
    """CG met a direction of non-positive curvature: A is not positive definite."""


@dataclass
class CGResult:
    solution: torch.Tensor  # n x r
    relative_residual: torch.Tensor  # r: ||B - A X|| / ||B|| per column, recomputed at the end
    iterations: int
    converged: bool  # every column's recomputed residual is within rtol


def conjugate_gradient(matvec: MatVec, rhs: torch.Tensor, *, rtol: float, max_iter: int) -> CGResult:
    """Solve matvec(X) = rhs column by column (rhs: n x r) by conjugate gradients.

    A column stops once ||b - A x|| / ||b|| <= rtol; the solve stops when all have, or after
    max_iter iterations. A non-positive curvature p^T A p <= 0 raises NotPositiveDefiniteError
    naming the column: such a system (e.g. an undamped Hessian at a saddle) has no CG solution.
    """
    b = rhs if rhs.ndim == 2 else rhs[:, None]
    x = torch.zeros_like(b)
    r = b.clone()
    p = r.clone()
    rs = (r * r).sum(0)
    b_norm = b.norm(dim=0).clamp_min(torch.finfo(b.dtype).tiny)
    active = rs.sqrt() / b_norm > rtol
    iterations = 0
    while active.any() and iterations < max_iter:
        ap = matvec(p)
        curvature = (p * ap).sum(0)
        bad = active & (curvature <= 0)
        if bad.any():
            column = int(bad.nonzero()[0])
            raise NotPositiveDefiniteError(
                f"CG: p^T A p = {float(curvature[column]):.3g} <= 0 for right-hand side {column} at iteration "
                f"{iterations}: the system is not positive definite (add damping)"
            )
        alpha = torch.where(active, rs / curvature, torch.zeros_like(rs))
        x += alpha * p
        r -= alpha * ap
        rs_new = (r * r).sum(0)
        beta = torch.where(active, rs_new / rs.clamp_min(torch.finfo(b.dtype).tiny), torch.zeros_like(rs))
        p = r + beta * p
        rs = rs_new
        active = rs.sqrt() / b_norm > rtol
        iterations += 1
    residual = (b - matvec(x)).norm(dim=0) / b_norm
    solution = x if rhs.ndim == 2 else x[:, 0]
    return CGResult(solution, residual, iterations, bool((residual <= rtol).all()))
