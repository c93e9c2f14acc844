"""Building models through one path: a built-in architecture and a researcher's factory are both
'module:function' references, called with their options and the data's sizes they name."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tdacore.infra.seeds import derive_seed
from tdacore.models.build import build_model, load_model, save_model
from tdacore.models.dropout import sample_masks
from tdacore.models.mlp import MLP
from tdacore.models.registry import model_options, model_reference

FACTORY = """
from torch import nn

def build(width, n_classes, input_shape, dropout=0.0):
    channels = input_shape[0]
    return nn.Sequential(nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(), nn.Dropout(dropout),
                         nn.Flatten(), nn.Linear(width * input_shape[1] * input_shape[2], n_classes))

def no_dropout(n_classes):
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, n_classes))

def not_a_module(n_classes):
    return {"weights": n_classes}
"""


@pytest.fixture
def factory_file(tmp_path: Path) -> str:
    path = tmp_path / "user_factories_build.py"
    path.write_text(FACTORY)
    return str(path)


def test_a_built_in_architecture_is_its_factory_with_its_options():
    spec = {"name": "mlp", "hidden": [8, 6], "dropout": 0.1}
    assert str(model_reference(spec)) == "tdacore.models.mlp:build"
    assert model_options(spec) == {"hidden": [8, 6], "dropout": 0.1}
    model = build_model(spec, 5, 3, seed=1)
    torch.manual_seed(derive_seed(1, "init"))
    by_hand = MLP(5, [8, 6], 3, 0.1)
    for (name, mine), (_, theirs) in zip(model.state_dict().items(), by_hand.state_dict().items()):
        assert torch.equal(mine, theirs), name


def test_a_researchers_factory_gets_its_options_and_the_sizes_it_names(factory_file: str, tmp_path: Path):
    spec = {"factory": f"{factory_file}:build", "width": 4, "dropout": 0.2}
    model = build_model(spec, 16, 3, seed=0, input_shape=(1, 4, 4))
    assert model(torch.zeros(2, 1, 4, 4)).shape == (2, 3)
    assert model[0].out_channels == 4 and model[2].p == 0.2
    again = build_model(spec, 16, 3, seed=0, input_shape=(1, 4, 4))
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), again.parameters()))
    path = tmp_path / "model.pt"
    save_model(path, model, {"model": spec, "in_dim": 16, "input_shape": [1, 4, 4], "n_classes": 3})
    loaded, _ = load_model(path)
    x = torch.randn(3, 1, 4, 4)
    assert torch.equal(loaded(x), model.eval()(x))


def test_a_factory_that_returns_no_module_or_takes_other_options_is_refused(factory_file: str):
    with pytest.raises(ValueError, match=r"^model.factory: '.*:not_a_module' returned dict, not a torch.nn.Module"):
        build_model({"factory": f"{factory_file}:not_a_module"}, 16, 3, seed=0)
    with pytest.raises(ValueError, match=r"^model.factory: .*build takes no parameter depth"):
        build_model({"factory": f"{factory_file}:build", "width": 2, "depth": 3}, 16, 3, seed=0, input_shape=(1, 4, 4))
    with pytest.raises(ValueError, match="^model.name: unknown architecture 'cnn'"):
        build_model({"name": "cnn", "dropout": 0.1}, 16, 3, seed=0)


def test_a_model_without_dropout_names_where_masks_could_go(factory_file: str):
    model = build_model({"factory": f"{factory_file}:no_dropout"}, 16, 3, seed=0)
    with pytest.raises(ValueError, match=r"has no nn.Dropout module.*\(1, 2, 3\)") as error:
        sample_masks(model, torch.zeros(1, 16), seed=0)
    assert "leave ensembles dropout" in str(error.value)
