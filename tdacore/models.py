"""Models of the paper's settings (Appendix B.1); every dropout site is an `nn.Dropout`."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from tdacore.gpt import GPT
from tdacore.music_transformer import MusicTransformer
from tdacore.resnet import ResNet9
from tdacore.seeds import derive_seed
from tdacore.store import atomic_path, job_stamp


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


# Each architecture from (spec, in_dim, n_classes): for the Music Transformer and the GPT in_dim
# is the longest sequence L and n_classes the event (character) vocabulary.
ARCHITECTURES: dict[str, Callable[[dict[str, Any], int, int], nn.Module]] = {
    "mlp": lambda spec, in_dim, n_classes: MLP(in_dim, list(spec["hidden"]), n_classes, float(spec["dropout"])),
    "resnet9": lambda spec, in_dim, n_classes: ResNet9(in_dim, list(spec["widths"]), n_classes, float(spec["dropout"])),
    "music_transformer": lambda spec, in_dim, n_classes: MusicTransformer(
        n_classes, in_dim, spec["layers"], spec["heads"], spec["d_model"], spec["d_ff"], float(spec["dropout"])
    ),
    "gpt": lambda spec, in_dim, n_classes: GPT(n_classes, in_dim, spec["layers"], spec["heads"], spec["d_model"], float(spec["dropout"])),
}


def build_model(spec: dict[str, Any], in_dim: int, n_classes: int, seed: int) -> nn.Module:
    """Instantiate `spec` (its name and sizes) with weights drawn from its own seeded stream."""
    name = spec["name"]
    if name not in ARCHITECTURES:
        raise ValueError(f"model.name: unknown architecture '{name}' (known: {sorted(ARCHITECTURES)})")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(seed, "init"))
        return ARCHITECTURES[name](spec, in_dim, n_classes)


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
