"""LoRA adapters (Section 3.4, Appendix C.2) through peft: what fine-tuning moves, per-sample
gradients with respect to the adapter alone, the adapter file's provenance and the config check."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch.func import functional_call, grad, vmap

from tdacore.attribution.grads import per_sample_grads
from tdacore.data.dataset import sequence_dataset
from tdacore.infra.store import ProvenanceError
from tdacore.models.build import build_model, save_model
from tdacore.models.lora import (
    attach_adapter,
    check_targets,
    load_model_or_adapter,
    require_targets,
    save_adapter,
    train_adapter,
)
from tdacore.models.outputs import sequence_log_likelihood

SPEC = {"name": "music_transformer", "layers": 2, "heads": 2, "d_model": 16, "d_ff": 32, "dropout": 0.1}
LORA = {"rank": 4, "alpha": 8, "target_modules": ["w_q", "w_v"], "bias": "lora_only", "fraction": 0.5}
OPTIMISER = {"optimizer": "adam", "lr": 1e-2, "betas": [0.9, 0.98], "epochs": 2, "batch_size": 8}
L, VOCAB = 12, 388


def _data(n: int = 24):
    rng = np.random.default_rng(0)
    return sequence_dataset(rng.integers(0, VOCAB, (n, L + 1)), rng.integers(0, VOCAB, (4, L)), VOCAB)


def _base(tmp_path: Path):
    data = _data()
    model = build_model(SPEC, L, VOCAB, seed=1)
    meta = {
        "model": SPEC,
        "in_dim": L,
        "n_classes": VOCAB,
        "train_hash": data.train_hash(),
        "n_params": 1,
        "training_run": "base-0",
        "train_seconds": 1.5,
        "epochs_trained": 10,
    }
    save_model(tmp_path / "base.pt", model, meta)
    return data, model, meta


def test_fine_tuning_moves_only_adapter_and_biases_and_the_file_records_the_config(tmp_path):
    data, base, base_meta = _base(tmp_path)
    before = {name: p.detach().clone() for name, p in base.named_parameters()}
    model, meta = train_adapter(
        data,
        base,
        base_meta,
        tmp_path / "base.pt",
        0,
        1,
        seed=0,
        spec=LORA,
        optimiser=OPTIMISER,
        device=torch.device("cpu"),
    )
    after = dict(model.get_base_model().named_parameters())
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    # every trainable parameter is a LoRA matrix or the bias of an adapted module (2 modules x 2 layers)
    assert all(".lora_" in n or n.endswith(("w_q.base_layer.bias", "w_v.base_layer.bias")) for n in trainable)
    assert sum(n.endswith(".bias") for n in trainable) == 4
    for name, value in before.items():
        weight = after.get(
            name, after.get(name.replace(".weight", ".base_layer.weight").replace(".bias", ".base_layer.bias"))
        )
        if name.endswith(("w_q.bias", "w_v.bias")):
            assert not torch.equal(weight, value), name  # the adapted modules' biases are trained
        else:
            assert torch.equal(weight, value), name  # bitwise unchanged
    lora_b = [p for n, p in model.named_parameters() if "lora_B" in n]
    assert all(p.abs().sum() > 0 for p in lora_b)  # peft starts B at zero; training moved it
    save_adapter(tmp_path / "adapter.pt", model, meta)
    loaded, saved_meta = load_model_or_adapter(tmp_path / "adapter.pt")
    assert saved_meta["lora"] == LORA and saved_meta["n_params"] == sum(
        p.numel() for n, p in model.named_parameters() if n in trainable
    )
    assert saved_meta["n_params"] == 2 * 2 * (4 * 16 * 2 + 16)  # layers x modules x (A + B + bias)
    assert len(saved_meta["subset"]) == 12 and saved_meta["base_model_train_seconds"] == 1.5
    x = torch.as_tensor(data.x_test)
    torch.testing.assert_close(loaded(x), model.eval()(x))
    # the adapter refuses a base model that changed after it was trained
    save_model(tmp_path / "base.pt", build_model(SPEC, L, VOCAB, seed=2), base_meta)
    with pytest.raises(ProvenanceError, match="base.pt"):
        load_model_or_adapter(tmp_path / "adapter.pt")


def test_adapter_gradients_equal_the_matching_slice_of_the_full_gradient():
    data = _data(6)
    model = attach_adapter(build_model(SPEC, L, VOCAB, seed=1), LORA, seed=3).eval()
    with torch.no_grad():  # lora_B = 0 at peft's init would make lora_A's gradients zero
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.1)
    x, y = torch.as_tensor(data.x_train), torch.as_tensor(data.y_train)
    adapter = torch.cat(
        [torch.cat(blocks, 1) for _, blocks in per_sample_grads(model, x, y, sequence_log_likelihood, chunk_size=4)]
    )
    # the full per-sample gradient, every parameter of the adapted model, then sliced
    params = {n: p.detach() for n, p in model.named_parameters()}

    def f(p, xi, yi):
        return sequence_log_likelihood(functional_call(model, p, (xi.unsqueeze(0),)).squeeze(0), yi)

    full = vmap(grad(f), in_dims=(None, 0, 0))(params, x, y)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    sliced = torch.cat([full[n].reshape(len(x), -1) for n in trainable], 1)
    assert adapter.shape == sliced.shape and adapter.shape[1] < sum(p.numel() for p in params.values()) / 10
    torch.testing.assert_close(adapter, sliced, atol=1e-5, rtol=1e-4)
    assert adapter.abs().sum() > 0


def test_a_target_module_the_model_lacks_is_named():
    check_targets(SPEC, L, VOCAB, ["w_q", "w_v"])
    with pytest.raises(ValueError, match="'q_proj'"):
        check_targets(SPEC, L, VOCAB, ["w_q", "q_proj"])
    with pytest.raises(ValueError, match="lora.bias"):
        attach_adapter(build_model(SPEC, L, VOCAB, seed=1), LORA | {"bias": "some"}, seed=0)


def test_the_targets_of_any_model_are_checked_before_peft_runs():
    """A researcher's transformers model: its Conv1D attention projections are targets; a name it
    lacks is refused by attach_adapter itself, listing the modules that hold weights."""
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(
        vocab_size=16, n_positions=8, n_embd=8, n_layer=1, n_head=2, bos_token_id=None, eos_token_id=None
    )
    model = GPT2LMHeadModel(config)
    require_targets(model, ["c_attn"], "gpt2")
    adapted = attach_adapter(model, LORA | {"target_modules": ["c_attn"]}, seed=0)
    assert sum(p.numel() for p in adapted.parameters() if p.requires_grad) > 0
    with pytest.raises(
        ValueError, match=r"'q_proj' names no module of GPT2LMHeadModel that holds a weight \(.*'c_attn'"
    ):
        attach_adapter(GPT2LMHeadModel(config), LORA | {"target_modules": ["q_proj"]}, seed=0)
