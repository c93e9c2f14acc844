"""Random projections of gradients to k dimensions (TRAK's phi = P^T g, Eq. 2), and the loop
that projects a data set's per-sample gradients chunk by chunk into preallocated outputs.

Every random projector has E[<P^T u, P^T v>] = <u, v> (Johnson-Lindenstrauss type):
    gaussian    dense P, entries N(0, 1/k); at the matmul bound when P fits `cache_mb`
    sjlt        sparse JL transform (tdacore.attribution.projection.sjlt): s signed nonzeros per parameter
    factorised  Kronecker projections of linear layers from their inputs and output gradients,
                no per-sample gradient formed (tdacore.attribution.projection.factorised; LoGra / FactGraSS)
and `identity` keeps the gradient itself (small models, tests).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import nn

from tdacore.attribution.grads import OutputFn, per_sample_grads, trainable_params
from tdacore.attribution.projection.dense import GaussianProjector, IdentityProjector
from tdacore.attribution.projection.factorised import (
    FactorisedProjector,
    draws_fresh_masks,
    find_sites,
    linear_factors,
    linear_gradients,
)
from tdacore.attribution.projection.sjlt import SJLTProjector
from tdacore.attribution.projection.spec import Projection
from tdacore.data.batches import Inputs, n_rows
from tdacore.infra.seeds import derive_seed

GradientProjector = IdentityProjector | GaussianProjector | SJLTProjector
Projector = GradientProjector | FactorisedProjector


def make_gradient_projector(
    spec: Projection, kind: str, n_params: int, seed: int, device: torch.device
) -> GradientProjector:
    """A projector of whole per-sample gradients: `kind` with the options of `spec`."""
    if kind == "gaussian":
        return GaussianProjector(n_params, spec.dim, seed, device, cache_bytes=spec.cache_mb << 20)
    if kind == "sjlt":
        return SJLTProjector(n_params, spec.dim, seed, device, nonzeros=spec.nonzeros)
    return IdentityProjector(n_params)


def make_projector(spec: Projection, model: nn.Module, example: Inputs, seed: int, device: torch.device) -> Projector:
    """The projector `spec` names, for `model`'s trainable parameters; `example` (one input row)
    finds the linear layers a factorised projection covers."""
    n_params = sum(p.numel() for p in trainable_params(model).values())
    if spec.kind != "factorised":
        return make_gradient_projector(spec, spec.kind, n_params, seed, device)
    return FactorisedProjector(
        model,
        example,
        spec.dim,
        seed,
        device,
        lambda n: make_gradient_projector(spec, spec.rest, n, derive_seed(seed, "factorised-rest"), device),
    )


def project_grads(
    model: nn.Module, x: Inputs, y: torch.Tensor, projector: Projector, chunk_size: int, output_fn: OutputFn
) -> torch.Tensor:
    """Projected per-sample gradients of every row of x (rows x projector.dim), one chunk of
    gradients at a time, written into one preallocated tensor (IdentityProjector: the gradients)."""
    (out,), _ = project_grads_each(model, x, y, [projector], chunk_size, output_fn)
    return out


def project_grads_each(
    model: nn.Module,
    x: Inputs,
    y: torch.Tensor,
    projectors: Sequence[Projector],
    chunk_size: int,
    output_fn: OutputFn,
) -> tuple[list[torch.Tensor], list[float]]:
    """The per-sample gradients of every row of x, computed once, under each of `projectors`:
    one preallocated (rows x dim) tensor per projector, and the seconds each projector took
    (generating its matrix included; the gradients' own time is the caller's total minus these).
    Factorised projectors share one pass of layer inputs and output gradients instead."""
    factorised = [isinstance(projector, FactorisedProjector) for projector in projectors]
    if any(factorised) and not all(factorised):
        raise ValueError("one job's projectors must all be factorised or all be gradient projectors")
    dtype = next(iter(trainable_params(model).values())).dtype
    outs = [torch.empty(n_rows(x), projector.dim, device=y.device, dtype=dtype) for projector in projectors]
    seconds = [0.0] * len(projectors)
    for group in _groups_within_budget(projectors):
        for rows, chunk in gradient_chunks(model, x, y, output_fn, chunk_size, projectors[0]):
            for k in group:
                start = time.perf_counter()
                projectors[k](chunk, out=outs[k][rows])
                if y.device.type == "cuda":
                    torch.cuda.synchronize(y.device)
                seconds[k] += time.perf_counter() - start
        for k in group:
            if isinstance(projectors[k], GaussianProjector):
                projectors[k].release()
    return outs, seconds


def gradient_chunks(
    model: nn.Module, x: Inputs, y: torch.Tensor, output_fn: OutputFn, chunk_size: int, projector: Projector
) -> Iterator[tuple[slice, Any]]:
    """What `projector` consumes, chunk by chunk: a factorised projection its layers' inputs and
    output gradients; a gradient projector per-sample gradients, made from those same factors
    when every trainable parameter sits in a linear layer (an MLP) and by vmap otherwise (and
    under per-example masks, which vmap draws: tdacore.models.dropout.fresh_masks)."""
    if isinstance(projector, FactorisedProjector):
        return linear_factors(model, x, y, output_fn, chunk_size, projector.sites)
    sites = find_sites(model, x)
    if not sites.rest and not draws_fresh_masks(model):
        return linear_gradients(model, x, y, output_fn, chunk_size, sites)
    return per_sample_grads(model, x, y, output_fn, chunk_size)


def _groups_within_budget(projectors: Sequence[Projector]) -> list[list[int]]:
    """Consecutive groups of projectors whose kept dense matrices fit the memory budget together
    (the smallest of their budgets): one pass of gradients per group, so that ten projections of
    one model's gradients never hold ten dense matrices at once."""
    kept = [p.n_params * p.dim * 4 if isinstance(p, GaussianProjector) and p.fits else 0 for p in projectors]
    budget = min((p.cache_bytes for p in projectors if isinstance(p, GaussianProjector)), default=0)
    groups: list[list[int]] = [[]]
    for k, size in enumerate(kept):
        if groups[-1] and sum(kept[j] for j in groups[-1]) + size > budget:
            groups.append([])
        groups[-1].append(k)
    return groups
