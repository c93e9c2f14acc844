"""The character-level GPT of Appendix J: causal, its parameter count, its output on a text's
test continuation, per-sample gradients, dropout sites and LoRA targets."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tdacore.attribution.grads import gradient_matrix
from tdacore.data.dataset import IGNORE
from tdacore.data.text import make_text_dataset
from tdacore.models.build import build_model, n_parameters
from tdacore.models.dropout import dropout_sites, masked, sample_masks
from tdacore.models.lora import check_targets
from tdacore.models.outputs import sequence_log_likelihood

GPT_SPEC = {"name": "gpt", "layers": 2, "heads": 2, "d_model": 8, "dropout": 0.1}


def test_gpt_is_causal():
    model = build_model(GPT_SPEC, 16, 256, seed=0).eval()
    x = torch.randint(0, 256, (3, 16), generator=torch.Generator().manual_seed(0))
    changed = x.clone()
    changed[:, 9] = (changed[:, 9] + 1) % 256
    with torch.no_grad():
        before, after = torch.log_softmax(model(x), -1), torch.log_softmax(model(changed), -1)
    torch.testing.assert_close(before[:, :9], after[:, :9], rtol=0, atol=0)
    assert (before[:, 9:] - after[:, 9:]).abs().amax(-1).min() > 1e-6  # every later position sees it
    with pytest.raises(ValueError, match="exceeds the block size 16"):
        model(torch.zeros(1, 17, dtype=torch.long))


def test_gpt_parameter_count_follows_from_its_sizes():
    vocab, block, layers, d = 256, 16, GPT_SPEC["layers"], GPT_SPEC["d_model"]
    embeddings = vocab * d + block * d
    attention = 4 * (d * d + d)  # w_q, w_k, w_v, w_o with biases
    mlp = (d * 4 * d + 4 * d) + (4 * d * d + d)
    layer_norms = 2 * 2 * d
    expected = embeddings + layers * (attention + mlp + layer_norms) + 2 * d + d * vocab  # final LN, head without bias
    assert n_parameters(build_model(GPT_SPEC, block, vocab, seed=0)) == expected
    # nanoGPT's shakespeare-char sizes (6 layers, 384, block 256) over the 256-byte vocabulary
    big = {"name": "gpt", "layers": 6, "heads": 6, "d_model": 384, "dropout": 0.1}
    with torch.device("meta"):
        assert (
            n_parameters(build_model(big, 256, 256, seed=0))
            == 256 * 384 * 2 + 256 * 384 + 6 * (12 * 384**2 + 13 * 384) + 2 * 384
        )


def test_gpt_per_sample_gradients_dropout_sites_and_lora_targets():
    model = build_model(GPT_SPEC, 8, 256, seed=1).eval()
    x = torch.randint(0, 256, (3, 8), generator=torch.Generator().manual_seed(1))
    y = torch.roll(x, -1, dims=1)
    y[:, :5] = IGNORE
    batched = gradient_matrix(model, x, y, sequence_log_likelihood, chunk_size=2)
    for r in range(3):
        model.zero_grad()
        sequence_log_likelihood(model(x[r : r + 1]), y[r : r + 1]).sum().backward()
        loop = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
        torch.testing.assert_close(batched[r], loop, rtol=1e-4, atol=1e-6)
    # nanoGPT's four dropout sites: the embedding, and per block attention weights, attention out, MLP out
    assert len(dropout_sites(model)) == 1 + 3 * GPT_SPEC["layers"]
    short = x[:, :6]
    masks = sample_masks(model, short, seed=3)  # a Dropout Ensemble pass: one fixed mask per site
    assert sorted({tuple(mask.shape) for mask in masks.values()}) == [(2, 6, 6), (6, 8)]  # (heads, L, L), (L, d)
    with torch.no_grad():
        plain = model(short)
        with masked(model, masks):
            varied = model(short)
    assert (plain - varied).abs().max() > 1e-4
    check_targets(GPT_SPEC, 8, 256, ["w_q", "w_v"])
    with pytest.raises(ValueError, match="'c_attn' names no module of gpt that holds a weight"):
        check_targets(GPT_SPEC, 8, 256, ["c_attn"])


def test_the_model_output_is_the_log_likelihood_of_the_test_continuation(tmp_path: Path, shakespeare_text: str):
    path = tmp_path / "input.txt"
    path.write_text(shakespeare_text)
    data, _ = make_text_dataset(path, n_train=20, n_test=6, seq_len=10, continuation=4, test_fraction=0.3, seed=2)
    model = build_model(GPT_SPEC, 10, 256, seed=0).eval()
    with torch.no_grad():
        logits = model(torch.as_tensor(data.x_test))
        f = sequence_log_likelihood(logits, torch.as_tensor(data.y_test))
        # p(next character | window so far) at the last 4 positions, read straight off the logits
        log_p = torch.log_softmax(logits[:, -4:], dim=-1)
        expected = torch.stack([sum(log_p[r, t, data.y_test[r, 6 + t]] for t in range(4)) for r in range(6)])
    torch.testing.assert_close(f, expected)
