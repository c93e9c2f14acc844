"""Building, saving and loading the models of every setting (Appendix B.1); each architecture
lives in its own module (tdacore.models.registry), every dropout site an `nn.Dropout`."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from tdacore.infra.seeds import derive_seed
from tdacore.infra.store import atomic_path, job_stamp
from tdacore.models.registry import architecture_factory


def build_model(spec: dict[str, Any], in_dim: int, n_classes: int, seed: int) -> nn.Module:
    """Instantiate `spec` (its name and sizes) with weights drawn from its own seeded stream."""
    build = architecture(spec["name"])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(seed, "init"))
        return build(spec, in_dim, n_classes)


def architecture(name: str) -> Callable[[dict[str, Any], int, int], nn.Module]:
    """The builder of architecture `name`, imported by name (tdacore.models.registry), so that a
    job imports its own architecture's module only."""
    module, function = architecture_factory(name)
    return getattr(importlib.import_module(module), function)


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
    model = build_model(meta["model"], meta["in_dim"], meta["n_classes"], seed=0)
    model.load_state_dict(saved["state_dict"])
    return model.to(device).eval(), meta
