"""Music Transformer: skewing, attention against explicit loops, causality, per-sample grads, peft."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.func import functional_call, grad, vmap

from tdacore.models.music_transformer import MusicTransformer, RelativeSelfAttention, relative_logits_direct, skew

VOCAB, MAX_LEN = 388, 16


def small_model(dropout: float = 0.1, layers: int = 2) -> MusicTransformer:
    torch.manual_seed(0)
    return MusicTransformer(VOCAB, MAX_LEN, layers=layers, heads=2, d_model=16, d_ff=32, dropout=dropout)


@pytest.mark.parametrize("length", [1, 2, 5, 11, 16])
def test_skew_equals_direct_relative_logits(length: int) -> None:
    g = torch.Generator().manual_seed(length)
    q = torch.randn(3, 2, length, 4, generator=g, dtype=torch.float64)
    e_r_full = torch.randn(2, MAX_LEN, 4, generator=g, dtype=torch.float64)
    e_r = e_r_full[:, MAX_LEN - length :]  # the last L distances, -(L-1)..0, as the layer uses
    causal = torch.ones(length, length, dtype=torch.bool).tril()
    skewed = skew(q @ e_r.transpose(-1, -2))
    direct = relative_logits_direct(q, e_r)
    torch.testing.assert_close(skewed[..., causal], direct[..., causal], rtol=1e-12, atol=1e-12)
    # and the direct computation against plain scalar loops, r = j - i (distance, <= 0)
    for b, h, i, j in [(0, 0, length - 1, 0), (2, 1, length - 1, length - 1), (1, 0, length // 2, 0)]:
        expected = q[b, h, i] @ e_r_full[h, MAX_LEN - 1 + (j - i)]
        torch.testing.assert_close(skewed[b, h, i, j], expected)


def test_attention_layer_matches_explicit_loops() -> None:
    torch.manual_seed(1)
    d_model, heads, length = 12, 3, 7
    layer = RelativeSelfAttention(d_model, heads, MAX_LEN, dropout=0.5).double().eval()
    x = torch.randn(2, length, d_model, dtype=torch.float64)
    out = layer(x)

    d = d_model // heads
    expected = torch.zeros(2, length, d_model, dtype=torch.float64)
    for b in range(2):
        q = x[b] @ layer.w_q.weight.T + layer.w_q.bias
        k = x[b] @ layer.w_k.weight.T + layer.w_k.bias
        v = x[b] @ layer.w_v.weight.T + layer.w_v.bias
        heads_out = torch.zeros(length, d_model, dtype=torch.float64)
        for h in range(heads):
            cols = slice(h * d, (h + 1) * d)
            for i in range(length):
                scores = []
                for j in range(i + 1):  # keys j <= i only (causal)
                    rel = q[i, cols] @ layer.e_r[h, MAX_LEN - 1 - (i - j)]
                    scores.append((q[i, cols] @ k[j, cols] + rel) / math.sqrt(d))
                w = torch.softmax(torch.stack(scores), dim=0)
                heads_out[i, cols] = sum(w[j] * v[j, cols] for j in range(i + 1))
        expected[b] = heads_out @ layer.w_o.weight.T + layer.w_o.bias
    torch.testing.assert_close(out, expected, rtol=1e-10, atol=1e-10)


def test_causality_and_shorter_sequences() -> None:
    model = small_model().eval()
    torch.manual_seed(2)
    x = torch.randint(0, VOCAB, (2, MAX_LEN))
    base = model(x)
    assert base.shape == (2, MAX_LEN, VOCAB)
    for t in [0, 5, MAX_LEN - 1]:
        changed = x.clone()
        changed[:, t] = (changed[:, t] + 1) % VOCAB
        out = model(changed)
        torch.testing.assert_close(out[:, :t], base[:, :t], rtol=0, atol=1e-6)
        assert (out[:, t] - base[:, t]).abs().max() > 1e-4
    # a prefix is processed exactly as the start of a longer sequence (relative positions only)
    torch.testing.assert_close(model(x[:, :9]), base[:, :9], rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError):
        model(torch.zeros(1, MAX_LEN + 1, dtype=torch.long))


def test_per_sample_grads_match_autograd_loop() -> None:
    model = small_model().eval()
    torch.manual_seed(3)
    n, length = 5, 10
    x = torch.randint(0, VOCAB, (n, length))
    pos = torch.randint(0, length, (n,))
    target = torch.randint(0, VOCAB, (n,))
    params = {k: p.detach() for k, p in model.named_parameters()}

    def log_prob(p: dict[str, torch.Tensor], xi: torch.Tensor, ti: torch.Tensor, yi: torch.Tensor) -> torch.Tensor:
        logits = functional_call(model, p, (xi.unsqueeze(0),)).squeeze(0)  # (L, V)
        row = logits.gather(0, ti.reshape(1, 1).expand(1, logits.shape[-1])).squeeze(0)
        return row.log_softmax(-1).gather(0, yi.reshape(1)).squeeze(0)

    grads = vmap(grad(log_prob), in_dims=(None, 0, 0, 0))(params, x, pos, target)
    for r in range(n):
        model.zero_grad()
        model(x[r : r + 1])[0, pos[r]].log_softmax(-1)[target[r]].backward()
        for name, p in model.named_parameters():
            torch.testing.assert_close(grads[name][r], p.grad, rtol=1e-4, atol=1e-5, msg=name)


def test_module_names_and_dropout_sites() -> None:
    layers = 3
    model = small_model(layers=layers)
    names = [n for n, _ in model.named_modules() if n.endswith(("w_q", "w_v"))]
    assert len(names) == 2 * layers
    dropouts = [m for m in model.modules() if isinstance(m, nn.Dropout)]
    assert len(dropouts) == 1 + 3 * layers  # embedding + (attention weights, after attention, after FF) per layer
    assert all(m.p == 0.1 for m in dropouts)


def test_peft_lora_adapters() -> None:
    peft = pytest.importorskip("peft")
    model = small_model()
    config = peft.LoraConfig(r=8, lora_alpha=8, target_modules=["w_q", "w_v"], lora_dropout=0.0, bias="lora_only")
    lora = peft.get_peft_model(model, config)
    x = torch.randint(0, VOCAB, (2, 12))
    out = lora(x)
    assert out.shape == (2, 12, VOCAB)
    trainable = [n for n, p in lora.named_parameters() if p.requires_grad]
    assert trainable and all(
        "lora_" in n or n.endswith(("w_q.base_layer.bias", "w_v.base_layer.bias")) for n in trainable
    )
    assert sum("lora_A" in n for n in trainable) == 2 * len(model.blocks)
    assert sum(n.endswith("bias") for n in trainable) == 2 * len(model.blocks)
    out.logsumexp(-1).sum().backward()
    assert all(p.grad is not None for p in lora.parameters() if p.requires_grad)
