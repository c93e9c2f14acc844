"""Honest selection of a setting (an IF damping, a ridge, any reading of a method) by LDS.

The scored test examples are split, by a seeded permutation, into a *selection* part and a
*report* part. A sweep's readings are compared by their mean LDS on the selection part only;
the LDS reported for the chosen reading is its mean on the report part, so that the number a
table shows was never used to choose it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tdacore.evaluation.lds import summarize
from tdacore.infra.seeds import derive_seed


@dataclass(frozen=True)
class Split:
    """Indices into the scored test examples: those that choose and those that report."""

    select: np.ndarray
    report: np.ndarray


def split_test_examples(n_test: int, fraction: float, seed: int) -> Split:
    """A seeded random split of n_test scored test examples: round(fraction * n_test) of them
    select, the rest report; each part keeps at least two examples (a mean and its SEM)."""
    n_select = int(round(fraction * n_test))
    if not 2 <= n_select <= n_test - 2:
        raise ValueError(
            f"selection.fraction = {fraction} of {n_test} scored test examples leaves {n_select} to select "
            f"and {n_test - n_select} to report: each part needs at least 2"
        )
    order = np.random.default_rng(derive_seed(seed, "selection", n_test)).permutation(n_test)
    return Split(select=np.sort(order[:n_select]), report=np.sort(order[n_select:]))


def select_reading(per_example: dict[str, np.ndarray], split: Split) -> dict[str, object]:
    """The reading of highest mean LDS on the selection part (ties: the first named), with its
    LDS and SEM on the report part, and every candidate's mean LDS on each part.

    per_example: reading -> LDS per scored test example (NaN where undefined), all of one length.
    """
    lengths = {name: len(values) for name, values in per_example.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"the readings of a sweep must score the same test examples; they score {lengths}")
    parts = {
        name: {
            part: summarize(np.asarray(values, dtype=float)[indices])
            for part, indices in (("select", split.select), ("report", split.report))
        }
        for name, values in per_example.items()
    }
    defined = [name for name in per_example if np.isfinite(parts[name]["select"]["lds"])]
    if not defined:
        raise ValueError(f"no reading has a defined LDS on the selection part: {list(per_example)}")
    chosen = max(defined, key=lambda name: parts[name]["select"]["lds"])  # max keeps the first of equals
    report = parts[chosen]["report"]
    return {
        "chosen": chosen,
        "report_lds": report["lds"],
        "report_lds_sem": report["lds_sem"],
        "n_select": int(split.select.size),
        "n_report": report["n_test"],
        "n_report_undefined": report["n_undefined"],
        "select": {name: parts[name]["select"]["lds"] for name in per_example},
        "report": {name: parts[name]["report"]["lds"] for name in per_example},
    }
