"""Per-sample gradients (torch.func) against a per-example autograd loop."""

from __future__ import annotations

import torch

from tdacore.attribution.grads import per_sample_grads
from tdacore.models.build import build_model
from tdacore.models.outputs import margin


def test_per_sample_grads_match_autograd_loop():
    model = build_model({"name": "mlp", "hidden": [8, 6], "dropout": 0.1}, 5, 3, seed=1).eval()
    x = torch.randn(9, 5, generator=torch.Generator().manual_seed(2))
    y = torch.arange(9) % 3
    rows_seen = []
    for rows, blocks in per_sample_grads(model, x, y, margin, chunk_size=4):
        rows_seen.append((rows.start, rows.stop))
        flat = torch.cat(blocks, 1)
        for r in range(rows.start, rows.stop):
            model.zero_grad()
            margin(model(x[r : r + 1]), y[r : r + 1]).sum().backward()
            expected = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
            torch.testing.assert_close(flat[r - rows.start], expected, rtol=1e-5, atol=1e-6)
    assert rows_seen == [(0, 4), (4, 8), (8, 9)]
