"""plan_from_config: the readings, grids, sweeps, Section 5 plans and model sets of a config,
counted by hand from the config, and every check that spans sections, naming its key."""

from __future__ import annotations

import copy
import re
import subprocess
import sys

import pytest
import yaml
from helpers import REPO, TINY, TINY_MUSIC

from tdacore.attribution.registry import METHODS
from tdacore.attribution.ridge import Ridge
from tdacore.ensembles.grid import GridPoint
from tdacore.plan import TheoryPlan, plan_from_config
from tdacore.plan.settings import Projection

DEFAULT = yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def test_the_default_config_reads_into_its_readings_and_grids():
    plan = plan_from_config(DEFAULT)
    assert plan.methods == ["trak", "graddot", "gradcos", "if"]
    assert {name: r.method.name for name, r in plan.readings.items()} == {name: name for name in plan.methods}
    # TRAK: naive I in {1,3,5}; dropout {1,3} x {5,10}; forward_only, forward_only_shared {1} x {5,10};
    # projection_only 1
    assert len(plan.readings["trak"].grid) == 3 + 4 + 2 + 2 + 1
    assert {len(plan.readings[m].grid) for m in ("graddot", "gradcos")} == {3 + 1}
    assert len(plan.readings["if"].grid) == 2 + 1
    assert [r.test_examples for r in plan.readings.values()] == [500, 100, 100, 40]
    assert [r.base_fraction for r in plan.readings.values()] == [0.5, 1.0, 1.0, 1.0]
    assert plan.readings["trak"].ridge == Ridge() and plan.ridges == (Ridge(),)
    assert plan.readings["graddot"].choices == {"gradient": "loss"}
    assert plan.readings["gradcos"].choices == {"gradient": "margin"}
    assert plan.readings["if"].choices == {**DEFAULT["influence"], "curvature": "hessian"}
    assert plan.projection == Projection("sjlt", 2048) and plan.projection_passes == 10
    assert plan.checkpoints == (100,) and plan.checkpointed_models == () and plan.lora_models == ()
    assert plan.kinds == {"naive", "dropout", "forward_only", "forward_only_shared", "projection_only"}
    assert plan.results == "results/mnist5k_mlp" and plan.trak_test_examples == 500


def test_section_5_plans_the_largest_member_sets_each_grid_already_scores():
    theory = plan_from_config(DEFAULT).theory
    assert theory == {
        ("trak", "dropout"): TheoryPlan(
            groups=3, variants=10, sizes=(1, 3, 5), points=((1, 5), (1, 10), (3, 5), (3, 10))
        ),
        ("graddot", "dropout"): TheoryPlan(groups=1, variants=5, sizes=(1, 3, 5), points=((1, 5),)),
        ("gradcos", "dropout"): TheoryPlan(groups=1, variants=5, sizes=(1, 3, 5), points=((1, 5),)),
        ("if", "dropout"): TheoryPlan(groups=1, variants=3, sizes=(1, 3), points=((1, 3),)),
    }
    assert theory["trak", "dropout"].members("dropout") == (GridPoint("naive", 5), GridPoint("dropout", 3, n_passes=10))


def test_shards_cover_the_training_set_and_leave_trak_out_of_section_5():
    assert plan_from_config(DEFAULT).shards == ()
    sharded = {
        **DEFAULT,
        "featurize": {"shard_size": 1000, "dtype": "bfloat16"},
        "scores": {"dtype": "float16", "full_max": 0, "top_k": 5, "test_block": 100},
    }
    plan = plan_from_config(sharded)
    assert plan.shards == tuple(slice(start, min(start + 1000, 4500)) for start in range(0, 4500, 1000))
    assert (plan.storage.feature_dtype, plan.storage.scores_dtype, plan.storage.top_k) == ("bfloat16", "float16", 5)
    # TRAK's members have no whole kernel files to decompose; the other methods keep theirs
    assert set(plan.theory) == set(plan_from_config(DEFAULT).theory) - {("trak", "dropout")}


def test_sweeps_expand_into_readings_that_share_their_points():
    plan = plan_from_config(TINY)
    # the grid sweep's value 0 is trak's own ridge; 0.5 adds a reading with its own ridge
    assert plan.methods == [*TINY["methods"], "trak_ridge_relative0p5"]
    added = plan.readings["trak_ridge_relative0p5"]
    assert (
        added.method.name == "trak" and added.ridge == Ridge(relative=0.5) and added.grid == plan.readings["trak"].grid
    )
    assert plan.ridges == (Ridge(), Ridge(relative=0.5))
    ridges = plan.sweeps["trak_ridge"]
    assert ridges.readings == ("trak", "trak_ridge_relative0p5")
    assert dict(ridges.settings) == {"trak": "ridge_relative=0", "trak_ridge_relative0p5": "ridge_relative=0.5"}
    readings = plan.sweeps["graddot_readings"]
    # graddot_alt has naive I = 1 and dropout (1, D = 2): the points both readings have
    assert readings.points == (GridPoint("naive", 1), GridPoint("dropout", 1, n_passes=2))
    alt = plan.readings["graddot_alt"]
    assert (alt.mask_mode, alt.base_fraction, dict(alt.choices)) == ("per_example", 1.0, {"gradient": "loss"})
    assert plan.readings["if"].test_examples == 15 and plan.readings["trak_ridge_relative0p5"].test_examples == 40


def test_an_influence_sweep_overrides_only_its_setting():
    config = copy.deepcopy(TINY) | {"sweeps": {"damping": {"reading": "if", "influence": {"damping": [0.1, 1.0]}}}}
    plan = plan_from_config(config)
    assert plan.sweeps["damping"].readings == ("if", "if_damping1")
    assert plan.readings["if_damping1"].choices == {**TINY["influence"], "damping": 1.0, "curvature": "hessian"}
    assert plan.readings["if_damping1"].test_examples == 15  # its base reading's entry, with the override


def test_checkpoints_and_adapters_name_the_models_that_need_them():
    plan = plan_from_config(TINY)
    assert plan.checkpoints == (1, 2, 3) and plan.checkpointed_models == (0,)
    music = plan_from_config(TINY_MUSIC)
    # adapters of models 0 and 1 adapt their epoch-1 checkpoints: both runs save that checkpoint
    assert music.lora_models == (0, 1) and music.checkpointed_models == (0, 1)
    assert music.lora is not None and music.lora.target_modules == ("w_q", "w_v")
    assert plan_from_config(TINY_MUSIC | {"lora": {**TINY_MUSIC["lora"], "base_epoch": 2}}).checkpointed_models == ()


def _edit(path: str, value) -> dict:
    """TINY with the value at a dotted path replaced (None: the key removed)."""
    config = copy.deepcopy(TINY)
    *parents, key = path.split(".")
    section = config
    for parent in parents:
        section = section[parent]
    if value is None:
        del section[key]
    else:
        section[key] = value
    return config


INVALID = [
    (_edit("methods", ["trak", "tracin"]), "methods: 'tracin' is neither a method (trak, if, graddot, gradcos)"),
    (_edit("per_method.if.gradient", "loss"), "per_method.if: ['gradient'] do not apply to if"),
    (
        _edit("per_method.trak_fast", {"method": "trak", "gradient": "loss"})
        | {"methods": [*TINY["methods"], "trak_fast"]},
        "per_method.trak_fast: ['gradient'] do not apply to trak",
    ),
    (
        _edit("per_method.trak_r", {"method": "trak", "ridge": 1.0, "test_examples": 20})
        | {"methods": [*TINY["methods"], "trak_r"]},
        "per_method.trak_r.test_examples: a TRAK reading scores trak's test examples",
    ),
    (
        _edit("trak.ridge_relative", 0.1) | {"trak": {**TINY["trak"], "ridge": 0.1, "ridge_relative": 0.1}},
        "trak: ridge = 0.1, ridge_relative = 0.1: give one of them",
    ),
    (
        _edit("sweeps.ridges", {"reading": "tracin", "ridge": [0.0, 1.0]}),
        "sweeps.ridges.reading: 'tracin' is not in methods",
    ),
    (
        _edit("sweeps.ridges", {"reading": "trak", "ridge": [0.0, 1.0], "ridge_relative": [0.0, 1.0]}),
        "sweeps.ridges: a grid sweep names its reading and exactly one setting",
    ),
    (_edit("per_method.tracin", {"test_examples": 5}), "per_method.tracin: 'tracin' is not in methods"),
    (_edit("per_method.if.test_examples", 41), "per_method.if.test_examples = 41 exceeds data.n_test = 40"),
    (
        _edit("per_method.graddot_loss", {"method": "graddot", "gradient": "loss"}),
        "per_method.graddot_loss: 'graddot_loss' is not in methods",
    ),
    (
        _edit("per_method.if.ensembles.forward_only", {"I": [1], "D": [2]}),
        "per_method.if.ensembles.forward_only: the forward_only ensemble exists for TRAK only",
    ),
    (
        _edit("per_method.graddot_alt.ensembles.checkpoints", {"I": [1], "C": [1], "D": [0]}),
        "per_method.graddot_alt.base_fraction: its own base models have no checkpoints or adapters",
    ),
    (_edit("sweeps.dampings", ["if", "if_small"]), "sweeps.dampings: 'if_small' is not in methods"),
    (_edit("sweeps.mixed", ["graddot", "gradcos"]), "sweeps.mixed: its readings must share one method"),
    (
        _edit("per_method.graddot_alt.test_examples", 20),
        "sweeps.graddot_readings: its readings must share one test_examples",
    ),
    (
        _edit("sweeps.apart", ["graddot_alt", "graddot_far"])
        | {"methods": [*TINY["methods"], "graddot_far"]}
        | {
            "per_method": {
                **TINY["per_method"],
                "graddot_far": {
                    "method": "graddot",
                    "gradient": "loss",
                    "base_fraction": 1.0,
                    "dropout_masks": "per_example",
                    "ensembles": {"naive": {"I": [2]}},
                },
            }
        },
        "sweeps.apart: its readings ['graddot_alt', 'graddot_far'] share no grid point",
    ),
    (
        _edit("train.checkpoints", [1, 2]),
        "train.checkpoints = [1, 2]: list distinct epochs in increasing order, ending with train.epochs = 3",
    ),
    (_edit("train.checkpoints", [2, 1, 3]), "train.checkpoints = [2, 1, 3]"),
    (_edit("ensembles.lora", {"I": [1], "L": [2]}), "ensembles.lora needs the lora section"),
    (
        TINY_MUSIC | {"lora": {**TINY_MUSIC["lora"], "base_epoch": 3}},
        "lora.base_epoch = 3 is not one of train.checkpoints [1, 2]",
    ),
    (_edit("trak.projection.dim", 300), "trak.projection.dim = 300 is not below data.n_train = 300"),
    (
        _edit("dropout_masks", "per_example") | {"featurize": {"shard_size": 100}},
        "featurize.shard_size: trak's dropout passes draw per_example masks",
    ),
]


@pytest.mark.parametrize(("config", "message"), INVALID, ids=[message.split(":")[0] for _, message in INVALID])
def test_each_inconsistent_config_is_refused_naming_its_key(config: dict, message: str):
    with pytest.raises(ValueError, match=re.escape(message)):
        plan_from_config(config)


def test_a_ridge_or_an_identity_projection_lifts_the_rank_check():
    ridged = {"trak": {**TINY["trak"], "projection": {"kind": "gaussian", "dim": 300}, "ridge": 0.1}}
    assert plan_from_config(_edit("sweeps.trak_ridge", None) | ridged)
    # the grid sweep's value 0 is a reading without a ridge: refused
    with pytest.raises(ValueError, match=re.escape("without a ridge (trak_ridge_relative0)")):
        plan_from_config(copy.deepcopy(TINY) | ridged)
    assert plan_from_config(_edit("trak.projection", {"kind": "identity", "dim": 1}))


def test_the_schema_names_the_registered_methods():
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    enum = schema["properties"]["per_method"]["additionalProperties"]["properties"]["method"]["enum"]
    assert enum == list(METHODS)
    per_method_keys = set(schema["properties"]["per_method"]["additionalProperties"]["properties"])
    # every choice a method takes is a per_method key (and the keys beyond them apply to every reading)
    assert set().union(*(m.choices for m in METHODS.values())) == per_method_keys - {
        "method",
        "ensembles",
        "test_examples",
    }


def test_the_plan_reads_every_config_the_repository_ships():
    for path in sorted((REPO / "config" / "paper").glob("*.yaml")):
        plan = plan_from_config(yaml.safe_load(path.read_text()))
        assert plan.methods and all(r.grid for r in plan.readings.values()), path.name


def test_plan_is_torch_free():
    code = "import sys, tdacore.plan, tdacore.data.raw; assert not [m for m in sys.modules if m.startswith('torch')]"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_researchers_model_and_data_plan_through_the_same_references_as_built_ins():
    example = plan_from_config(yaml.safe_load((REPO / "examples" / "digits_cnn" / "config.yaml").read_text()))
    assert str(example.model.factory) == "examples/digits_cnn/digits_cnn.py:build"
    assert example.model.options == {"channels": 8, "dropout": 0.2}
    assert str(example.data_loader) == "examples/digits_cnn/digits_data.py:load"
    assert [len(r.grid) for r in example.readings.values()] == [2 + 1, 2 + 1]  # naive I in {1, 3}; dropout 1 x 10
    default = plan_from_config(DEFAULT)
    assert str(default.model.factory) == "tdacore.models.mlp:build"
    assert default.model.options == {"hidden": [128, 64], "dropout": 0.1}
    assert str(default.data_loader) == "tdacore.data.loaders:mnist5k"
    with pytest.raises(ValueError, match="^model.factory: 'mypkg' is not a reference"):
        plan_from_config({**DEFAULT, "model": {"factory": "mypkg"}})


def test_brought_models_and_scores_only_runs_plan_without_training():
    config = yaml.safe_load((REPO / "examples" / "digits_cnn" / "scores_only.yaml").read_text())
    plan = plan_from_config(config)
    assert plan.model.checkpoints == ("resources/digits_cnn/my_cnn.pt",) and plan.scores_only and plan.theory == {}
    assert plan.model.options == {"channels": 8, "dropout": 0.2}  # the files are not the factory's options
    with pytest.raises(ValueError, match=r"gives 1 trained model\(s\), but the ensemble grids need base models 0..2"):
        plan_from_config({**config, "ensembles": {"naive": {"I": [1, 3]}}})
    with pytest.raises(ValueError, match="^per_method.gradcos.base_fraction: with model.checkpoints"):
        plan_from_config({**config, "per_method": {"gradcos": {"base_fraction": 1.0}}})
    with pytest.raises(ValueError, match="^sweeps: choosing a reading needs the LDS"):
        plan_from_config({**config, "sweeps": {"trak_ridge": {"reading": "trak", "ridge_relative": [0, 0.5]}}})
