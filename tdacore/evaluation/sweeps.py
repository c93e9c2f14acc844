"""Sweeps: a grid of one setting of a reading (a TRAK ridge, an IF damping) expanded into named
readings, one per value, that tdacore.evaluation.selection then compares on held-out test examples.
Torch-free: the workflow expands sweeps while it plans the DAG."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tdacore.attribution.ridge import value_name


def grid_readings(
    sweep: str, spec: Mapping[str, Any], is_base: Callable[[tuple[str, ...], float], bool]
) -> list[tuple[str, dict[str, Any] | None, str]]:
    """The readings of a grid sweep, {reading: <base>, <key>: [values]} (a TRAK ridge or
    ridge_relative) or {reading: <base>, influence: {<key>: [values]}} (an IF damping, ...),
    optionally with the ensembles grid its new readings score (else the base reading's):
    per value, (the reading's name, the per_method overrides it adds to the base reading's, or
    None where the value is the base reading's own (is_base), the setting it names, e.g.
    `ridge_relative=0.1`)."""
    base = spec["reading"]
    own = {"ensembles": spec["ensembles"]} if "ensembles" in spec else {}
    spec = {key: value for key, value in spec.items() if key != "ensembles"}
    leaves = [((key,), value) for key, value in spec.items() if key != "reading" and not isinstance(value, Mapping)]
    leaves += [
        ((key, inner), value)
        for key, section in spec.items()
        if isinstance(section, Mapping)
        for inner, value in section.items()
    ]
    if len(leaves) != 1 or not isinstance(leaves[0][1], list) or len(leaves[0][1]) < 2:
        raise ValueError(
            f"sweeps.{sweep}: a grid sweep names its reading and exactly one setting with a list of at least 2 "
            f"values; it has {dict(spec)}"
        )
    path, values = leaves[0]
    if len(set(values)) != len(values):
        raise ValueError(f"sweeps.{sweep}: {'.'.join(path)} repeats a value: {values}")
    readings = []
    for value in values:
        if is_base(path, value):
            readings.append((base, None, f"{path[-1]}={value:g}"))
            continue
        overrides: dict[str, Any] = own | ({path[0]: value} if len(path) == 1 else {path[0]: {path[1]: value}})
        readings.append((f"{base}_{path[-1]}{value_name(value)}", overrides, f"{path[-1]}={value:g}"))
    return readings
