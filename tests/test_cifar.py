"""CIFAR-2 (Appendix B.1): the CIFAR-10 batch loader on fixture batches in the official pickle
layout, the CIFAR-2 MLP and ResNet-9 sizes (Table 5), ResNet-9 featurization memory, the paper
configs' plans and a tiny end-to-end run of the ResNet-9 path."""

from __future__ import annotations

import functools
import math
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from tdacore.cifar import TEST_BATCH, TRAIN_BATCHES, load_cifar2, write_batch
from tdacore.data import make_dataset
from tdacore.grads import per_sample_grads
from tdacore.models import build_model, n_parameters
from tdacore.outputs import margin
from tdacore.report import read_tsv
from tdacore.variants import dropout_sites, masked, sample_masks
from test_workflow import REPO, planned_jobs, snakemake

CAT, DOG = 3, 5
RESNET9 = {"name": "resnet9", "widths": [64, 128, 256, 512], "dropout": 0.1}


def write_fixture(directory: Path, per_batch: int = 30, seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Five training batches and a test batch of random images, labels cycling through all ten
    classes from a random offset; returns what each file holds."""
    rng = np.random.default_rng(seed)
    batches = {}
    for name in (*TRAIN_BATCHES, TEST_BATCH):
        images = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        labels = (np.arange(per_batch) + rng.integers(10)) % 10
        write_batch(directory / name, images, labels)
        batches[name] = images, labels
    return batches


def test_batches_are_written_in_the_official_layout(tmp_path: Path):
    """What CIFAR-10's own loading code (pickle.load with encoding="bytes") reads from them."""
    images = np.arange(2 * 3072, dtype=np.int64).reshape(2, 3072).astype(np.uint8)
    write_batch(tmp_path / "data_batch_1", images, [3, 5])
    with open(tmp_path / "data_batch_1", "rb") as handle:
        raw = handle.read()
    assert raw[:2] == b"\x80\x02"  # pickle protocol 2, as the official Python 2 pickles
    batch = pickle.loads(raw, encoding="bytes")
    assert batch[b"labels"] == [3, 5] and batch[b"data"].dtype == np.uint8
    np.testing.assert_array_equal(batch[b"data"], images)


def cats_and_dogs(batches: dict, names: tuple[str, ...]) -> tuple[np.ndarray, list[int]]:
    """The images labelled cat or dog, batch after batch, and 0 for a cat, 1 for a dog."""
    kept = [(batches[name][0][i], int(label == DOG)) for name in names for i, label in enumerate(batches[name][1]) if label in (CAT, DOG)]
    return np.array([image for image, _ in kept]), [label for _, label in kept]


def test_the_loader_keeps_exactly_the_cats_and_dogs(tmp_path: Path):
    batches = write_fixture(tmp_path)
    x_train, y_train, x_test, y_test = load_cifar2(tmp_path)
    for x, y, names in ((x_train, y_train, TRAIN_BATCHES), (x_test, y_test, (TEST_BATCH,))):
        expected_x, expected_y = cats_and_dogs(batches, names)
        np.testing.assert_array_equal(x, expected_x)
        assert y.tolist() == expected_y and set(expected_y) == {0, 1}
    assert len(y_train) == 5 * 6 and len(y_test) == 6  # 30 labels cycling through 10 classes: 3 cats, 3 dogs


def test_cifar2_draw_is_seeded_and_scaled(tmp_path: Path):
    write_fixture(tmp_path)
    x_train, y_train, x_test, y_test = load_cifar2(tmp_path)
    a = make_dataset("cifar2", 20, 5, seed=1, cifar_dir=tmp_path)
    b = make_dataset("cifar2", 20, 5, seed=1, cifar_dir=tmp_path)
    c = make_dataset("cifar2", 20, 5, seed=2, cifar_dir=tmp_path)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert a.train_hash() != c.train_hash()
    assert a.x_train.dtype == np.float32 and a.x_train.shape == (20, 3072) and a.n_classes == 2
    # every drawn example is a distinct source example, pixels / 255, with its own label
    for drawn, labels, source, source_labels in ((a.x_train, a.y_train, x_train, y_train), (a.x_test, a.y_test, x_test, y_test)):
        rows = [int(np.flatnonzero((source == np.round(row * 255)).all(axis=1))[0]) for row in drawn]
        assert len(set(rows)) == len(rows)
        np.testing.assert_array_equal(labels, source_labels[rows])
        np.testing.assert_allclose(drawn, source[rows] / 255.0, atol=1e-7)
    with pytest.raises(ValueError, match="data.n_train: asked for 31 examples but the source has 30"):
        make_dataset("cifar2", 31, 5, seed=1, cifar_dir=tmp_path)


def test_a_missing_batch_names_the_file_and_the_fetch_rule(tmp_path: Path):
    write_fixture(tmp_path)
    (tmp_path / "data_batch_3").unlink()
    with pytest.raises(FileNotFoundError, match="snakemake download") as error:
        make_dataset("cifar2", 10, 5, seed=0, cifar_dir=tmp_path)
    assert str(tmp_path / "data_batch_3") in str(error.value) and "data_batch_2" not in str(error.value)


def resnet9_parameters(widths: list[int], n_classes: int) -> int:
    """Parameters of tdacore.resnet.ResNet9 counted by hand: a 3 x 3 convolution without bias has
    9 * c_in * c_out weights, a 1 x 1 shortcut c_in * c_out, each BatchNorm 2 * c (scale, shift)."""
    stem = 9 * 3 * widths[0] + 2 * widths[0]
    stages = sum(9 * a * b + 9 * b * b + a * b + 3 * 2 * b for a, b in zip(widths[:-1], widths[1:]))
    return stem + stages + widths[-1] * n_classes + n_classes


@pytest.mark.parametrize(
    "spec, in_dim, n_classes, stated, by_hand",
    [  # Table 5: 0.11M (MNIST MLP), 0.38M (CIFAR-2 MLP), 4.83M (CIFAR-2 ResNet-9); a reduced ResNet-9
        ({"name": "mlp", "hidden": [128, 64], "dropout": 0.1}, 784, 10, 109_386, 784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10),
        ({"name": "mlp", "hidden": [120, 84], "dropout": 0.1}, 3072, 2, 379_094, 3072 * 120 + 120 + 120 * 84 + 84 + 84 * 2 + 2),
        (RESNET9, 3072, 2, 4_825_154, resnet9_parameters([64, 128, 256, 512], 2)),
        ({"name": "resnet9", "widths": [4, 8, 8, 16], "dropout": 0.1}, 3072, 2, 6_038, resnet9_parameters([4, 8, 8, 16], 2)),
    ],
)
def test_parameter_counts_match_table5(spec: dict, in_dim: int, n_classes: int, stated: int, by_hand: int):
    assert n_parameters(build_model(spec, in_dim, n_classes, seed=0)) == stated == by_hand


def test_resnet9_has_a_dropout_after_every_convolution_and_rejects_other_inputs():
    model = build_model(RESNET9, 3072, 2, seed=0)
    convolutions = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(dropout_sites(model)) == len(convolutions) == 1 + 3 * 3
    with pytest.raises(ValueError, match="in_dim = 784"):
        build_model(RESNET9, 784, 10, seed=0)


def test_resnet9_gradients_in_eval_mode_match_autograd_and_ignore_the_batch():
    """Per-sample gradients (vmap) of a small ResNet-9 under a dropout mask equal one autograd
    pass per example: BatchNorm uses its running statistics in eval mode (set away from 0 / 1
    here by training steps), so an example's output does not depend on its chunk."""
    model = build_model({"name": "resnet9", "widths": [4, 8, 8, 8], "dropout": 0.2}, 3072, 2, seed=0)
    x, y = torch.rand(6, 3072), torch.tensor([0, 1, 1, 0, 1, 0])
    optimiser = torch.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    for _ in range(3):
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimiser.step()
    with masked(model, sample_masks(model, x, seed=4)) as variant:
        chunks = [torch.cat(blocks, dim=1) for _, blocks in per_sample_grads(variant, x, y, margin, chunk_size=4)]
        by_vmap = torch.cat(chunks)
        expected = []
        for xi, yi in zip(x, y):
            variant.zero_grad()
            margin(variant(xi[None]), yi[None]).sum().backward()
            expected.append(torch.cat([p.grad.flatten() for p in variant.parameters()]))
    torch.testing.assert_close(by_vmap, torch.stack(expected), rtol=1e-4, atol=1e-6)
    assert all(not m.training for m in model.modules())


MEMORY_SCRIPT = """
import resource, sys, torch
torch.set_num_threads(1)
from tdacore.models import build_model
from tdacore.outputs import margin
from tdacore.projection import make_projector, project_grads
kind, k, n, chunk = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
model = build_model({"name": "resnet9", "widths": [64, 128, 256, 512], "dropout": 0.1}, 3072, 2, seed=0).eval()
x, y = torch.rand(n, 3072, generator=torch.Generator().manual_seed(0)), torch.arange(n) % 2
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
projector = make_projector({"kind": kind, "dim": k}, model, x, seed=0, device=torch.device("cpu"))
assert not getattr(projector, "fits", False)  # a dense P of 4.83M x k is redrawn, not kept
phi = project_grads(model, x, y, projector, chunk, margin)
assert phi.shape == (n, k) and bool(torch.isfinite(phi).all()) and float(phi.abs().sum()) > 0
print(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


# (kind, k, examples, chunk): SJLT at the paper's k = 2048; the dense Gaussian at k = 256, where
# P (4.9 GB) already exceeds the 4 GiB cache_mb: one redraw of P at k = 2048 takes about a minute
# on one core (the measured numbers at k = 2048 are in the README).
@pytest.mark.parametrize("kind, k, n, chunk", [("sjlt", 2048, 4, 2), ("gaussian", 256, 2, 2)])
def test_featurizing_a_full_resnet9_holds_neither_p_nor_every_gradient(kind: str, k: int, n: int, chunk: int):
    """Peak resident memory of featurizing the 4.83M-parameter ResNet-9 (a dense P would be
    4.9 GB at k = 256, 40 GB at k = 2048): the model, one chunk of gradients (2 x 19 MB), SJLT's
    hashes (58 MB) or one row block of P, activations and torch itself stay under 1.5 GB."""
    result = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, kind, str(k), str(n), str(chunk)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    before_kb, peak_kb = map(int, result.stdout.split())
    assert peak_kb < 1.5 * 2**20, f"peak RSS {peak_kb / 2**20:.2f} GB"
    assert peak_kb - before_kb < 1.0 * 2**20, f"featurizing added {(peak_kb - before_kb) / 2**20:.2f} GB"


def dry_run(config: str) -> dict[str, int]:
    plan = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--quiet", "rules", "--configfile", config], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert plan.returncode == 0, plan.stderr[-3000:]
    return planned_jobs(plan.stdout + plan.stderr)


@pytest.mark.parametrize("config", ["config/paper/cifar2_mlp.yaml", "config/paper/cifar2_resnet9.yaml"])
def test_the_paper_cifar2_configs_plan_their_download_models_and_members(config: str):
    """No CIFAR-10 here: the dry run plans its fetch, one base model per naive model, one
    retrain per LDS subset, one featurize job per (model, pass) and one forward_q job per
    masked pass of the forward-only grid."""
    paper = yaml.safe_load((REPO / config).read_text())
    jobs = dry_run(config)
    grids = paper["ensembles"]
    assert jobs["fetch_cifar10"] == 1 and jobs["prepare_data"] == 1
    assert jobs["train_base"] == max(grids["naive"]["I"]) and jobs["retrain_subset"] == paper["lds"]["num_subsets"]
    assert jobs["featurize"] == max(grids["naive"]["I"]) + max(grids["dropout"]["I"]) * max(grids["dropout"]["D"])
    assert jobs["forward_q"] == max(grids["forward_only"]["I"]) * max(grids["forward_only"]["D"])


TINY_CIFAR = {
    "experiment": "tiny_cifar",
    "seed": 0,
    "device": "cpu",
    "threads": 1,
    "data": {"source": "cifar2", "cifar_dir": "cifar-10-batches-py", "n_train": 24, "n_test": 6},
    "model": {"name": "resnet9", "widths": [4, 8, 8, 8], "dropout": 0.1},
    "train": {"epochs": 1, "lr": 0.01, "momentum": 0.9, "batch_size": 8, "base_fraction": 0.5},
    "lds": {"num_subsets": 3, "alpha": 0.5},
    "methods": ["trak"],
    "influence": {"damping": 0.1, "shift_negative_curvature": True, "rtol": 1e-3, "max_iter": 10},
    "trak": {"projection": {"kind": "gaussian", "dim": 8}, "ridge": 0.0, "chunk_size": 8},
    "ensembles": {"naive": {"I": [1]}, "dropout": {"I": [1], "D": [2]}},
}


def test_cifar2_resnet9_end_to_end(tmp_path: Path):
    """Fixture batches -> CIFAR-2 -> ResNet-9 base models and retrains -> TRAK naive and Dropout
    -> one LDS row per grid point; an edit to tdacore/resnet.py then reruns the models."""
    checkout = tmp_path / "checkout"  # a copy of the sources the rules list, so that one can be edited
    for part in ("workflow", "tdacore"):
        shutil.copytree(REPO / part, checkout / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "environment.yaml", checkout)
    workdir = tmp_path / "run"
    write_fixture(workdir / "cifar-10-batches-py")
    target = "results/tiny_cifar/tables/lds.tsv"
    run = functools.partial(snakemake, workdir, TINY_CIFAR, "--cores", "1", snakefile=checkout / "workflow" / "Snakefile")
    result = run(target)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = read_tsv(workdir / target)
    assert sorted((r["ensemble"], r["I"], r["D"]) for r in rows) == [("dropout", 1, 2), ("naive", 1, 0)]
    assert all(r["method"] == "trak" and r["n_test"] == 6 and math.isfinite(r["lds"]) and -1 <= r["lds"] <= 1 for r in rows)
    assert not list((workdir / "results").rglob("*.part"))
    assert "Nothing to be done" in (lambda r: r.stdout + r.stderr)(run("-n", target))
    (checkout / "tdacore/resnet.py").write_text((checkout / "tdacore/resnet.py").read_text() + "\n# an edit\n")
    plan = run(target, "-n", "--quiet", "rules")
    assert {"train_base", "retrain_subset", "featurize", "ground_truth"} <= set(planned_jobs(plan.stdout + plan.stderr))


def test_without_the_batches_a_run_stops_before_any_job_naming_the_download(tmp_path: Path):
    config = yaml.safe_load((REPO / "config/paper/cifar2_resnet9.yaml").read_text())
    config["data"]["cifar_dir"] = str(tmp_path / "cifar-10-batches-py")
    result = snakemake(tmp_path, config)
    assert result.returncode != 0
    assert f"missing {tmp_path / 'cifar-10-batches-py'}" in result.stderr and "snakemake download" in result.stderr, result.stderr[-3000:]
    assert not (tmp_path / "results").exists()
