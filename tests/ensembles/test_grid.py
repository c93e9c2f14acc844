"""Ensemble kinds: which members each grid point combines (Section 3.3, Appendix F), their
names, and the costs a grid point's provenance records."""

from __future__ import annotations

import pytest

from tdacore.ensembles.grid import GridPoint, Member, grid, parse_member, parse_point
from tdacore.ensembles.provenance import point_provenance

CHECKPOINTS = (20, 40, 60, 80, 100)
ENSEMBLES = {
    "naive": {"I": [1, 3]},
    "dropout": {"I": [2], "D": [3]},
    "forward_only": {"I": [2], "D": [3]},
    "forward_only_shared": {"I": [2], "D": [3]},
    "projection_only": {"I": [1], "D": [2]},
    "checkpoints": {"I": [1], "C": [1, 3], "D": [0, 2]},
    "lora": {"I": [2], "L": [2]},
}


def test_members_of_each_kind():
    points = {(p.ensemble, p.name): p for p in grid(ENSEMBLES, CHECKPOINTS)}
    assert set(points) == {
        ("naive", "I1"),
        ("naive", "I3"),
        ("dropout", "I2-D3"),
        ("forward_only", "I2-D3"),
        ("forward_only_shared", "I2-D3"),
        ("projection_only", "I1-D2"),
        ("checkpoints", "I1-C1"),
        ("checkpoints", "I1-C1-D2"),
        ("checkpoints", "I1-C3"),
        ("checkpoints", "I1-C3-D2"),
        ("lora", "I2-L2"),
    }
    # LoRA: adapters 1..L of each model, unmasked (Section 3.4).
    lora = points["lora", "I2-L2"].members()
    assert [m.stem for m in lora] == ["0-lora1/d0", "0-lora2/d0", "1-lora1/d0", "1-lora2/d0"] and not any(
        m.masked for m in lora
    )
    assert [m.stem for m in points["naive", "I3"].members()] == ["0/d0", "1/d0", "2/d0"]
    assert [m.stem for m in points["dropout", "I2-D3"].members()] == ["0/d1", "0/d2", "0/d3", "1/d1", "1/d2", "1/d3"]
    # Forward-only: kernels of the unmasked models, Q of the same masked passes the Dropout Ensemble uses.
    forward = points["forward_only", "I2-D3"]
    assert [m.stem for m in forward.members()] == ["0/d0", "1/d0"]
    assert forward.q_members() == points["dropout", "I2-D3"].members()
    # ... or, with shared gradients, kernels of the unmasked gradients under each pass's projection.
    shared = points["forward_only_shared", "I2-D3"]
    assert [m.stem for m in shared.members()] == ["0/p1", "0/p2", "0/p3", "1/p1", "1/p2", "1/p3"]
    assert shared.q_members() == forward.q_members()
    # Only random projection: pass d's projection seed, no mask.
    projection = points["projection_only", "I1-D2"].members()
    assert [m.stem for m in projection] == ["0/p1", "0/p2"] and not any(m.masked for m in projection)
    # Checkpoints: the last C saved epochs, the last being the final model itself.
    assert [m.stem for m in points["checkpoints", "I1-C1"].members()] == ["0/d0"]
    assert [m.stem for m in points["checkpoints", "I1-C3"].members()] == ["0-epoch60/d0", "0-epoch80/d0", "0/d0"]
    assert [m.stem for m in points["checkpoints", "I1-C3-D2"].members()] == [
        "0-epoch60/d1",
        "0-epoch60/d2",
        "0-epoch80/d1",
        "0-epoch80/d2",
        "0/d1",
        "0/d2",
    ]
    # One checkpoint with D passes is the Dropout Ensemble of that model (Table 2's first column = Table 1's).
    assert points["checkpoints", "I1-C1-D2"].members() == GridPoint("dropout", 1, 2).members()


def test_names_round_trip_and_bad_names_are_named():
    for point in grid(ENSEMBLES, CHECKPOINTS):
        assert parse_point(point.ensemble, point.name, CHECKPOINTS) == point
        for member in point.members() + point.q_members():
            tag, variant = member.stem.split("/")
            assert parse_member(tag, variant) == member
    for ensemble, name in [
        ("naive", "I1-D2"),
        ("dropout", "I2"),
        ("checkpoints", "I1-D2"),
        ("forward_only", "I1-C2-D2"),
        ("lora", "I1"),
        ("lora", "I1-L2-D3"),
        ("naive", "I1-L2"),
        ("checkpoints", "I1-C1-L2"),
    ]:
        with pytest.raises(ValueError, match=name):
            parse_point(ensemble, name, CHECKPOINTS)
    with pytest.raises(ValueError, match="only \\[20, 40\\] are saved"):
        parse_point("checkpoints", "I1-C3", (20, 40))
    with pytest.raises(ValueError, match="exceeds the 2 epochs"):
        grid({"checkpoints": {"I": [1], "C": [3], "D": [0]}}, (50, 100))
    with pytest.raises(ValueError, match="p0"):
        parse_member("0", "p0")
    with pytest.raises(ValueError, match="D >= 1"):
        GridPoint("forward_only", 1, 0)
    with pytest.raises(ValueError, match="L >= 1"):
        GridPoint("lora", 1)
    with pytest.raises(ValueError, match="adapters are numbered from 1"):
        Member(0, 2, adapter=1)
    with pytest.raises(ValueError, match="0-lora0"):
        parse_member("0-lora0", "d0")


def _attrs(stem: str, run: str, seconds: float, train_seconds: float, params: int, model_hash: str) -> dict:
    return {
        "member": stem,
        "mask_seed": -1,
        "model_hash": model_hash,
        "model_params": params,
        "training_run": run,
        "model_train_seconds": train_seconds,
        "seconds": seconds,
        "model_output": "margin",
        "train_hash": "t",
        "test_hash": "s",
        "test_examples": 5,
    }


def test_provenance_counts_each_training_run_and_model_file_once():
    # Dropout (I = 2, D = 2): two runs, two files, four members.
    dropout = [_attrs(f"{i}/d{d}", f"base-{i}", 1.5, 10.0 + i, 100, f"h{i}") for i in range(2) for d in (1, 2)]
    record = point_provenance(GridPoint("dropout", 2, 2), dropout, aggregate_seconds=0.5)
    assert record["training_seconds"] == 21.0 and record["space_params"] == 200
    assert record["serving_seconds"] == 0.5 + 4 * 1.5 and record["training_runs"] == ["base-0", "base-1"]
    # Three checkpoints of one run: the run once (up to its latest checkpoint), every checkpoint's parameters.
    ckpts = [
        _attrs(stem, "base-0", 2.0, t, 100, f"h{t}")
        for stem, t in [("0-epoch60/d0", 6.0), ("0-epoch80/d0", 8.0), ("0/d0", 10.0)]
    ]
    record = point_provenance(GridPoint("checkpoints", 1, 0, (60, 80, 100)), ckpts, aggregate_seconds=0.0)
    assert record["training_seconds"] == 10.0 and record["space_params"] == 300 and record["C"] == 3
    # Features projected several ways from gradients computed once: the shared time counts once.
    passes = [
        _attrs(f"0/p{d}", "base-0", 0.5, 10.0, 100, "h0") | {"shared_job": "0/p1-p3", "shared_seconds": 4.0}
        for d in (1, 2)
    ]
    record = point_provenance(GridPoint("projection_only", 1, 2), passes, aggregate_seconds=0.25)
    assert record["serving_seconds"] == 0.25 + 2 * 0.5 + 4.0
    # LoRA (I = 1, L = 3): the base model's training run (up to its checkpoint) and parameters once,
    # plus each adapter's own fine-tuning and parameters.
    base = {
        "base_model_hash": "h0",
        "base_model_params": 1000,
        "base_training_run": "base-0",
        "base_model_train_seconds": 5.0,
    }
    adapters = [_attrs(f"0-lora{l}/d0", f"adapter-0-{l}", 0.5, 2.0, 40, f"a{l}") | base for l in (1, 2, 3)]
    record = point_provenance(GridPoint("lora", 1, n_adapters=3), adapters, aggregate_seconds=0.0)
    assert record["training_seconds"] == 5.0 + 3 * 2.0 and record["space_params"] == 1000 + 3 * 40 and record["L"] == 3
    assert record["training_runs"] == ["adapter-0-1", "adapter-0-2", "adapter-0-3", "base-0"]


def test_member_identity():
    assert Member(2, 3, epoch=40).stem == "2-epoch40/d3" and Member(2, 3, epoch=40).masked
    assert not Member(0, 0).masked and not Member(0, 4, projection_only=True).masked
