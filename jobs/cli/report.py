"""`nbaprops report`: collect the weekly report, write it as HTML, email it, flush the outbox.

Exit codes: 0 done, 1 the email is still waiting in the outbox (or the outbox is busy),
2 bad input (an unknown week, conflicting options).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from jobs.cli.console import fail, print_json, status
from jobs.report.model import ReportWeekError, iso_week_bounds
from jobs.report.outbox import FlushResult, OutboxBusyError
from jobs.report.publish import (
    build_report,
    default_week,
    deliver_report,
    publish_season_page,
    report_as_dict,
    retry_outbox,
    season_last_week,
    write_html,
)
from jobs.report.render import render_report
from nbaprops.settings import Settings


def _flush_summary(result: FlushResult) -> dict[str, object]:
    return {
        "sent": [p.name for p in result.sent],
        "rejected": [p.name for p in result.rejected],
        "failed": None if result.failed is None else result.failed.name,
        "error": result.error,
        "waiting": [p.name for p in result.remaining],
        "resent_after_crash": [p.name for p in result.resent_after_crash],
    }


def _flush(settings: Settings, as_json: bool, attempts: int, backoff: float) -> None:
    """Resend what waits in the outbox, oldest first; exit 1 if anything is still waiting."""
    try:
        result = retry_outbox(settings, attempts=attempts, backoff_seconds=backoff)
    except OutboxBusyError as exc:
        fail(str(exc), code=1)
        return
    if as_json:
        print_json(_flush_summary(result))
    else:
        click.echo(
            f"outbox {settings.outbox_dir}: sent {len(result.sent)}, rejected "
            f"{len(result.rejected)}, waiting {len(result.remaining)}"
        )
        if result.error:
            click.echo(f"  last error: {result.error}", err=True)
    if not result.ok:
        raise SystemExit(1)


def _season(
    settings: Settings, week: str | None, now: dt.datetime, out: Path | None, as_json: bool
) -> None:
    """Write the season page (to --out when given) and print where it is."""
    last_week = season_last_week(settings, week, now)
    with status(f"collecting the season up to {last_week}", quiet=as_json):
        path = publish_season_page(settings, last_week, now)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
        path = out
    if as_json:
        print_json({"season_path": str(path), "last_week": last_week})
    else:
        click.echo(f"wrote the season page up to {last_week} to {path}")


@click.command("report")
@click.option("--week", default=None, help="ISO week such as 2025-W03 (default: last week).")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write the report as one self-contained HTML file.",
)
@click.option("--send", is_flag=True, help="Email the report (queued in the outbox first).")
@click.option("--flush-outbox", is_flag=True, help="Only resend the reports waiting.")
@click.option(
    "--season",
    is_flag=True,
    help="Write the season page (trend, registry history, audit trail) and print its path; "
    "the season of --week, else of the newest run.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the collected report as JSON.")
@click.option(
    "--attempts", type=click.IntRange(min=1), default=3, show_default=True, help="SMTP tries."
)
@click.option(
    "--backoff",
    type=click.FloatRange(min=0.0),
    default=2.0,
    show_default=True,
    help="Seconds before the 2nd try (doubling).",
)
@click.pass_obj
def report_command(
    settings: Settings,
    week: str | None,
    out: Path | None,
    send: bool,
    flush_outbox: bool,
    season: bool,
    as_json: bool,
    attempts: int,
    backoff: float,
) -> None:
    """Build the weekly report; without --out, --send or --json, print its text version."""
    if flush_outbox:
        if send or out or week:
            fail("--flush-outbox resends what is waiting; run it without --week, --out, --send")
        _flush(settings, as_json, attempts, backoff)
        return
    now = dt.datetime.now(dt.UTC)
    try:
        if week:
            iso_week_bounds(week)
    except ReportWeekError as exc:
        fail(str(exc))
        return
    if season:
        if send or flush_outbox:
            fail("--season writes the season page; run it without --send or --flush-outbox")
        _season(settings, week, now, out, as_json)
        return
    chosen = week or default_week(now)
    with status(f"collecting report {chosen}", quiet=as_json):
        report = build_report(settings, chosen, now)
    payload = report_as_dict(report)
    rendered = None
    season_page = None
    if send:
        with status("writing the season page", quiet=as_json):
            season_page = str(publish_season_page(settings, chosen, now, report))
        payload["season_path"] = season_page
    if out or send or not as_json:
        with status("rendering", quiet=as_json):
            rendered = render_report(report, season_page=season_page)
    if rendered is not None and out is not None:
        write_html(rendered, out)
        payload["out"] = str(out)
        if not as_json:
            click.echo(f"wrote report {chosen} to {out}")
    mail = None
    if rendered is not None and send:
        with status("sending", quiet=as_json):
            mail = deliver_report(
                settings, rendered, now, attempts=attempts, backoff_seconds=backoff
            )
        payload["delivery"] = {
            "message_id": mail.message_id,
            "delivered": mail.delivered,
            "queued": None if mail.queued is None else str(mail.queued),
            "error": mail.error,
        }
        if not as_json:
            if mail.delivered:
                click.echo(f"sent report {chosen} as {mail.message_id}")
            else:
                where = f"; it waits in {mail.queued}" if mail.queued else ""
                click.echo(f"report {chosen} not sent: {mail.error}{where}", err=True)
    if as_json:
        print_json(payload)
    elif rendered is not None and not (out or send):
        click.echo(rendered.text, nl=False)
    if mail is not None and not mail.delivered:
        raise SystemExit(1)
