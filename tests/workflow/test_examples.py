"""The examples under examples/: a researcher's own model and data, named in a config and run by
the whole workflow without a change to tdacore, at CI size; their code is tracked like tdacore's
(an edit reruns what depends on it, and only that) and never written."""

from __future__ import annotations

import hashlib
import math
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import torch
import yaml
from helpers import REPO, planned_jobs, snakemake

from tdacore.infra.store import read_attrs
from tdacore.reporting.tables import read_tsv

DIGITS = REPO / "examples" / "digits_cnn"


def digits_cnn_at_ci_size() -> dict:
    """The example's own config, smaller: fewer examples, epochs, retrains and passes."""
    config = yaml.safe_load((DIGITS / "config.yaml").read_text())
    return {
        **config,
        "device": "cpu",
        "data": {**config["data"], "n_train": 300, "n_test": 40},
        "train": {**config["train"], "epochs": 4},
        "lds": {"num_subsets": 6, "alpha": 0.5},
        "trak": {**config["trak"], "projection": {"kind": "sjlt", "dim": 64}},
        "ensembles": {"naive": {"I": [1]}, "dropout": {"I": [1], "D": [3]}},
    }


def test_the_digits_cnn_example_runs_end_to_end_and_tracks_its_own_code(tmp_path: Path):
    example = tmp_path / "examples" / "digits_cnn"
    shutil.copytree(DIGITS, example)
    before = {path.name: path.read_bytes() for path in example.iterdir()}
    # the researcher's own model outputs (model.outputs): here the margin, under their own name
    (tmp_path / "my_outputs.py").write_text(
        "from tdacore.models.outputs import CLASSIFICATION, ModelOutputs\n\n"
        "MARGIN = ModelOutputs('my margin', *(getattr(CLASSIFICATION, f) for f in ('f', 'q', 'train_side', 'loss')))\n"
    )
    config = digits_cnn_at_ci_size()
    config["model"] = {**config["model"], "outputs": "my_outputs.py:MARGIN"}
    run = snakemake(tmp_path, config)
    assert run.returncode == 0, run.stderr[-3000:]
    assert read_attrs(tmp_path / "results" / "digits_cnn" / "features" / "0" / "d1.h5")["model_output"] == "my margin"
    rows = read_tsv(tmp_path / "results" / "digits_cnn" / "tables" / "lds.tsv")
    assert {(r["method"], r["ensemble"]) for r in rows} == {
        (method, kind) for method in ("trak", "gradcos") for kind in ("naive", "dropout")
    }
    assert all(math.isfinite(float(r["lds"])) and int(r["n_test"]) == 40 for r in rows)
    figures = tmp_path / "results" / "digits_cnn" / "figures"
    assert all((figures / f"proponents_{method}.png").stat().st_size > 0 for method in ("trak", "gradcos"))
    assert {path.name: path.read_bytes() for path in example.iterdir() if path.is_file()} == {
        name: data for name, data in before.items() if (example / name).is_file()
    }

    again = snakemake(tmp_path, config, "--dry-run")
    assert "Nothing to be done" in again.stdout + again.stderr

    # an edit of the model's file reruns training and everything after it, not the data
    model_file = example / "digits_cnn.py"
    model_file.write_text(model_file.read_text() + "\n# an edit\n")
    jobs = planned_jobs(snakemake(tmp_path, config, "--dry-run").stdout)
    assert {"train_base", "retrain_subset", "featurize", "member_scores"} <= set(jobs)
    assert "prepare_data" not in jobs
    # an edit of the model outputs' file reruns what computes outputs, not the data
    outputs_file = tmp_path / "my_outputs.py"
    outputs_file.write_text(outputs_file.read_text() + "\n# an edit\n")
    jobs = planned_jobs(snakemake(tmp_path, config, "--dry-run").stdout)
    assert {"train_base", "featurize", "ground_truth"} <= set(jobs) and "prepare_data" not in jobs
    # an edit of the data's loader reruns everything from the data set on
    data_file = example / "digits_data.py"
    data_file.write_text(data_file.read_text() + "\n# an edit\n")
    assert "prepare_data" in planned_jobs(snakemake(tmp_path, config, "--dry-run").stdout)


def test_a_brought_checkpoint_is_a_base_model_with_the_scores_of_the_same_model_trained_here(tmp_path: Path):
    shutil.copytree(DIGITS, tmp_path / "examples" / "digits_cnn")
    config = digits_cnn_at_ci_size()
    assert snakemake(tmp_path, config).returncode == 0
    results = tmp_path / "results" / "digits_cnn"
    trained = {
        point: h5py.File(results / "scores" / "trak" / point, "r")["scores"][()]
        for point in ("naive/I1.h5", "dropout/I1-D3.h5")
    }
    # the researcher's own file: base model 0's weights, saved as a plain state dict outside results/
    mine = tmp_path / "my_cnn.pt"
    torch.save(torch.load(results / "models" / "base" / "0.pt", weights_only=False)["state_dict"], mine)
    before = mine.read_bytes()
    brought = {**config, "model": {**config["model"], "checkpoints": ["my_cnn.pt"]}}
    jobs = planned_jobs(snakemake(tmp_path, brought, "--dry-run").stdout)
    assert jobs.get("import_checkpoint") == 1 and "train_base" not in jobs and "retrain_subset" not in jobs
    run = snakemake(tmp_path, brought)
    assert run.returncode == 0, run.stderr[-3000:]
    for point, scores in trained.items():
        np.testing.assert_array_equal(h5py.File(results / "scores" / "trak" / point, "r")["scores"][()], scores)
    costs = read_tsv(results / "tables" / "costs.tsv")
    assert {r["training_seconds"] for r in costs} == {"not trained here"}
    assert mine.read_bytes() == before
    meta = torch.load(results / "models" / "base" / "0.pt", weights_only=False)["meta"]
    assert meta["checkpoint_file"] == "my_cnn.pt" and meta["trained_here"] is False
    features = read_attrs(results / "features" / "0" / "d1.h5")
    assert features["checkpoint_sha256"] == hashlib.sha256(before).hexdigest()


def test_a_model_trained_elsewhere_is_attributed_with_no_training_job(tmp_path: Path):
    example = tmp_path / "examples" / "digits_cnn"
    shutil.copytree(DIGITS, example)
    trained = subprocess.run(
        [sys.executable, str(example / "train_my_cnn.py"), "resources/digits_cnn/my_cnn.pt", "--epochs", "3"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert trained.returncode == 0, trained.stderr
    config = yaml.safe_load((example / "scores_only.yaml").read_text())
    config = {
        **config,
        "device": "cpu",
        "data": {**config["data"], "n_test": 30},
        "ensembles": {"naive": {"I": [1]}, "dropout": {"I": [1], "D": [3]}},
    }
    config["trak"]["projection"]["dim"] = 64
    jobs = planned_jobs(snakemake(tmp_path, config, "--dry-run").stdout)
    assert jobs["import_checkpoint"] == 1 and jobs["featurize"] == 1 + 3
    assert not {"train_base", "retrain_subset", "ground_truth", "evaluate_lds"} & set(jobs)
    run = snakemake(tmp_path, config)
    assert run.returncode == 0, run.stderr[-3000:]
    results = tmp_path / "results" / "digits_cnn_scores_only"
    for method in ("trak", "gradcos"):
        scores = h5py.File(results / "scores" / method / "dropout" / "I1-D3.h5", "r")["scores"][()]
        assert scores.shape == (30, 1348) and np.isfinite(scores).all()
        assert (results / "figures" / f"proponents_{method}.png").is_file()
    rows = read_tsv(results / "tables" / "costs.tsv")
    assert [(r["lds"], r["training_seconds"]) for r in rows] == [(None, "not trained here")] * 4
    assert not (results / "tables" / "lds.tsv").exists()


def test_the_transformers_example_runs_dropout_and_lora_ensembles(tmp_path: Path):
    shutil.copytree(REPO / "examples" / "hf_causal_lm", tmp_path / "examples" / "hf_causal_lm")
    config = yaml.safe_load((REPO / "examples" / "hf_causal_lm" / "config.yaml").read_text())
    config = {
        **config,
        "device": "cpu",
        "data": {**config["data"], "n_train": 200, "n_test": 16},
        "train": {**config["train"], "epochs": 2, "checkpoints": [2]},
        "lora": {**config["lora"], "base_epoch": 2, "epochs": 1},
        "lds": {"num_subsets": 6, "alpha": 0.5},
        "trak": {**config["trak"], "projection": {"kind": "sjlt", "dim": 64}},
        "ensembles": {"naive": {"I": [1]}, "dropout": {"I": [1], "D": [2]}, "lora": {"I": [1], "L": [2]}},
    }
    run = snakemake(tmp_path, config)
    assert run.returncode == 0, run.stderr[-3000:]
    results = tmp_path / "results" / "hf_causal_lm"
    rows = read_tsv(results / "tables" / "lds.tsv")
    assert sorted((r["ensemble"], r["members"]) for r in rows) == [("dropout", 2), ("lora", 2), ("naive", 1)]
    assert all(math.isfinite(float(r["lds"])) and int(r["n_test"]) == 16 for r in rows)
    assert (results / "figures" / "proponents_trak.png").stat().st_size > 1000
    data = h5py.File(results / "data" / "dataset.h5", "r")
    assert set(data["x_train"]) == {"input_ids", "attention_mask"}  # named inputs, stored as a group
    again = snakemake(tmp_path, config, "--dry-run")
    assert "Nothing to be done" in again.stdout + again.stderr
    # an edit of the model's file reruns training and featurization, not the data
    model_file = tmp_path / "examples" / "hf_causal_lm" / "tiny_gpt2.py"
    model_file.write_text(model_file.read_text() + "\n# an edit\n")
    jobs = planned_jobs(snakemake(tmp_path, config, "--dry-run").stdout)
    assert {"train_base", "retrain_subset", "train_adapter", "featurize"} <= set(jobs) and "prepare_data" not in jobs
