"""Named inputs (input_ids and an attention mask, as a dict) through every computation, on a
Hugging Face transformers GPT-2: per-sample gradients, projection, curvature products, scores,
dropout masks and training, each against per-example autograd on the model called directly."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from transformers import GPT2Config, GPT2LMHeadModel

from tdacore.attribution.grads import per_sample_grads
from tdacore.attribution.hessian import damped_hvp
from tdacore.attribution.methods import score_matrix
from tdacore.attribution.projection.projectors import make_projector, project_grads
from tdacore.attribution.projection.spec import Projection
from tdacore.models.dropout import dropout_sites, masked, sample_masks
from tdacore.models.outputs import OUTPUTS, sequence_cross_entropy, sequence_log_likelihood
from tdacore.models.train import fit

SEQUENCE = OUTPUTS["sequence"]
VOCAB, LENGTH = 11, 7


class TinyLM(nn.Module):
    """GPT-2 taking what a tokenizer gives: input_ids and attention_mask -> logits."""

    def __init__(self, dropout: float) -> None:
        super().__init__()
        config = GPT2Config(
            vocab_size=VOCAB,
            n_positions=LENGTH,
            n_embd=8,
            n_layer=1,
            n_head=2,
            resid_pdrop=dropout,
            embd_pdrop=dropout,
            attn_pdrop=dropout,
            bos_token_id=None,
            eos_token_id=None,
            attn_implementation="eager",
        )
        self.lm = GPT2LMHeadModel(config)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.lm(input_ids=input_ids, attention_mask=attention_mask).logits


def tiny_lm(dropout: float = 0.0, seed: int = 0) -> TinyLM:
    torch.manual_seed(seed)
    return TinyLM(dropout).eval()


def left_padded(n: int, seed: int = 0) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Sequences of 2..LENGTH tokens, padded on the left (so that the mask, not causality, keeps
    the padding out), and their targets: the next token where both positions are real, else -1."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, VOCAB, (n, LENGTH), generator=g)
    lengths = torch.randint(2, LENGTH + 1, (n,), generator=g)
    mask = (torch.arange(LENGTH) >= LENGTH - lengths[:, None]).long()
    ids = ids * mask
    targets = torch.where(mask.roll(-1, 1).bool() & mask.bool(), ids.roll(-1, 1), torch.full_like(ids, -1))
    targets[:, -1] = -1
    return {"input_ids": ids, "attention_mask": mask}, targets


def autograd_rows(model: nn.Module, x: dict[str, torch.Tensor], y: torch.Tensor, fn=sequence_log_likelihood):
    """Each example's gradient of fn, by autograd on the model called directly, one at a time."""
    params = [p for p in model.parameters() if p.requires_grad]
    rows = []
    for r in range(len(y)):
        out = fn(model(**{k: v[r : r + 1] for k, v in x.items()}), y[r : r + 1]).sum()
        grads = torch.autograd.grad(out, params, allow_unused=True, materialize_grads=True)
        rows.append(torch.cat([g.reshape(-1) for g in grads]))
    return torch.stack(rows)


def vmap_rows(model: nn.Module, x, y, chunk_size: int = 3) -> torch.Tensor:
    return torch.cat(
        [torch.cat(blocks, 1) for _, blocks in per_sample_grads(model, x, y, sequence_log_likelihood, chunk_size)]
    )


def test_per_sample_gradients_with_an_attention_mask_equal_autograd():
    model = tiny_lm()
    x, y = left_padded(7)
    expected = autograd_rows(model, x, y)
    assert expected.abs().max() > 0.1
    torch.testing.assert_close(vmap_rows(model, x, y), expected, rtol=1e-4, atol=1e-6)


def test_the_attention_mask_reaches_the_model():
    model = tiny_lm()
    x, y = left_padded(7)
    other_padding = {**x, "input_ids": torch.where(x["attention_mask"].bool(), x["input_ids"], 5)}
    torch.testing.assert_close(vmap_rows(model, other_padding, y), vmap_rows(model, x, y), rtol=1e-5, atol=1e-6)
    # without the mask the padding is attended to, and the gradients change
    unmasked = {**x, "attention_mask": torch.ones_like(x["attention_mask"])}
    assert (vmap_rows(model, unmasked, y) - vmap_rows(model, x, y)).abs().max() > 1e-3


def test_projected_gradients_and_scores_of_named_inputs_equal_those_of_autograd():
    model = tiny_lm()
    (x_train, y_train), (x_test, y_test) = left_padded(8, seed=1), left_padded(3, seed=2)
    g_train, g_test = autograd_rows(model, x_train, y_train), autograd_rows(model, x_test, y_test)
    projector = make_projector(Projection("gaussian", 16), model, x_train, seed=3, device=torch.device("cpu"))
    projected = project_grads(model, x_train, y_train, projector, 3, sequence_log_likelihood)
    torch.testing.assert_close(projected, g_train @ projector.matrix(), rtol=1e-4, atol=1e-5)
    scores, _ = score_matrix("graddot", model, x_train, y_train, x_test, y_test, chunk_size=3, outputs=SEQUENCE)
    np.testing.assert_allclose(scores, (g_test @ g_train.T).numpy(), rtol=1e-4, atol=1e-5)


def test_the_hessian_vector_product_of_named_inputs_equals_autograd():
    model = tiny_lm()
    x, y = left_padded(6, seed=4)
    params = [p for p in model.parameters() if p.requires_grad]
    v = torch.randn(sum(p.numel() for p in params), 2, generator=torch.Generator().manual_seed(5))
    got = damped_hvp(model, x, y, sequence_cross_entropy, 0.5, chunk_size=6)(v)
    # the mean loss over the whole set: one chunk, so the chunk's mean is the set's mean
    loss = sequence_cross_entropy(model(**x), y)
    grads = torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, params, create_graph=True)])
    expected = torch.stack(
        [
            torch.cat([h.reshape(-1) for h in torch.autograd.grad(grads @ v[:, j], params, retain_graph=True)])
            for j in range(2)
        ],
        dim=1,
    )
    torch.testing.assert_close(got, expected + 0.5 * v, rtol=1e-4, atol=1e-5)


def test_dropout_masks_of_named_inputs_act_in_per_sample_gradients():
    model = tiny_lm(dropout=0.3)
    x, y = left_padded(5, seed=6)
    masks = sample_masks(model, x, seed=7)
    # GPT-2 drops attention probabilities with a functional call of attn_dropout's p: that module is
    # never called, so the masks sit on the embedding's and the two residual dropouts
    assert set(dropout_sites(model)) - set(masks) == {"lm.transformer.h.0.attn.attn_dropout"} and len(masks) == 3
    assert masks["lm.transformer.drop"].shape == (LENGTH, 8)  # positions x width
    with masked(model, masks):
        torch.testing.assert_close(vmap_rows(model, x, y), autograd_rows(model, x, y), rtol=1e-4, atol=1e-6)
        masked_rows = vmap_rows(model, x, y)
    assert (masked_rows - vmap_rows(model, x, y)).abs().max() > 1e-3
    torch.testing.assert_close(sample_masks(model, x, seed=7), masks)


def test_training_on_named_inputs_lowers_the_loss_and_repeats():
    x, y = left_padded(40, seed=8)
    arrays = {name: value.numpy() for name, value in x.items()}
    optimiser = {"optimizer": "adam", "lr": 1e-2, "betas": [0.9, 0.99], "epochs": 5, "batch_size": 8}
    with torch.no_grad():
        before = float(sequence_cross_entropy(tiny_lm(dropout=0.1)(**x), y))
    runs = []
    for _ in range(2):
        model = tiny_lm(dropout=0.1)
        stats = fit(model, arrays, y.numpy(), sequence_cross_entropy, optimiser, seed=1, device=torch.device("cpu"))
        runs.append(torch.cat([p.detach().reshape(-1) for p in model.parameters()]))
    assert stats["final_loss"] < before - 0.1
    torch.testing.assert_close(runs[0], runs[1], rtol=0, atol=0)
