"""Exact curvature-vector products of the mean training loss (torch.func): the Hessian
(forward-over-reverse) and the Gauss-Newton matrix J^T H_out J (J the Jacobian of the logits,
H_out the Hessian of the loss in the logits)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from scipy.sparse.linalg import LinearOperator, eigsh
from torch import nn
from torch.func import grad, jvp, vjp, vmap

from tdacore.attribution.cg import MatVec
from tdacore.attribution.grads import functional_forward, trainable_params
from tdacore.data.batches import Inputs, chunks, n_rows, take
from tdacore.infra.seeds import numpy_rng

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (logits, labels) -> mean loss


def flatten_params(model: nn.Module) -> tuple[torch.Tensor, Callable[[torch.Tensor], dict[str, torch.Tensor]]]:
    """The trainable parameters as one vector, and the map back to a parameter dict."""
    params = trainable_params(model)
    shapes = {name: p.shape for name, p in params.items()}
    sizes = [p.numel() for p in params.values()]

    def unflatten(flat: torch.Tensor) -> dict[str, torch.Tensor]:
        return {name: piece.reshape(shapes[name]) for name, piece in zip(shapes, flat.split(sizes))}

    return torch.cat([p.reshape(-1) for p in params.values()]), unflatten


def damped_hvp(
    model: nn.Module, x: Inputs, y: torch.Tensor, loss_fn: LossFn, damping: float, chunk_size: int
) -> MatVec:
    """V -> (H + damping I) V for V of shape n_params x r, H the Hessian of the mean of
    loss_fn over (x, y) at the model's parameters, accumulated over chunks of examples."""
    theta, unflatten = flatten_params(model)

    def chunk_loss(flat: torch.Tensor, xc: Inputs, yc: torch.Tensor) -> torch.Tensor:
        return loss_fn(functional_forward(model, unflatten(flat), xc), yc)

    def matvec(v: torch.Tensor) -> torch.Tensor:
        out = damping * v
        for rows in chunks(n_rows(x), chunk_size):
            xc, yc = take(x, rows), y[rows]

            def hvp(u: torch.Tensor, xc=xc, yc=yc) -> torch.Tensor:
                return jvp(lambda flat: grad(chunk_loss)(flat, xc, yc), (theta,), (u,))[1]

            out = out + (len(yc) / len(y)) * vmap(hvp, in_dims=1, out_dims=1)(v)
        return out

    return matvec


def damped_gauss_newton_vp(
    model: nn.Module, x: Inputs, y: torch.Tensor, loss_fn: LossFn, damping: float, chunk_size: int
) -> MatVec:
    """V -> (G + damping I) V for V of shape n_params x r, G = sum over chunks of
    (|chunk| / n) J^T H_out J: J the Jacobian of the chunk's logits in the parameters, H_out the
    Hessian of loss_fn in the logits (positive semi-definite for cross-entropy, so G is too)."""
    theta, unflatten = flatten_params(model)

    def matvec(v: torch.Tensor) -> torch.Tensor:
        out = damping * v
        for rows in chunks(n_rows(x), chunk_size):
            xc, yc = take(x, rows), y[rows]

            def logits(flat: torch.Tensor, xc=xc) -> torch.Tensor:
                return functional_forward(model, unflatten(flat), xc)

            z, pullback = vjp(logits, theta)

            def gvp(u: torch.Tensor, xc=xc, yc=yc, z=z, pullback=pullback) -> torch.Tensor:
                ju = jvp(logits, (theta,), (u,))[1]
                h_ju = jvp(lambda out: grad(loss_fn)(out, yc), (z,), (ju,))[1]
                return pullback(h_ju)[0]

            out = out + (len(yc) / len(y)) * vmap(gvp, in_dims=1, out_dims=1)(v)
        return out

    return matvec


# ARPACK's ncv: with 40, the default MLP's lambda_min took up to 375 products at tol 1e-2; with 80,
# 81 (one restart-free run); a tighter tol (1e-5) took one member 444 s instead of ~30 s.
LANCZOS_VECTORS = 80


def smallest_eigenvalue(matvec: MatVec, like: torch.Tensor, seed: int, rtol: float = 1e-2) -> float:
    """The smallest (most negative) eigenvalue of the symmetric operator `matvec` on vectors
    shaped, typed and placed like `like`, by Lanczos (scipy's ARPACK eigsh, LANCZOS_VECTORS
    Lanczos vectors) from a seeded start."""
    n = like.numel()

    def apply(v: np.ndarray) -> np.ndarray:
        return matvec(like.new_tensor(v.reshape(-1, 1))).double().cpu().numpy().ravel()

    operator = LinearOperator((n, n), matvec=apply, dtype=np.float64)
    start = numpy_rng(seed).standard_normal(n)
    ncv = min(n, LANCZOS_VECTORS)
    (value,) = eigsh(operator, k=1, which="SA", tol=rtol, v0=start, ncv=ncv, return_eigenvectors=False)
    return float(value)
