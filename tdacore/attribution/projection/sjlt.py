"""Sparse Johnson-Lindenstrauss transform (CountSketch with s nonzeros per parameter).

Row i of P (parameter i) has s nonzeros: columns h_1(i)..h_s(i), drawn uniformly from the k
columns, with independent random signs and value +-1/sqrt(s), so E[<P^T u, P^T v>] = <u, v>.
P is never formed: each gradient column is added, signed, into its s output columns
(index_add_), about s * n_params additions per example instead of a dense GEMM's k * n_params
multiply-adds. The hashes live in seeded row blocks (tdacore.attribution.projection.rowblocks), so any split of the
gradient gives the same features.
"""

from __future__ import annotations

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


class SJLTProjector:
    """phi = P^T g for the sparse P above, applied to gradient blocks column by column."""

    kind = "sjlt"

    def __init__(
        self, n_params: int, dim: int, seed: int, device: torch.device, nonzeros: int = 1, block_rows: int = 1 << 16
    ) -> None:
        if dim < 1:
            raise ValueError(f"projection dim must be >= 1, got {dim}")
        if not 1 <= nonzeros <= dim:
            raise ValueError(f"trak.projection.nonzeros: {nonzeros} must lie in 1..dim ({dim})")
        self.n_params, self.dim, self.seed, self.device = n_params, dim, seed, device
        self.nonzeros, self.block_rows = nonzeros, block_rows
        self._hashes: dict[
            int, tuple[torch.Tensor, torch.Tensor]
        ] = {}  # per row block: (columns, values), s x rows each

    def _block(self, r: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Row block r: (columns, signed values), each (s x rows)."""
        if r not in self._hashes:
            rows = block_size(self.n_params, self.block_rows, r)
            generator = torch_generator(derive_seed(self.seed, "sjlt-block", r), "cpu")
            columns = torch.randint(0, self.dim, (self.nonzeros, rows), generator=generator)
            signs = torch.randint(0, 2, (self.nonzeros, rows), generator=generator).float().mul_(2).sub_(1)
            self._hashes[r] = (columns.to(self.device), signs.div_(self.nonzeros**0.5).to(self.device))
        return self._hashes[r]

    def __call__(self, blocks: Blocks, out: torch.Tensor | None = None) -> torch.Tensor:
        check_width(blocks, self.n_params, self.kind)
        out = zeroed_output(blocks, self.dim, out)
        for piece, r, within in row_pieces(blocks, self.block_rows):
            columns, values = self._block(r)
            take = slice(within, within + piece.shape[1])
            for c in range(self.nonzeros):
                out.index_add_(1, columns[c, take], piece * values[c, take].to(piece.dtype))
        return out

    def matrix(self) -> torch.Tensor:
        """The whole P (n_params x k) as a dense matrix: for tests and small models only."""
        matrix = torch.zeros(self.n_params, self.dim, device=self.device)
        for r in range(n_row_blocks(self.n_params, self.block_rows)):
            columns, values = self._block(r)
            rows = torch.arange(r * self.block_rows, r * self.block_rows + columns.shape[1], device=self.device)
            for c in range(self.nonzeros):
                matrix.index_put_((rows, columns[c]), values[c], accumulate=True)
        return matrix
