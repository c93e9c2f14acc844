"""Run examples/scaling/config.yaml at several training-set sizes and tabulate, per stage of the
sharded TRAK run, its jobs, summed and largest job wall time, largest peak memory (Snakemake's
benchmark files) and the disk its files take; with the whole run's wall time.

    .venv/bin/python examples/scaling/measure.py 5000 20000 60000 > results/scaling.tsv
"""

import argparse
import csv
import subprocess
import sys
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
# stage: (its benchmarks' folder under results/<experiment>/benchmarks, its files' folder)
STAGES = {
    "prepare_data": ("prepare_data.tsv", "data"),
    "train_base": ("train_base", "models"),
    "featurize": ("features", "features"),
    "member_solve": ("solves", "solves"),
    "score_block": ("blocks", "blocks"),
    "collect_scores": ("attribute", "scores"),
}


def _benchmarks(path: Path) -> list[dict[str, float]]:
    files = [path] if path.is_file() else sorted(path.rglob("*.tsv")) if path.exists() else []
    rows = []
    for file in files:
        with open(file) as handle:
            row = next(csv.DictReader(handle, delimiter="\t"))
        rows.append({"s": float(row["s"]), "max_rss": float(row["max_rss"])})
    return rows


def _disk_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20 if path.exists() else 0.0


def measure(n_train: int, cores: int) -> list[dict]:
    config = yaml.safe_load((HERE / "config.yaml").read_text())
    config["experiment"] = f"scaling_n{n_train}"
    config["data"]["n_train"] = n_train
    configfile = Path("results") / f"scaling_n{n_train}.yaml"
    configfile.parent.mkdir(exist_ok=True)
    configfile.write_text(yaml.safe_dump(config))
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "snakemake", "--configfile", str(configfile), "--cores", str(cores), "-q"], check=True
    )
    wall = time.perf_counter() - start
    results = Path("results") / config["experiment"]
    rows = []
    for stage, (benchmarks, files) in STAGES.items():
        jobs = _benchmarks(results / "benchmarks" / benchmarks)
        rows.append(
            {
                "n_train": n_train,
                "stage": stage,
                "jobs": len(jobs),
                "job_seconds": round(sum(j["s"] for j in jobs), 1),
                "largest_job_seconds": round(max(j["s"] for j in jobs), 1),
                "peak_rss_mb": round(max(j["max_rss"] for j in jobs)),
                "disk_mb": round(_disk_mb(results / files), 1),
                "run_wall_seconds": round(wall, 1),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", type=int, nargs="+")
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    writer = None
    for n_train in args.sizes:
        for row in measure(n_train, args.cores):
            if writer is None:
                writer = csv.DictWriter(sys.stdout, fieldnames=list(row), delimiter="\t")
                writer.writeheader()
            writer.writerow(row)
            sys.stdout.flush()


if __name__ == "__main__":
    main()
