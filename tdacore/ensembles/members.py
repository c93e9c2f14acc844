"""One ensemble member's inputs and identity: the data set as tensors, a trained model that
provably was trained on it, the member's seeds and masks, and the provenance of its files."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from tdacore.data.batches import Inputs, take, to_tensors
from tdacore.data.dataset import read_dataset
from tdacore.ensembles.grid import Member
from tdacore.infra.seeds import derive_seed
from tdacore.infra.store import file_hash, require_agreement
from tdacore.models.dropout import MASK_MODES, Masks, fresh_masks, mask_seed, masked, pass_masks
from tdacore.models.lora import load_model_or_adapter
from tdacore.models.outputs import ModelOutputs, model_outputs

# What an adapter member's files record of its base model (tdacore.ensembles.provenance.point_provenance).
BROUGHT = ("checkpoint_file", "checkpoint_sha256")  # a model the researcher brought: its file and digest
BASE_COSTS = ("base_model_hash", "base_model_params", "base_training_run", "base_model_train_seconds")


@dataclass
class TrainedMember:
    """One member ready to run: its identity, the trained model, the data as tensors on the
    device, and the experiment seed its masks and projection derive from."""

    member: Member
    model: nn.Module
    model_path: str
    model_hash: str  # sha256 of the model file, read once at load
    meta: dict[str, Any]  # the model file's metadata
    data_attrs: dict[str, Any]  # the data set file's provenance
    x_train: Inputs  # a tensor, or named tensors (tdacore.data.batches)
    y_train: torch.Tensor
    x_test: Inputs
    y_test: torch.Tensor
    seed: int
    mask_mode: str = "fixed"  # tdacore.models.dropout.MASK_MODES

    @property
    def outputs(self) -> ModelOutputs:
        """The model-output functions the model was trained with: model.outputs of its own model
        section, else those of the data set's task (tdacore.models.outputs.model_outputs)."""
        return model_outputs(self.meta["model"], self.data_attrs["task"])

    def seed_for(self, role: str) -> int:
        """The seed of `role` (e.g. "projection", "lanczos") for this member: derived from (i, d)
        for the final model and from (i, d, epoch) for a checkpoint. A projection-only pass d
        shares dropout pass d's projection seed, so that the Appendix F.1 ablation differs from
        it by the mask alone. Adapter l of model i: derived from (i, l) under its own role name."""
        m = self.member
        if m.adapter is not None:
            return derive_seed(self.seed, f"{role}-adapter", m.model, m.adapter)
        return derive_seed(self.seed, role, m.model, m.dropout_pass, *([] if m.epoch is None else [m.epoch]))

    def masks(self) -> Masks | None:
        """The member's dropout masks; None when it is unmasked (pass 0, projection-only)."""
        m = self.member
        return pass_masks(self.model, self.x_train, self.seed, m.model, m.dropout_pass, m.epoch) if m.masked else None

    @contextmanager
    def variant(self) -> Iterator[nn.Module]:
        """The model as this member: in eval mode, with the member's fixed masks applied, or (mask
        mode per_example) with fresh masks for every example from the pass's seed."""
        m = self.member
        if m.masked and self.mask_mode == "per_example":
            with fresh_masks(self.model, mask_seed(self.seed, m.model, m.dropout_pass, m.epoch)) as model:
                yield model
            return
        with masked(self.model, self.masks()) as model:
            yield model

    def provenance(self) -> dict[str, Any]:
        """The attributes every per-member file (TRAK features, Q, member scores) carries: which
        model, checkpoint and pass, whether a mask was applied, on which data, with which model
        output; and what its model cost (parameters, training run and time) for the cost tables;
        for an adapter, also its base model's."""
        m = self.member
        base = {key: self.meta[key] for key in BASE_COSTS} if m.adapter is not None else {}
        base |= {key: self.meta[key] for key in BROUGHT if key in self.meta}  # model.checkpoints
        return base | {
            "member": m.stem,
            "model": m.model,
            "epoch": self.meta["epochs_trained"],
            "dropout_pass": m.dropout_pass,
            "mask_applied": m.masked,
            "mask_mode": self.mask_mode if m.masked else "none",
            "mask_seed": mask_seed(self.seed, m.model, m.dropout_pass, m.epoch) if m.masked else -1,
            "adapter": -1 if m.adapter is None else m.adapter,
            "model_output": self.outputs.name,
            "model_file": self.model_path,
            "model_hash": self.model_hash,
            "model_params": self.meta["n_params"],
            "training_run": self.meta["training_run"],
            "model_train_seconds": self.meta["train_seconds"],
            "train_hash": self.data_attrs["train_hash"],
            "test_hash": self.data_attrs["test_hash"],
            "test_examples": len(self.y_test),
        }


def load_trained(
    data_path: str | os.PathLike,
    model_path: str | os.PathLike,
    device: torch.device,
    test_examples: int | None = None,
    member: Member | None = None,
    seed: int = 0,
    mask_mode: str = "fixed",
) -> TrainedMember:
    """The model at `model_path` as `member` (default: its unmasked pass 0) and the data set at
    `data_path`, refusing a model trained elsewhere; `seed` is the experiment seed.

    test_examples: keep only the first n test examples (the split is random, so they are a random
    sample; the LDS is then the mean over those); None keeps all. mask_mode: how a dropout pass
    draws its masks (tdacore.models.dropout).
    """
    if mask_mode not in MASK_MODES:
        raise ValueError(f"mask_mode must be one of {MASK_MODES}, got {mask_mode!r}")
    data, data_attrs = read_dataset(data_path)
    if test_examples is not None and not 1 <= test_examples <= len(data.y_test):
        raise ValueError(f"test_examples = {test_examples}, but {data_path} holds {len(data.y_test)} test examples")
    model, meta = load_model_or_adapter(model_path, device)
    require_agreement({str(model_path): meta, str(data_path): data_attrs}, ["train_hash"])
    test = slice(None, test_examples)
    arrays = (data.x_train, data.y_train, take(data.x_test, test), data.y_test[test])
    tensors = (to_tensors(a, device) for a in arrays)
    return TrainedMember(
        member or Member(meta["index"]),
        model,
        str(model_path),
        file_hash(model_path),
        meta,
        data_attrs,
        *tensors,
        seed,
        mask_mode,
    )
