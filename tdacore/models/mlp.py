"""The MLP of the MNIST and CIFAR-2 settings (Appendix B.1), every dropout site an `nn.Dropout`."""

from __future__ import annotations

import torch
from torch import nn


class MLP(nn.Module):
    """Linear -> ReLU -> Dropout for each hidden layer, then a linear read-out (Appendix B.1)."""

    def __init__(self, in_dim: int, hidden: list[int], n_classes: int, dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_dim
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU(), nn.Dropout(dropout)]
            width = size
        layers.append(nn.Linear(width, n_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def build(*, hidden: list[int], dropout: float, in_dim: int, n_classes: int) -> MLP:
    """The config's `model` entry (`hidden`, `dropout`) as an MLP (tdacore.models.registry)."""
    return MLP(in_dim, list(hidden), n_classes, float(dropout))
