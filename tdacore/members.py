"""Loading one ensemble member's inputs: the data set as tensors and a trained model that
provably was trained on it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from tdacore.data import read_dataset
from tdacore.models import load_model
from tdacore.store import file_hash, require_agreement
from tdacore.variants import mask_seed


@dataclass
class TrainedMember:
    model: nn.Module
    meta: dict[str, Any]  # the model file's metadata
    data_attrs: dict[str, Any]  # the data set file's provenance
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def load_trained(
    data_path: str | os.PathLike, model_path: str | os.PathLike, device: torch.device, test_examples: int | None = None
) -> TrainedMember:
    """The model at `model_path` and the data set at `data_path`, refusing a model trained elsewhere.

    test_examples: keep only the first n test examples (the split is random, so they are a random
    sample; the LDS is then the mean over those); None keeps all.
    """
    data, data_attrs = read_dataset(data_path)
    if test_examples is not None and not 1 <= test_examples <= len(data.y_test):
        raise ValueError(f"test_examples = {test_examples}, but {data_path} holds {len(data.y_test)} test examples")
    model, meta = load_model(model_path, device)
    require_agreement({str(model_path): meta, str(data_path): data_attrs}, ["train_hash"])
    test = slice(None, test_examples)
    arrays = (data.x_train, data.y_train, data.x_test[test], data.y_test[test])
    return TrainedMember(model, meta, data_attrs, *(torch.as_tensor(a, device=device) for a in arrays))


def member_provenance(member: TrainedMember, model_path: str | os.PathLike, seed: int, i: int, d: int) -> dict[str, Any]:
    """The attributes every per-member file (TRAK features, member scores) carries: which
    model and dropout pass, on which data, with which model output."""
    return {
        "model": i,
        "dropout_pass": d,
        "mask_seed": mask_seed(seed, i, d),
        "model_output": "margin",
        "model_file": str(model_path),
        "model_hash": file_hash(model_path),
        "train_hash": member.data_attrs["train_hash"],
        "test_hash": member.data_attrs["test_hash"],
        "test_examples": len(member.y_test),
    }
