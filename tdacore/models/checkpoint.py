"""Trained models a researcher brings (model.checkpoints): a state dict, or a checkpoint that holds
one, loaded into the model its factory builds, to serve as a base model instead of one trained
here. The paper's point for such a user: a Dropout Ensemble needs only this one model
(Section 3.3)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from tdacore.data.dataset import Dataset
from tdacore.infra.store import file_hash
from tdacore.models.build import build_model, n_parameters
from tdacore.models.train import model_sizes

# Keys under which common checkpoint layouts keep the state dict.
STATE_KEYS = ("state_dict", "model_state_dict", "model")


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The state dict in a checkpoint file: the file's own dict of tensors, or the one under
    "state_dict", "model_state_dict" or "model". Read with weights_only (no code is run)."""
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several kinds for a file it cannot read
        raise ValueError(f"model.checkpoints: {path} is not a torch checkpoint of weights: {err}") from err
    if isinstance(saved, Mapping):
        for key in STATE_KEYS:
            if isinstance(saved.get(key), Mapping):
                saved = saved[key]
                break
    if not isinstance(saved, Mapping) or not saved or not all(isinstance(v, torch.Tensor) for v in saved.values()):
        raise ValueError(
            f"model.checkpoints: {path} holds no state dict (a dict of tensors, itself or under one of "
            f"{', '.join(STATE_KEYS)}): save `model.state_dict()`"
        )
    return dict(saved)


def import_checkpoint(
    path: str | os.PathLike, spec: Mapping[str, Any], data: Dataset, index: int
) -> tuple[nn.Module, dict[str, Any]]:
    """Base model `index` from the checkpoint at `path`, in the model `spec` builds for `data`, with
    the metadata a trained base model carries; what only training knows (its subset, seed,
    training time) is None: the model was not trained here."""
    sizes = model_sizes(data)
    model = build_model(spec, **sizes, seed=0)
    state = read_state_dict(path)
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as err:
        raise ValueError(f"model.checkpoints: {path} does not fit the model of the config: {err}") from None
    if missing or unexpected:
        raise ValueError(
            f"model.checkpoints: {path} does not fit the model of the config: missing {sorted(missing)[:6]}, "
            f"unexpected {sorted(unexpected)[:6]}"
        )
    meta = {
        "role": "base",
        "index": index,
        "training_run": f"checkpoint-{index}",
        "trained_here": False,
        "checkpoint_file": str(path),
        "checkpoint_sha256": file_hash(path, "sha256"),
        "model": dict(spec),
        **sizes,
        "n_params": n_parameters(model),
        "model_seed": None,
        "subset": None,
        "train_hash": data.train_hash(),
        "optimiser": None,
        "epochs_trained": None,
        "train_seconds": None,
        "final_loss": None,
    }
    return model.eval(), meta
