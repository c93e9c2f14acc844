"""Training loops (Appendix B.1): minibatch SGD with momentum (MLP) or Adam (Music Transformer)
on a setting's training loss, for a fixed batch size and number of epochs."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from tdacore.data.batches import Inputs, example_shapes, forward, is_dict, take, to_tensors
from tdacore.data.dataset import Dataset, random_subset
from tdacore.infra.seeds import derive_seed, torch_generator
from tdacore.models.build import build_model, n_parameters
from tdacore.models.outputs import OutputFn, model_outputs


def make_optimiser(params: Iterable[nn.Parameter], spec: dict[str, Any]) -> torch.optim.Optimizer:
    """`spec["optimizer"]`: "sgd" (lr, momentum; the default) or "adam" (lr, betas)."""
    kind = spec.get("optimizer", "sgd")
    if kind == "sgd":
        return torch.optim.SGD(params, lr=spec["lr"], momentum=spec["momentum"])
    if kind == "adam":
        return torch.optim.Adam(params, lr=spec["lr"], betas=tuple(spec["betas"]))
    raise ValueError(f"train.optimizer: unknown optimizer '{kind}' (known: sgd, adam)")


def fit(
    model: nn.Module,
    x: Inputs,
    y: np.ndarray,
    loss_fn: OutputFn,
    optimiser: dict[str, Any],
    *,
    seed: int,
    device: torch.device,
    checkpoints: Sequence[int] = (),
    on_checkpoint: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Minimise loss_fn over the model's trainable parameters (optimiser: epochs, batch_size and
    make_optimiser's keys); shuffling and dropout draw from `seed` only.

    After each epoch listed in `checkpoints`, on_checkpoint receives that epoch's statistics
    while the model holds that epoch's weights (Appendix F.2: checkpoints of one training run);
    saving them does not touch any random stream, so the run is the same with or without.
    Returns the final statistics: epochs, wall time and the last epoch's mean training loss.
    """
    epochs, batch_size = optimiser["epochs"], optimiser["batch_size"]
    unknown = sorted(set(checkpoints) - set(range(1, epochs + 1)))
    if unknown:
        raise ValueError(f"train.checkpoints: epochs {unknown} are outside the {epochs} epochs of training")
    xs = to_tensors(x, device)
    ys = torch.as_tensor(y, device=device)
    optimizer = make_optimiser([p for p in model.parameters() if p.requires_grad], optimiser)
    shuffle = torch_generator(derive_seed(seed, "shuffle"))
    start = time.perf_counter()
    loss_sum = torch.zeros((), device=device)
    model.train()
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(derive_seed(seed, "dropout"))
        for epoch in range(1, epochs + 1):
            order = torch.randperm(len(ys), generator=shuffle).to(device)
            loss_sum = torch.zeros((), device=device)
            for batch in order.split(batch_size):
                loss = loss_fn(forward(model, take(xs, batch)), ys[batch])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                loss_sum += loss.detach() * len(batch)
            if epoch in checkpoints and on_checkpoint is not None:
                on_checkpoint(_stats(epoch, start, loss_sum, len(ys)))
    model.eval()
    return _stats(epochs, start, loss_sum, len(ys))


def _stats(epoch: int, start: float, loss_sum: torch.Tensor, n: int) -> dict[str, Any]:
    return {"epochs_trained": epoch, "train_seconds": time.perf_counter() - start, "final_loss": float(loss_sum) / n}


def model_sizes(data: Dataset) -> dict[str, Any]:
    """The data's sizes a model is built for: values per example (in_dim), the shape of one
    example (input_shape) and the classes or vocabulary (n_classes). Named inputs
    (tdacore.data.batches): input_shape names each input's shape and in_dim is the largest
    input's values per example (the sequence length L of input_ids and attention_mask)."""
    shapes = example_shapes(data.x_train)
    if is_dict(shapes):
        in_dim = max(int(np.prod(shape)) for shape in shapes.values())
        return {
            "in_dim": in_dim,
            "input_shape": {k: list(v) for k, v in shapes.items()},
            "n_classes": int(data.n_classes),
        }
    return {"in_dim": int(np.prod(shapes)), "input_shape": list(shapes), "n_classes": int(data.n_classes)}


def train_member(
    data: Dataset,
    role: str,
    index: int,
    *,
    seed: int,
    fraction: float,
    model_spec: dict[str, Any],
    optimiser: dict[str, Any],
    device: torch.device,
    checkpoints: Sequence[int] = (),
    save_checkpoint: Callable[[nn.Module, dict[str, Any]], None] | None = None,
) -> tuple[nn.Module, dict[str, Any]]:
    """Train model `index` of `role` ("base" or "retrain") on its own seeded random subset.

    The subset (round(fraction * n) training examples) and the model's initialisation,
    shuffling and dropout all come from streams derived from (seed, role, index).
    save_checkpoint(model, meta) is called after each epoch in `checkpoints`, with the metadata
    that checkpoint's file should carry. Returns the trained model and its metadata (subset
    indices included).
    """
    subset = random_subset(data.n_train, fraction, derive_seed(seed, f"{role}-subset", index))
    model_seed = derive_seed(seed, f"{role}-model", index)
    sizes = model_sizes(data)
    model = build_model(model_spec, **sizes, seed=model_seed).to(device)
    meta: dict[str, Any] = {
        "role": role,
        "index": index,
        "training_run": f"{role}-{index}",
        "model": model_spec,
        **sizes,
        "n_params": n_parameters(model),
        "model_seed": model_seed,
        "subset": subset.tolist(),
        "train_hash": data.train_hash(),
        "optimiser": optimiser,
        "device": str(device),
    }
    stats = fit(
        model,
        take(data.x_train, subset),
        data.y_train[subset],
        model_outputs(model_spec, data.task).loss,
        optimiser,
        seed=model_seed,
        device=device,
        checkpoints=checkpoints,
        on_checkpoint=None if save_checkpoint is None else lambda stats: save_checkpoint(model, meta | stats),
    )
    return model, meta | stats
