"""Dropout-masked variants of a trained model (Section 3.3, DESIGN.md).

Pass d >= 1 of a model is, by default ("fixed"), a fixed function: one seeded keep-mask per
dropout site, shared by every example, train and test, scaled by 1 / (1 - p) as in training.
Pass 0 is the model in eval mode (no mask). Masks are applied by forward hooks, so the model
itself is untouched and any architecture whose dropout sites are `nn.Dropout` works. The other
reading ("per_example"): dropout in train mode, a fresh mask for every example and every call,
drawn from torch's generator seeded by the pass (`fresh_masks`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from tdacore.data.batches import Inputs, forward, take
from tdacore.infra.seeds import derive_seed, torch_generator

Masks = dict[str, torch.Tensor]
MASK_MODES = ("fixed", "per_example")


def dropout_sites(model: nn.Module) -> dict[str, nn.Dropout]:
    """The model's dropout modules by qualified name."""
    return {name: module for name, module in model.named_modules() if isinstance(module, nn.Dropout)}


def require_dropout_sites(model: nn.Module) -> dict[str, nn.Dropout]:
    """dropout_sites, refusing a model that has none, naming the modules whose outputs could be
    masked instead (an nn.Dropout placed after one of them)."""
    sites = dropout_sites(model)
    if not sites:
        candidates = [
            name
            for name, module in model.named_modules()
            if name
            and not list(module.children())
            and any(p.requires_grad for p in module.parameters())
            or type(module).__module__ == "torch.nn.modules.activation"
        ]
        raise ValueError(
            f"{type(model).__name__} has no nn.Dropout module, so it has no dropout variants for a Dropout Ensemble: "
            f"add nn.Dropout after some of the modules whose outputs could take masks ({', '.join(candidates)}), "
            "or leave ensembles dropout (and the forward-only kinds) out of the config"
        )
    return sites


def _site_shapes(model: nn.Module, example: Inputs) -> dict[str, torch.Size]:
    """Per-example activation shape at each dropout site the forward pass calls, found by one
    forward pass. A site the model never calls cannot take a mask: e.g. transformers' GPT-2 keeps
    an attn_dropout module but drops attention probabilities with a functional call of its p."""
    shapes: dict[str, torch.Size] = {}
    handles = [
        module.register_forward_hook(lambda m, i, o, name=name: shapes.__setitem__(name, o.shape[1:]))
        for name, module in dropout_sites(model).items()
    ]
    try:
        was_training = model.training
        model.eval()
        with torch.no_grad():
            forward(model, take(example, slice(0, 1)))
        model.train(was_training)
    finally:
        for handle in handles:
            handle.remove()
    return shapes


def sample_masks(model: nn.Module, example: Inputs, seed: int) -> Masks:
    """One keep-mask per dropout site called (Bernoulli(1 - p), scaled by 1 / (1 - p)) from `seed`, in
    the dtype and on the device of the model's parameters; `example` (inputs of at least one
    example) shows the activation shapes."""
    sites = require_dropout_sites(model)
    generator = torch_generator(seed)
    like = next(model.parameters())
    shapes = _site_shapes(model, example)
    if not shapes:
        raise ValueError(
            f"{type(model).__name__}'s forward pass calls none of its nn.Dropout modules ({', '.join(sites)}), "
            "so no mask can act: a Dropout Ensemble needs dropout applied by calling an nn.Dropout module"
        )
    masks: Masks = {}
    for name, shape in shapes.items():
        p = sites[name].p
        keep = torch.rand(shape, generator=generator) >= p
        masks[name] = keep.to(like.dtype) / (1.0 - p)
    return {name: mask.to(like.device) for name, mask in masks.items()}


def mask_seed(seed: int, model_index: int, dropout_pass: int, epoch: int | None = None) -> int:
    """The seed of pass d of model i (of its checkpoint at `epoch`, if given); -1 for pass 0,
    which has no mask."""
    if dropout_pass == 0:
        return -1
    return derive_seed(seed, "dropout-mask", model_index, dropout_pass, *([] if epoch is None else [epoch]))


def pass_masks(
    model: nn.Module, example: Inputs, seed: int, model_index: int, dropout_pass: int, epoch: int | None = None
) -> Masks | None:
    """The masks of dropout pass d of model i (or of its checkpoint); None for pass 0 (unmasked)."""
    if dropout_pass == 0:
        return None
    return sample_masks(model, example, mask_seed(seed, model_index, dropout_pass, epoch))


@contextmanager
def masked(model: nn.Module, masks: Masks | None) -> Iterator[nn.Module]:
    """The model in eval mode with `masks` applied at its dropout sites (None: pass 0)."""
    model.eval()
    handles = []
    if masks:
        sites = dropout_sites(model)
        unknown = set(masks) - set(sites)
        if unknown:
            raise KeyError(f"masks name dropout sites the model lacks: {sorted(unknown)}")
        handles = [
            sites[name].register_forward_hook(lambda m, i, o, mask=mask: o * mask) for name, mask in masks.items()
        ]
    try:
        yield model
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def fresh_masks(model: nn.Module, seed: int) -> Iterator[nn.Module]:
    """The model in eval mode but for its dropout sites, which draw a fresh mask for every example
    and every call from torch's generator seeded with `seed` (its state is restored afterwards;
    per-sample gradients draw one per example: tdacore.attribution.grads uses vmap randomness="different")."""
    sites = require_dropout_sites(model)
    model.eval()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for site in sites.values():
            site.train()
        try:
            yield model
        finally:
            model.eval()


@contextmanager
def dropout_off(model: nn.Module) -> Iterator[nn.Module]:
    """Every dropout site in eval mode inside the block, as it was afterwards (e.g. IF's curvature
    under per-example masks: a random operator has no conjugate-gradient solution)."""
    training = [site for site in dropout_sites(model).values() if site.training]
    for site in training:
        site.eval()
    try:
        yield model
    finally:
        for site in training:
            site.train()
