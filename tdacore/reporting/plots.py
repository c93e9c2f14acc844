"""Figures (seaborn) from the LDS and cost tables: LDS against I (Figures 1 and 6), against
training and serving time (the Figure 1 / 2 analogues in time), forward-only against full
Dropout (Figure 2) and over intermediate checkpoints (Table 2)."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib import ticker  # noqa: E402

from tdacore.attribution.registry import METHODS  # noqa: E402
from tdacore.ensembles.grid import (
    ENSEMBLES,  # noqa: E402
    FORWARD_ONLY,  # noqa: E402
)
from tdacore.infra.store import atomic_path  # noqa: E402

METHOD_NAMES = {name: method.label for name, method in METHODS.items()}
KIND_NAMES = {
    "naive": "naive",
    "dropout": "Dropout",
    "forward_only": "Dropout (forward-only)",
    "forward_only_shared": "Dropout (forward-only, shared gradients)",
    "projection_only": "only random projection",
    "checkpoints": "checkpoints",
    "lora": "LoRA",
}
REFERENCE_NAMES = {"all": "about all models' mean", "leave_out": "about the mean (leave-out)"}


def _series(row) -> str:
    """The line a grid point lies on: its ensemble kind and D or L (I, or C, varies along it)."""
    name = KIND_NAMES.get(row.ensemble, row.ensemble)
    if row.L:
        return f"{name} L={row.L}"
    if row.D:
        return f"{name} D={row.D}"
    return name + (" (no dropout)" if row.ensemble == "checkpoints" else "")


def _frame(rows: list[dict], series: Callable = _series) -> tuple[pd.DataFrame, dict[str, tuple]]:
    """The rows as a frame with a `series` column (the line each lies on), and one colour per
    series (the same in every panel)."""
    frame = pd.DataFrame(rows)
    frame["kind_order"] = [ENSEMBLES.index(k) if k in ENSEMBLES else len(ENSEMBLES) for k in frame["ensemble"]]
    frame = frame.sort_values(["kind_order", "ensemble", "D", "C", "L", "I"])
    frame["series"] = [series(row) for row in frame.itertuples()]
    labels = list(dict.fromkeys(frame["series"]))
    return frame, dict(zip(labels, sns.color_palette(n_colors=len(labels))))


def _methods(frame: pd.DataFrame) -> list[str]:
    order = list(METHOD_NAMES)
    return sorted(set(frame["method"]), key=lambda m: (order.index(m) if m in order else len(order), m))


def _lines(ax, part: pd.DataFrame, x: str, palette: dict[str, tuple], annotate: Callable | None = None) -> None:
    """One line per series of mean LDS against column x, with standard-error bars."""
    for name, line in part.groupby("series", sort=False):
        line = line.sort_values(x)
        ax.errorbar(line[x], line["lds"], yerr=line["lds_sem"], marker="o", color=palette[name], label=name, capsize=3)
        if annotate is not None:
            for row in line.itertuples():
                ax.annotate(
                    annotate(row), (getattr(row, x), row.lds), textcoords="offset points", xytext=(4, -10), fontsize=7
                )
    ax.set_ylabel("LDS")
    ax.legend(title=None, fontsize=7)


def _panel_title(method: str, part: pd.DataFrame, extra: str = "") -> str:
    n_test = "/".join(map(str, sorted(part["n_test"].unique())))
    return f"{METHOD_NAMES.get(method, method)}{extra} (LDS over {n_test} test examples)"


def _save(fig, out: str | os.PathLike, title: str) -> None:
    fig.suptitle(textwrap.fill(title, width=int(18 * fig.get_figwidth())), fontsize=10)
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=150)
    plt.close(fig)


def lds_vs_models(rows: list[dict], out: str | os.PathLike, title: str) -> None:
    """One panel per method (Figure 1; Figure 6 for several): LDS against the number of
    independently trained models I, one line per ensemble kind and D (checkpoints, which vary
    C rather than I, are drawn by `checkpoints`)."""
    frame, palette = _frame([r for r in rows if r["ensemble"] != "checkpoints"])
    _panel_per_method(frame, palette, "I", "independently trained models I", out, title)


def selected_lds_vs_models(rows: list[dict], out: str | os.PathLike, title: str) -> None:
    """One panel per sweep (tables/selection.tsv): the chosen reading's LDS on the report part
    against I, each point labelled with the setting chosen for it; dashed, the sweep's first
    setting (e.g. no ridge) on the same report part."""
    frame, palette = _frame([r for r in rows if r["ensemble"] != "checkpoints"])

    def reference(ax, part: pd.DataFrame) -> None:
        for name, line in part.groupby("series", sort=False):
            line = line.sort_values("I")
            ax.plot(line["I"], line["reference_lds"], ls="--", marker=".", color=palette[name], alpha=0.7)
        ax.plot([], [], ls="--", color="grey", label=f"{part['reference'].iloc[0]} (dashed)")
        ax.legend(title=None, fontsize=6, loc="upper left", bbox_to_anchor=(1.02, 1.0))
        chosen = part["setting"].iloc[0].split("=")[0]
        ax.set_title(
            f"{ax.get_title()}\n{chosen} chosen per point on {part['n_select'].iloc[0]} others (labels)", fontsize=9
        )

    _panel_per_method(
        frame,
        palette,
        "I",
        "independently trained models I",
        out,
        title,
        annotate=lambda row: row.setting.split("=")[-1],
        extra=reference,
        width=7.5,
    )


def _panel_per_method(
    frame: pd.DataFrame,
    palette: dict[str, tuple],
    x: str,
    xlabel: str,
    out: str | os.PathLike,
    title: str,
    annotate: Callable | None = None,
    extra: Callable | None = None,
    width: float = 4.4,
) -> None:
    """One panel per method, `width` inches each, of LDS against the integer column x
    (extra(ax, part) adds to a finished panel)."""
    methods = _methods(frame)
    sns.set_theme(style="whitegrid")
    fig, axes = plt.subplots(1, len(methods), figsize=(width * len(methods), 3.8), squeeze=False)
    for ax, method in zip(axes[0], methods):
        part = frame[frame["method"] == method]
        _lines(ax, part, x, palette, annotate)
        ax.set_xticks(sorted(part[x].unique()))
        ax.set_xlabel(xlabel)
        ax.set_title(_panel_title(method, part), fontsize=10)
        if extra is not None:
            extra(ax, part)
    _save(fig, out, title)


COSTS = {
    "training_seconds": "training time (s, measured)",
    "serving_seconds": "serving time (s, measured)",
    "space_params": "space (parameters)",
}


def lds_vs_cost(rows: list[dict], out: str | os.PathLike, title: str) -> None:
    """One row of panels per method (Figure 3): LDS against measured training time, measured
    serving time and space (log scales), one line per ensemble kind and D or L."""
    frame, palette = _frame(rows)
    methods = _methods(frame)
    sns.set_theme(style="whitegrid")
    fig, axes = plt.subplots(len(methods), len(COSTS), figsize=(5 * len(COSTS), 3.8 * len(methods)), squeeze=False)
    for row_axes, method in zip(axes, methods):
        part = frame[frame["method"] == method]
        for ax, (column, name) in zip(row_axes, COSTS.items()):
            ax.set_title(_panel_title(method, part, f", {name.split(' (')[0]}"), fontsize=10)
            measured = part.assign(**{column: pd.to_numeric(part[column], errors="coerce")}).dropna(subset=[column])
            if measured.empty:  # models the researcher brought: not trained here
                ax.text(0.5, 0.5, "not trained here", ha="center", va="center", transform=ax.transAxes)
                continue
            _lines(ax, measured, column, palette)
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
            ax.xaxis.set_minor_formatter(ticker.NullFormatter())
            ax.set_xlabel(name)
    _save(fig, out, title)


def forward_only(rows: list[dict], out: str | os.PathLike, title: str) -> None:
    """Figure 2: LDS against serving time of the Dropout Ensemble and its forward-only variants
    at the largest I the Dropout and a forward-only grid share, one point per D (labelled), one
    panel per method having both."""
    kinds = ("dropout", *FORWARD_ONLY)
    frame, palette = _frame([r for r in rows if r["ensemble"] in kinds], series=lambda row: KIND_NAMES[row.ensemble])
    panels = []
    for method in _methods(frame):
        part = frame[frame["method"] == method]
        forward = set(part[part["ensemble"].isin(FORWARD_ONLY)]["I"])
        shared = set(part[part["ensemble"] == "dropout"]["I"]) & forward
        if shared:
            panels.append((method, part[part["I"] == max(shared)], max(shared)))
    if not panels:
        raise ValueError("the forward-only figure needs dropout and forward-only grid points with a common I")
    sns.set_theme(style="whitegrid")
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.0), squeeze=False)
    for ax, (method, part, n_models) in zip(axes[0], panels):
        _lines(ax, part, "serving_seconds", palette, annotate=lambda row: f"D={row.D}")
        ax.set_xlabel("serving time (s, measured)")
        ax.set_title(_panel_title(method, part, f", I={n_models}"), fontsize=10)
    _save(fig, out, title)


def checkpoints(rows: list[dict], out: str | os.PathLike, title: str) -> None:
    """Table 2 as a figure: LDS against the number of checkpoints C of one training run, one
    line per D (no dropout, or D masked passes per checkpoint), one panel per method."""
    frame, palette = _frame(
        [r for r in rows if r["ensemble"] == "checkpoints"], series=lambda row: f"{_series(row)}, I={row.I}"
    )
    _panel_per_method(frame, palette, "C", "checkpoints C (the last C saved epochs)", out, title)


def lemma(rows: list[dict], out: str | os.PathLike, title: str) -> None:
    """Section 5: measured against predicted Delta (Eq. 12 from the moments; Eq. 3 / Eq. 4 where
    K = I or K D = I) for each grid point, one panel per method and two-step kind, one colour per
    reading of tau(Theta*), with y = x (points without a measured Delta are left out)."""
    frame = pd.DataFrame(rows)
    frame = frame[np.isfinite(frame["delta_measured"].astype(float))]
    panels = list(dict.fromkeys(zip(frame["method"], frame["kind"])))
    sns.set_theme(style="whitegrid")
    fig, axes = plt.subplots(1, len(panels), figsize=(4.4 * len(panels), 4.0), squeeze=False)
    for ax, (method, kind) in zip(axes[0], panels):
        part = frame[(frame["method"] == method) & (frame["kind"] == kind)]
        for colour, (reference, mine) in zip(sns.color_palette(), part.groupby("reference", sort=False)):
            label = REFERENCE_NAMES.get(reference, reference)
            ax.scatter(mine["delta"], mine["delta_measured"], color=colour, label=f"Eq. 12, {label}", zorder=3)
            cases = mine[mine["case"].notna() & (mine["case"] != "")]
            ax.scatter(
                cases["case_delta"],
                cases["delta_measured"],
                color=colour,
                marker="x",
                label=f"Eq. 3 / 4, {label}",
                zorder=3,
            )
        values = pd.concat([part["delta"], part["delta_measured"], part["case_delta"].dropna()])
        ax.plot([values.min(), values.max()], [values.min(), values.max()], color="grey", linewidth=1)
        ax.axhline(0, color="black", linewidth=0.5)
        ax.axvline(0, color="black", linewidth=0.5)
        ax.set_xlabel("predicted Delta")
        ax.set_ylabel("measured Delta (random subsets)")
        ax.set_title(f"{METHOD_NAMES.get(method, method)}, {KIND_NAMES.get(kind, kind)}", fontsize=10)
        ax.legend(fontsize=6)
    _save(fig, out, title)
