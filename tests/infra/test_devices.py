"""Device pinning (tdacore.infra.devices): concurrent jobs never share a GPU, SLURM's allocation wins,
a CPU-only machine gives the CPU. The GPUs are names here; the logic under test is which job
gets which name, so it runs on a CPU machine with real processes and real file locks."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

from tdacore.infra.devices import choose_device

CONTEXT = multiprocessing.get_context("spawn")  # fresh processes, as Snakemake's jobs are


def _job(n_visible: int, env: dict[str, str], lock_dir: str, hold: float, results) -> None:
    """One workflow job: claim a device, then keep it (the lock lives as long as the process)."""
    device = choose_device("auto", n_visible, env, Path(lock_dir))
    results.put((device, time.monotonic()))
    time.sleep(hold)


def _run_jobs(count: int, n_visible: int, env: dict[str, str], lock_dir: Path, hold: float) -> list[tuple[str, float]]:
    results = CONTEXT.Queue()
    jobs = [CONTEXT.Process(target=_job, args=(n_visible, env, str(lock_dir), hold, results)) for _ in range(count)]
    for job in jobs:
        job.start()
    claimed = [results.get(timeout=60) for _ in jobs]
    for job in jobs:
        job.join(timeout=60)
        assert job.exitcode == 0
    return claimed


def test_concurrent_jobs_on_n_devices_never_share_one(tmp_path: Path):
    claimed = _run_jobs(4, 4, {}, tmp_path, hold=1.5)  # all four hold their device at once
    assert sorted(device for device, _ in claimed) == ["cuda:0", "cuda:1", "cuda:2", "cuda:3"]


def test_a_job_beyond_the_devices_waits_for_one_to_be_released(tmp_path: Path):
    start = time.monotonic()
    claimed = sorted(_run_jobs(3, 2, {}, tmp_path, hold=2.0), key=lambda c: c[1])
    first_two, third = claimed[:2], claimed[2]
    assert sorted(device for device, _ in first_two) == ["cuda:0", "cuda:1"]
    # the third claims only after one of the first two exited (each holds its GPU for 2 s)
    assert third[1] - start >= 1.5 and third[0] in ("cuda:0", "cuda:1")


def test_a_killed_job_releases_its_device(tmp_path: Path):
    results = CONTEXT.Queue()
    holder = CONTEXT.Process(target=_job, args=(1, {}, str(tmp_path), 60.0, results))
    holder.start()
    assert results.get(timeout=60)[0] == "cuda:0"
    holder.kill()  # SIGKILL: no cleanup runs, the kernel drops the lock
    holder.join()
    assert choose_device("auto", 1, {}, tmp_path) == "cuda:0"


def test_visible_devices_name_the_locks(tmp_path: Path):
    """Two runs that see GPUs 2,3 and 3 (CUDA_VISIBLE_DEVICES) contend for physical GPU 3 only."""
    assert choose_device("cuda", 2, {"CUDA_VISIBLE_DEVICES": "2,3"}, tmp_path) == "cuda:0"  # GPU 2
    assert sorted(path.name for path in tmp_path.iterdir()) == ["gpu-2.lock"]
    assert choose_device("cuda", 1, {"CUDA_VISIBLE_DEVICES": "3"}, tmp_path) == "cuda:0"  # GPU 3, free


def test_slurm_allocation_is_taken_as_given(tmp_path: Path):
    """Under SLURM every job sees its own allocation as cuda:0; no lock is taken."""
    env = {"SLURM_JOB_ID": "17", "CUDA_VISIBLE_DEVICES": "1"}
    assert [choose_device("auto", 1, env, tmp_path) for _ in range(3)] == ["cuda:0"] * 3
    assert not list(tmp_path.iterdir())


def test_a_cpu_only_machine_gets_the_cpu(tmp_path: Path):
    assert choose_device("auto", 0, {}, tmp_path) == "cpu"
    assert choose_device("cpu", 4, {}, tmp_path) == "cpu"  # asked for explicitly
    assert choose_device("cuda:2", 4, {}, tmp_path) == "cuda:2"
    with pytest.raises(RuntimeError, match="'cuda'"):
        choose_device("cuda", 0, {}, tmp_path)
    assert not list(tmp_path.iterdir())
