"""Result tables: one row per (method, ensemble grid point)."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable

from tdacore.store import atomic_path

LDS_COLUMNS = ["method", "ensemble", "I", "D", "members", "lds", "lds_sem", "n_test", "n_undefined", "serving_seconds"]


def write_lds_table(json_paths: Iterable[str | os.PathLike], out: str | os.PathLike) -> list[dict]:
    """Collect per-grid-point LDS records into a TSV sorted by method, ensemble, D, I."""
    rows = []
    for path in json_paths:
        with open(path) as handle:
            record = json.load(handle)
        missing = [c for c in LDS_COLUMNS if c not in record]
        if missing:
            raise KeyError(f"{path}: LDS record lacks {missing}")
        rows.append({c: record[c] for c in LDS_COLUMNS})
    rows.sort(key=lambda r: (r["method"], r["ensemble"], r["D"], r["I"]))
    with atomic_path(out) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=LDS_COLUMNS, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return rows


def read_table(path: str | os.PathLike) -> list[dict]:
    """Rows of a TSV written by write_lds_table (numbers as float/int)."""
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    for row in rows:
        for key in ("I", "D", "members", "n_test", "n_undefined"):
            row[key] = int(row[key])
        for key in ("lds", "lds_sem", "serving_seconds"):
            row[key] = float(row[key])
    return rows
