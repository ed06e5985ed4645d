"""PNG charts of the season's week-by-week trend, one point per ISO week (on its Monday).

`trend_series` is the single source of every plotted number: the charts draw it and the text
body and trend table print it, so the text alternative carries exactly the charts' numbers.
A series with no value in any week is not drawn; a chart with no series at all is None (the
report says so in words). Weeks are explicit ticks with concise date labels, and every point
has a marker, so one week is drawn as a point and a gap week as a gap.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.dates import date2num
from matplotlib.ticker import FixedFormatter, FixedLocator, MaxNLocator, PercentFormatter

from jobs.report.charts import (
    ACCENT,
    BAD,
    GOOD,
    INK,
    MUTED,
    bankroll_chart,
    calibration_chart,
    new_axes,
    png_bytes,
)
from jobs.report.trend.model import SeasonTrend, WeekPoint

MAX_WEEK_TICKS = 10


@dataclass(frozen=True)
class Series:
    """One plotted line or bar set: a label, a colour, values per week (None = gap)."""

    label: str
    values: tuple[float | None, ...]
    colour: str = ACCENT
    dashed: bool = False

    @property
    def drawn(self) -> int:
        """How many weeks have a value."""
        return sum(1 for v in self.values if v is not None)


@dataclass(frozen=True)
class TrendChart:
    """A chart's key, title, y unit ('number', 'percent' or 'count') and series."""

    key: str
    title: str
    unit: str
    series: tuple[Series, ...]


def trend_series(weeks: Sequence[WeekPoint]) -> tuple[TrendChart, ...]:
    """Every week-by-week chart of the trend, in the order the report shows them."""

    def col(name: str) -> tuple[float | None, ...]:
        return tuple(getattr(w, name) for w in weeks)

    return (
        TrendChart(
            "trend_val_mae",
            "Best validation MAE of the week's runs (lower is better)",
            "number",
            (Series("best val MAE", col("best_val_mae")),),
        ),
        TrendChart(
            "trend_wf_roi",
            "Walk-forward ROI, candidate and champion, with the lower 95% bound",
            "percent",
            (
                Series("candidate ROI", col("candidate_roi")),
                Series("candidate lower 95%", col("candidate_roi_lower"), dashed=True),
                Series("champion ROI", col("champion_roi"), GOOD),
                Series("champion lower 95%", col("champion_roi_lower"), GOOD, dashed=True),
            ),
        ),
        TrendChart(
            "trend_live_mae",
            "Production's live MAE (settled predictions)",
            "number",
            (Series("live MAE", col("live_mae"), INK),),
        ),
        TrendChart(
            "trend_live_roi",
            "Production's live ROI (flat bets at -110)",
            "percent",
            (Series("live ROI", col("live_roi"), INK),),
        ),
        TrendChart(
            "trend_bankroll",
            "Production's live bankroll at the end of the week (units, from 100)",
            "number",
            (Series("bankroll", col("bankroll_end"), INK),),
        ),
        TrendChart(
            "trend_calibration",
            "Calibration error (ECE) of live P(over) (lower is better)",
            "number",
            (Series("live ECE", col("live_ece"), BAD),),
        ),
        TrendChart(
            "trend_activity",
            "Experiments run and models registered",
            "count",
            (
                Series("runs", tuple(float(w.runs) for w in weeks)),
                Series("models registered", tuple(float(w.registered) for w in weeks), GOOD),
            ),
        ),
    )


def week_tick_labels(days: Sequence[dt.date]) -> list[str]:
    """'Dec 30' per tick, with the year under the first tick and wherever the year changes."""
    labels = []
    for i, day in enumerate(days):
        year = f"\n{day:%Y}" if i == 0 or day.year != days[i - 1].year else ""
        labels.append(f"{day:%b %d}{year}")
    return labels


def _week_axis(ax: Axes, weeks: Sequence[WeekPoint]) -> None:
    """One tick per week (thinned past MAX_WEEK_TICKS) on its Monday, 4 days of margin."""
    step = max(1, math.ceil(len(weeks) / MAX_WEEK_TICKS))
    ticked = [w.start for w in weeks][::step]
    xs = list(date2num(ticked))
    ax.xaxis.set_major_locator(FixedLocator(xs))
    ax.xaxis.set_major_formatter(FixedFormatter(week_tick_labels(ticked)))
    first, last = date2num([weeks[0].start, weeks[-1].start])
    ax.set_xlim(first - 4, last + 4)


def _lines(ax: Axes, xs: Sequence[float], series: Sequence[Series]) -> None:
    for s in series:
        ys = [math.nan if v is None else v for v in s.values]
        ax.plot(
            xs,
            ys,
            marker="v" if s.dashed else "o",
            markersize=3 if s.dashed else 4,
            linewidth=0.9 if s.dashed else 1.3,
            linestyle="--" if s.dashed else "-",
            color=s.colour,
            label=s.label,
        )


def _bars(ax: Axes, xs: Sequence[float], series: Sequence[Series]) -> None:
    width = 6.0 / len(series)
    for i, s in enumerate(series):
        offset = (i - (len(series) - 1) / 2) * width
        ax.bar([x + offset for x in xs], [v or 0 for v in s.values], width * 0.9, color=s.colour)
        ax.plot([], [], color=s.colour, linewidth=6, label=s.label)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    highest = max((v or 0 for s in series for v in s.values), default=0)
    ax.set_ylim(0, highest * 1.35 + 1)  # headroom for the legend above the bars


def trend_chart(chart: TrendChart, weeks: Sequence[WeekPoint]) -> bytes | None:
    """One trend chart as PNG, or None when none of its series has a value."""
    shown = [s for s in chart.series if s.drawn]
    if not weeks or not shown:
        return None
    xs = list(date2num([w.start for w in weeks]))
    fig, ax = new_axes(chart.title)
    if chart.unit == "count":
        _bars(ax, xs, shown)
    else:
        _lines(ax, xs, shown)
    if chart.unit == "percent":
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=1))
        ax.axhline(0.0, color=MUTED, linewidth=0.8, linestyle=":")
    if len(shown) > 1:
        low, high = ax.get_ylim()
        ax.set_ylim(low, high + (high - low) * 0.3)  # room for the legend above the lines
        ax.legend(fontsize=7, frameon=False, loc="upper left", ncols=len(shown))
    _week_axis(ax, weeks)
    return png_bytes(fig)


def render_trend_charts(trend: SeasonTrend | None) -> dict[str, bytes]:
    """Every trend chart that has data, plus the season's daily live bankroll and live
    reliability diagram, keyed by chart key."""
    if trend is None or not trend.weeks:
        return {}
    drawn = {c.key: trend_chart(c, trend.weeks) for c in trend_series(trend.weeks)}
    drawn["live_bankroll"] = bankroll_chart(trend.bankroll, "Production's live bankroll by day")
    drawn["live_calibration"] = calibration_chart(
        trend.calibration, "Live calibration, season so far"
    )
    return {key: png for key, png in drawn.items() if png is not None}


def week_label(day: dt.date) -> str:
    """'Jan 13' for the Monday a trend row starts on."""
    return day.strftime("%b %d")
