"""What a grid point's score file records: its members and its measured costs (Appendix E, G, H)."""

from __future__ import annotations

from typing import Any

from tdacore.ensembles.grid import GridPoint


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
