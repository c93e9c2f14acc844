"""Cost tables (Appendix E, G, H, K) from recorded provenance and Snakemake benchmark files."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tdacore.evaluation.costs import peak_memory_table, point_costs, read_benchmark, relative_costs
from tdacore.reporting.tables import read_tsv, write_tsv

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def _benchmark(path: Path, seconds: float, rss: str) -> Path:
    path.write_text(HEADER + f"{seconds}\t0:00:01\t{rss}\t1\t1\t1\t0\t0\t90\t1\n")
    return path


def _row(method, ensemble, I, D, *, training, serving, space, rss, C=0):
    return {
        "method": method,
        "ensemble": ensemble,
        "I": I,
        "D": D,
        "C": C,
        "L": 0,
        "training_seconds": training,
        "serving_seconds": serving,
        "space_params": space,
        "peak_rss_mb": rss,
    }


def test_benchmark_files_are_read_and_unsampled_memory_is_nan(tmp_path: Path):
    assert read_benchmark(_benchmark(tmp_path / "a.tsv", 12.5, "843.5")) == {"seconds": 12.5, "max_rss_mb": 843.5}
    assert math.isnan(read_benchmark(_benchmark(tmp_path / "b.tsv", 0.2, "NA"))["max_rss_mb"])
    (tmp_path / "c.tsv").write_text("seconds\n1\n")
    with pytest.raises(ValueError, match="c.tsv"):
        read_benchmark(tmp_path / "c.tsv")


def test_point_costs_take_the_recorded_costs_and_the_largest_job():
    attrs = {
        "ensemble": "dropout",
        "I": 2,
        "D": 3,
        "C": 0,
        "L": 0,
        "members": ["0/d1"] * 6,
        "training_runs": ["base-0", "base-1"],
        "training_seconds": 20.0,
        "serving_seconds": 30.0,
        "space_params": 218772,
    }
    benchmarks = [
        {"seconds": 10.0, "max_rss_mb": 800.0},
        {"seconds": 11.0, "max_rss_mb": math.nan},
        {"seconds": 3.0, "max_rss_mb": 300.0},
    ]
    row = point_costs("trak", attrs, {"lds": 0.3, "lds_sem": 0.01, "n_test": 500}, benchmarks)
    assert row["peak_rss_mb"] == 800.0 and row["serving_job_seconds"] == 24.0 and row["serving_jobs"] == 3
    assert row["members"] == 6 and row["training_runs"] == 2 and row["space_params"] == 218772 and row["lds"] == 0.3
    assert "gpu_peak_mb" not in row  # measured on a GPU only
    assert (
        point_costs(
            "trak", attrs | {"gpu_peak_bytes": 3 * 2**20}, {"lds": 0.3, "lds_sem": 0.01, "n_test": 500}, benchmarks
        )["gpu_peak_mb"]
        == 3.0
    )


def test_relative_costs_are_table_7(tmp_path: Path):
    rows = [
        _row("trak", "dropout", 1, 10, training=10.0, serving=50.0, space=100, rss=400.0),
        _row("trak", "naive", 3, 0, training=31.0, serving=15.0, space=300, rss=400.0),
        _row("trak", "naive", 1, 0, training=10.0, serving=5.0, space=100, rss=400.0),
        _row("graddot", "naive", 1, 0, training=10.0, serving=8.0, space=100, rss=500.0),
    ]
    table = {(r["method"], r["cost"]): r for r in relative_costs(rows)}
    assert (
        table["trak", "training time"]["naive I=3"] == 3.1 and table["trak", "training time"]["dropout I=1 D=10"] == 1.0
    )
    assert table["trak", "serving time"]["dropout I=1 D=10"] == 10.0 and table["trak", "space"]["naive I=3"] == 3.0
    assert table["graddot", "serving time"]["naive I=3"] is None
    write_tsv(relative_costs(rows), tmp_path / "r.tsv")
    header = (tmp_path / "r.tsv").read_text().splitlines()[0].split("\t")
    assert header == ["method", "cost", "naive I=1", "naive I=3", "dropout I=1 D=10"]
    assert read_tsv(tmp_path / "r.tsv")[0]["naive I=3"] is None  # graddot's row: no such point
    with pytest.raises(ValueError, match="naive I = 1"):
        relative_costs(rows[:2])


def test_peak_memory_is_table_3():
    rows = [
        _row("trak", "forward_only", 5, 25, training=1, serving=1, space=1, rss=700.0),
        _row("trak", "forward_only", 5, 3, training=1, serving=1, space=1, rss=650.0),
        _row("trak", "dropout", 5, 3, training=1, serving=1, space=1, rss=600.0),
    ]
    assert peak_memory_table(rows) == [
        {"method": "trak", "ensemble": "dropout", "I": 5, "C": 0, "L": 0, "D=3": 600.0, "D=25": None},
        {"method": "trak", "ensemble": "forward_only", "I": 5, "C": 0, "L": 0, "D=3": 650.0, "D=25": 700.0},
    ]
