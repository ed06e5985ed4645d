"""`nbaprops data fetch [--since D] [--until D]`: new box scores, the slate and prop lines
from the configured sources (NBAPROPS_FETCH_SOURCES) into the data folder (NBAPROPS_DATA).

Refused credentials or a missing setting end with the variable to set and exit code 2.
"""

from __future__ import annotations

import datetime as dt
import json

import click

from nbaprops.data.fetch.http import FetchAuthError, FetchError
from nbaprops.data.fetch.run import fetch_days
from nbaprops.settings import Settings

BAD_INPUT_EXIT_CODE = 2
DEFAULT_DAYS_BACK = 1


def _day(text: str | None, default: dt.date, option: str) -> dt.date:
    """A YYYY-MM-DD option, or its default; exit 2 naming the option when unreadable."""
    if text is None:
        return default
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        click.echo(f"error: {option} {text!r} is not a date; use YYYY-MM-DD", err=True)
        raise SystemExit(BAD_INPUT_EXIT_CODE) from None


@click.command("fetch")
@click.option("--since", default=None, help="First day (YYYY-MM-DD); default yesterday.")
@click.option("--until", default=None, help="Last day (YYYY-MM-DD); default today.")
@click.option("--today", "today_text", default=None, hidden=True, help="The clock's today.")
@click.pass_context
def fetch_command(
    ctx: click.Context, since: str | None, until: str | None, today_text: str | None
) -> None:
    """Fetch box scores, the schedule and prop lines into the data folder (idempotent)."""
    settings = ctx.obj if isinstance(ctx.obj, Settings) else Settings()
    today = _day(today_text, dt.datetime.now(dt.UTC).date(), "--today")
    last = _day(until, today, "--until")
    first = _day(since, last - dt.timedelta(days=DEFAULT_DAYS_BACK), "--since")
    if first > last:
        click.echo(f"error: --since {first} is after --until {last}", err=True)
        raise SystemExit(BAD_INPUT_EXIT_CODE)
    try:
        summary = fetch_days(settings, first, last, today).summary
    except (FetchAuthError, FetchError) as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(BAD_INPUT_EXIT_CODE) from None
    click.echo(json.dumps(summary, sort_keys=True))
