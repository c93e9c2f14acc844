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
