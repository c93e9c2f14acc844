"""Where and how a step runs: device choice, thread count, logging to the step's log file."""

from __future__ import annotations

import logging
import sys

import torch


def resolve_device(spec: str) -> torch.device:
    """`auto` picks CUDA when present, else the CPU; `cpu` / `cuda` / `cuda:N` are taken as given."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(spec)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device: '{spec}' asked for CUDA but torch sees no GPU")
    return device


def configure(threads: int, log_path: str | None = None) -> logging.Logger:
    """Set torch's thread count and send the step's log (and uncaught errors) to `log_path`."""
    torch.set_num_threads(max(1, threads))
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        handlers.append(logging.FileHandler(log_path, mode="w"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", handlers=handlers, force=True)
    logger = logging.getLogger("tdacore")
    sys.excepthook = lambda kind, value, tb: logger.error("failed", exc_info=(kind, value, tb))
    return logger
