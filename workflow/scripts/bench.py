"""Adapter: the featurization benchmark (tdacore.evaluation.bench) of every setting in config/bench.yaml,
written as two tables and printed."""

import csv

import torch
import yaml

from tdacore.data.dataset import make_dataset
from tdacore.data.sources import TASKS, model_dims
from tdacore.evaluation.bench import Setting, curvature_row, featurize_rows
from tdacore.infra.runtime import configure, resolve_device
from tdacore.infra.seeds import torch_generator
from tdacore.models.build import build_model
from tdacore.models.outputs import outputs_for

log = configure(snakemake.threads, snakemake.log[0])
with open(snakemake.input.bench) as handle:
    bench = yaml.safe_load(handle)
device = resolve_device(bench["device"])


def setting(name: str, config_path: str) -> Setting:
    """The setting's model (random init) and n_train + n_test inputs of its data's shape."""
    with open(config_path) as handle:
        cfg = yaml.safe_load(handle)
    data, task = cfg["data"], TASKS[cfg["data"]["source"]]
    in_dim, n_classes = model_dims(data)
    model = build_model(cfg["model"], in_dim, n_classes, bench["seed"]).to(device).eval()
    n = data["n_train"] + data["n_test"]
    if task == "classification":
        digits = make_dataset(data["source"], data["n_train"], data["n_test"], bench["seed"])
        x, y = (
            torch.cat([torch.from_numpy(digits.x_train), torch.from_numpy(digits.x_test)]),
            torch.cat([torch.from_numpy(digits.y_train), torch.from_numpy(digits.y_test)]),
        )
    else:
        g = torch_generator(bench["seed"])
        x, y = (
            torch.randint(0, n_classes, (n, in_dim), generator=g),
            torch.randint(0, n_classes, (n, in_dim), generator=g),
        )
    return Setting(name, model, x.to(device), y.to(device), outputs_for(task))


def write(path: str, rows: list[dict]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)
    widths = {
        key: max(len(key), *(len(f"{row[key]:.4g}" if isinstance(row[key], float) else str(row[key])) for row in rows))
        for key in rows[0]
    }
    print("  ".join(key.rjust(widths[key]) for key in rows[0]))
    for row in rows:
        print(
            "  ".join(
                (f"{row[key]:.4g}" if isinstance(row[key], float) else str(row[key])).rjust(widths[key]) for key in row
            )
        )


featurize, curvature = [], []
for entry, config_path in zip(bench["settings"], snakemake.input.settings):
    s = setting(entry["name"], config_path)
    log.info("%s: %d examples, device %s, %d threads", s.name, len(s.x), device, torch.get_num_threads())
    featurize += featurize_rows(
        s,
        bench["projectors"],
        bench["dims"],
        bench["nonzeros"],
        bench["chunk_size"],
        bench["seed"],
        int(bench["max_bound_gb"] * 2**30),
    )
    curvature.append(curvature_row(s, bench["chunk_size"], bench["hvp_repeats"]))
    log.info("%s measured", s.name)
write(snakemake.output.featurize, featurize)
print()
write(snakemake.output.curvature, curvature)
