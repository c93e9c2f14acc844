"""Appendix J's Shakespeare setting: the text loader (windows, byte vocabulary, held-out split,
scored continuation) and the character-level GPT (causal, its size, gradients, dropout, LoRA)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tdacore.grads import gradient_matrix
from tdacore.lora import check_targets
from tdacore.models import build_model, n_parameters
from tdacore.outputs import IGNORE, sequence_log_likelihood
from tdacore.settings import model_dims
from tdacore.text_data import make_text_dataset
from tdacore.variants import dropout_sites, masked, sample_masks

GPT_SPEC = {"name": "gpt", "layers": 2, "heads": 2, "d_model": 8, "dropout": 0.1}


def _split_file(path: Path, text: str, test_fraction: float) -> int:
    """Write `text` with its training part lower-case and its held-out part upper-case, so that a
    character's case says which part it came from; returns where the held-out part starts."""
    cut = int(round((1 - test_fraction) * len(text)))
    path.write_text(text[:cut].lower() + text[cut:].upper())
    return cut


def _text(tokens: np.ndarray) -> str:
    return bytes(tokens.astype(np.uint8).tolist()).decode("ascii")


def test_text_windows_vocabulary_split_and_scored_continuation(tmp_path: Path, shakespeare_text: str):
    path = tmp_path / "input.txt"
    cut = _split_file(path, shakespeare_text, 0.25)
    data, info = make_text_dataset(path, n_train=50, n_test=10, seq_len=12, continuation=3, test_fraction=0.25, seed=0)
    content = path.read_text()
    train_part, test_part = content[:cut], content[cut:]
    assert (info["train_characters"], info["test_characters"]) == (cut, len(content) - cut)
    assert data.task == "sequence" and data.n_classes == 256 == model_dims({"source": "shakespeare", "seq_len": 12})[1]
    assert data.x_train.shape == data.y_train.shape == (50, 12) and data.x_test.shape == data.y_test.shape == (10, 12)
    # Training windows of 13 characters of the training part: targets are the inputs shifted by one.
    np.testing.assert_array_equal(data.y_train[:, :-1], data.x_train[:, 1:])
    windows = [_text(np.append(x, y[-1])) for x, y in zip(data.x_train, data.y_train)]
    assert len(set(windows)) == 50 and all(w in train_part and w == w.lower() for w in windows)
    # Test windows come from the held-out part: no lower-case (training) character in them.
    tests = [_text(np.append(x, y[-1])) for x, y in zip(data.x_test, data.y_test)]
    assert all(w in test_part and w == w.upper() and any(c.isalpha() for c in w) for w in tests)
    # Only each window's last 3 characters are scored, each given everything before it.
    assert (data.y_test[:, :-3] == IGNORE).all()
    for x, y, window in zip(data.x_test, data.y_test, tests):
        assert _text(y[-3:]) == window[-3:] and _text(x) == window[:-1]
    again, _ = make_text_dataset(path, n_train=50, n_test=10, seq_len=12, continuation=3, test_fraction=0.25, seed=0)
    other, _ = make_text_dataset(path, n_train=50, n_test=10, seq_len=12, continuation=3, test_fraction=0.25, seed=1)
    assert again.train_hash() == data.train_hash() and again.test_hash() == data.test_hash()
    assert other.train_hash() != data.train_hash()


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


def test_missing_or_mis_sized_text_is_an_error_naming_it(tmp_path: Path, shakespeare_text: str):
    missing = tmp_path / "resources/shakespeare/input.txt"
    with pytest.raises(FileNotFoundError, match=r"resources/shakespeare/input\.txt.*snakemake download"):
        make_text_dataset(missing, 10, 2, 8, 2, 0.1, seed=0)
    missing.parent.mkdir(parents=True)
    missing.write_text(shakespeare_text)
    with pytest.raises(ValueError, match="data.continuation = 9"):
        make_text_dataset(missing, 10, 2, 8, 9, 0.1, seed=0)
    with pytest.raises(ValueError, match="asked for 5000 windows"):
        make_text_dataset(missing, 5000, 2, 8, 2, 0.1, seed=0)


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
        assert n_parameters(build_model(big, 256, 256, seed=0)) == 256 * 384 * 2 + 256 * 384 + 6 * (12 * 384**2 + 13 * 384) + 2 * 384


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
    with pytest.raises(ValueError, match="'c_attn' names no linear module of gpt"):
        check_targets(GPT_SPEC, 8, 256, ["c_attn"])
