"""Building, saving and loading the models of every setting (Appendix B.1); each architecture
lives in its own module (tdacore.models.registry), every dropout site an `nn.Dropout`."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from tdacore.infra.references import BadReference, call_with, load_reference
from tdacore.infra.seeds import derive_seed
from tdacore.infra.store import atomic_path, job_stamp
from tdacore.models.registry import model_options, model_reference


def build_model(
    spec: Mapping[str, Any],
    in_dim: int,
    n_classes: int,
    seed: int,
    input_shape: Sequence[int] | Mapping[str, Sequence[int]] | None = None,
) -> nn.Module:
    """Instantiate `spec` (a built-in architecture or a researcher's factory, with its options)
    with weights drawn from its own seeded stream. The factory gets the data's sizes it names:
    in_dim (values per example), input_shape (the shape of one example: a tuple, or a dict of
    tuples for named inputs, tdacore.models.train.model_sizes) and n_classes."""
    ref = model_reference(spec)
    factory = load_reference(ref)
    if isinstance(input_shape, Mapping):
        shape: Any = {name: tuple(dims) for name, dims in input_shape.items()}
    else:
        shape = tuple(input_shape or (in_dim,))
    sizes = {"in_dim": in_dim, "input_shape": shape, "n_classes": n_classes}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(seed, "init"))
        model = call_with(factory, ref.key, model_options(spec), sizes)
    if not isinstance(model, nn.Module):
        raise BadReference(f"{ref.key}: '{ref}' returned {type(model).__name__}, not a torch.nn.Module")
    return model


def n_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (the paper's space cost, Appendix H)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def save_model(
    path: str | os.PathLike, model: nn.Module, meta: dict[str, Any], state: dict[str, torch.Tensor] | None = None
) -> None:
    """Save weights (all of the model's, or `state`) with the metadata needed to rebuild and
    audit the model (and the job stamp), atomically."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()} if state is None else state
    with atomic_path(path) as tmp:
        torch.save({"state_dict": state, "meta": {**meta, **job_stamp()}}, tmp)


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild a model saved by save_model, in eval mode, on `device`."""
    saved = torch.load(path, map_location="cpu", weights_only=False)
    meta = saved["meta"]
    model = build_model(meta["model"], meta["in_dim"], meta["n_classes"], seed=0, input_shape=meta.get("input_shape"))
    model.load_state_dict(saved["state_dict"])
    return model.to(device).eval(), meta
