"""One GPU per job. Snakemake caps concurrent GPU jobs (`--resources gpu=N`) but assigns no device
ids: on a workstation each job claims a free GPU by holding an exclusive lock file for its
lifetime (the kernel releases it when the process ends, killed or not). Under SLURM the
allocation has already chosen (CUDA_VISIBLE_DEVICES), so the job takes its first visible GPU."""

from __future__ import annotations

import fcntl
import logging
import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO

LOCK_DIR_VARIABLE = "TDACORE_GPU_LOCK_DIR"
_held: list[IO] = []  # lock files this process holds: closed (released) when it exits


def default_lock_dir(env: Mapping[str, str] = os.environ) -> Path:
    """Node-local (flock is unreliable on network filesystems), one per user; the variable
    TDACORE_GPU_LOCK_DIR overrides it."""
    return Path(env.get(LOCK_DIR_VARIABLE) or Path(tempfile.gettempdir()) / f"tdacore-gpu-locks-{os.getuid()}")


def scheduler_assigned(env: Mapping[str, str]) -> bool:
    """Whether a batch scheduler (SLURM) has already allocated this job's devices."""
    return "SLURM_JOB_ID" in env


def claim_slot(names: list[str], lock_dir: Path, poll_seconds: float = 1.0, log: logging.Logger | None = None) -> int:
    """Index into `names` of a slot no other process holds, held until this process exits;
    waits (polling) while every slot is held."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    waited = False
    while True:
        for index, name in enumerate(names):
            handle = open(lock_dir / f"gpu-{name}.lock", "a")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            _held.append(handle)
            return index
        if log and not waited:
            log.info(
                "all %d GPUs (%s) are held by other jobs; waiting for one (lower --resources gpu=N to avoid this)",
                len(names),
                ", ".join(names),
            )
        waited = True
        time.sleep(poll_seconds)


def choose_device(
    spec: str, n_visible: int, env: Mapping[str, str], lock_dir: Path | None = None, log: logging.Logger | None = None
) -> str:
    """The device a job runs on, from the config's `device`: `cpu` and `cuda:N` as given; `auto`
    and `cuda` take a GPU that no concurrent job holds (the CPU for `auto` without a GPU)."""
    if spec not in ("auto", "cuda"):
        return spec
    if n_visible == 0:
        if spec == "cuda":
            raise RuntimeError("device: 'cuda' asked for a GPU but torch sees none")
        return "cpu"
    if scheduler_assigned(env):
        return "cuda:0"
    visible = env.get("CUDA_VISIBLE_DEVICES")
    names = visible.split(",")[:n_visible] if visible else [str(index) for index in range(n_visible)]
    index = claim_slot(names, lock_dir or default_lock_dir(env), log=log)
    if log:
        log.info("claimed GPU %s of %s (cuda:%d)", names[index], ", ".join(names), index)
    return f"cuda:{index}"
