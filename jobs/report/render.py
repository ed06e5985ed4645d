"""Render a `WeeklyReport` into an email: subject, plain text, HTML with cid: images, PNGs.

Both bodies come from Jinja templates in the `templates` package and share one set of number
formatters, so the text alternative shows exactly the same figures as the HTML.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from jinja2 import Environment, PackageLoader, StrictUndefined

from jobs.report.charts import (
    bankroll_chart,
    calibration_chart,
    expected_calibration_error,
    val_mae_chart,
)
from jobs.report.model import Change, WeeklyReport
from jobs.report.trend.charts import render_trend_charts, trend_series, week_label

DASH = "—"
HTML_TEMPLATE = "report.html.j2"
TEXT_TEMPLATE = "report.txt.j2"


@dataclass(frozen=True)
class RenderedReport:
    """An email-ready report: `html_cid` refers to `images` by Content-ID (cid:<key>)."""

    week: str
    subject: str
    text: str
    html_cid: str
    images: Mapping[str, bytes] = field(default_factory=dict)


def subject_for(week: str) -> str:
    """The email subject; it names the week so reports thread and sort sensibly."""
    return f"nbaprops weekly report {week}"


def fmt_num(value: float | None, digits: int = 3) -> str:
    """A plain number with fixed decimals, or a dash when missing."""
    return DASH if value is None else f"{value:.{digits}f}"


def fmt_pct(value: float | None, digits: int = 1, signed: bool = True) -> str:
    """A fraction shown as a percentage (0.052 -> +5.2%), or a dash when missing."""
    if value is None:
        return DASH
    return f"{value * 100:+.{digits}f}%" if signed else f"{value * 100:.{digits}f}%"


def fmt_count(value: float | None) -> str:
    """An integer with thousands separators, or a dash when missing."""
    return DASH if value is None else f"{round(value):,}"


def fmt_seconds(value: float | None) -> str:
    """A duration: '42.1 s' under two minutes, else '3 min 12 s'."""
    if value is None:
        return DASH
    if value < 120:
        return f"{value:.1f} s"
    minutes, seconds = divmod(round(value), 60)
    return f"{minutes} min {seconds:02d} s"


def fmt_when(value: dt.datetime | dt.date | None) -> str:
    """A timestamp to the minute (with UTC offset name when known), or a date as ISO."""
    if value is None:
        return DASH
    if isinstance(value, dt.datetime):
        zone = value.tzname()
        return value.strftime("%Y-%m-%d %H:%M") + (f" {zone}" if zone else "")
    return value.isoformat()


def fmt_change_value(change: Change, value: float | None) -> str:
    """One side of a week-on-week change, printed according to the change's kind."""
    if change.kind == "percent":
        return fmt_pct(value, signed=False)
    if change.kind == "count":
        return fmt_count(value)
    if change.kind == "seconds":
        return fmt_seconds(value)
    return fmt_num(value)


def fmt_delta(change: Change) -> str:
    """The signed change itself: percentage points for ratios, the unit otherwise."""
    delta = change.delta
    if delta is None:
        return DASH
    if change.kind == "percent":
        return f"{delta * 100:+.1f} pp"
    if change.kind == "count":
        return f"{round(delta):+,}"
    if change.kind == "seconds":
        return f"{delta:+.1f} s"
    return f"{delta:+.3f}"


def arrow(change: Change) -> str:
    """▲ for up, ▼ for down, = for flat, a dash when one week is missing."""
    delta = change.delta
    if delta is None:
        return DASH
    return "▲" if delta > 0 else "▼" if delta < 0 else "="


def verdict_word(change: Change) -> str:
    """'better', 'worse' or '' for the text body, where colour is not available."""
    if change.better is None:
        return ""
    return "better" if change.better else "worse"


def change_tail(change: Change) -> str:
    """'  ▼ -0.054 better' for the text body: arrow, delta and verdict, or '' without a delta."""
    if change.delta is None:
        return ""
    word = verdict_word(change)
    return f"  {arrow(change)} {fmt_delta(change)}" + (f" {word}" if word else "")


@functools.cache
def template_environment() -> Environment:
    """Templates load from the installed `templates` package; HTML is autoescaped, text is not."""
    env = Environment(
        loader=PackageLoader("templates", "."),
        autoescape=lambda name: name is not None and ".html" in name,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        num=fmt_num,
        pct=fmt_pct,
        count=fmt_count,
        seconds=fmt_seconds,
        when=fmt_when,
        change_value=fmt_change_value,
        delta=fmt_delta,
        arrow=arrow,
        verdict_word=verdict_word,
        change_tail=change_tail,
        week_label=week_label,
    )
    return env


def _content_id(key: str, week: str, png: bytes) -> str:
    """A Content-ID unique to this chart image: name, week and a digest of its bytes."""
    return f"{key}.{week}.{hashlib.sha256(png).hexdigest()[:12]}@nbaprops"


def render_charts(report: WeeklyReport) -> dict[str, bytes]:
    """The report's charts that have data: the season trend's ('trend_*', 'live_bankroll'),
    then the week's 'val_mae', 'bankroll' (latest backtest) and 'calibration'."""
    production_mae = report.production.val_mae if report.production else None
    drawn = {
        **render_trend_charts(report.trend),
        "val_mae": val_mae_chart(
            report.val_mae_over_time, production_mae, (report.start, report.end)
        ),
        "bankroll": bankroll_chart(report.bankroll),
        "calibration": calibration_chart(report.calibration),
    }
    return {key: png for key, png in drawn.items() if png is not None}


def trend_context(report: WeeklyReport) -> dict[str, object]:
    """What the trend part of both templates reads: the weeks and the charts' series."""
    weeks = report.trend.weeks if report.trend else ()
    return {"weeks": weeks, "trend_charts": trend_series(weeks) if weeks else ()}


def render_report(report: WeeklyReport, season_page: str | None = None) -> RenderedReport:
    """Render the subject, text body, HTML body (images as cid:) and chart PNGs of a report;
    `season_page` is where the season page is written, linked from both bodies."""
    charts = render_charts(report)
    cids = {key: _content_id(key, report.week, png) for key, png in charts.items()}
    env = template_environment()
    context = {
        **trend_context(report),
        "season_page": season_page,
        "r": report,
        "subject": subject_for(report.week),
        "cids": cids,
        "ece": expected_calibration_error(report.calibration),
        "phases": [row.phase for row in report.best_by_phase],
    }
    return RenderedReport(
        week=report.week,
        subject=subject_for(report.week),
        text=env.get_template(TEXT_TEMPLATE).render(context),
        html_cid=env.get_template(HTML_TEMPLATE).render(context),
        images={cids[key]: png for key, png in charts.items()},
    )


def html_with_data_uris(rendered: RenderedReport) -> str:
    """The HTML body with each cid: image inlined as a data: URI, for a standalone .html file."""
    html = rendered.html_cid
    for cid, png in rendered.images.items():
        uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        html = html.replace(f'src="cid:{cid}"', f'src="{uri}"')
    return html
