"""Logging of one workflow step to its log file (torch-free, so light steps start fast)."""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def start_log(log_path: str | None = None) -> logging.Logger:
    """Send the step's log (and uncaught errors) to stderr and to `log_path`, starting with where
    the step runs (host, SLURM job). SIGTERM (scancel, a time limit, Snakemake stopping a job)
    becomes SystemExit, so that atomic writes remove their half-written files on the way out."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        handlers.append(logging.FileHandler(log_path, mode="w"))
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", handlers=handlers, force=True
    )
    logger = logging.getLogger("tdacore")
    sys.excepthook = lambda kind, value, tb: logger.error("failed", exc_info=(kind, value, tb))
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    slurm_job = os.environ.get("SLURM_JOB_ID")
    logger.info(
        "running on %s%s (pid %d)", socket.gethostname(), f", SLURM job {slurm_job}" if slurm_job else "", os.getpid()
    )
    return logger
