"""Model inputs that are one array or a dict of arrays (a Hugging Face model's input_ids and
attention_mask), and the few operations every loop needs on them, so that training, per-sample
gradients, curvature products, projections and dropout masks treat both alike.

An input is a numpy array or torch tensor with one row per example, or a dict of such arrays
(every one with the same number of rows); a dict is passed to the model as keyword arguments:
model(**inputs). Labels are always one array. This module imports no torch (data sets and planning use it);
torch.func's functional form of `forward` is tdacore.attribution.grads.functional_forward.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from torch import nn

Inputs = Any  # np.ndarray | torch.Tensor | Mapping[str, np.ndarray | torch.Tensor]


def is_dict(x: Inputs) -> bool:
    """Whether the inputs are named (passed as keyword arguments)."""
    return isinstance(x, Mapping)


def each(fn: Callable[[Any], Any], x: Inputs) -> Inputs:
    """fn applied to the array, or to every array of a dict (keeping the names)."""
    return {name: fn(value) for name, value in x.items()} if is_dict(x) else fn(x)


def first_array(x: Inputs) -> Any:
    """The array, or a dict's first array (what rows, device and dtype are read from)."""
    return next(iter(x.values())) if is_dict(x) else x


def n_rows(x: Inputs) -> int:
    """The number of examples."""
    return len(first_array(x))


def take(x: Inputs, rows: Any) -> Inputs:
    """The examples at `rows` (a slice, index array or index tensor)."""
    return each(lambda a: a[rows], x)


def to_tensors(x: Inputs, device: torch.device | str) -> Inputs:
    """The inputs as torch tensors on `device` (numpy arrays are shared, not copied, on the CPU)."""
    import torch  # here only: the rest of this module serves torch-free planning

    return each(lambda a: torch.as_tensor(a, device=device), x)


def chunks(n: int, size: int) -> Iterator[slice]:
    """Consecutive slices of at most `size` of range(n): the chunks every loop over examples takes."""
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def forward(model: nn.Module, x: Inputs) -> torch.Tensor:
    """The model's outputs on a batch: model(x), or model(**x) for named inputs."""
    return model(**x) if is_dict(x) else model(x)


def single(x: Inputs) -> Inputs:
    """One example (what torch.func.vmap hands a per-example function) as a batch of one."""
    return each(lambda a: a.unsqueeze(0), x)


def example_shapes(x: Inputs) -> Any:
    """The shape of one example: a tuple, or a dict of tuples for named inputs."""
    return each(lambda a: tuple(int(n) for n in a.shape[1:]), x)
