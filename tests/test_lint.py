"""The code is lint clean with the project's configuration (pyproject.toml): ruff's checks and
formatting for the Python code, snakefmt for the workflow's rules (Snakemake's own linter:
tests/workflow/test_profiles.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["snakefmt", "--check", "workflow"],
    ],
    ids=["ruff check", "ruff format", "snakefmt"],
)
def test_the_linters_find_nothing(command: list[str]):
    result = subprocess.run([sys.executable, "-m", *command], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-1000:]
