"""Figures (seaborn): LDS against the number of independently trained models I (Figure 1)."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from tdacore.store import atomic_path  # noqa: E402


METHOD_NAMES = {"trak": "TRAK", "if": "IF (CG)", "graddot": "Grad-Dot", "gradcos": "Grad-Cos"}


def _label(row) -> str:
    return "naive" if row.ensemble == "naive" else f"Dropout D={row.D}"


def lds_vs_models(rows: list[dict], out: str | os.PathLike, title: str) -> None:
    """One panel per method (Figure 1; Figure 6 for several), one line per ensemble of mean LDS
    against I, with standard-error bars."""
    frame = pd.DataFrame(rows).sort_values(["method", "ensemble", "D", "I"])
    frame["label"] = [_label(row) for row in frame.itertuples()]
    labels = list(dict.fromkeys(frame.sort_values(["ensemble", "D"], ascending=[False, True])["label"]))
    palette = dict(zip(labels, sns.color_palette(n_colors=len(labels))))
    methods = sorted(set(frame["method"]), key=lambda m: (list(METHOD_NAMES).index(m) if m in METHOD_NAMES else len(METHOD_NAMES), m))
    sns.set_theme(style="whitegrid")
    fig, axes = plt.subplots(1, len(methods), figsize=(4.2 * len(methods), 3.6), squeeze=False)
    for ax, method in zip(axes[0], methods):
        part = frame[frame["method"] == method]
        present = [label for label in labels if label in set(part["label"])]
        sns.lineplot(part, x="I", y="lds", hue="label", hue_order=present, palette=palette, marker="o", ax=ax)
        for label, line in part.groupby("label"):
            ax.errorbar(line["I"], line["lds"], yerr=line["lds_sem"], fmt="none", ecolor=palette[label], capsize=3)
        ax.set_xticks(sorted(part["I"].unique()))
        ax.set_xlabel("independently trained models I")
        ax.set_ylabel("LDS")
        n_test = "/".join(map(str, sorted(part["n_test"].unique())))
        ax.set_title(f"{METHOD_NAMES.get(method, method)} (LDS over {n_test} test examples)", fontsize=10)
        ax.legend(title=None, fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=150)
    plt.close(fig)

