"""The model output (margin), Q, and per-sample gradients against independent computations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tdacore.data.dataset import IGNORE
from tdacore.models.outputs import (
    margin,
    one_minus_p,
    outputs_for,
    sequence_cross_entropy,
    sequence_log_likelihood,
    sequence_one_minus_p,
)


def test_margin_is_log_odds_of_correct_class():
    logits = torch.randn(20, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    labels = torch.arange(20) % 6
    p = torch.softmax(logits, 1)[torch.arange(20), labels]
    torch.testing.assert_close(margin(logits, labels), torch.log(p / (1 - p)))
    torch.testing.assert_close(one_minus_p(logits, labels), 1 - p)


def test_margin_stays_finite_when_p_rounds_to_one():
    logits = torch.tensor([[60.0, 0.0, -3.0]])
    assert torch.softmax(logits, 1)[0, 0] == 1.0  # float32: log(p / (1 - p)) would be inf
    value = margin(logits, torch.tensor([0]))
    assert torch.isfinite(value) and abs(value.item() - (60 - np.log(1 + np.exp(-3)))) < 1e-4


def test_sequence_outputs_against_a_loop_over_events():
    torch.manual_seed(0)
    logits = torch.randn(3, 5, 7)
    targets = torch.randint(0, 7, (3, 5))
    targets[1, :4] = IGNORE  # a test prompt: only its generated (last) event is scored
    probs = torch.softmax(logits, -1)
    for b in range(3):
        scored = [t for t in range(5) if targets[b, t] != IGNORE]
        p = torch.stack([probs[b, t, targets[b, t]] for t in scored])
        torch.testing.assert_close(sequence_log_likelihood(logits[b], targets[b]), p.log().sum())
        torch.testing.assert_close(sequence_one_minus_p(logits[b], targets[b]), (1 - p).mean())
    # batched as in batched_outputs, and the loss is the mean cross-entropy over scored events only
    torch.testing.assert_close(
        sequence_log_likelihood(logits, targets)[1], torch.log_softmax(logits[1, 4], -1)[targets[1, 4]]
    )
    everything = [-torch.log(probs[b, t, targets[b, t]]) for b in range(3) for t in range(5) if targets[b, t] != IGNORE]
    torch.testing.assert_close(sequence_cross_entropy(logits, targets), torch.stack(everything).mean())
    # the classification and sequence settings are looked up by task
    assert outputs_for("sequence").f is sequence_log_likelihood and outputs_for("classification").f is margin
    with pytest.raises(ValueError, match="regression"):
        outputs_for("regression")


def test_a_researchers_model_outputs_are_named_by_reference(tmp_path, monkeypatch):
    from tdacore.infra.references import BadReference
    from tdacore.models.outputs import ModelOutputs, model_outputs

    (tmp_path / "my_outputs.py").write_text(
        "from tdacore.models.outputs import ModelOutputs, log_likelihood, mean_cross_entropy, one_minus_p\n\n"
        "LOG_P = ModelOutputs('log p', log_likelihood, one_minus_p, log_likelihood, mean_cross_entropy)\n\n"
        "def for_task(task):\n    return LOG_P if task == 'classification' else None\n\n"
        "def wrong():\n    return 3\n"
    )
    monkeypatch.chdir(tmp_path)
    mine = model_outputs({"name": "mlp", "outputs": "my_outputs.py:LOG_P"}, "classification")
    assert isinstance(mine, ModelOutputs) and mine.name == "log p"
    assert model_outputs({"factory": "m:f", "outputs": "my_outputs.py:for_task"}, "classification").name == "log p"
    assert model_outputs({"name": "mlp"}, "sequence") is outputs_for("sequence")
    with pytest.raises(BadReference, match=r"^model.outputs: 'my_outputs.py:wrong' gave int, not a tdacore"):
        model_outputs({"outputs": "my_outputs.py:wrong"}, "classification")
    with pytest.raises(BadReference, match="^model.outputs: module 'my_outputs.py' has no attribute 'absent'"):
        model_outputs({"outputs": "my_outputs.py:absent"}, "classification")
