"""Figures (seaborn): LDS against the number of independently trained models I (Figure 1)."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from tdacore.store import atomic_path  # noqa: E402


def lds_vs_models(rows: list[dict], out: str | os.PathLike, title: str) -> None:
    """One line per ensemble (naive; Dropout at each D) of LDS against I, with SEM bars."""
    frame = pd.DataFrame(rows)
    frame["ensemble"] = [
        "Naive" if r.ensemble == "naive" else f"Dropout (D={r.D})" for r in frame.itertuples()
    ]
    sns.set_theme(style="whitegrid")
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for (method, label), part in frame.groupby(["method", "ensemble"], sort=True):
        part = part.sort_values("I")
        ax.errorbar(part["I"], part["lds"], yerr=part["lds_sem"], marker="o", capsize=3, label=f"{method.upper()} {label}")
    ax.set_xlabel("independently trained models I")
    ax.set_ylabel("LDS")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=150)
    plt.close(fig)
