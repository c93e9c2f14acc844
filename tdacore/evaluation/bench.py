"""Featurization benchmark: per-sample-gradient, projection and end-to-end
throughput of each projector against the machine's matmul bound, measured in one process, and
IF's curvature-vector products beside them.

Every projector is fresh for its end-to-end run, so drawing its matrix counts. The bound is the
time of one n x d by d x k product (n examples, d parameters), the work of a dense projection;
a ratio below 1 is faster than that product. Peak memory is the process's peak resident set
during one measurement on a CPU (reset through /proc/self/clear_refs) and torch's peak
allocation on a GPU.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tdacore.attribution.grads import per_sample_grads, trainable_params
from tdacore.attribution.hessian import damped_hvp
from tdacore.attribution.projection.projectors import gradient_chunks, make_projector, project_grads_each
from tdacore.attribution.projection.spec import Projection
from tdacore.models.outputs import ModelOutputs


@dataclass
class Setting:
    """A model of one of the paper's settings with inputs of its data set's shape."""

    name: str
    model: nn.Module
    x: torch.Tensor
    y: torch.Tensor
    outputs: ModelOutputs


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        return
    clear_refs = Path("/proc/self/clear_refs")
    if clear_refs.exists():
        clear_refs.write_text("5")  # resets the peak resident set size (VmHWM)


def _peak_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(fn: Callable[[], Any], device: torch.device) -> tuple[float, float, Any]:
    """(seconds, peak memory in MiB, result) of one call of fn."""
    _synchronize(device)
    _reset_peak(device)
    start = time.perf_counter()
    result = fn()
    _synchronize(device)
    return time.perf_counter() - start, _peak_mb(device), result


def matmul_seconds(n: int, d: int, k: int, device: torch.device, max_bytes: int) -> tuple[float, int]:
    """Seconds of one n x d by d x k float32 product, and the rows it was timed on: when n x d
    exceeds max_bytes, the largest row count that fits, scaled up to n (the product is linear in n)."""
    rows = max(1, min(n, max_bytes // (4 * d)))
    a, b = torch.randn(rows, d, device=device), torch.randn(d, k, device=device)
    a[:8] @ b  # warm-up
    seconds, _, _ = measure(lambda: a @ b, device)
    return seconds * n / rows, rows


def _drain(chunks: Iterable[Any]) -> None:
    for _ in chunks:
        pass


def featurize_rows(
    setting: Setting,
    kinds: Iterable[str],
    dims: Iterable[int],
    nonzeros: int,
    chunk_size: int,
    seed: int,
    max_bound_bytes: int,
) -> list[dict[str, Any]]:
    """One row per (projector, k): the pass that feeds the projector (per-sample gradients, or a
    factorised projection's layer factors), projection and end-to-end seconds and examples per
    second, the matmul bound of the shape and the ratios to it, peak memory."""
    model, x, y, f = setting.model, setting.x, setting.y, setting.outputs.f
    device, n = x.device, len(x)
    n_params = sum(p.numel() for p in trainable_params(model).values())
    rows = []
    for k in dims:
        bound, bound_rows = matmul_seconds(n, n_params, k, device, max_bound_bytes)
        for kind in kinds:
            projector = make_projector(Projection(kind, k, nonzeros=nonzeros), model, x, seed, device)
            _drain(gradient_chunks(model, x[:chunk_size], y[:chunk_size], f, chunk_size, projector))  # warm-up
            pass_seconds, pass_peak, _ = measure(
                lambda: _drain(gradient_chunks(model, x, y, f, chunk_size, projector)), device
            )
            total, peak, (_, (project,)) = measure(
                lambda: project_grads_each(model, x, y, [projector], chunk_size, f), device
            )
            rows.append(
                {
                    "setting": setting.name, "n_params": n_params, "examples": n, "projector": kind, "k": k,
                    "gradient_s": pass_seconds, "project_s": project, "featurize_s": total,
                    "gradient_ex_per_s": n / pass_seconds, "project_ex_per_s": n / project,
                    "featurize_ex_per_s": n / total,
                    "matmul_bound_s": bound, "bound_rows": bound_rows,
                    "featurize_over_bound": total / bound, "project_over_bound": project / bound,
                    "peak_mb": peak, "gradient_peak_mb": pass_peak,
                }
            )  # fmt: skip
    return rows


def curvature_row(setting: Setting, chunk_size: int, repeats: int) -> dict[str, Any]:
    """IF's cost per member: Hessian-vector products (over the whole of x) per second, and one
    product's time against one per-sample-gradient pass over the same examples."""
    model, x, y = setting.model, setting.x, setting.y
    device = x.device
    matvec = damped_hvp(model, x, y, setting.outputs.loss, 0.1, chunk_size)
    n_params = sum(p.numel() for p in trainable_params(model).values())
    v = torch.randn(n_params, 1, device=device)
    matvec(v)  # warm-up
    seconds, peak, _ = measure(lambda: [matvec(v) for _ in range(repeats)], device)
    _drain(per_sample_grads(model, x[:chunk_size], y[:chunk_size], setting.outputs.f, chunk_size))  # warm-up
    grad_seconds, _, _ = measure(lambda: _drain(per_sample_grads(model, x, y, setting.outputs.f, chunk_size)), device)
    hvp = seconds / repeats
    return {"setting": setting.name, "n_params": n_params, "examples": len(x), "hvp_s": hvp, "hvp_per_s": 1 / hvp,
            "gradient_pass_s": grad_seconds, "hvp_over_gradient_pass": hvp / grad_seconds, "peak_mb": peak}  # fmt: skip
