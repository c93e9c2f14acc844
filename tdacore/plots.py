"""Figures (seaborn): LDS against the number of independently trained models I (Figure 1)."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from tdacore.store import atomic_path  # noqa: E402


def _label(row) -> str:
    ensemble = "naive" if row.ensemble == "naive" else f"Dropout D={row.D}"
    return f"{row.method.upper()} {ensemble}"


def lds_vs_models(rows: list[dict], out: str | os.PathLike, title: str) -> None:
    """One line per (method, ensemble) of mean LDS against I, with standard-error bars."""
    frame = pd.DataFrame(rows).sort_values(["method", "ensemble", "D", "I"])
    frame["label"] = [_label(row) for row in frame.itertuples()]
    labels = list(dict.fromkeys(frame["label"]))
    palette = dict(zip(labels, sns.color_palette(n_colors=len(labels))))
    sns.set_theme(style="whitegrid")
    fig, ax = plt.subplots(figsize=(5, 3.6))
    sns.lineplot(frame, x="I", y="lds", hue="label", hue_order=labels, palette=palette, marker="o", ax=ax)
    for label, part in frame.groupby("label"):
        ax.errorbar(part["I"], part["lds"], yerr=part["lds_sem"], fmt="none", ecolor=palette[label], capsize=3)
    ax.set_xticks(sorted(frame["I"].unique()))
    ax.set_xlabel("independently trained models I")
    ax.set_ylabel("LDS")
    ax.set_title(title)
    ax.legend(title=None, fontsize=8)
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=150)
    plt.close(fig)
