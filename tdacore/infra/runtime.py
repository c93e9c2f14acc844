"""Where and how a torch step runs: device choice, thread count (and its log file)."""

from __future__ import annotations

import logging
import os

import torch

from tdacore.infra.devices import choose_device
from tdacore.infra.steplog import start_log


def resolve_device(spec: str) -> torch.device:
    """`cpu` and `cuda:N` as given; `auto` and `cuda` claim a GPU no concurrent job holds
    (tdacore.infra.devices), `auto` the CPU where torch sees no GPU. The GPU becomes torch's current one."""
    device = torch.device(choose_device(spec, torch.cuda.device_count(), os.environ, log=logging.getLogger("tdacore")))
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(f"device: '{spec}' asked for CUDA but torch sees no GPU")
        torch.cuda.set_device(device)
    return device


def configure(threads: int, log_path: str | None = None) -> logging.Logger:
    """Set torch's thread count and start the step's log (tdacore.infra.steplog)."""
    torch.set_num_threads(max(1, threads))
    return start_log(log_path)


def reset_peak_memory(device: torch.device) -> None:
    """Start counting peak GPU memory afresh (nothing to do on a CPU)."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory(device: torch.device) -> dict[str, int]:
    """{"gpu_peak_bytes": torch.cuda.max_memory_allocated} on a GPU, {} on a CPU (where the
    job's peak resident memory comes from its Snakemake benchmark file instead)."""
    if device.type == "cuda":
        return {"gpu_peak_bytes": int(torch.cuda.max_memory_allocated(device))}
    return {}
