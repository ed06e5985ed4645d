"""Collect the season's week-by-week trend from MLflow, the registry, the audit trail and the
state database's live predictions.

Per trend: one paged run search bounded by the season window (phase experiments only, capped
at MAX_SEASON_RUNS), one paged scan of the season's model versions, the audit entries of the
season, and one bounded read of the settled live predictions. A walk-forward backtest counts
as the champion's when its version held Production when the backtest started (from the audit
trail's moves into production, else the versions' `production_at` tags), else as a candidate's.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

import pandas as pd
import sqlalchemy as sa
from mlflow.tracking import MlflowClient

from governance.audit import AuditTrail
from jobs.report import live as live_record
from jobs.report.model import week_of
from jobs.report.queries import (
    ProjectExperiments,
    WeekWindow,
    from_ms,
    registered_ms,
    runs_in_week,
    versions_registered_between,
)
from jobs.report.summarize import PhasedRun, best_run, phased
from jobs.report.trend.model import SeasonTrend, WeekPoint, season_start, weeks_between

MAX_SEASON_RUNS = 20_000
ROI_BOUND_METRIC = "roi_lower_95"
_PRODUCTION = "production"


def _metric(run: PhasedRun, key: str) -> float | None:
    value = run.run.data.metrics.get(key)
    return None if value is None or value != value else float(value)


def production_timeline(
    audit: AuditTrail | None, name: str, start: dt.datetime, tagged: Sequence[tuple[int, str]]
) -> list[tuple[int, str]]:
    """(ms, version) of every move into Production, oldest first: audited moves when the
    audit trail exists, else the versions' `production_at` tags in `tagged`."""
    if audit is None:
        return sorted(tagged)
    # Moves before the season still say who was champion on its first day.
    moves = audit.since(start - dt.timedelta(days=366))
    return sorted(
        (int(e.at.timestamp() * 1000), str(e.version))
        for e in moves
        if e.model_name == name and (e.to_state or "").lower() == _PRODUCTION and e.version
    )


def _champion_at(timeline: Sequence[tuple[int, str]], ms: int) -> str | None:
    holder = None
    for at, version in timeline:
        if at > ms:
            break
        holder = version
    return holder


def _backtest_split(
    runs: Sequence[PhasedRun], timeline: Sequence[tuple[int, str]]
) -> tuple[PhasedRun | None, PhasedRun | None]:
    """The week's latest candidate backtest and latest champion backtest (finished, with ROI)."""
    candidate = champion = None
    for r in sorted(runs, key=lambda r: r.run.info.start_time):
        tags = r.run.data.tags
        if tags.get("backtest") != "walk_forward" or r.run.info.status != "FINISHED":
            continue
        if _metric(r, "wf_roi") is None:
            continue
        holder = _champion_at(timeline, r.run.info.start_time)
        if holder is not None and tags.get("model_version") == holder:
            champion = r
        else:
            candidate = r
    return candidate, champion


def _tagged_production(versions: Sequence[object]) -> list[tuple[int, str]]:
    out = []
    for v in versions:
        text = (getattr(v, "tags", None) or {}).get("production_at")
        if not text:
            continue
        try:
            when = dt.datetime.fromisoformat(text)
        except ValueError:
            continue
        when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
        out.append((int(when.timestamp() * 1000), str(getattr(v, "version", ""))))
    return out


def _live_by_week(settled: pd.DataFrame) -> tuple[dict[str, dict[str, object]], pd.DataFrame]:
    bets = live_record.live_bets(settled)
    out: dict[str, dict[str, object]] = {}
    if settled.empty:
        return out, bets
    weeks = settled["made_for"].map(week_of)
    bet_weeks = bets["made_for"].map(week_of) if not bets.empty else pd.Series(dtype=str)
    for week, rows in settled.groupby(weeks):
        mine = bets[bet_weeks == week] if not bets.empty else bets
        out[str(week)] = {
            "live_settled": len(rows),
            "live_mae": live_record.mean_abs_error(rows),
            "live_bets": len(mine),
            "live_roi": live_record.roi_of(mine),
            "live_win_rate": live_record.win_rate_of(mine),
            "live_ece": live_record.ece(live_record.reliability_bins(rows)),
        }
    return out, bets


def _bankroll_at(series: Sequence[tuple[dt.date, float]], last_day: dt.date) -> float | None:
    value = None
    for day, units in series:
        if day > last_day:
            break
        value = units
    return value


def collect_trend(
    client: MlflowClient,
    audit: AuditTrail | None,
    engine: sa.Engine | None,
    model_name: str,
    experiments: ProjectExperiments,
    season: str,
    last_week: str,
) -> SeasonTrend:
    """The season's trend from its first active week up to and including `last_week`."""
    start = season_start(season)
    window = WeekWindow(season, start, WeekWindow.of(last_week).end)
    fetched = runs_in_week(client, experiments.phase_ids, window, max_runs=MAX_SEASON_RUNS)
    runs = phased(fetched.runs, experiments.phase_of)
    versions = versions_registered_between(client, model_name, window.start_ms, window.end_ms)
    timeline = production_timeline(audit, model_name, window.start_at, _tagged_production(versions))
    settled = live_record.settled_live(engine, window.start, window.end)
    live_weeks, bets = _live_by_week(settled)
    bankroll = live_record.bankroll_by_day(bets)

    runs_of: dict[str, list[PhasedRun]] = defaultdict(list)
    for r in runs:
        runs_of[week_of(from_ms(r.run.info.start_time))].append(r)
    registered: dict[str, int] = defaultdict(int)
    for v in versions:
        registered[week_of(from_ms(registered_ms(v)))] += 1
    active = [*runs_of, *registered, *live_weeks]
    first = min((WeekWindow.of(w).start for w in active), default=WeekWindow.of(last_week).start)

    points = []
    for week in weeks_between(first, last_week):
        mine = runs_of.get(week, [])
        best = best_run(mine, "val_mae", higher_is_better=False)
        candidate, champion = _backtest_split(mine, timeline)
        lived = live_weeks.get(week, {})
        points.append(
            WeekPoint(
                week=week,
                start=WeekWindow.of(week).start,
                runs=len(mine),
                registered=registered.get(week, 0),
                best_val_mae=None if best is None else _metric(best, "val_mae"),
                candidate_roi=None if candidate is None else _metric(candidate, "wf_roi"),
                candidate_roi_lower=None
                if candidate is None
                else _metric(candidate, ROI_BOUND_METRIC),
                champion_roi=None if champion is None else _metric(champion, "wf_roi"),
                champion_roi_lower=None
                if champion is None
                else _metric(champion, ROI_BOUND_METRIC),
                bankroll_end=_bankroll_at(bankroll, WeekWindow.of(week).end - dt.timedelta(1)),
                **lived,  # type: ignore[arg-type]
            )
        )
    calibration = live_record.reliability_bins(settled)
    return SeasonTrend(season, tuple(points), bankroll, calibration)
