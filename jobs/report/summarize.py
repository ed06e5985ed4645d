"""Pure summaries of one week's MLflow runs and audit entries into report sections.

Nothing here talks to a store: the queries (queries.py) fetch, these functions count and rank,
and collect.py assembles the `WeeklyReport`. Only top-level runs count (ensemble members and
backtest folds are child runs); bests and averages use FINISHED runs only, because a failed
run's partial metrics say nothing about a model.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from mlflow.entities import Run

from governance.audit import DECISION_ACTIONS, AuditEntry
from jobs.report.model import DecisionRow, DriftRow, PhaseBest, RunRef, RunsByPhase
from jobs.report.queries import MONITORING_PHASE, from_ms, is_top_level
from nbaprops.tracking.setup import PHASES

# The verdict word of each of the trail's DECISION_ACTIONS (registrations are listed with the
# models, not as decisions).
_ACTION_VERDICTS = {
    "evaluate": "evaluated",
    "promote": "promoted",
    "reject": "rejected",
    "force": "forced",
    "rollback": "rolled back",
    "archive": "archived",
}
# How a drift check run in the monitoring experiment is recognised and read.
DRIFT_CHECK_TAG = "check"
DRIFT_METRICS: tuple[str, ...] = ("psi_max", "live_mae_ratio")
BREACH_KEYS: tuple[str, ...] = ("breached", "drift_breached")
REASON_TAGS: tuple[str, ...] = ("reasons", "drift_reasons")
# Live settled performance of the Production model, logged on monitoring runs.
LIVE_METRICS: tuple[str, ...] = ("live_mae", "live_roi", "live_win_rate", "live_settled_count")
_PHASE_ORDER = {p.key: i for i, p in enumerate(PHASES)}


def _metric(run: Run, key: str) -> float | None:
    """A finite metric of the run, or None."""
    value = run.data.metrics.get(key)
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def _finished(run: Run) -> bool:
    return run.info.status == "FINISHED"


def model_type_of(run: Run) -> str:
    return run.data.tags.get("model_type") or "unknown"


def run_ref(run: Run, phase: str, metric: str) -> RunRef:
    """A run singled out by one of its metrics."""
    value = _metric(run, metric)
    assert value is not None
    return RunRef(
        run.info.run_id, run.info.run_name or "", phase, model_type_of(run), metric, value
    )


@dataclass(frozen=True)
class PhasedRun:
    """A top-level run with the phase of the experiment it was logged in."""

    run: Run
    phase: str


def phased(runs: Iterable[Run], phase_of: Mapping[str, str]) -> list[PhasedRun]:
    """Top-level runs of the phase experiments (monitoring left out), with their phase."""
    out = []
    for run in runs:
        phase = phase_of.get(run.info.experiment_id)
        if phase is not None and phase != MONITORING_PHASE and is_top_level(run):
            out.append(PhasedRun(run, phase))
    return out


def runs_by_phase(runs: Sequence[PhasedRun]) -> tuple[RunsByPhase, ...]:
    """Run counts per phase and model type with the best val MAE, in phase order."""
    counts = Counter((r.phase, model_type_of(r.run)) for r in runs)
    rows = []
    for (phase, model_type), count in counts.items():
        maes = [
            mae
            for r in runs
            if r.phase == phase and model_type_of(r.run) == model_type and _finished(r.run)
            if (mae := _metric(r.run, "val_mae")) is not None
        ]
        rows.append(RunsByPhase(phase, model_type, count, min(maes) if maes else None))
    rows.sort(key=lambda row: (_PHASE_ORDER.get(row.phase, 99), -row.count, row.model_type))
    return tuple(rows)


def best_run(runs: Sequence[PhasedRun], metric: str, *, higher_is_better: bool) -> PhasedRun | None:
    """The finished run with the best value of `metric` (earliest start wins a tie)."""
    scored = [
        (value, r)
        for r in runs
        if _finished(r.run)
        if (value := _metric(r.run, metric)) is not None
    ]
    if not scored:
        return None
    sign = -1.0 if higher_is_better else 1.0
    return min(scored, key=lambda pair: (sign * pair[0], pair[1].run.info.start_time))[1]


def best_ref(runs: Sequence[PhasedRun], metric: str, *, higher_is_better: bool) -> RunRef | None:
    """`best_run` as a RunRef for the report."""
    best = best_run(runs, metric, higher_is_better=higher_is_better)
    return None if best is None else run_ref(best.run, best.phase, metric)


def best_by_phase(runs: Sequence[PhasedRun]) -> tuple[PhaseBest, ...]:
    """The best run of each phase side by side: lowest val MAE, else (backtests) best wf ROI."""
    rows = []
    for phase in PHASES:
        mine = [r for r in runs if r.phase == phase.key]
        best = best_run(mine, "val_mae", higher_is_better=False) or best_run(
            mine, "wf_roi", higher_is_better=True
        )
        if best is None:
            continue
        run = best.run
        rows.append(
            PhaseBest(
                phase.key,
                run.info.run_name or "",
                _metric(run, "val_mae"),
                _metric(run, "wf_roi"),
                _metric(run, "calibration_error"),
                _metric(run, "brier_score"),
            )
        )
    return tuple(rows)


def average_training_time(runs: Sequence[PhasedRun]) -> float | None:
    """Mean `training_time` (seconds) over the finished runs that logged one."""
    times = [
        t for r in runs if _finished(r.run) if (t := _metric(r.run, "training_time")) is not None
    ]
    return sum(times) / len(times) if times else None


def val_mae_points(runs: Sequence[PhasedRun]) -> tuple[tuple[dt.datetime, float], ...]:
    """(start time, val MAE) of each finished run that logged a val MAE, oldest first."""
    points = [
        (from_ms(r.run.info.start_time), mae)
        for r in runs
        if _finished(r.run)
        if (mae := _metric(r.run, "val_mae")) is not None
    ]
    return tuple(sorted(points))


def monitoring_runs(runs: Iterable[Run], phase_of: Mapping[str, str]) -> list[Run]:
    """Top-level runs of the monitoring experiment, oldest first."""
    out = [
        r
        for r in runs
        if phase_of.get(r.info.experiment_id) == MONITORING_PHASE and is_top_level(r)
    ]
    return sorted(out, key=lambda r: r.info.start_time)


def is_drift_check(run: Run) -> bool:
    """A monitoring run tagged check=drift, or one that logged a drift statistic."""
    tags = run.data.tags
    return tags.get(DRIFT_CHECK_TAG) == "drift" or any(m in run.data.metrics for m in DRIFT_METRICS)


def _truthy(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "breach", "breached"}


def _breached(run: Run) -> bool:
    for key in BREACH_KEYS:
        if key in run.data.tags:
            return _truthy(run.data.tags[key])
        if key in run.data.metrics:
            return run.data.metrics[key] >= 0.5
    return False


def _reasons(run: Run) -> tuple[str, ...]:
    for key in REASON_TAGS:
        text = run.data.tags.get(key, "")
        if text.strip():
            return tuple(part.strip() for part in text.split(";") if part.strip())
    return ()


def drift_rows(monitoring: Sequence[Run]) -> tuple[DriftRow, ...]:
    """One row per drift check run, oldest first."""
    return tuple(
        DriftRow(
            from_ms(run.info.start_time),
            _breached(run),
            _metric(run, "psi_max"),
            _metric(run, "live_mae_ratio"),
            _reasons(run),
        )
        for run in monitoring
        if is_drift_check(run)
    )


def latest_live_run(monitoring: Sequence[Run], version: str) -> Run | None:
    """The newest monitoring run with live_* metrics for `version` (or for no named version)."""
    for run in reversed(monitoring):
        tagged = run.data.tags.get("model_version")
        if tagged not in (None, version):
            continue
        if any(key in run.data.metrics for key in LIVE_METRICS):
            return run
    return None


def live_numbers(run: Run | None) -> dict[str, float | None]:
    """live_mae, live_roi, live_win_rate and live_settled_count of a monitoring run."""
    return {key: None if run is None else _metric(run, key) for key in LIVE_METRICS}


def _decision_reason(entry: AuditEntry) -> str:
    if entry.reason:
        return entry.reason
    reasons = (entry.decision or {}).get("reasons") or []
    return "; ".join(str(r) for r in reasons)


def decision_rows(entries: Iterable[AuditEntry]) -> tuple[DecisionRow, ...]:
    """The audit entries that are governance decisions, oldest first."""
    return tuple(
        DecisionRow(
            e.at,
            e.actor,
            e.action,
            e.version,
            e.from_state,
            e.to_state,
            e.verdict or _ACTION_VERDICTS.get(e.action, e.action),
            _decision_reason(e),
        )
        for e in sorted(entries, key=lambda e: (e.at, e.id or 0))
        if e.action in DECISION_ACTIONS
    )
