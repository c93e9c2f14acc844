"""What a grid point's score file records: its members and its measured costs (Appendix E, G, H)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tdacore.ensembles.grid import GridPoint
from tdacore.infra.precision import stored_dtype
from tdacore.infra.store import content_hash, require_agreement, require_distinct


def point_provenance(point: GridPoint, member_attrs: list[dict[str, Any]], aggregate_seconds: float) -> dict[str, Any]:
    """The attributes every grid point's score file carries: its members (from their files'
    attributes, which must already agree on data and model output) and its costs as measured:
    serving time (the members' own in-process time, plus once each the time of any work they
    share, e.g. gradients projected several ways, plus the aggregation), training time (each
    training run the members come from, counted once, up to its latest checkpoint used; None
    where a member's model was not trained here, model.checkpoints) and space (the parameters of
    every distinct model file the members need: an adapter's own and, once, its base model's)."""
    first = member_attrs[0]
    runs: dict[str, float | None] = {}
    files: dict[str, int] = {}
    shared: dict[str, float] = {}
    for a in member_attrs:
        for own in ("", "base_") if "base_model_hash" in a else ("",):  # an adapter: its base model's too
            run, seconds = a[f"{own}training_run"], a[f"{own}model_train_seconds"]
            runs[run] = None if seconds is None or runs.get(run, 0.0) is None else max(runs.get(run, 0.0), seconds)
            files[a[f"{own}model_hash"]] = a[f"{own}model_params"]
        if "shared_job" in a:
            shared[a["shared_job"]] = a["shared_seconds"]
    gpu = [a["gpu_peak_bytes"] for a in member_attrs if "gpu_peak_bytes" in a]
    return {
        "ensemble": point.ensemble,
        "I": point.n_models,
        "D": point.n_passes,
        "C": point.n_checkpoints,
        "L": point.n_adapters,
        "checkpoint_epochs": list(point.epochs),
        "members": [a["member"] for a in member_attrs],
        "mask_seeds": [a["mask_seed"] for a in member_attrs],
        "model_hashes": sorted(files),
        "model_output": first["model_output"],
        "train_hash": first["train_hash"],
        "test_hash": first["test_hash"],
        "test_examples": first["test_examples"],
        "aggregate_seconds": aggregate_seconds,
        "serving_seconds": aggregate_seconds + sum(a["seconds"] for a in member_attrs) + sum(shared.values()),
        "training_runs": sorted(runs),
        "training_seconds": None if None in runs.values() else sum(runs.values()),
        "space_params": sum(files.values()),
        **({"gpu_peak_bytes": max(gpu)} if gpu else {}),
    }


def check_trak_members(
    attrs: Mapping[str, Mapping[str, Any]], q_attrs: Mapping[str, Mapping[str, Any]], ridge: str, method: str
) -> None:
    """Refuse to combine TRAK members (their kernel or solve files, `attrs`, and their Q files,
    `q_attrs`) that disagree on data, test examples, projection, model output or mask mode, that
    share a projection seed, or whose ridge is not the reading's."""
    require_agreement(
        attrs, ["train_hash", "test_hash", "test_examples", "proj_kind", "proj_dim", "model_output", "ridge"]
    )
    require_agreement({**attrs, **q_attrs}, ["train_hash", "model_output"])
    require_agreement({path: a for path, a in {**attrs, **q_attrs}.items() if a["mask_applied"]}, ["mask_mode"])
    require_distinct(attrs, "proj_seed")
    path, first = next(iter(attrs.items()))
    if first["ridge"] != ridge:
        raise ValueError(f"{path}: a kernel at {first['ridge']}, but {method} uses {ridge}")


def trak_point_attrs(
    method: str,
    point: GridPoint,
    attrs: Mapping[str, Mapping[str, Any]],
    q_attrs: Mapping[str, Mapping[str, Any]],
    aggregate_seconds: float,
) -> dict[str, Any]:
    """What a TRAK grid point's score file records (point_provenance, and its members' kernel or
    solve files, features, Q files, projection seeds and ridges)."""
    member_attrs = list(attrs.values()) + [a for path, a in q_attrs.items() if path not in attrs]
    first = next(iter(attrs.values()))
    return {
        "method": "trak",
        "reading": method,
        **point_provenance(point, member_attrs, aggregate_seconds),
        "kernel_files": list(attrs),
        "feature_files": [a["features_file"] for a in attrs.values()],
        "q_files": list(q_attrs),
        "proj_seeds": [a["proj_seed"] for a in attrs.values()],
        "config_hash": content_hash(sorted({a["config_hash"] for a in member_attrs})),
        "proj_kind": first["proj_kind"],
        "proj_dim": first["proj_dim"],
        "features_dtype": stored_dtype(first, "phi_test"),
        "ridge": first["ridge"],
        "ridge_values": [a["ridge_value"] for a in attrs.values()],
        "mean_eigenvalues": [a["mean_eigenvalue"] for a in attrs.values()],
    }
