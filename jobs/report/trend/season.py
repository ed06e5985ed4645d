"""The season page: the trend's charts over a whole season (or replay), the registry's history
and the audit trail, as one self-contained HTML file (charts inlined as data: URIs).

The weekly email links to it, so the email stays short while the whole story stays one click
away. Reads are bounded like the weekly report's: the season window's versions (paged), the
model's aliases, the season's audit entries, and the trend (see trend.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from governance.audit import AuditEntry, AuditTrail
from jobs.report.model import week_of
from jobs.report.queries import (
    WeekWindow,
    from_ms,
    project_experiments,
    registered_ms,
    versions_registered_between,
)
from jobs.report.render import RenderedReport, html_with_data_uris, template_environment
from jobs.report.trend.charts import render_trend_charts, trend_series
from jobs.report.trend.collect import collect_trend
from jobs.report.trend.model import SeasonTrend, season_of_week, season_start

SEASON_TEMPLATE = "season.html.j2"
_NOT_FOUND = frozenset({"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"})


@dataclass(frozen=True)
class VersionRow:
    """One registered version: where it stands now and which aliases point at it."""

    version: str
    semver: str | None
    lifecycle: str
    aliases: tuple[str, ...]
    registered_at: dt.datetime
    run_id: str


@dataclass(frozen=True)
class SeasonPage:
    """Everything the season page shows for registered model `model_name`."""

    season: str
    model_name: str
    last_week: str
    generated_at: dt.datetime
    trend: SeasonTrend
    versions: tuple[VersionRow, ...] = ()
    audit: tuple[AuditEntry, ...] = ()
    audit_available: bool = True


def season_page_path(home: Path, season: str) -> Path:
    """Where the season page of `season` is written: <home>/reports/season-<season>.html."""
    return home / "reports" / f"season-{season}.html"


def _aliases(client: MlflowClient, name: str) -> dict[str, list[str]]:
    """Version number -> aliases of the model, empty when the model is not registered."""
    try:
        model = client.get_registered_model(name)
    except MlflowException as exc:
        if exc.error_code in _NOT_FOUND:
            return {}
        raise
    by_version: dict[str, list[str]] = {}
    for alias, version in (model.aliases or {}).items():
        by_version.setdefault(str(version), []).append(alias)
    return by_version


def registry_history(client: MlflowClient, name: str, window: WeekWindow) -> tuple[VersionRow, ...]:
    """The versions registered in the window, oldest first, with their lifecycle and aliases."""
    aliases = _aliases(client, name)
    rows = []
    for v in versions_registered_between(client, name, window.start_ms, window.end_ms):
        tags = v.tags or {}
        rows.append(
            VersionRow(
                str(v.version),
                tags.get("semver"),
                tags.get("lifecycle", "none"),
                tuple(sorted(aliases.get(str(v.version), []))),
                from_ms(registered_ms(v)),
                v.run_id or "",
            )
        )
    return tuple(rows)


def audit_in(audit: AuditTrail, name: str, window: WeekWindow) -> tuple[AuditEntry, ...]:
    """Every audit entry of the model stamped inside the window, oldest first."""
    return tuple(
        e for e in audit.since(window.start_at) if e.model_name == name and window.contains(e.at)
    )


def collect_season_page(
    client: MlflowClient,
    audit: AuditTrail | None,
    engine: sa.Engine | None,
    model_name: str,
    last_week: str,
    now: dt.datetime,
    trend: SeasonTrend | None = None,
) -> SeasonPage:
    """The season page of the season `last_week` falls in, up to the end of `last_week`;
    `trend` is reused when the weekly report already collected it."""
    season = season_of_week(last_week)
    window = WeekWindow(season, season_start(season), WeekWindow.of(last_week).end)
    if trend is None:
        experiments = project_experiments(client)
        trend = collect_trend(client, audit, engine, model_name, experiments, season, last_week)
    return SeasonPage(
        season=season,
        model_name=model_name,
        last_week=last_week,
        generated_at=now,
        trend=trend,
        versions=registry_history(client, model_name, window),
        audit=() if audit is None else audit_in(audit, model_name, window),
        audit_available=audit is not None,
    )


def render_season_page(page: SeasonPage) -> str:
    """The season page as one self-contained HTML document."""
    images = render_trend_charts(page.trend)
    cids = {key: f"{key}.{page.season}@nbaprops" for key in images}
    html = (
        template_environment()
        .get_template(SEASON_TEMPLATE)
        .render(
            page=page,
            weeks=page.trend.weeks,
            trend_charts=trend_series(page.trend.weeks),
            cids=cids,
        )
    )
    rendered = RenderedReport(
        page.season, "", "", html, {cids[k]: png for k, png in images.items()}
    )
    return html_with_data_uris(rendered)


def write_season_page(page: SeasonPage, home: Path) -> Path:
    """Render the page to <home>/reports/season-<season>.html and return the path."""
    path = season_page_path(home, page.season)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_season_page(page), encoding="utf-8")
    return path


def latest_week_with_runs(
    client: MlflowClient, experiment_ids: Sequence[str], before: dt.datetime
) -> str | None:
    """The ISO week of the newest run started before `before`, or None in an empty store."""
    if not experiment_ids:
        return None
    before_ms = int(before.timestamp() * 1000)
    runs = client.search_runs(
        list(experiment_ids),
        filter_string=f"attributes.start_time < {before_ms}",
        max_results=1,
        order_by=["attributes.start_time DESC"],
    )
    if not runs:
        return None
    return week_of(from_ms(runs[0].info.start_time))
