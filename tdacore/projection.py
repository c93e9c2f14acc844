"""Random projections of gradients to k dimensions (TRAK's phi = P^T g, Eq. 2).

The Gaussian projector draws P (n_params x k, entries N(0, 1/k), so that E[<P^T u, P^T v>] =
<u, v>) in row blocks, each from its own seeded stream; blocks are kept in memory while they
fit in `cache_bytes` and regenerated otherwise, so any model size works.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import torch
from torch import nn

from tdacore.grads import OutputFn, per_sample_grads, trainable_params
from tdacore.seeds import derive_seed, torch_generator


Blocks = list[torch.Tensor]  # per-parameter gradient blocks, each (batch x n_b); see grads.per_sample_grads


def _width(blocks: Blocks) -> int:
    return sum(block.shape[1] for block in blocks)


class IdentityProjector:
    """No projection: phi = g (exact, for small models and tests)."""

    kind = "identity"

    def __init__(self, n_params: int) -> None:
        self.n_params = n_params
        self.dim = n_params

    def __call__(self, blocks: Blocks) -> torch.Tensor:
        if _width(blocks) != self.n_params:
            raise ValueError(f"projector built for {self.n_params} parameters got gradients of width {_width(blocks)}")
        return torch.cat(blocks, dim=1)


class GaussianProjector:
    """phi = P^T g with P[i, j] ~ N(0, 1/k), drawn in row blocks from `seed`.

    Row block r of P covers parameters [r * block_rows, (r + 1) * block_rows); the gradient
    arrives as per-parameter blocks, which are cut at those boundaries, so the same P serves
    any split of the gradient.
    """

    kind = "gaussian"

    def __init__(
        self,
        n_params: int,
        dim: int,
        seed: int,
        device: torch.device,
        block_rows: int = 1 << 15,
        cache_bytes: int = 2 << 30,
    ) -> None:
        if dim < 1:
            raise ValueError(f"projection dim must be >= 1, got {dim}")
        self.n_params, self.dim, self.seed, self.device = n_params, dim, seed, device
        self.block_rows = block_rows
        self._cache: dict[int, torch.Tensor] | None = {} if n_params * dim * 4 <= cache_bytes else None

    def _rows(self, r: int) -> torch.Tensor:
        """Row block r of P."""
        if self._cache is not None and r in self._cache:
            return self._cache[r]
        rows = min(self.block_rows, self.n_params - r * self.block_rows)
        generator = torch_generator(derive_seed(self.seed, "projection-block", r), self.device)
        block = torch.randn(rows, self.dim, generator=generator, device=self.device) / self.dim**0.5
        if self._cache is not None:
            self._cache[r] = block
        return block

    def __call__(self, blocks: Blocks) -> torch.Tensor:
        if _width(blocks) != self.n_params:
            raise ValueError(f"projector built for {self.n_params} parameters got gradients of width {_width(blocks)}")
        out = torch.zeros(blocks[0].shape[0], self.dim, device=blocks[0].device, dtype=blocks[0].dtype)
        offset = 0
        for block in blocks:
            end = offset + block.shape[1]
            while offset < end:
                r, within = divmod(offset, self.block_rows)
                take = min(self.block_rows - within, end - offset)
                column = offset - (end - block.shape[1])
                out += block[:, column : column + take] @ self._rows(r)[within : within + take].to(block.dtype)
                offset += take
        return out

    def matrix(self) -> torch.Tensor:
        """The whole P (n_params x k): for tests and small models only."""
        return torch.cat([self._rows(r) for r in range(-(-self.n_params // self.block_rows))])


Projector = IdentityProjector | GaussianProjector


def make_projector(kind: str, n_params: int, dim: int, seed: int, device: torch.device) -> Projector:
    """The projector named by config `trak.projection.kind`."""
    if kind == "gaussian":
        return GaussianProjector(n_params, dim, seed, device)
    if kind == "identity":
        return IdentityProjector(n_params)
    raise ValueError(f"trak.projection.kind: unknown kind '{kind}' (known: gaussian, identity)")


def project_grads(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, projector: Projector, chunk_size: int, output_fn: OutputFn
) -> torch.Tensor:
    """Projected per-sample gradients of every row of x (rows x projector.dim), one chunk of
    gradients at a time, written into one preallocated tensor (IdentityProjector: the gradients)."""
    (out,), _ = project_grads_each(model, x, y, [projector], chunk_size, output_fn)
    return out


def project_grads_each(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    projectors: Sequence[Projector],
    chunk_size: int,
    output_fn: OutputFn,
) -> tuple[list[torch.Tensor], list[float]]:
    """The per-sample gradients of every row of x, computed once, under each of `projectors`:
    one preallocated (rows x dim) tensor per projector, and the seconds each projector took
    (generating its matrix included; the gradients' own time is the caller's total minus these)."""
    dtype = next(iter(trainable_params(model).values())).dtype
    outs = [torch.empty(len(x), projector.dim, device=x.device, dtype=dtype) for projector in projectors]
    seconds = [0.0] * len(projectors)
    for rows, blocks in per_sample_grads(model, x, y, output_fn, chunk_size):
        for k, projector in enumerate(projectors):
            start = time.perf_counter()
            outs[k][rows] = projector(blocks)
            if x.device.type == "cuda":
                torch.cuda.synchronize(x.device)
            seconds[k] += time.perf_counter() - start
    return outs, seconds
