"""ResNet-9 of the CIFAR-2 setting (Appendix B.1, Table 5), with an `nn.Dropout` after every
convolution, so that the Dropout Ensemble's masks (tdacore.models.dropout) apply unchanged.

The layout is the one of dattri's ResNet9 (the paper's authors' benchmark library): a 3 x 3 stem
convolution, then three residual stages of one basic block each (two 3 x 3 convolutions, the
second stage and the third halving the resolution, a 1 x 1 projection shortcut), global average
pooling and a linear read-out. At widths (64, 128, 256, 512) and 2 classes it has 4,825,154
trainable parameters, Table 5's 4.83M. Every convolution is followed by BatchNorm (convolutions
without bias) and dropout: conv -> BN -> ReLU -> Dropout, and conv -> BN -> Dropout on the
shortcut. BatchNorm uses batch statistics in training and its running statistics in eval mode;
attribution (gradients, masked passes) runs the model in eval mode, where the output of an
example does not depend on the other examples of its batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from tdacore.data.cifar import IMAGE_SHAPE


def _conv_bn(c_in: int, c_out: int, kernel: int, stride: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False), nn.BatchNorm2d(c_out)]


class BasicBlock(nn.Module):
    """Two 3 x 3 convolutions (the first with `stride`) plus a 1 x 1 projection shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int, dropout: float) -> None:
        super().__init__()
        self.first = nn.Sequential(*_conv_bn(c_in, c_out, 3, stride), nn.ReLU(), nn.Dropout(dropout))
        self.second = nn.Sequential(*_conv_bn(c_out, c_out, 3, 1))
        self.drop = nn.Dropout(dropout)  # after the second convolution's ReLU, as after every other
        self.shortcut = nn.Sequential(*_conv_bn(c_in, c_out, 1, stride), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.drop(F.relu(self.second(self.first(x))))
        return F.relu(out + self.shortcut(x))


class ResNet9(nn.Module):
    """Stem convolution at widths[0], one basic block at each of widths[1:] (strides 1, 2, 2),
    global average pooling and a linear layer; input: flat 3 x 32 x 32 images (channel-major)."""

    def __init__(self, in_dim: int, widths: Sequence[int], n_classes: int, dropout: float) -> None:
        super().__init__()
        if in_dim != IMAGE_SHAPE[0] * IMAGE_SHAPE[1] * IMAGE_SHAPE[2]:
            raise ValueError(f"model.name resnet9 takes flat 3 x 32 x 32 images (3072 values), got in_dim = {in_dim}")
        if len(widths) != 4:
            raise ValueError(f"model.widths: ResNet-9 has a stem and three stages, i.e. 4 widths, got {list(widths)}")
        self.stem = nn.Sequential(*_conv_bn(IMAGE_SHAPE[0], widths[0], 3, 1), nn.ReLU(), nn.Dropout(dropout))
        self.stages = nn.Sequential(
            *(
                BasicBlock(c_in, c_out, stride, dropout)
                for c_in, c_out, stride in zip(widths[:-1], widths[1:], (1, 2, 2))
            )
        )
        self.linear = nn.Linear(widths[-1], n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.stages(self.stem(x.reshape(x.shape[0], *IMAGE_SHAPE)))
        return self.linear(out.mean(dim=(2, 3)))


def build(*, widths: list[int], dropout: float, in_dim: int, n_classes: int) -> ResNet9:
    """The config's `model` entry (`widths`, `dropout`) as a ResNet-9 (tdacore.models.registry)."""
    return ResNet9(in_dim, list(widths), n_classes, float(dropout))
