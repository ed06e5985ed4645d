"""The weekly report's season trend and the season page, on a real store of four logged weeks.

Checks what a reader sees: every chart is a real, non-blank PNG, at least four trend charts
carry at least three weekly points, no "no data" placeholder stands in for a week that had
data, the text body prints the charts' numbers, and rendering raises no library warning.
"""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import io
import json
import re
import shutil
import subprocess
import warnings
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image, ImageStat

from jobs.cli.report import report_command
from jobs.report.charts import val_mae_chart
from jobs.report.collect import collect_weekly_report
from jobs.report.model import WeeklyReport
from jobs.report.publish import send_weekly_report
from jobs.report.render import (
    RenderedReport,
    fmt_count,
    fmt_num,
    fmt_pct,
    html_with_data_uris,
    render_report,
)
from jobs.report.trend.charts import trend_chart, trend_series
from jobs.report.trend.model import WeekPoint
from jobs.report.trend.season import collect_season_page, write_season_page
from nbaprops.settings import Settings
from tests.support.ci import IN_CI
from tests.support.report_store import MODEL, WEEKS, SeasonStore, seed_season
from tests.support.smtp import SmtpServer
from tests.support.stores import global_tracking_uri

NOW = dt.datetime(2025, 1, 27, 7, 0, tzinfo=dt.UTC)
LAST = WEEKS[-1]
DATA_URI = re.compile(r'src="data:image/png;base64,([^"]+)"')


@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeasonStore]:
    home = tmp_path_factory.mktemp("season")
    with global_tracking_uri(f"sqlite:///{home / 'mlflow.db'}"):
        yield seed_season(home)


def _collect(season: SeasonStore, week: str = LAST) -> WeeklyReport:
    return collect_weekly_report(season.client, season.audit, week, NOW, MODEL, season.engine)


@pytest.fixture(scope="module")
def report(season: SeasonStore) -> WeeklyReport:
    return _collect(season)


@pytest.fixture(scope="module")
def rendered(report: WeeklyReport) -> RenderedReport:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return render_report(report, season_page="/tmp/season-2024-25.html")


def _assert_non_blank_png(png: bytes) -> None:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size[0] > 100 and image.size[1] > 100
    assert max(ImageStat.Stat(image).var) > 0, "a blank (single-colour) chart"


def test_trend_holds_what_each_week_logged(season: SeasonStore, report: WeeklyReport) -> None:
    assert report.trend is not None
    weeks = {w.week: w for w in report.trend.weeks}
    assert tuple(weeks) == WEEKS
    for week, point in weeks.items():
        assert point.runs == season.runs[week]
        assert point.registered == 1
        assert point.best_val_mae == pytest.approx(season.best_val_mae[week])
        roi, lower = season.candidate_roi[week]
        assert (point.candidate_roi, point.candidate_roi_lower) == (
            pytest.approx(roi),
            pytest.approx(lower),
        )
        assert point.live_settled == 7 * 24
        assert point.live_mae is not None and point.live_bets > 0
        assert point.live_ece is not None and point.bankroll_end is not None
    assert weeks[WEEKS[0]].champion_roi is None  # v1 was promoted after its own backtest
    production = report.production
    assert production is not None and production.version == "3"
    # The drift run's live MAE stands; the ROI it did not log comes from the live predictions.
    assert production.live_mae == pytest.approx(4.91)
    assert production.live_roi == pytest.approx(weeks[LAST].live_roi)
    assert production.live_win_rate == pytest.approx(weeks[LAST].live_win_rate)
    assert production.live_win_rate is not None and 0.0 < production.live_win_rate < 1.0
    for week, (roi, lower) in season.champion_roi.items():
        assert (weeks[week].champion_roi, weeks[week].champion_roi_lower) == (
            pytest.approx(roi),
            pytest.approx(lower),
        )


def test_at_least_four_charts_with_three_weekly_points(report: WeeklyReport) -> None:
    assert report.trend is not None
    charts = trend_series(report.trend.weeks)
    points = {c.key: max(s.drawn for s in c.series) for c in charts}
    assert sum(1 for n in points.values() if n >= 3) >= 4, points
    assert points == {
        "trend_val_mae": 4,
        "trend_wf_roi": 4,
        "trend_live_mae": 4,
        "trend_live_roi": 4,
        "trend_bankroll": 4,
        "trend_calibration": 4,
        "trend_activity": 4,
    }


def test_every_embedded_chart_is_a_non_blank_png(rendered: RenderedReport) -> None:
    referenced = re.findall(r'src="cid:([^"]+)"', rendered.html_cid)
    assert sorted(referenced) == sorted(rendered.images)
    # 7 trend charts, the season's live bankroll and reliability, and the week's 3 charts.
    assert len(rendered.images) == 12
    for png in rendered.images.values():
        _assert_non_blank_png(png)


def test_no_placeholder_for_a_week_with_data(rendered: RenderedReport) -> None:
    for body in (rendered.html_cid, rendered.text):
        assert "no data" not in body.lower()
        assert "nothing measured" not in body.lower()
        assert "/tmp/season-2024-25.html" in body


def test_text_body_prints_the_charts_numbers(
    report: WeeklyReport, rendered: RenderedReport
) -> None:
    assert report.trend is not None
    rows = {line.split()[0]: line for line in rendered.text.splitlines() if line[2:8] == "2025-W"}
    assert set(rows) == set(WEEKS)
    for w in report.trend.weeks:
        row = rows[w.week]
        expected = [
            fmt_count(w.runs),
            fmt_count(w.registered),
            fmt_num(w.best_val_mae),
            fmt_pct(w.candidate_roi),
            fmt_pct(w.candidate_roi_lower),
            fmt_num(w.live_mae),
            fmt_pct(w.live_roi),
            fmt_count(w.live_bets),
            fmt_num(w.bankroll_end, 1),
            fmt_num(w.live_ece),
        ]
        if w.champion_roi is not None:
            expected += [fmt_pct(w.champion_roi), fmt_pct(w.champion_roi_lower)]
        for figure in expected:
            assert figure in row, (w.week, figure, row)
        assert f" {w.runs} " in row and f"{w.runs}.0" not in row  # counts print as integers


def test_a_quiet_week_still_shows_production_and_the_trend(season: SeasonStore) -> None:
    quiet = _collect(season, "2025-W05")
    assert quiet.total_runs == 0
    assert quiet.production is not None and quiet.production.version == "3"
    assert quiet.trend is not None
    assert [w.week for w in quiet.trend.weeks] == [*WEEKS, "2025-W05"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rendered = render_report(quiet)
    trend_images = [k for k in rendered.images if k.startswith("trend_")]
    assert len(trend_images) == 7
    assert "nbaprops-season-test v3" in rendered.text
    assert "No runs were logged this week." in rendered.text


def test_one_point_is_drawn_as_a_point_on_a_short_axis() -> None:
    one = (WeekPoint("2025-W03", dt.date(2025, 1, 13), runs=2, best_val_mae=4.7),)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        charts = {c.key: trend_chart(c, one) for c in trend_series(one)}
        single = val_mae_chart(((dt.datetime(2025, 1, 13, 6, tzinfo=dt.UTC), 4.7),))
    assert charts["trend_val_mae"] is not None and charts["trend_activity"] is not None
    assert charts["trend_live_mae"] is None  # nothing to draw: said in words, not an empty axis
    assert single is not None
    for png in (charts["trend_val_mae"], charts["trend_activity"], single):
        assert png is not None
        _assert_non_blank_png(png)


def _invoke(season: SeasonStore, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        report_command, list(args), obj=season.settings, catch_exceptions=False
    )
    return result.exit_code, result.output


def test_season_option_writes_a_self_contained_page(season: SeasonStore) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", category=UserWarning)
        code, output = _invoke(season, "--season")
    assert code == 0, output
    path = Path(output.strip().rsplit(" to ", 1)[1])
    assert path == season.settings.home / "reports" / "season-2024-25.html"
    assert f"up to {LAST}" in output
    html = path.read_text(encoding="utf-8")
    assert "cid:" not in html and "<script" not in html.lower()
    images = DATA_URI.findall(html)
    assert len(images) == 9  # 7 trend charts, the live bankroll and reliability
    for encoded in images:
        _assert_non_blank_png(base64.b64decode(encoded))
    for version in ("v1", "v2", "v3", "v4"):
        assert f">{version}<" in html
    assert ">production<" in html and ">staging<" in html  # aliases
    assert html.count("staging &rarr; production") == 2  # the two promotions
    assert "v3 beat v1" in html
    assert "no data" not in html.lower()


def test_weekly_email_links_to_the_season_page(
    season: SeasonStore, smtp_server: SmtpServer
) -> None:
    settings = season.settings.model_copy(update={"smtp_port": smtp_server.port})
    with warnings.catch_warnings():
        warnings.simplefilter("error", category=UserWarning)
        outcome = send_weekly_report(settings, None, NOW, attempts=1)
    assert outcome.week == LAST and outcome.delivered
    assert outcome.season_path == settings.home / "reports" / "season-2024-25.html"
    assert outcome.season_path.is_file()
    content = smtp_server.received[0].content
    assert isinstance(content, bytes)
    message = email.message_from_bytes(content, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    text = next(iter(message.iter_parts())).get_content()
    assert str(outcome.season_path) in text
    assert f"file://{outcome.season_path}" in outcome.html_path.read_text(encoding="utf-8")
    assert "SEASON TREND, WEEK BY WEEK (2024-25)" in text


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.parametrize("page", ["weekly", "season"])
def test_headless_chromium_renders_a_non_blank_page(
    page: str, season: SeasonStore, rendered: RenderedReport, tmp_path: Path
) -> None:
    browser = _chromium()
    if browser is None:
        if IN_CI:
            pytest.fail("chromium is not on PATH; CI must install it (Debian package chromium)")
        pytest.skip("chromium is not on PATH (required when NBAPROPS_CI=1)")
    if page == "weekly":
        html = tmp_path / "weekly.html"
        html.write_text(html_with_data_uris(rendered), encoding="utf-8")
    else:
        last = _collect(season).trend
        collected = collect_season_page(
            season.client, season.audit, season.engine, MODEL, LAST, NOW, last
        )
        html = write_season_page(collected, tmp_path)
    shot = tmp_path / "out.png"
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--screenshot={shot}",
            "--window-size=1200,3000",
            html.resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    image = Image.open(shot).convert("RGB")
    assert image.size == (1200, 3000)
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is None or len(colours) > 50, "the screenshot is (nearly) a single colour"
    _assert_non_blank_png(shot.read_bytes())


def test_json_prints_counts_as_integers(season: SeasonStore) -> None:
    code, output = _invoke(season, "--week", LAST, "--json")
    assert code == 0, output
    data = json.loads(output)
    weeks = data["trend"]["weeks"]
    assert [w["week"] for w in weeks] == list(WEEKS)
    for w in weeks:
        for key in ("runs", "registered", "live_settled", "live_bets"):
            assert isinstance(w[key], int), (key, w[key])
    assert isinstance(data["production"]["live_settled_count"], int)


def test_season_page_of_an_empty_store_says_so(tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path,
        tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
        _env_file=None,  # type: ignore[call-arg]
    )
    result = CliRunner().invoke(
        report_command,
        ["--season", "--week", LAST, "--json"],
        obj=settings,
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    path = Path(json.loads(result.stdout)["season_path"])
    html = path.read_text(encoding="utf-8")
    assert "nothing measured this season yet" in html
    assert "No version of" in html
    for encoded in DATA_URI.findall(html):
        _assert_non_blank_png(base64.b64decode(encoded))
