"""Rendering of the weekly report: both bodies, charts, cid images and the standalone HTML."""

from __future__ import annotations

import base64
import datetime as dt
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from jobs.report.charts import (
    bankroll_chart,
    calibration_chart,
    expected_calibration_error,
    val_mae_chart,
)
from jobs.report.model import (
    CalibrationBin,
    Change,
    DecisionRow,
    ReportWeekError,
    WeeklyReport,
    iso_week_bounds,
    previous_week,
    week_of,
)
from jobs.report.render import (
    RenderedReport,
    change_tail,
    fmt_delta,
    fmt_seconds,
    html_with_data_uris,
    render_report,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
GENERATED_AT = dt.datetime(2025, 1, 27, 7, 0, tzinfo=dt.UTC)
CID_RE = re.compile(r'src="cid:([^"]+)"')

# Figures of the full report as both bodies must print them.
FIGURES = (
    "nbaprops-pts v7 (1.4.0)",
    "4.688",  # production / best val MAE
    "4.905",  # live MAE
    "+3.1%",  # live ROI
    "54.1%",  # live win rate
    "412",  # settled bets
    "+4.4%",  # best walk-forward ROI
    "xgb-tune-0017",
    "5.214",
    "-4.1%",
    "0.2468",  # ensemble Brier
    "0.318",  # PSI max of the breach
    "PSI of MIN_roll5 0.318 &gt; 0.25",
    "-0.054",  # change of best val MAE
    "+1.2 pp",
    "3 min 07 s",
    "ECE 0.071 above the 0.05 gate (1,240 bets)",
    "Tracking store answered in 0.3 s; 47 runs scanned.",
)


class _TagBalance(HTMLParser):
    """Counts open/close tags of the table layout to catch a broken template."""

    VOID = frozenset({"meta", "img", "br", "hr", "link", "input"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()


def test_full_report_prints_the_same_figures_in_text_and_html(rendered: RenderedReport) -> None:
    assert rendered.subject == "nbaprops weekly report 2025-W03"
    assert rendered.week == "2025-W03"
    for figure in FIGURES:
        assert figure in rendered.html_cid, figure
        assert figure.replace("&gt;", ">") in rendered.text, figure
    assert "2025-01-13 to 2025-01-19" in rendered.text
    assert "▼ -0.054 better" in rendered.text
    assert "▲ +16.4 s worse" in rendered.text


def test_every_cid_in_the_html_has_exactly_one_image(rendered: RenderedReport) -> None:
    referenced = CID_RE.findall(rendered.html_cid)
    assert len(referenced) == 3
    assert sorted(referenced) == sorted(rendered.images)
    for png in rendered.images.values():
        assert png.startswith(PNG_MAGIC)


def test_html_is_email_safe_and_well_formed(rendered: RenderedReport) -> None:
    html = rendered.html_cid
    lowered = html.lower()
    for forbidden in ("<script", "<link", "<style", "http://", "https://", "@import"):
        assert forbidden not in lowered, forbidden
    checker = _TagBalance()
    checker.feed(html)
    assert checker.errors == []
    assert checker.stack == []


def test_empty_report_renders_without_images() -> None:
    rendered = render_report(WeeklyReport.empty("2025-W04", GENERATED_AT))
    assert rendered.subject == "nbaprops weekly report 2025-W04"
    assert rendered.images == {}
    assert "cid:" not in rendered.html_cid
    for body in (rendered.text, rendered.html_cid):
        assert "No model in Production." in body
        assert "No runs were logged this week." in body
        assert "no data this week" in body
    assert "Runs: 0" in rendered.text


def test_user_text_is_escaped_in_html_but_not_in_text(report: WeeklyReport) -> None:
    hostile = DecisionRow(
        GENERATED_AT, "bob", "reject", None, None, None, "rejected", "<b>bad</b> & ugly"
    )
    without_charts = replace(report, val_mae_over_time=(), bankroll=(), calibration=())
    rendered = render_report(replace(without_charts, decisions=(hostile,)))
    assert "&lt;b&gt;bad&lt;/b&gt; &amp; ugly" in rendered.html_cid
    assert "<b>bad</b>" not in rendered.html_cid
    assert "<b>bad</b> & ugly" in rendered.text


def test_standalone_html_inlines_every_image(rendered: RenderedReport, tmp_path: Path) -> None:
    html = html_with_data_uris(rendered)
    assert "cid:" not in html
    uris = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert sorted(base64.b64decode(u) for u in uris) == sorted(rendered.images.values())
    out = tmp_path / "report.html"
    out.write_text(html, encoding="utf-8")
    assert out.read_text(encoding="utf-8") == html


def test_charts_skip_empty_data_and_are_reproducible(report: WeeklyReport) -> None:
    assert val_mae_chart(()) is None
    assert bankroll_chart(()) is None
    assert calibration_chart(()) is None
    assert calibration_chart((CalibrationBin(0.5, 0.5, 0),)) is None
    first = calibration_chart(report.calibration)
    assert first is not None and first.startswith(PNG_MAGIC)
    assert calibration_chart(report.calibration) == first


def test_expected_calibration_error_weights_bins_by_count() -> None:
    bins = (CalibrationBin(0.4, 0.5, 100), CalibrationBin(0.6, 0.6, 300))
    assert expected_calibration_error(bins) == pytest.approx(0.025)
    assert expected_calibration_error(()) is None


@pytest.mark.parametrize(
    ("change", "delta", "better", "tail"),
    [
        (Change("val MAE", 4.70, 4.80, higher_is_better=False), -0.1, True, "  ▼ -0.100 better"),
        (Change("val MAE", 4.90, 4.80, higher_is_better=False), 0.1, False, "  ▲ +0.100 worse"),
        (
            Change("ROI", 0.05, 0.02, higher_is_better=True, kind="percent"),
            0.03,
            True,
            "  ▲ +3.0 pp better",
        ),
        (Change("runs", 5, 5, kind="count"), 0, None, "  = +0"),
        (Change("runs", 7, 5, kind="count"), 2, None, "  ▲ +2"),
        (Change("ROI", None, 0.02, higher_is_better=True), None, None, ""),
    ],
)
def test_change_direction_and_wording(
    change: Change, delta: float | None, better: bool | None, tail: str
) -> None:
    assert change.delta == (None if delta is None else pytest.approx(delta))
    assert change.better is better
    assert change_tail(change) == tail


def test_delta_and_duration_formats() -> None:
    assert fmt_delta(Change("t", 130.0, 100.0, kind="seconds")) == "+30.0 s"
    assert fmt_seconds(42.06) == "42.1 s"
    assert fmt_seconds(187.4) == "3 min 07 s"
    assert fmt_seconds(None) == "—"


@pytest.mark.parametrize(
    ("week", "start"),
    [
        ("2025-W03", dt.date(2025, 1, 13)),
        ("2025-W01", dt.date(2024, 12, 30)),
        ("2020-W53", dt.date(2020, 12, 28)),
    ],
)
def test_iso_week_bounds_are_monday_to_next_monday(week: str, start: dt.date) -> None:
    assert iso_week_bounds(week) == (start, start + dt.timedelta(days=7))
    assert week_of(start) == week
    assert week_of(start + dt.timedelta(days=6)) == week


def test_week_helpers_cross_year_boundaries() -> None:
    assert week_of(dt.date(2027, 1, 1)) == "2026-W53"
    assert week_of(dt.datetime(2025, 1, 19, 23, 59)) == "2025-W03"
    assert previous_week("2025-W01") == "2024-W52"
    assert previous_week("2021-W01") == "2020-W53"


@pytest.mark.parametrize("bad", ["2025-3", "2025-W3", "W03-2025", "2021-W53", "2025-W00"])
def test_bad_week_labels_say_how_to_write_one(bad: str) -> None:
    with pytest.raises(ReportWeekError, match=r"2025-W03|weeks 01 to"):
        iso_week_bounds(bad)
