"""PNG charts for the weekly report, drawn with matplotlib's Agg canvas.

Figures are built directly on `FigureCanvasAgg` rather than through pyplot, so no global
backend or state is touched and charts can be drawn from any thread. A chart with no data
returns None: the report then says "no data this week" in words instead of an empty picture.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
from matplotlib.figure import Figure

from jobs.report.model import CalibrationBin

INK = "#1f2933"
MUTED = "#7b8794"
ACCENT = "#2563eb"
GOOD = "#15803d"
BAD = "#b91c1c"
FIGSIZE = (6.4, 2.6)
DPI = 150


def new_axes(title: str, height: float = FIGSIZE[1]) -> tuple[Figure, Axes]:
    """A figure of the report's standard width on its own Agg canvas, with house styling."""
    fig = Figure(figsize=(FIGSIZE[0], height), dpi=DPI)
    # fixed margins in inches (room for 8 pt tick labels and the 10 pt title) instead of the
    # constrained layout, which measured every text once more: about half of a chart's cost
    fig.subplots_adjust(left=0.7 / FIGSIZE[0], right=1 - 0.15 / FIGSIZE[0],
                        bottom=0.42 / height, top=1 - 0.32 / height)  # fmt: skip
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_title(title, loc="left", fontsize=10, color=INK)
    ax.tick_params(labelsize=8, colors=MUTED)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#cbd2d9")
    ax.grid(True, color="#e4e7eb", linewidth=0.6)
    ax.set_axisbelow(True)
    return fig, ax


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes, without the software/date metadata so output is reproducible."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", facecolor="white", metadata={"Software": None})
    return buffer.getvalue()


def date_axis(ax: Axes, xs: Sequence[float]) -> None:
    """Concise date ticks over padded limits: a single point (or a single day) gets a few days
    either side instead of matplotlib's singular fallback, which spans years and warns."""
    low, high = min(xs), max(xs)
    pad = max((high - low) * 0.04, 0.5 if high > low else 2.0)
    ax.set_xlim(low - pad, high + pad)
    locator = AutoDateLocator(minticks=3, maxticks=7)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.xaxis.get_offset_text().set_fontsize(8)
    ax.xaxis.get_offset_text().set_color(MUTED)


def val_mae_chart(
    points: Sequence[tuple[dt.datetime, float]],
    production_mae: float | None = None,
    span: tuple[dt.date, dt.date] | None = None,
) -> bytes | None:
    """Validation MAE of each run over time, with the Production model's MAE as a reference."""
    if not points:
        return None
    ordered = sorted(points)
    fig, ax = new_axes("Validation MAE of runs (lower is better)")
    ax.plot(
        date2num([p[0] for p in ordered]),
        [p[1] for p in ordered],
        marker="o",
        markersize=3.5,
        linewidth=1.2,
        color=ACCENT,
        label="run val MAE",
    )
    if production_mae is not None:
        ax.axhline(production_mae, color=GOOD, linestyle="--", linewidth=1, label="Production")
        ax.legend(fontsize=7, frameon=False, loc="upper right")
    ax.set_ylabel("MAE", fontsize=8, color=MUTED)
    # With `span` (the report's week) the axis runs Monday to Monday whatever the runs' times.
    edges = [dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC) for day in span or ()]
    date_axis(ax, date2num([*(p[0] for p in ordered), *edges]))
    return png_bytes(fig)


def bankroll_chart(
    points: Sequence[tuple[dt.date, float]], title: str = "Bankroll of the Production model"
) -> bytes | None:
    """The Production model's bankroll by day, shaded green above its start and red below."""
    if not points:
        return None
    ordered = sorted(points)
    days = date2num([p[0] for p in ordered])
    values = [p[1] for p in ordered]
    start = values[0]
    fig, ax = new_axes(title)
    ax.plot(days, values, color=INK, linewidth=1.3, marker="o" if len(days) < 15 else None, ms=3)
    ax.axhline(start, color=MUTED, linewidth=0.8, linestyle=":")
    above = [v >= start for v in values]
    ax.fill_between(days, values, start, where=above, interpolate=True, color=GOOD, alpha=0.15)
    below = [v <= start for v in values]
    ax.fill_between(days, values, start, where=below, interpolate=True, color=BAD, alpha=0.15)
    ax.set_ylabel("units", fontsize=8, color=MUTED)
    date_axis(ax, days)
    return png_bytes(fig)


def expected_calibration_error(bins: Sequence[CalibrationBin]) -> float | None:
    """ECE of a reliability diagram: sum of (n_b / N) |mean p_b - mean y_b| over its bins."""
    total = sum(b.count for b in bins)
    if total == 0:
        return None
    return sum(b.count / total * abs(b.mean_p - b.mean_y) for b in bins)


def calibration_chart(
    bins: Sequence[CalibrationBin], what: str = "Calibration of P(over)"
) -> bytes | None:
    """Reliability diagram: observed over rate against predicted P(over), dots sized by bets."""
    used = [b for b in bins if b.count > 0]
    if not used:
        return None
    ece = expected_calibration_error(used)
    total = sum(b.count for b in used)
    fig, ax = new_axes(f"{what}: ECE {ece:.3f} over {total:,} bets", 3.2)
    low = min(0.3, *(min(b.mean_p, b.mean_y) for b in used)) - 0.02
    high = max(0.7, *(max(b.mean_p, b.mean_y) for b in used)) + 0.02
    ax.plot([low, high], [low, high], color=MUTED, linestyle="--", linewidth=0.8)
    biggest = max(b.count for b in used)
    ax.plot([b.mean_p for b in used], [b.mean_y for b in used], color=ACCENT, linewidth=1)
    ax.scatter(
        [b.mean_p for b in used],
        [b.mean_y for b in used],
        s=[12 + 90 * b.count / biggest for b in used],
        color=ACCENT,
        alpha=0.8,
        zorder=3,
    )
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_xlabel("predicted P(over)", fontsize=8, color=MUTED)
    ax.set_ylabel("observed over rate", fontsize=8, color=MUTED)
    return png_bytes(fig)
