"""The CIFAR-2 configs through the workflow: dry runs of the paper's configs, a tiny ResNet-9 run end to end, and a "
"run without the batches."""

from __future__ import annotations

import functools
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import REPO, planned_jobs, snakemake, write_cifar_batches

from tdacore.reporting.tables import read_tsv


def dry_run(config: str) -> dict[str, int]:
    plan = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--quiet", "rules", "--configfile", config],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert plan.returncode == 0, plan.stderr[-3000:]
    return planned_jobs(plan.stdout + plan.stderr)


@pytest.mark.parametrize("config", ["config/paper/cifar2_mlp.yaml", "config/paper/cifar2_resnet9.yaml"])
def test_the_paper_cifar2_configs_plan_their_download_models_and_members(config: str):
    """No CIFAR-10 here: the dry run plans its fetch, one base model per naive model, one
    retrain per LDS subset, one featurize job per (model, pass) and one forward_q job per
    masked pass of the forward-only grid."""
    paper = yaml.safe_load((REPO / config).read_text())
    jobs = dry_run(config)
    grids = paper["ensembles"]
    assert jobs["fetch_cifar10"] == 1 and jobs["prepare_data"] == 1
    assert jobs["train_base"] == max(grids["naive"]["I"]) and jobs["retrain_subset"] == paper["lds"]["num_subsets"]
    assert jobs["featurize"] == max(grids["naive"]["I"]) + max(grids["dropout"]["I"]) * max(grids["dropout"]["D"])
    assert jobs["forward_q"] == max(grids["forward_only"]["I"]) * max(grids["forward_only"]["D"])


TINY_CIFAR = {
    "experiment": "tiny_cifar",
    "seed": 0,
    "device": "cpu",
    "threads": 1,
    "data": {"source": "cifar2", "cifar_dir": "cifar-10-batches-py", "n_train": 24, "n_test": 6},
    "model": {"name": "resnet9", "widths": [4, 8, 8, 8], "dropout": 0.1},
    "train": {"epochs": 1, "lr": 0.01, "momentum": 0.9, "batch_size": 8, "base_fraction": 0.5},
    "lds": {"num_subsets": 3, "alpha": 0.5},
    "methods": ["trak"],
    "influence": {"damping": 0.1, "shift_negative_curvature": True, "rtol": 1e-3, "max_iter": 10},
    "trak": {"projection": {"kind": "gaussian", "dim": 8}, "ridge": 0.0, "chunk_size": 8},
    "ensembles": {"naive": {"I": [1]}, "dropout": {"I": [1], "D": [2]}},
}


def test_cifar2_resnet9_end_to_end(tmp_path: Path):
    """Fixture batches -> CIFAR-2 -> ResNet-9 base models and retrains -> TRAK naive and Dropout
    -> one LDS row per grid point; an edit to tdacore/models/resnet.py then reruns the models."""
    checkout = tmp_path / "checkout"  # a copy of the sources the rules list, so that one can be edited
    for part in ("workflow", "tdacore"):
        shutil.copytree(REPO / part, checkout / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "environment.yaml", checkout)
    workdir = tmp_path / "run"
    write_cifar_batches(workdir / "cifar-10-batches-py")
    target = "results/tiny_cifar/tables/lds.tsv"
    run = functools.partial(
        snakemake, workdir, TINY_CIFAR, "--cores", "1", snakefile=checkout / "workflow" / "Snakefile"
    )
    result = run(target)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = read_tsv(workdir / target)
    assert sorted((r["ensemble"], r["I"], r["D"]) for r in rows) == [("dropout", 1, 2), ("naive", 1, 0)]
    assert all(
        r["method"] == "trak" and r["n_test"] == 6 and math.isfinite(r["lds"]) and -1 <= r["lds"] <= 1 for r in rows
    )
    assert not list((workdir / "results").rglob("*.part"))
    assert "Nothing to be done" in (lambda r: r.stdout + r.stderr)(run("-n", target))
    (checkout / "tdacore/models/resnet.py").write_text(
        (checkout / "tdacore/models/resnet.py").read_text() + "\n# an edit\n"
    )
    plan = run(target, "-n", "--quiet", "rules")
    assert {"train_base", "retrain_subset", "featurize", "ground_truth"} <= set(planned_jobs(plan.stdout + plan.stderr))


def test_without_the_batches_a_run_stops_before_any_job_naming_the_download(tmp_path: Path):
    config = yaml.safe_load((REPO / "config/paper/cifar2_resnet9.yaml").read_text())
    config["data"]["cifar_dir"] = str(tmp_path / "cifar-10-batches-py")
    result = snakemake(tmp_path, config)
    assert result.returncode != 0
    assert f"missing {tmp_path / 'cifar-10-batches-py'}" in result.stderr and "snakemake download" in result.stderr, (
        result.stderr[-3000:]
    )
    assert not (tmp_path / "results").exists()
