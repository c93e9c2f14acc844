"""The examples under examples/: a researcher's own model and data, named in a config and run by
the whole workflow without a change to tdacore, at CI size; their code is tracked like tdacore's
(an edit reruns what depends on it, and only that) and never written."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import yaml
from helpers import REPO, planned_jobs, snakemake

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
    config = digits_cnn_at_ci_size()
    run = snakemake(tmp_path, config)
    assert run.returncode == 0, run.stderr[-3000:]
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
    # an edit of the data's loader reruns everything from the data set on
    data_file = example / "digits_data.py"
    data_file.write_text(data_file.read_text() + "\n# an edit\n")
    assert "prepare_data" in planned_jobs(snakemake(tmp_path, config, "--dry-run").stdout)
