"""`nbaprops simulate`: replay the self-running loop over a stretch of the season."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import click

from jobs.cli.console import fail
from nbaprops.settings import Settings


def _short(name: str, job: dict[str, Any]) -> str:
    """A few words on what one job did that day."""
    summary = job.get("summary") or {}
    if job["status"] not in ("succeeded", "skipped"):
        return f"{name} {job['status'].upper()}: {job.get('error', '')}"
    skipped_because = summary.get("note", "") if job["status"] == "skipped" else None
    if name == "ingest":
        return (
            f"ingest settled {summary.get('settled', 0)}, predicted {summary.get('predicted', 0)}"
        )
    if name == "nightly_retrain":
        staged = "staged" if summary.get("staged") else "not staged"
        return f"retrain v{summary.get('version')} {summary.get('semver', '')} {staged}"
    if name == "backtest":
        return "backtest " + (skipped_because or f"v{summary.get('version')}")
    if name == "evaluate_promotion":
        if skipped_because is not None:
            return "evaluate: " + skipped_because
        action, to_state = summary.get("action"), summary.get("to_state")
        return f"evaluate v{summary.get('version')}: {action} -> {to_state}"
    if name == "drift_check":
        if skipped_because is not None:
            return "drift: " + skipped_because
        text = f"drift v{summary.get('model_version')}"
        text += " BREACH" if summary.get("breached") else " ok"
        if "rollback" in summary:
            text += f", rollback {summary['rollback']}"
        return text
    if name == "weekly_report":
        return f"report {summary.get('week')} -> {summary.get('html_path')}"
    return f"{name} {job['status']}"


@click.command("simulate")
@click.option("--start", required=True, help="First simulated day, YYYY-MM-DD.")
@click.option("--days", default=60, show_default=True, type=click.IntRange(1, 400))
@click.option("--retrain-every", default=7, show_default=True, type=click.IntRange(1, 60))
@click.option("--json", "as_json", is_flag=True, help="One JSON line per day.")
@click.pass_obj
def simulate_command(
    settings: Settings, start: str, days: int, retrain_every: int, as_json: bool
) -> None:
    """Drive ingest, retrain, backtest, promotion, drift and reports on a simulated clock."""
    from jobs.loop.replay import replay

    try:
        first = dt.date.fromisoformat(start)
    except ValueError:
        fail(f"--start {start!r} is not a date; write YYYY-MM-DD, e.g. 2024-11-01")
        return

    def progress(day: dt.date, name: str) -> None:
        if not as_json:
            click.echo(f"  {day} {name}…", err=True)

    failures = 0
    for result in replay(settings, first, days, retrain_every, progress):
        failures += sum(j["status"] not in ("succeeded", "skipped") for j in result.jobs.values())
        if as_json:
            click.echo(json.dumps(result.to_dict(), default=str))
        else:
            parts = [_short(name, job) for name, job in result.jobs.items()]
            click.echo(f"{result.day}  " + " | ".join(parts))
    if failures:
        fail(f"{failures} job run(s) failed; see `nbaprops jobs list` and the job history", 1)
