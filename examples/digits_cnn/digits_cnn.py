"""A small convolutional network for scikit-learn's 8 x 8 handwritten digits: the model a
researcher brings, defined here and nowhere in tdacore (config.yaml names it as model.factory)."""

from torch import nn


def build(channels: int, dropout: float, n_classes: int) -> nn.Module:
    """Two 3 x 3 convolutions (the second with stride 2), each followed by ReLU and dropout, then a
    linear read-out; n_classes comes from the data."""
    return nn.Sequential(
        nn.Conv2d(1, channels, 3, padding=1),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Conv2d(channels, 2 * channels, 3, padding=1, stride=2),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Flatten(),
        nn.Linear(2 * channels * 4 * 4, n_classes),
    )
