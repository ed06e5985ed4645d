"""The weekly report end to end, for the scheduler's jobs and the CLI: collect, render, deliver.

`send_weekly_report` is what the `weekly_report` job calls and `retry_outbox` what the
`outbox_retry` job calls; both take settings and time as values and return a small result.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from governance.audit import AuditTrail, audit_log
from jobs.report.collect import collect_weekly_report
from jobs.report.mailer import SmtpConfig, send_message
from jobs.report.model import WeeklyReport, previous_week, week_of
from jobs.report.outbox import FlushResult, Outbox, deliver
from jobs.report.queries import project_experiments
from jobs.report.render import RenderedReport, html_with_data_uris, render_report
from jobs.report.trend.season import (
    collect_season_page,
    latest_week_with_runs,
    write_season_page,
)
from nbaprops.settings import Settings
from nbaprops.statedb import state_engine
from nbaprops.tracking.setup import init_tracking

REPORTS_DIR = "reports"


def default_week(now: dt.datetime) -> str:
    """The ISO week before the one `now` falls in (UTC): the last complete week."""
    day = now.astimezone(dt.UTC).date() if now.tzinfo else now.date()
    return previous_week(week_of(day))


def open_audit(settings: Settings) -> AuditTrail | None:
    """The audit trail of the state database, or None when no governance step created it yet."""
    engine = state_engine(settings)
    if not sa.inspect(engine).has_table(audit_log.name):
        return None
    return AuditTrail(engine)


def build_report(
    settings: Settings,
    week: str,
    now: dt.datetime,
    registered_model: str | None = None,
) -> WeeklyReport:
    """Collect the week's report from the configured tracking store and state database."""
    client = init_tracking(settings)
    model = registered_model or settings.registered_model
    engine = state_engine(settings)
    return collect_weekly_report(client, open_audit(settings), week, now, model, engine)


def publish_season_page(
    settings: Settings,
    last_week: str,
    now: dt.datetime,
    report: WeeklyReport | None = None,
    registered_model: str | None = None,
) -> Path:
    """Write the season page of the season `last_week` falls in, up to that week, to
    <home>/reports/season-<season>.html; a weekly `report` of that week lends its trend."""
    client = init_tracking(settings)
    model = registered_model or settings.registered_model
    trend = report.trend if report is not None and report.week == last_week else None
    page = collect_season_page(
        client, open_audit(settings), state_engine(settings), model, last_week, now, trend
    )
    return write_season_page(page, settings.home)


def season_last_week(settings: Settings, week: str | None, now: dt.datetime) -> str:
    """The week a season page ends on: `week` when given, else the week of the newest run
    before `now` (a replay's season), else the last complete week."""
    if week:
        return week
    client = init_tracking(settings)
    found = latest_week_with_runs(client, project_experiments(client).phase_ids, now)
    return found or default_week(now)


def report_as_dict(report: WeeklyReport) -> dict[str, Any]:
    """The collected report as plain data for --json: every field, plus totals and deltas."""
    data = dataclasses.asdict(report)
    data["total_runs"] = report.total_runs
    data["drift_breaches"] = report.drift_breaches
    for change, row in zip(report.vs_last_week, data["vs_last_week"], strict=True):
        row["delta"] = change.delta
        row["better"] = change.better
    return data


def write_html(rendered: RenderedReport, path: Path) -> Path:
    """Write the report as one self-contained HTML file (charts as data: URIs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html_with_data_uris(rendered), encoding="utf-8")
    return path


@dataclass(frozen=True)
class MailOutcome:
    """The email's fate: `queued` is the outbox file (None when nothing was queued),
    `delivered` is True once the SMTP server accepted it, `error` says why it was not (a
    queued report stays in the outbox for the next flush)."""

    message_id: str | None
    delivered: bool
    queued: Path | None
    error: str | None = None


@dataclass(frozen=True)
class WeeklyReportOutcome:
    """What the weekly report job did: the week, its HTML copy, and the email's fate."""

    week: str
    html_path: Path
    mail: MailOutcome
    season_path: Path | None = None

    @property
    def delivered(self) -> bool:
        return self.mail.delivered

    @property
    def message_id(self) -> str | None:
        return self.mail.message_id

    @property
    def queued(self) -> Path | None:
        return self.mail.queued

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form for job history and --json output."""
        return {
            "week": self.week,
            "html_path": str(self.html_path),
            "season_path": None if self.season_path is None else str(self.season_path),
            "message_id": self.mail.message_id,
            "delivered": self.mail.delivered,
            "queued": None if self.mail.queued is None else str(self.mail.queued),
            "error": self.mail.error,
        }


def deliver_report(
    settings: Settings,
    rendered: RenderedReport,
    now: dt.datetime,
    *,
    attempts: int = 3,
    backoff_seconds: float = 2.0,
) -> MailOutcome:
    """Queue the rendered report in the outbox, then flush the outbox oldest first.

    Without recipients nothing is queued and the error says which setting to fill in.
    """
    cfg = SmtpConfig.from_settings(settings)
    if not cfg.recipients:
        return MailOutcome(
            None,
            False,
            None,
            "no recipients: set NBAPROPS_REPORT_RECIPIENTS to a comma-separated list of "
            "addresses to email the report",
        )
    result = deliver(
        rendered,
        cfg,
        Outbox(settings.outbox_dir),
        now,
        attempts=attempts,
        backoff_seconds=backoff_seconds,
    )
    error = None if result.delivered else (result.flush.error or "not sent yet")
    return MailOutcome(result.message_id, result.delivered, result.queued, error)


def send_weekly_report(
    settings: Settings,
    week: str | None,
    now: dt.datetime,
    *,
    registered_model: str | None = None,
    attempts: int = 3,
    backoff_seconds: float = 2.0,
) -> WeeklyReportOutcome:
    """Collect and render `week` (default: the last complete week before `now`), write the
    season page it links to and an HTML copy in <home>/reports/<week>.html, and email it
    through the outbox."""
    chosen = week or default_week(now)
    report = build_report(settings, chosen, now, registered_model)
    season = publish_season_page(settings, chosen, now, report, registered_model)
    rendered = render_report(report, season_page=str(season))
    html_path = write_html(rendered, settings.home / REPORTS_DIR / f"{chosen}.html")
    mail = deliver_report(
        settings, rendered, now, attempts=attempts, backoff_seconds=backoff_seconds
    )
    return WeeklyReportOutcome(chosen, html_path, mail, season)


def retry_outbox(
    settings: Settings, *, attempts: int = 3, backoff_seconds: float = 2.0
) -> FlushResult:
    """Resend the reports waiting in the outbox, oldest first (the outbox_retry job).

    Raises OutboxBusyError when another process is flushing the same outbox.
    """
    cfg = SmtpConfig.from_settings(settings)
    return Outbox(settings.outbox_dir).flush(
        partial(send_message, cfg=cfg), attempts=attempts, backoff_seconds=backoff_seconds
    )
