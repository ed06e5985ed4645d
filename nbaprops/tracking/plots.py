"""The run's diagnostic plots, drawn on matplotlib Figure objects (no pyplot global state).

Each plot sets its own margins (figure fractions) instead of tight_layout, which draws every
text once more to measure it: about a third of a plot's cost, and the plots are drawn on every
nightly run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

_DPI = 80


def _save(fig: Figure, path: Path, **margins: float) -> Path:
    """Save at the house resolution with the plot's margins (left, right, bottom, top, ...)."""
    fig.subplots_adjust(**{"left": 0.12, "right": 0.96, "bottom": 0.13, "top": 0.9, **margins})
    fig.savefig(path, dpi=_DPI)
    return path


def feature_importance_plot(
    importance: pd.Series, path: Path, top: int = 20, title: str = "Feature importance"
) -> Path:
    """Horizontal bars of the most important features."""
    data = importance.sort_values().tail(top)
    fig = Figure(figsize=(7, max(3.0, 0.3 * len(data))))
    ax = fig.subplots()
    ax.barh(data.index.astype(str), data.to_numpy(), color="#2b6cb0")
    ax.set_xlabel("normalised importance")
    ax.set_title(title)
    longest = max((len(str(name)) for name in data.index), default=1)
    inches = fig.get_size_inches()
    # about 0.085 in a character at the default 10 pt, plus the ticks' padding
    return _save(
        fig,
        path,
        left=min(0.6, (0.25 + 0.085 * longest) / inches[0]),
        bottom=0.55 / inches[1],
        top=1 - 0.35 / inches[1],
    )


def residuals_plot(y: np.ndarray, pred: np.ndarray, path: Path) -> Path:
    """Residuals against predictions, and their histogram."""
    resid = np.asarray(y, float) - np.asarray(pred, float)
    fig = Figure(figsize=(10, 4))
    left, right = fig.subplots(1, 2)
    left.scatter(pred, resid, s=3, alpha=0.3, color="#2b6cb0")
    left.axhline(0.0, color="black", linewidth=1)
    left.set_xlabel("prediction")
    left.set_ylabel("actual - prediction")
    left.set_title("Residuals vs prediction")
    right.hist(resid, bins=50, color="#2b6cb0")
    right.set_xlabel("actual - prediction")
    right.set_title("Residual distribution")
    return _save(fig, path, left=0.08, right=0.98, wspace=0.22)


def calibration_plot(
    curves: dict[str, tuple[np.ndarray, np.ndarray]], path: Path, title: str = "Calibration"
) -> Path:
    """Reliability diagram: mean predicted P(over) against the observed over rate, per curve."""
    fig = Figure(figsize=(5, 5))
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfect")
    for label, (mean_p, mean_y) in curves.items():
        ax.plot(mean_p, mean_y, marker="o", label=label)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("predicted P(over)")
    ax.set_ylabel("observed over rate")
    ax.set_title(title)
    ax.legend(loc="upper left")
    return _save(fig, path, left=0.14, bottom=0.11, top=0.93)


def confusion_matrix_plot(matrix: np.ndarray, path: Path) -> Path:
    """2x2 over/under confusion matrix (rows: actual, columns: predicted)."""
    fig = Figure(figsize=(4, 4))
    ax = fig.subplots()
    ax.imshow(matrix, cmap="Blues")
    labels = ["under", "over"]
    ax.set_xticks([0, 1], labels)
    ax.set_yticks([0, 1], labels)
    ax.set_xlabel("predicted side")
    ax.set_ylabel("actual side")
    for i in range(2):
        for j in range(2):
            ax.text(j, i, str(int(matrix[i, j])), ha="center", va="center", color="black")
    ax.set_title("Over/under vs the line")
    return _save(fig, path, left=0.2, right=0.95, bottom=0.14)


def bankroll_plot(curves: dict[str, pd.Series], path: Path) -> Path:
    """Equity of each bankroll (flat and fractional Kelly) by betting day."""
    fig = Figure(figsize=(8, 4))
    ax = fig.subplots()
    for label, curve in curves.items():
        ax.plot(pd.to_datetime(curve.index), curve.to_numpy(), label=label)
    ax.set_ylabel("bankroll")
    ax.set_title("Bankroll over the backtest")
    ax.legend(loc="upper left")
    fig.autofmt_xdate()
    return _save(fig, path, left=0.1, right=0.97, bottom=0.2)


def roi_by_edge_plot(buckets: dict[str, float], counts: dict[str, int], path: Path) -> Path:
    """ROI per edge bucket with the number of bets above each bar."""
    labels = list(buckets)
    values = [buckets[k] if np.isfinite(buckets[k]) else 0.0 for k in labels]
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    bars = ax.bar(labels, values, color=["#c53030" if v < 0 else "#2f855a" for v in values])
    for bar, label in zip(bars, labels, strict=True):
        ax.annotate(
            f"n={counts.get(label, 0)}",
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
        )
    ax.axhline(0.0, color="black", linewidth=1)
    ax.set_ylabel("ROI (flat stakes)")
    ax.set_title("ROI by edge at the price taken")
    return _save(fig, path, left=0.14)


def psi_plot(psi: dict[str, float], path: Path, title: str) -> Path:
    """PSI of each monitored series against the training window, with the 0.1 (moderate) and
    0.25 (major) lines; bars coloured by band."""
    names, values = list(psi), list(psi.values())
    fig = Figure(figsize=(7, 3.5))
    ax = fig.subplots()
    colours = ["#c53030" if v >= 0.25 else "#d69e2e" if v >= 0.1 else "#2f855a" for v in values]
    ax.barh(names, values, color=colours)
    ax.axvline(0.1, color="grey", linestyle="--", linewidth=1)
    ax.axvline(0.25, color="black", linestyle="--", linewidth=1)
    ax.set_xlabel("PSI against the training window")
    ax.set_title(title)
    longest = max((len(name) for name in names), default=1)
    return _save(fig, path, left=min(0.45, (0.25 + 0.085 * longest) / 7), bottom=0.16, top=0.9)
