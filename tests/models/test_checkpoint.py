"""Trained models a researcher brings: a state dict or a checkpoint holding one, loaded into the
config's model; files that are not one, or do not fit, are refused naming the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tdacore.data.dataset import Dataset
from tdacore.models.build import build_model
from tdacore.models.checkpoint import import_checkpoint, read_state_dict

SPEC = {"name": "mlp", "hidden": [6], "dropout": 0.1}


@pytest.fixture
def data() -> Dataset:
    rng = np.random.default_rng(0)
    return Dataset(
        rng.random((20, 5), dtype=np.float32),
        np.arange(20) % 3,
        rng.random((4, 5), dtype=np.float32),
        np.arange(4) % 3,
        3,
    )


@pytest.mark.parametrize("layout", ["state_dict", "under_state_dict", "under_model_state_dict"])
def test_a_state_dict_in_any_common_layout_becomes_the_model(tmp_path: Path, data: Dataset, layout: str):
    trained = build_model(SPEC, 5, 3, seed=9)
    state = trained.state_dict()
    saved = {"state_dict": state, "epoch": 7} if layout == "under_state_dict" else state
    saved = {"model_state_dict": state, "optimizer": {}} if layout == "under_model_state_dict" else saved
    path = tmp_path / "mine.pt"
    torch.save(saved, path)
    model, meta = import_checkpoint(path, SPEC, data, index=0)
    x = torch.as_tensor(data.x_test)
    assert torch.equal(model(x), trained.eval()(x))
    assert meta["trained_here"] is False and meta["train_seconds"] is None and meta["subset"] is None
    assert meta["checkpoint_file"] == str(path) and len(meta["checkpoint_sha256"]) == 64
    assert meta["train_hash"] == data.train_hash()


def test_files_that_are_no_state_dict_or_do_not_fit_are_refused(tmp_path: Path, data: Dataset):
    text = tmp_path / "notes.pt"
    text.write_text("not a checkpoint")
    with pytest.raises(ValueError, match=f"model.checkpoints: {text} is not a torch checkpoint of weights"):
        read_state_dict(text)
    numbers = tmp_path / "numbers.pt"
    torch.save({"epoch": 3}, numbers)
    with pytest.raises(ValueError, match=f"model.checkpoints: {numbers} holds no state dict"):
        read_state_dict(numbers)
    wider = tmp_path / "wider.pt"
    torch.save(build_model({**SPEC, "hidden": [7]}, 5, 3, seed=0).state_dict(), wider)
    with pytest.raises(ValueError, match=f"model.checkpoints: {wider} does not fit the model of the config"):
        import_checkpoint(wider, SPEC, data, index=0)
    extra = tmp_path / "extra.pt"
    torch.save({**build_model(SPEC, 5, 3, seed=0).state_dict(), "head.weight": torch.zeros(2)}, extra)
    with pytest.raises(
        ValueError, match=r"does not fit the model of the config: missing \[\], unexpected \['head.weight'\]"
    ):
        import_checkpoint(extra, SPEC, data, index=0)
