"""Per-sample gradients of the model-output function with torch.func, one chunk at a time."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import torch
from torch import nn
from torch.func import functional_call, grad, vmap

from tdacore.data.batches import Inputs, chunks, forward, is_dict, n_rows, single, take
from tdacore.models.outputs import OutputFn


def trainable_params(model: nn.Module) -> dict[str, torch.Tensor]:
    """The parameters gradients are taken with respect to (detached copies)."""
    return {name: p.detach() for name, p in model.named_parameters() if p.requires_grad}


def functional_forward(model: nn.Module, params: Mapping[str, torch.Tensor], x: Inputs) -> torch.Tensor:
    """The model's outputs on a batch with its parameters replaced by `params` (torch.func):
    model(x), or model(**x) for named inputs (tdacore.data.batches)."""
    if is_dict(x):
        return functional_call(model, dict(params), (), dict(x))
    return functional_call(model, dict(params), (x,))


def per_sample_grads(
    model: nn.Module,
    x: Inputs,
    y: torch.Tensor,
    output_fn: OutputFn,
    chunk_size: int,
    names: Sequence[str] | None = None,
) -> Iterator[tuple[slice, list[torch.Tensor]]]:
    """Yield (rows, blocks): blocks[b][r] is the flattened gradient of output_fn(model(x_r), y_r)
    with respect to the b-th trainable parameter (concatenated, they are the full gradient), or
    to the b-th of `names` when given (the others held fixed).

    Only one chunk of gradients (chunk_size x n_params) exists at a time, and it is never
    copied into one matrix: projections consume the blocks directly.
    """
    params = trainable_params(model)
    if names is not None:
        params = {name: params[name] for name in names}

    def output(p: dict[str, torch.Tensor], xi: Inputs, yi: torch.Tensor) -> torch.Tensor:
        logits = functional_forward(model, p, single(xi)).squeeze(0)
        return output_fn(logits, yi)

    grad_fn = vmap(grad(output), in_dims=(None, 0, 0), randomness="different")  # per-example dropout masks, if any
    for rows in chunks(n_rows(x), chunk_size):
        grads = grad_fn(params, take(x, rows), y[rows])
        yield rows, [g.reshape(rows.stop - rows.start, -1) for g in grads.values()]


def gradient_matrix(model: nn.Module, x: Inputs, y: torch.Tensor, output_fn: OutputFn, chunk_size: int) -> torch.Tensor:
    """The per-sample gradients of every row of x as one (rows x n_params) matrix, each chunk
    written straight into it (no concatenation of chunks)."""
    params = trainable_params(model).values()
    out = torch.empty(n_rows(x), sum(p.numel() for p in params), device=y.device, dtype=next(iter(params)).dtype)
    for rows, blocks in per_sample_grads(model, x, y, output_fn, chunk_size):
        torch.cat(blocks, dim=1, out=out[rows])
    return out


@torch.no_grad()
def batched_outputs(model: nn.Module, x: Inputs, y: torch.Tensor, output_fn: OutputFn, chunk_size: int) -> torch.Tensor:
    """output_fn(model(x), y) for every row, computed in chunks without gradients."""
    return torch.cat([output_fn(forward(model, take(x, rows)), y[rows]) for rows in chunks(n_rows(x), chunk_size)])
