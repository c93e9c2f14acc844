"""A random n_params x k projection held as seeded row blocks, applied to a gradient that
arrives as per-parameter blocks (tdacore.attribution.grads.per_sample_grads).

Row block r covers parameters [r * block_rows, (r + 1) * block_rows) and is drawn from its own
stream (derive_seed(seed, role, r)), so the same matrix serves any split of the gradient and any
memory budget: the projectors keep blocks while they fit in `cache_bytes` and redraw them
otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

Blocks = list[torch.Tensor]  # per-parameter gradient blocks, each (batch x n_b)


def check_width(blocks: Blocks, n_params: int, kind: str) -> None:
    """Refuse a gradient whose width is not the projector's number of parameters."""
    width = sum(block.shape[1] for block in blocks)
    if width != n_params:
        raise ValueError(f"{kind} projector built for {n_params} parameters got gradients of width {width}")


def zeroed_output(blocks: Blocks, dim: int, out: torch.Tensor | None = None) -> torch.Tensor:
    """Where a projection of `blocks` to `dim` accumulates: `out` zeroed, or a new zero tensor of
    the gradient's rows, device and dtype."""
    if out is not None:
        return out.zero_()
    return torch.zeros(blocks[0].shape[0], dim, device=blocks[0].device, dtype=blocks[0].dtype)


def row_pieces(blocks: Blocks, block_rows: int) -> Iterator[tuple[torch.Tensor, int, int]]:
    """(columns of the gradient, row block r, first row within r): the gradient's columns cut at
    the row-block boundaries, each piece a view (no copy)."""
    offset = 0
    for block in blocks:
        start, end = offset, offset + block.shape[1]
        while offset < end:
            r, within = divmod(offset, block_rows)
            take = min(block_rows - within, end - offset)
            yield block[:, offset - start : offset - start + take], r, within
            offset += take


def n_row_blocks(n_params: int, block_rows: int) -> int:
    return -(-n_params // block_rows)


def block_size(n_params: int, block_rows: int, r: int) -> int:
    """Rows in row block r (the last one may be short)."""
    return min(block_rows, n_params - r * block_rows)
