"""Where and how a torch step runs: device choice, thread count (and its log file)."""

from __future__ import annotations

import logging

import torch

from tdacore.steplog import start_log


def resolve_device(spec: str) -> torch.device:
    """`auto` picks CUDA when present, else the CPU; `cpu` / `cuda` / `cuda:N` are taken as given."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(spec)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device: '{spec}' asked for CUDA but torch sees no GPU")
    return device


def configure(threads: int, log_path: str | None = None) -> logging.Logger:
    """Set torch's thread count and start the step's log (tdacore.steplog)."""
    torch.set_num_threads(max(1, threads))
    return start_log(log_path)
