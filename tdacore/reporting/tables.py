"""Result tables: TSV files (and their HTML renderings) with one row per (method, ensemble grid
point), in a fixed order."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from tdacore.ensembles.grid import sort_rows
from tdacore.infra.store import atomic_path

LDS_COLUMNS = [
    "method",
    "ensemble",
    "I",
    "D",
    "C",
    "L",
    "members",
    "lds",
    "lds_sem",
    "n_test",
    "n_undefined",
    "serving_seconds",
]


def write_tsv(rows: Iterable[Mapping[str, Any]], out: str | os.PathLike, columns: list[str] | None = None) -> None:
    """Rows as a tab-separated table, atomically (columns: given, or every key in order of
    appearance; a row without a column leaves its cell empty); floats to 6 significant digits."""
    rows = list(rows)
    columns = columns or list(dict.fromkeys(key for row in rows for key in row))

    def cell(value: Any) -> Any:
        return f"{value:.6g}" if isinstance(value, float) else value

    with atomic_path(out) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, delimiter="\t", lineterminator="\n", restval="")
        writer.writeheader()
        writer.writerows({k: cell(v) for k, v in row.items() if k in columns} for row in rows)


def write_html(
    rows: Iterable[Mapping[str, Any]], out: str | os.PathLike, title: str, columns: list[str] | None = None
) -> None:
    """The same rows as a small self-contained HTML table (for `snakemake --report`, which shows
    HTML but not TSV), atomically; floats to 4 significant digits, missing cells blank."""
    frame = pd.DataFrame(list(rows), columns=columns)
    body = frame.to_html(index=False, na_rep="", float_format=lambda x: f"{x:.4g}", border=0)
    style = (
        "body{font-family:sans-serif;font-size:13px}table{border-collapse:collapse}"
        "td,th{padding:2px 8px;text-align:right}tr:nth-child(even){background:#f2f2f2}"
    )
    with atomic_path(out) as tmp:
        Path(tmp).write_text(
            "<!DOCTYPE html><html><head><meta "
            f"charset='utf-8'><title>{title}</title><style>{style}</style></head><body>{body}</body></html>"
        )


def read_tsv(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Rows of a TSV written by write_tsv, numeric cells as int or float, empty cells as None."""

    def parse(value: str) -> Any:
        if value == "":
            return None
        for kind in (int, float):
            try:
                return kind(value)
            except ValueError:
                pass
        return value

    with open(path, newline="") as handle:
        return [{k: parse(v) for k, v in row.items()} for row in csv.DictReader(handle, delimiter="\t")]


def write_lds_table(
    json_paths: Iterable[str | os.PathLike], out: str | os.PathLike, html: str | os.PathLike
) -> list[dict]:
    """Collect per-grid-point LDS records into a TSV (and its HTML rendering), sorted by method,
    ensemble, C, L, D, I."""
    rows = []
    for path in json_paths:
        with open(path) as handle:
            record = json.load(handle)
        missing = [c for c in LDS_COLUMNS if c not in record]
        if missing:
            raise KeyError(f"{path}: LDS record lacks {missing}")
        rows.append({c: record[c] for c in LDS_COLUMNS})
    rows = sort_rows(rows)
    write_tsv(rows, out, LDS_COLUMNS)
    write_html(rows, html, "LDS", LDS_COLUMNS)
    return rows
