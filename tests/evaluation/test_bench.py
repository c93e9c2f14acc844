"""The featurization benchmark's bookkeeping (tdacore.evaluation.bench) on a tiny model: one row per
projector and k, each ratio the quotient of its own times; the bound scaled from fewer rows."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tdacore.evaluation.bench import Setting, curvature_row, featurize_rows, matmul_seconds
from tdacore.models.outputs import CLASSIFICATION


def _setting() -> Setting:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(12, 8), nn.ReLU(), nn.Dropout(0.1), nn.Linear(8, 3)).eval()
    return Setting("tiny", model, torch.randn(40, 12), torch.randint(0, 3, (40,)), CLASSIFICATION)


def test_rows_per_projector_and_k_with_consistent_ratios():
    rows = featurize_rows(_setting(), ["gaussian", "sjlt", "factorised"], [4, 16], 2, 16, 0, 1 << 30)
    assert [(r["projector"], r["k"]) for r in rows] == [
        (p, k) for k in (4, 16) for p in ("gaussian", "sjlt", "factorised")
    ]
    for r in rows:
        assert r["n_params"] == 12 * 8 + 8 + 8 * 3 + 3 and r["examples"] == 40 and r["bound_rows"] == 40
        assert r["featurize_over_bound"] == pytest.approx(r["featurize_s"] / r["matmul_bound_s"])
        assert r["featurize_ex_per_s"] == pytest.approx(40 / r["featurize_s"])
        assert 0 < r["project_s"] <= r["featurize_s"] and r["peak_mb"] > 0
        assert 0 < r["gradient_s"] and r["gradient_ex_per_s"] == pytest.approx(40 / r["gradient_s"])


def test_bound_from_fewer_rows_when_the_operand_is_too_large():
    seconds, rows = matmul_seconds(1000, 50, 8, torch.device("cpu"), max_bytes=4 * 50 * 100)
    assert rows == 100 and seconds > 0
    assert curvature_row(_setting(), 16, 2)["hvp_per_s"] > 0
