"""Dense projections of whole per-sample gradients: none (`identity`, phi = g) and the Gaussian
P with entries N(0, 1/k) (`gaussian`, TRAK's Eq. 2), drawn in seeded row blocks."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import torch

from tdacore.attribution.projection.rowblocks import (
    Blocks,
    block_size,
    check_width,
    n_row_blocks,
    row_pieces,
    zeroed_output,
)
from tdacore.infra.seeds import derive_seed, torch_generator


class IdentityProjector:
    """No projection: phi = g (exact, for small models and tests)."""

    kind = "identity"

    def __init__(self, n_params: int) -> None:
        self.n_params = n_params
        self.dim = n_params

    def __call__(self, blocks: Blocks, out: torch.Tensor | None = None) -> torch.Tensor:
        check_width(blocks, self.n_params, self.kind)
        return torch.cat(blocks, dim=1, out=out) if out is not None else torch.cat(blocks, dim=1)


class GaussianProjector:
    """phi = P^T g with P[i, j] ~ N(0, 1/k), drawn in seeded row blocks (tdacore.attribution.projection.rowblocks).

    When P fits `cache_bytes` it is drawn once, into one contiguous matrix, and each gradient
    block is multiplied by its rows straight into the output (one GEMM per parameter tensor:
    the matmul bound); otherwise every call redraws P one row block at a time into one buffer
    (block_rows x k floats: 256 MiB at k = 2048), so memory stays flat in the model's size and
    the cost of drawing P is paid once per chunk of gradients (larger chunks amortise it).
    """

    kind = "gaussian"

    def __init__(
        self,
        n_params: int,
        dim: int,
        seed: int,
        device: torch.device,
        block_rows: int = 1 << 15,
        cache_bytes: int = 4 << 30,
    ) -> None:
        if dim < 1:
            raise ValueError(f"projection dim must be >= 1, got {dim}")
        self.n_params, self.dim, self.seed, self.device = n_params, dim, seed, device
        self.block_rows, self.cache_bytes = block_rows, cache_bytes
        self.fits = n_params * dim * 4 <= cache_bytes
        self._matrix: torch.Tensor | None = None

    def release(self) -> None:
        """Forget the kept P (it is drawn again, identically, if needed)."""
        self._matrix = None

    def _draw(self, r: int, out: torch.Tensor | None = None) -> torch.Tensor:
        """Row block r of P (into `out` when given)."""
        generator = torch_generator(derive_seed(self.seed, "projection-block", r), self.device)
        rows = block_size(self.n_params, self.block_rows, r)
        block = torch.randn(rows, self.dim, generator=generator, device=self.device, out=out)
        return block.div_(self.dim**0.5)

    def matrix(self) -> torch.Tensor:
        """The whole P (n_params x k), drawn once and kept when it fits the budget; its row
        blocks are drawn in parallel (each from its own stream: the same P on any thread count)."""
        if self._matrix is not None:
            return self._matrix
        matrix = torch.empty(self.n_params, self.dim, device=self.device)

        def draw(r: int) -> None:
            self._draw(
                r, out=matrix[r * self.block_rows : r * self.block_rows + block_size(self.n_params, self.block_rows, r)]
            )

        with ThreadPoolExecutor(max(1, torch.get_num_threads())) as pool:
            list(pool.map(draw, range(n_row_blocks(self.n_params, self.block_rows))))
        if self.fits:
            self._matrix = matrix
        return matrix

    def __call__(self, blocks: Blocks, out: torch.Tensor | None = None) -> torch.Tensor:
        check_width(blocks, self.n_params, self.kind)
        out = zeroed_output(blocks, self.dim, out)
        if self.fits:
            matrix, offset = self.matrix(), 0
            for block in blocks:
                out.addmm_(block, matrix[offset : offset + block.shape[1]].to(block.dtype))
                offset += block.shape[1]
        else:  # the pieces come in row order: each row block is drawn once per call, into one buffer
            current, block = -1, torch.empty(min(self.block_rows, self.n_params), self.dim, device=self.device)
            for piece, r, within in row_pieces(blocks, self.block_rows):
                if r != current:
                    current = r
                    self._draw(r, out=block[: block_size(self.n_params, self.block_rows, r)])
                out.addmm_(piece, block[within : within + piece.shape[1]].to(piece.dtype))
        return out
