"""A user's own data through the whole workflow: files outside results/ are read, never deleted,
moved or rewritten, whatever Snakemake decides to rerun; bad or missing data stops the run
before any job, naming the files."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from helpers import REPO, md5s, planned_jobs, snakemake, write_digits_as_idx

from tdacore.data.idx import MNIST_FILES
from tdacore.reporting.tables import read_tsv

OLD = 1_577_836_800  # 2020-01-01: the user's files are older than every source of the workflow

TINY_IDX = {
    "experiment": "tiny_idx",
    "seed": 0,
    "device": "cpu",
    "threads": 1,
    "data": {"source": "mnist_idx", "n_train": 200, "n_test": 30},
    "model": {"name": "mlp", "hidden": [16], "dropout": 0.1},
    "train": {"epochs": 2, "lr": 0.01, "momentum": 0.9, "batch_size": 64, "base_fraction": 0.5},
    "lds": {"num_subsets": 4, "alpha": 0.5},
    "methods": ["trak"],
    "influence": {"damping": 0.1, "shift_negative_curvature": True, "rtol": 1e-3, "max_iter": 10},
    "trak": {"projection": {"kind": "gaussian", "dim": 16}, "ridge": 0.0, "chunk_size": 100},
    "ensembles": {"naive": {"I": [1]}, "dropout": {"I": [1], "D": [2]}},
}


def state(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file in `folder` with its bytes and modification time."""
    return {path.name: (path.read_bytes(), path.stat().st_mtime_ns) for path in sorted(folder.iterdir())}


@pytest.fixture
def users_folder(tmp_path: Path) -> Path:
    """Four real IDX files (real digits in MNIST's layout) in a folder of the user's, dated 2020."""
    folder = tmp_path / "my-data"
    write_digits_as_idx(folder)
    for path in folder.iterdir():
        os.utime(path, (OLD, OLD))
    return folder


def config_for(folder: Path, **data) -> dict:
    return {**TINY_IDX, "data": {**TINY_IDX["data"], "idx_dir": str(folder), "checksums": md5s(folder), **data}}


def test_a_users_idx_files_are_read_and_left_as_they_were(tmp_path: Path, users_folder: Path):
    checkout = tmp_path / "checkout"  # a copy of the workflow whose scripts are newer than the data
    shutil.copytree(REPO / "workflow", checkout / "workflow", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "tdacore", checkout / "tdacore", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "environment.yaml", checkout)
    workdir = tmp_path / "run"
    workdir.mkdir()
    before = state(users_folder)
    config = config_for(users_folder)

    def run(*args: str):
        return snakemake(workdir, config, *args, snakefile=checkout / "workflow" / "Snakefile")

    plan = run("-n", "--quiet", "rules")
    assert plan.returncode == 0, plan.stderr[-3000:]
    jobs = planned_jobs(plan.stdout + plan.stderr)
    assert "prepare_data" in jobs and not any(rule.startswith("fetch") for rule in jobs)
    first = run()
    assert first.returncode == 0, first.stderr[-3000:]
    rows = read_tsv(workdir / "results/tiny_idx/tables/lds.tsv")
    assert sorted((r["ensemble"], r["I"], r["D"]) for r in rows) == [("dropout", 1, 2), ("naive", 1, 0)]
    assert state(users_folder) == before
    # Every workflow script edited (newer than the data, as after a pull): the jobs that run them
    # rerun, the user's data is still read only.
    for script in (checkout / "workflow/scripts").glob("*.py"):
        script.write_text(script.read_text() + "\n# an edit\n")
    again = run("--forceall")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "fetch" not in again.stdout + again.stderr and state(users_folder) == before
    assert not list(users_folder.parent.rglob("*.part")) and sorted(p.name for p in users_folder.iterdir()) == sorted(
        MNIST_FILES
    )
    nothing = run("-n")
    assert "Nothing to be done" in nothing.stdout + nothing.stderr


def test_a_wrong_checksum_stops_the_run_naming_the_file(tmp_path: Path, users_folder: Path):
    before = state(users_folder)
    config = config_for(users_folder)
    config["data"]["checksums"]["train-labels-idx1-ubyte.gz"] = "md5:" + "0" * 32
    result = snakemake(tmp_path, config)
    assert result.returncode != 0
    assert re.search(
        r"train-labels-idx1-ubyte.gz: MD5 \w+ is not 0{32}, the one data.checksums gives", result.stderr
    ), result.stderr[-3000:]
    assert state(users_folder) == before and not (tmp_path / "results").exists()


def test_missing_files_plan_their_download_and_stop_a_run(tmp_path: Path, users_folder: Path):
    """Two of the four files gone: a dry run plans fetching exactly those two; a run stops before
    any job, naming them and how to get them; the two in place are untouched."""
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (users_folder / name).unlink()
    before = state(users_folder)
    config = config_for(users_folder)
    config["data"]["checksums"] = None
    plan = snakemake(tmp_path, config, "-n")
    assert plan.returncode == 0, plan.stderr[-3000:]
    assert planned_jobs(plan.stdout + plan.stderr)["fetch_mnist_file"] == 2
    fetched = re.findall(r"rule fetch_mnist_file:\n(?:    .*\n)*?    output: (\S+)", plan.stdout)
    assert sorted(fetched) == [
        str(users_folder / "t10k-images-idx3-ubyte.gz"),
        str(users_folder / "t10k-labels-idx1-ubyte.gz"),
    ]
    run = snakemake(tmp_path, config)
    assert run.returncode != 0
    message = run.stderr
    assert (
        "t10k-images-idx3-ubyte.gz" in message
        and "snakemake download --configfile" in message
        and "nothing was run" in message
    ), message[-3000:]
    assert state(users_folder) == before and not (tmp_path / "results").exists()


def test_raw_data_inside_results_is_refused(tmp_path: Path):
    folder = tmp_path / "results" / "mine"
    write_digits_as_idx(folder)
    result = snakemake(tmp_path, config_for(folder), "-n")
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "data.idx_dir: " in output and "lies inside results/" in output, output[-3000:]
