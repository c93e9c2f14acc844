"""LoRA adapters through peft: the variants of the LoRA Ensemble (Section 3.4, Appendix C.2).

Adapter l of base model i adds rank-r updates (scaling alpha / r, no LoRA dropout) to the
linear modules named in `target_modules` (the paper: W_q and W_v of every self-attention layer)
and, with bias = "lora_only", makes those modules' biases trainable too. Only these parameters
require gradients, so fine-tuning moves nothing else and per-sample gradients (tdacore.attribution.grads,
which differentiates the trainable parameters only) are taken with respect to them alone.
An adapter file holds the trainable parameters and the base model's file name and hash.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from tdacore.data.batches import take
from tdacore.data.dataset import Dataset, random_subset
from tdacore.infra.seeds import derive_seed
from tdacore.infra.store import ProvenanceError, file_hash
from tdacore.models.build import build_model, load_model, n_parameters, save_model
from tdacore.models.outputs import model_outputs
from tdacore.models.registry import model_label
from tdacore.models.train import fit

if TYPE_CHECKING:
    import peft

BIASES = ("none", "lora_only", "all")


def check_targets(model_spec: dict[str, Any], in_dim: int, n_classes: int, target_modules: list[str]) -> None:
    """require_targets on the architecture built on the meta device (no memory, no time): the
    check the workflow makes while it plans, where the data's sizes are known then."""
    with torch.device("meta"):
        model = build_model(model_spec, in_dim, n_classes, seed=0)
    require_targets(model, target_modules, model_label(model_spec))


def require_targets(model: nn.Module, target_modules: list[str], label: str) -> None:
    """Fail, naming it, if a target module matches no module of the model that holds a weight
    (nn.Linear, transformers' Conv1D, ...: what peft may adapt; peft checks the type)."""
    weighted = [
        name for name, module in model.named_modules() if isinstance(getattr(module, "weight", None), nn.Parameter)
    ]
    for target in target_modules:
        if not any(name == target or name.endswith(f".{target}") for name in weighted):
            raise ValueError(
                f"lora.target_modules: '{target}' names no module of {label} that holds a weight "
                f"(those end in {sorted({n.rsplit('.', 1)[-1] for n in weighted})})"
            )


def attach_adapter(model: nn.Module, spec: dict[str, Any], seed: int) -> peft.PeftModel:
    """`model` with one fresh adapter (rank, alpha, target_modules, bias of `spec`); lora_A is
    drawn from `seed`, lora_B starts at zero as in peft (so the adapted model starts as the base)."""
    import peft  # here, not at the top: importing peft (and transformers) takes seconds, and only adapter jobs need it

    if spec["bias"] not in BIASES:
        raise ValueError(f"lora.bias: '{spec['bias']}' is not one of {BIASES}")
    require_targets(model, list(spec["target_modules"]), type(model).__name__)
    config = peft.LoraConfig(
        r=spec["rank"],
        lora_alpha=spec["alpha"],
        target_modules=list(spec["target_modules"]),
        lora_dropout=0.0,
        bias=spec["bias"],
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return peft.get_peft_model(model, config)


def trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The parameters an adapter owns (adapter matrices and trainable biases), on the CPU."""
    return {name: p.detach().cpu().clone() for name, p in model.named_parameters() if p.requires_grad}


def train_adapter(
    data: Dataset,
    base: nn.Module,
    base_meta: dict[str, Any],
    base_path: str | os.PathLike,
    model_index: int,
    adapter: int,
    *,
    seed: int,
    spec: dict[str, Any],
    optimiser: dict[str, Any],
    device: torch.device,
) -> tuple[peft.PeftModel, dict[str, Any]]:
    """Fine-tune adapter l of base model i on its own seeded random subset (spec["fraction"] of
    the training set), with the base's training loss and `optimiser`. Returns the adapted model
    and the metadata its file carries (what save_adapter writes)."""
    subset = random_subset(data.n_train, spec["fraction"], derive_seed(seed, "adapter-subset", model_index, adapter))
    adapter_seed = derive_seed(seed, "adapter-model", model_index, adapter)
    model = attach_adapter(base, spec, adapter_seed).to(device)
    stats = fit(
        model,
        take(data.x_train, subset),
        data.y_train[subset],
        model_outputs(base_meta["model"], data.task).loss,
        optimiser,
        seed=adapter_seed,
        device=device,
    )
    meta = {
        **{key: base_meta[key] for key in ("model", "in_dim", "n_classes", "train_hash")},
        "input_shape": base_meta.get("input_shape"),
        "kind": "lora_adapter",
        "role": "adapter",
        "index": model_index,
        "adapter": adapter,
        "training_run": f"adapter-{model_index}-{adapter}",
        "lora": dict(spec),
        "n_params": n_parameters(model),
        "base_model_file": str(base_path),
        "base_model_hash": file_hash(base_path),
        "base_model_params": base_meta["n_params"],
        "base_training_run": base_meta["training_run"],
        "base_model_train_seconds": base_meta["train_seconds"],  # up to the base checkpoint's epoch
        "base_epochs_trained": base_meta["epochs_trained"],
        "model_seed": adapter_seed,
        "subset": subset.tolist(),
        "optimiser": optimiser,
        "device": str(device),
    }
    return model, meta | stats


def save_adapter(path: str | os.PathLike, model: peft.PeftModel, meta: dict[str, Any]) -> None:
    """Save the adapter's own parameters (not the base weights) with `meta`, atomically."""
    save_model(path, model, meta, trainable_state(model))


def load_model_or_adapter(
    path: str | os.PathLike, device: str | torch.device = "cpu"
) -> tuple[nn.Module, dict[str, Any]]:
    """A model file (models.save_model) or an adapter file: then its base model, checked against
    the hash the adapter recorded, with the adapter attached. In eval mode, on `device`."""
    saved = torch.load(path, map_location="cpu", weights_only=False)
    meta = saved["meta"]
    if meta.get("kind") != "lora_adapter":
        return load_model(path, device)
    base_path = meta["base_model_file"]
    if file_hash(base_path) != meta["base_model_hash"]:
        raise ProvenanceError(
            f"{path} adapts {base_path} with hash {meta['base_model_hash']}, but that file has changed"
        )
    base, _ = load_model(base_path, "cpu")
    model = attach_adapter(base, meta["lora"], seed=0)
    state, expected = saved["state_dict"], set(trainable_state(model))
    if expected != set(state):
        raise ValueError(
            f"{path}: adapter parameters differ from lora {meta['lora']}: missing {sorted(expected - set(state))}, "
            f"unexpected {sorted(set(state) - expected)}"
        )
    model.load_state_dict(state, strict=False)
    return model.to(device).eval(), meta
