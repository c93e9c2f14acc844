"""Dropout variants (Section 3.3, DESIGN.md): fixed seeded masks, shared by all examples."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tdacore.models.build import build_model
from tdacore.models.dropout import dropout_sites, masked, sample_masks

SPEC = {"name": "mlp", "hidden": [32, 16], "dropout": 0.25}


def _model_and_data():
    model = build_model(SPEC, 20, 5, seed=7)
    x = torch.randn(50, 20, generator=torch.Generator().manual_seed(0))
    return model, x


def _forward(model, x, masks):
    with masked(model, masks) as variant, torch.no_grad():
        return variant(x)


def test_pass_is_deterministic_and_differs_between_passes():
    model, x = _model_and_data()
    a1 = _forward(model, x, sample_masks(model, x, seed=1))
    a2 = _forward(model, x, sample_masks(model, x, seed=1))
    b = _forward(model, x, sample_masks(model, x, seed=2))
    torch.testing.assert_close(a1, a2, rtol=0, atol=0)
    assert (a1 - b).abs().max() > 1e-3


def test_pass_zero_is_eval_mode_and_hooks_are_removed():
    model, x = _model_and_data()
    model.eval()
    with torch.no_grad():
        reference = model(x)
    torch.testing.assert_close(_forward(model, x, None), reference, rtol=0, atol=0)
    _forward(model, x, sample_masks(model, x, seed=3))  # a masked pass leaves no trace
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference, rtol=0, atol=0)


def test_mask_is_shared_by_every_example():
    """An example's output does not depend on the batch it is in: one mask, not one per row."""
    model, x = _model_and_data()
    masks = sample_masks(model, x, seed=4)
    batch = _forward(model, x, masks)
    alone = torch.cat([_forward(model, x[r : r + 1], masks) for r in range(len(x))])
    torch.testing.assert_close(batch, alone)


def test_mask_values_and_keep_rate():
    model, x = _model_and_data()
    masks = sample_masks(model, x, seed=5)
    assert set(masks) == set(dropout_sites(model)) and len(masks) == 2
    for mask in masks.values():
        np.testing.assert_allclose(sorted(mask.unique().tolist()), [0.0, 1 / 0.75], rtol=1e-6)
    big = build_model({"name": "mlp", "hidden": [4000], "dropout": 0.25}, 20, 5, seed=0)
    keep = (sample_masks(big, x, seed=6)["net.2"] > 0).float().mean().item()
    assert abs(keep - 0.75) < 0.03  # Bernoulli(0.75) over 4000 units: sd 0.007


def test_a_model_that_never_calls_its_dropout_module_is_refused_by_name():
    class FunctionalDropout(torch.nn.Module):
        """Holds an nn.Dropout for its p, but drops with a functional call (no mask can act)."""

        def __init__(self) -> None:
            super().__init__()
            self.layer, self.drop = torch.nn.Linear(4, 2), torch.nn.Dropout(0.5)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.dropout(self.layer(x), self.drop.p, self.training)

    with pytest.raises(
        ValueError, match=r"FunctionalDropout's forward pass calls none of its nn.Dropout modules \(drop\)"
    ):
        sample_masks(FunctionalDropout(), torch.zeros(3, 4), seed=0)
