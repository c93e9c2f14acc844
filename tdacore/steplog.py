"""Logging of one workflow step to its log file (torch-free, so light steps start fast)."""

from __future__ import annotations

import logging
import sys


def start_log(log_path: str | None = None) -> logging.Logger:
    """Send the step's log (and uncaught errors) to stderr and to `log_path`."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        handlers.append(logging.FileHandler(log_path, mode="w"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", handlers=handlers, force=True)
    logger = logging.getLogger("tdacore")
    sys.excepthook = lambda kind, value, tb: logger.error("failed", exc_info=(kind, value, tb))
    return logger
