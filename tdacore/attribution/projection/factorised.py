"""Factorised projection of linear layers (the Kronecker structure of LoGra / FactGraSS).

A linear layer y = W a + b has the per-sample gradient sum_t delta_t [a_t; 1]^T (delta = df/dy,
t over sequence positions; one term for a plain input). Projected by the Kronecker-structured
P_l = P_out (x) P_in (P_in: (in + 1) x k_in, P_out: out x k_out, entries N(0, 1/k_in) and
N(0, 1/k_out), k_in * k_out = k),
    P_l^T vec(grad W, b) = sum_t (P_out^T delta_t) (x) (P_in^T [a_t; 1]),
so the layer's features come from its inputs and output gradients, one batched backward pass
for all examples, without forming a per-sample gradient. E[<P_l^T u, P_l^T v>] = <u, v>
(independent factors), so every layer maps onto all k features and the layers' projections add
up; the parameters outside linear layers (embeddings, norms, ...) get their per-sample
gradients projected by a gradient projector (`rest`) and added as well. Biases ride along as
the input's constant 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import nn

from tdacore.attribution.grads import per_sample_grads, trainable_params
from tdacore.data.batches import Inputs, chunks, forward, n_rows, take
from tdacore.infra.seeds import derive_seed, torch_generator
from tdacore.models.outputs import OutputFn


@dataclass(frozen=True)
class LinearSite:
    """A linear layer whose weight is trainable: its sizes and whether its bias is trainable."""

    name: str
    in_features: int
    out_features: int
    bias: bool


@dataclass(frozen=True)
class Sites:
    """The linear layers a factorised projection covers, and the trainable parameters it does not."""

    layers: tuple[LinearSite, ...]
    rest: tuple[str, ...]
    params: tuple[str, ...]  # every trainable parameter, in the model's order (the gradient's)


@dataclass
class FactorChunk:
    """One chunk of examples: each layer's (inputs, output gradients) per call of the layer,
    each (batch x positions x width), and the rest parameters' per-sample gradient blocks."""

    factors: dict[str, list[tuple[torch.Tensor, torch.Tensor]]]
    rest_blocks: list[torch.Tensor]


def find_sites(model: nn.Module, example: Inputs) -> Sites:
    """The nn.Linear modules with a trainable weight that the forward pass of `example` calls
    (a module whose weight is used otherwise is not one: its parameters go to the rest)."""
    params = trainable_params(model)
    called: list[str] = []
    handles = [
        module.register_forward_hook(lambda m, i, o, name=name: called.append(name))
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear) and f"{name}.weight" in params
    ]
    try:
        with torch.no_grad():
            forward(model, take(example, slice(0, 1)))
    finally:
        for handle in handles:
            handle.remove()
    modules = dict(model.named_modules())
    layers = tuple(
        LinearSite(name, modules[name].in_features, modules[name].out_features, f"{name}.bias" in params)
        for name in dict.fromkeys(called)
    )
    covered = {f"{s.name}.{p}" for s in layers for p in ("weight", "bias")}
    return Sites(layers, tuple(name for name in params if name not in covered), tuple(params))


def draws_fresh_masks(model: nn.Module) -> bool:
    """Whether a dropout site is in train mode (per-example masks, tdacore.models.dropout.fresh_masks):
    a batched pass and vmap then draw different masks."""
    return any(isinstance(m, nn.Dropout) and m.training for m in model.modules())


def linear_factors(
    model: nn.Module, x: Inputs, y: torch.Tensor, output_fn: OutputFn, chunk_size: int, sites: Sites
) -> Iterator[tuple[slice, FactorChunk]]:
    """Yield (rows, FactorChunk) for each chunk of x: the layers' inputs and the gradients of
    sum_r f(x_r) with respect to their outputs (= each example's own delta: examples do not
    interact), from one batched forward and backward pass per chunk."""
    if sites.rest and draws_fresh_masks(model):
        raise ValueError(
            "factorised projection: per-example dropout masks would differ between the linear layers' pass "
            f"and the per-sample gradients of {list(sites.rest)[:3]}...: use another trak.projection.kind"
        )
    modules = dict(model.named_modules())
    for rows in chunks(n_rows(x), chunk_size):
        calls: list[tuple[str, torch.Tensor, torch.Tensor]] = []
        handles = [
            modules[site.name].register_forward_hook(
                lambda m, i, o, name=site.name: calls.append((name, i[0].detach(), o))
            )
            for site in sites.layers
        ]
        try:
            with torch.enable_grad():
                total = output_fn(forward(model, take(x, rows)), y[rows]).sum()
                deltas = torch.autograd.grad(total, [o for _, _, o in calls], allow_unused=True, materialize_grads=True)
        finally:
            for handle in handles:
                handle.remove()
        factors: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {site.name: [] for site in sites.layers}
        n = rows.stop - rows.start
        for (name, a, _), delta in zip(calls, deltas):
            factors[name].append((a.reshape(n, -1, a.shape[-1]), delta.detach().reshape(n, -1, delta.shape[-1])))
        rest = next(per_sample_grads(model, take(x, rows), y[rows], output_fn, n, sites.rest))[1] if sites.rest else []
        yield rows, FactorChunk(factors, rest)


def linear_gradients(
    model: nn.Module, x: Inputs, y: torch.Tensor, output_fn: OutputFn, chunk_size: int, sites: Sites
) -> Iterator[tuple[slice, list[torch.Tensor]]]:
    """Per-sample gradients as tdacore.attribution.grads.per_sample_grads yields them, for a model whose
    trainable parameters all sit in linear layers (sites.rest empty): each weight's block is
    sum_t delta_t a_t^T and each bias's sum_t delta_t, from one batched backward pass per chunk
    (the same numbers as vmap, faster for an MLP). The blocks live in buffers reused from chunk
    to chunk (a fresh 200 MB block per chunk costs more in page faults than its arithmetic):
    each chunk's blocks are valid until the next chunk is asked for."""
    if sites.rest:
        raise ValueError(f"linear_gradients: {list(sites.rest)[:3]}... are outside linear layers")
    dtype = next(iter(trainable_params(model).values())).dtype
    buffers = {
        f"{site.name}.weight": torch.empty(
            min(chunk_size, n_rows(x)), site.out_features, site.in_features, device=y.device, dtype=dtype
        )
        for site in sites.layers
    }
    for rows, chunk in linear_factors(model, x, y, output_fn, chunk_size, sites):
        blocks = {}
        for site in sites.layers:
            weight = buffers[f"{site.name}.weight"][: rows.stop - rows.start]
            for call, (a, delta) in enumerate(chunk.factors[site.name]):
                if call == 0:
                    torch.matmul(delta.transpose(1, 2), a, out=weight)
                else:
                    weight.baddbmm_(delta.transpose(1, 2), a)
            blocks[f"{site.name}.weight"] = weight.reshape(len(weight), -1)
            if site.bias:
                blocks[f"{site.name}.bias"] = sum(delta.sum(1) for _, delta in chunk.factors[site.name])
        yield rows, [blocks[name] for name in sites.params]


def split_dim(dim: int) -> tuple[int, int]:
    """(k_out, k_in) with k_out * k_in = dim: k_out the largest divisor of dim <= sqrt(dim)."""
    k_out = max(d for d in range(1, math.isqrt(dim) + 1) if dim % d == 0)
    return k_out, dim // k_out


class FactorisedProjector:
    """phi = sum over linear layers of (P_out (x) P_in)^T g_l, plus rest(g_rest) (module doc)."""

    kind = "factorised"

    def __init__(
        self,
        model: nn.Module,
        example: Inputs,
        dim: int,
        seed: int,
        device: torch.device,
        make_rest: Callable[[int], Callable[..., torch.Tensor]],
    ) -> None:
        if dim < 1:
            raise ValueError(f"projection dim must be >= 1, got {dim}")
        self.dim, self.seed, self.device = dim, seed, device
        self.sites = find_sites(model, example)
        if not self.sites.layers:
            raise ValueError(
                f"factorised projection: {type(model).__name__} calls no nn.Linear with a trainable weight"
            )
        self.k_out, self.k_in = split_dim(dim)
        self._factors = {
            site.name: (
                self._gaussian(site.in_features + site.bias, self.k_in, derive_seed(seed, "factorised-in", i)),
                self._gaussian(site.out_features, self.k_out, derive_seed(seed, "factorised-out", i)),
            )
            for i, site in enumerate(self.sites.layers)
        }
        params = trainable_params(model)
        self._param_sizes = {name: p.numel() for name, p in params.items()}
        self.n_params = sum(self._param_sizes.values())
        n_rest = sum(self._param_sizes[name] for name in self.sites.rest)
        self.rest = make_rest(n_rest) if n_rest else None

    def _gaussian(self, rows: int, cols: int, seed: int) -> torch.Tensor:
        generator = torch_generator(seed, self.device)
        return torch.randn(rows, cols, generator=generator, device=self.device).div_(cols**0.5)

    def __call__(self, chunk: FactorChunk, out: torch.Tensor | None = None) -> torch.Tensor:
        n = (
            len(chunk.rest_blocks[0])
            if chunk.rest_blocks
            else next(a for calls in chunk.factors.values() for a, _ in calls).shape[0]
        )
        out = torch.zeros(n, self.dim, device=self.device) if out is None else out.zero_()
        grid = out.view(n, self.k_out, self.k_in)
        for site in self.sites.layers:
            p_in, p_out = self._factors[site.name]
            for a, delta in chunk.factors[site.name]:
                if a.shape[-1] != site.in_features or delta.shape[-1] != site.out_features:
                    raise ValueError(
                        f"factorised projection of {site.name} ({site.in_features} -> {site.out_features}) got "
                        "inputs of "
                        f"width {a.shape[-1]} and output gradients of width {delta.shape[-1]}"
                    )
                projected_in = a @ p_in[: site.in_features].to(a.dtype)
                if site.bias:
                    projected_in += p_in[site.in_features].to(a.dtype)
                grid.baddbmm_((delta @ p_out.to(delta.dtype)).transpose(1, 2), projected_in)
        if self.rest is not None:
            out += self.rest(chunk.rest_blocks)
        return out

    def matrix(self) -> torch.Tensor:
        """The whole P (n_params x k) in the order of the model's trainable parameters: the
        Kronecker rows of each linear layer's weight (row-major) and bias, the rest projector's
        rows for the others. For tests and small models only."""
        rest = self.rest.matrix() if self.rest is not None else None
        layer_of = {f"{s.name}.{p}": s for s in self.sites.layers for p in ("weight", "bias")}
        pieces, rest_offset = [], 0
        for name, size in self._param_sizes.items():
            if name in layer_of:
                site = layer_of[name]
                p_in, p_out = self._factors[site.name]
                rows = p_in[: site.in_features] if name.endswith(".weight") else p_in[site.in_features :]
                pieces.append(torch.kron(p_out, rows))
            else:
                pieces.append(rest[rest_offset : rest_offset + size])
                rest_offset += size
        return torch.cat(pieces)
