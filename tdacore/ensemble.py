"""Ensemble grid points and their members (Eq. 1, Eq. 2, Section 3.3).

A member is (model i, pass d): pass 0 is the unmasked model, pass d >= 1 its d-th
dropout-masked variant. The naive ensemble of size I uses passes 0 of models 0..I-1;
the Dropout Ensemble (I, D) uses passes 1..D of each of models 0..I-1.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Member:
    model: int
    dropout_pass: int


@dataclass(frozen=True)
class GridPoint:
    ensemble: str
    n_models: int  # I
    n_passes: int  # D (1 for the naive ensemble)

    @property
    def name(self) -> str:
        return f"I{self.n_models}" if self.ensemble == "naive" else f"I{self.n_models}-D{self.n_passes}"

    def members(self) -> list[Member]:
        """The (model, pass) pairs whose features the grid point combines."""
        if self.ensemble == "naive":
            return [Member(i, 0) for i in range(self.n_models)]
        if self.ensemble == "dropout":
            return [Member(i, d) for i in range(self.n_models) for d in range(1, self.n_passes + 1)]
        raise ValueError(f"unknown ensemble '{self.ensemble}' (known: {ENSEMBLES})")


ENSEMBLES = ("naive", "dropout")
_POINT = re.compile(r"I(?P<I>[1-9][0-9]*)(-D(?P<D>[1-9][0-9]*))?")


def parse_point(ensemble: str, name: str) -> GridPoint:
    """Inverse of GridPoint.name; errors name the offending string."""
    match = _POINT.fullmatch(name)
    if match is None or (ensemble == "naive") != (match["D"] is None):
        raise ValueError(f"'{name}' is not a grid point name of the {ensemble} ensemble")
    return GridPoint(ensemble, int(match["I"]), int(match["D"] or 1))


def grid(ensembles: dict[str, Any]) -> list[GridPoint]:
    """Every grid point the config's `ensembles` section asks for."""
    points = [GridPoint("naive", i, 1) for i in ensembles.get("naive", {}).get("I", [])]
    dropout = ensembles.get("dropout", {})
    points += [GridPoint("dropout", i, d) for i in dropout.get("I", []) for d in dropout.get("D", [])]
    return points


def running_mean(arrays: Iterable[np.ndarray], what: str = "member") -> np.ndarray:
    """The mean of `arrays` in float64, accumulated so that members are never all held at once."""
    total, count = None, 0
    for array in arrays:
        total = np.array(array, dtype=np.float64) if total is None else total + array
        count += 1
    if total is None:
        raise ValueError(f"an ensemble needs at least one {what}")
    return total / count


def mean_scores(member_scores: Iterable[np.ndarray]) -> np.ndarray:
    """Eq. 1: the ensemble's scores are the mean of its members' scores (IF, Grad-Dot, Grad-Cos)."""
    return running_mean(member_scores, "member's scores")


def point_provenance(point: GridPoint, member_attrs: list[dict[str, Any]], aggregate_seconds: float) -> dict[str, Any]:
    """The attributes every grid point's score file carries: its members (from their files'
    attributes, which must already agree on data and model output) and its serving time
    (the members' own time plus the aggregation)."""
    first = member_attrs[0]
    return {
        "ensemble": point.ensemble,
        "I": point.n_models,
        "D": point.n_passes,
        "members": [[a["model"], a["dropout_pass"]] for a in member_attrs],
        "mask_seeds": [a["mask_seed"] for a in member_attrs],
        "model_hashes": sorted({a["model_hash"] for a in member_attrs}),
        "model_output": first["model_output"],
        "train_hash": first["train_hash"],
        "test_hash": first["test_hash"],
        "test_examples": first["test_examples"],
        "aggregate_seconds": aggregate_seconds,
        "serving_seconds": aggregate_seconds + sum(a["seconds"] for a in member_attrs),
    }
