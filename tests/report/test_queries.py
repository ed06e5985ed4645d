"""The weekly report's queries against a real SQLite MLflow store and a real audit trail.

Runs are created with controlled start times (some inside 2025-W03, some in the weeks around
it) and the collected report is checked against what MlflowClient itself reads back.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from mlflow.entities import Run
from mlflow.store.entities import PagedList
from mlflow.tracking import MlflowClient

from governance.audit import AuditEntry, AuditTrail, audit_entry
from jobs.report.backtest_series import (
    BANKROLL_START_UNITS,
    BetsFileError,
    bankroll_series,
    calibration_bins,
)
from jobs.report.collect import collect_weekly_report
from jobs.report.model import WeeklyReport, week_of
from jobs.report.queries import (
    DEFAULT_MODEL_NAME,
    MONITORING_PHASE,
    WeekWindow,
    from_ms,
    project_experiments,
    runs_in_week,
    versions_registered_between,
)
from jobs.report.summarize import decision_rows
from nbaprops.settings import Settings
from nbaprops.statedb import engine_for_url
from nbaprops.tracking.setup import MONITORING_EXPERIMENT, PHASES, init_tracking
from tests.support.runs import log_finished_run, ms
from tests.support.stores import global_tracking_uri

WEEK = "2025-W03"  # Monday 2025-01-13 .. Monday 2025-01-20 (exclusive)
MON = dt.datetime(2025, 1, 13, tzinfo=dt.UTC)
NOW = dt.datetime(2025, 1, 20, 7, 0, tzinfo=dt.UTC)


class RecordingClient(MlflowClient):
    """A real MlflowClient that also remembers every run search it was asked to make."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.searches: list[dict[str, Any]] = []

    def search_runs(self, *args: Any, **kwargs: Any) -> PagedList[Run]:
        self.searches.append(dict(kwargs))
        return super().search_runs(*args, **kwargs)


@dataclasses.dataclass
class Store:
    """The seeded store: a client on it, the audit trail, and ids the tests refer to."""

    client: RecordingClient
    audit: AuditTrail
    experiment: dict[str, str]
    ids: dict[str, str]


def _run(
    client: MlflowClient, store_ids: dict[str, str], key: str, experiment_id: str, *rest: Any
) -> str:
    """A finished run named `key` (log_finished_run's start, metrics, tags and status follow
    the experiment), its id kept under `key`."""
    run_id = log_finished_run(client, experiment_id, key, *rest)
    store_ids[key] = run_id
    return run_id


BETS = pd.DataFrame(
    {
        "game_date": ["2024-03-01", "2024-03-01", "2024-03-02", "2024-03-03", "2024-03-03"],
        "side": ["over", "under", "over", "under", "over"],
        "p_model": [0.58, 0.56, 0.61, 0.57, 0.55],
        "result": ["win", "loss", "loss", "win", "push"],
        "profit_flat": [9.09, -10.0, -10.0, 9.09, 0.0],
        "stake_flat": [10.0, 10.0, 10.0, 10.0, 10.0],
    }
)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The seeded store; MLFLOW_TRACKING_URI (which init_tracking exports) is restored after."""
    home = tmp_path_factory.mktemp("report-store")
    with global_tracking_uri(f"sqlite:///{home / 'mlflow.db'}"):
        yield _seed_store(home)


def _seed_store(home: Path) -> Store:
    """Runs inside 2025-W03 and around it, a Production version, and audit entries."""
    settings = Settings(
        home=home,
        tracking_uri=f"sqlite:///{home / 'mlflow.db'}",
        database_url=f"sqlite:///{home / 'state.db'}",
        _env_file=None,  # type: ignore[call-arg]
    )
    init_tracking(settings)
    uri = settings.resolved_tracking_uri
    client = RecordingClient(tracking_uri=uri, registry_uri=uri)
    experiment = {}
    for name in [p.experiment for p in PHASES] + [MONITORING_EXPERIMENT]:
        found = client.get_experiment_by_name(name)
        assert found is not None
        experiment[name] = found.experiment_id
    found_ids: dict[str, str] = {}
    run = functools.partial(_run, client, found_ids)
    f, a, p, m = (
        experiment["Phase1_Foundation"],
        experiment["Phase2_Advanced"],
        experiment["Phase4_Production"],
        experiment[MONITORING_EXPERIMENT],
    )
    xgb, lgbm = {"model_type": "xgboost"}, {"model_type": "lightgbm"}
    h = dt.timedelta(hours=1)
    # Inside the week. The first run starts exactly at Monday 00:00 (included).
    for key, hours, mae, seconds, tags in (
        ("f-xgb-1", 0, 4.9, 10.0, xgb),
        ("f-xgb-2", 30, 4.7, 20.0, xgb),
        ("f-xgb-3", 50, 5.1, 30.0, xgb),
        ("f-lgbm-1", 60, 4.8, 40.0, lgbm),
    ):
        metrics = {"val_mae": mae, "training_time": seconds}
        run(key, f, MON + hours * h, metrics, tags)
    # A failed run is counted, but its partial val_mae of 3.0 is no one's best.
    run("f-failed", f, MON + 70 * h, {"val_mae": 3.0}, xgb, "FAILED")
    parent = run(
        "a-ens",
        a,
        MON + 80 * h,
        {"val_mae": 4.6, "training_time": 60.0, "calibration_error": 0.031, "brier_score": 0.248},
        {"model_type": "ensemble"},
    )
    for i, mae in enumerate((4.5, 4.55)):
        run(
            f"a-member-{i}",
            a,
            MON + 80 * h,
            {"val_mae": mae, "training_time": 500.0},
            {"model_type": "xgboost", "mlflow.parentRunId": parent},
        )
    backtest = run(
        "p-backtest",
        p,
        MON + 90 * h,
        {"wf_roi": 0.031, "calibration_error": 0.04, "brier_score": 0.2471, "bet_count": 5.0},
        {"model_type": "xgboost", "backtest": "walk_forward", "model_version": "1"},
    )
    run("p-fold-0", p, MON + 90 * h, {"fold_mae": 4.4}, {"mlflow.parentRunId": backtest})
    bets_file = home / "bets.csv"
    BETS.to_csv(bets_file, index=False)
    client.log_artifact(backtest, str(bets_file))
    run(
        "drift-ok",
        m,
        MON + 30 * h,
        {"psi_max": 0.04, "live_mae_ratio": 1.01},
        {"check": "drift", "breached": "false"},
    )
    run(
        "drift-breach",
        m,
        MON + 100 * h,
        {"psi_max": 0.31, "live_mae_ratio": 1.14},
        {"check": "drift", "breached": "true", "reasons": "PSI of MIN 0.31 > 0.25; live MAE 1.14x"},
    )
    run(
        "live",
        m,
        MON + 101 * h,
        {"live_mae": 4.91, "live_roi": 0.021, "live_win_rate": 0.538, "live_settled_count": 412},
        {"model_version": "1"},
    )
    # Outside the week: the week before (compared against), the week after, and the boundary.
    before = MON - dt.timedelta(days=3)
    run("prev-xgb", f, before, {"val_mae": 4.0, "training_time": 100.0}, xgb)
    run("prev-bt", p, before, {"wf_roi": 0.012}, {"model_type": "xgboost"})
    run("prev-drift", m, before, {"psi_max": 0.4}, {"check": "drift", "breached": "true"})
    end = MON + dt.timedelta(days=7)
    run("at-end", f, end, {"val_mae": 3.9}, xgb)
    run("next-week-bt", p, end + 5 * h, {"wf_roi": 0.09}, xgb)
    run("long-ago", f, MON - dt.timedelta(days=60), {"val_mae": 3.5}, xgb)

    client.create_registered_model(DEFAULT_MODEL_NAME)
    client.create_model_version(
        DEFAULT_MODEL_NAME,
        source=f"{client.get_run(found_ids['f-xgb-2']).info.artifact_uri}/model",
        run_id=found_ids["f-xgb-2"],
        tags={"semver": "v1.0.0", "lifecycle": "production"},
    )
    client.set_registered_model_alias(DEFAULT_MODEL_NAME, "production", "1")

    audit = AuditTrail(engine_for_url(settings.resolved_database_url))
    audit.ensure_schema()
    # The week's registry moves as the audit trail has them: when, who, what, which version,
    # from and to which state; the promotion carries its decision and the rejection its reason.
    moves = [
        (MON - h, "scheduler", "evaluate", None, None, None),
        (MON + 2 * h, "scheduler", "register", 1, None, None),
        (MON + 26 * h, "scheduler", "promote", 1, "staging", "production"),
        (MON + 99 * h, "cli:alice", "reject", 2, "staging", "archived"),
        (end, "scheduler", "rollback", 1, None, None),
    ]
    why: dict[str, dict[str, Any]] = {
        "promote": {"decision": {"verdict": "promote", "reasons": ["all criteria passed"]}},
        "reject": {"reason": "ECE 0.071 above the 0.05 gate"},
    }
    fields = ("now", "actor", "action", "version", "from_state", "to_state")
    for move in moves:
        named = dict(zip(fields, move, strict=True))
        extra = why.get(named["action"], {})
        audit.record(audit_entry(model_name=DEFAULT_MODEL_NAME, **named, **extra))
    return Store(client, audit, experiment, found_ids)


@pytest.fixture(scope="module")
def report(store: Store) -> WeeklyReport:
    return collect_weekly_report(store.client, store.audit, WEEK, NOW)


def _week_runs_read_back(client: MlflowClient, window: WeekWindow) -> list[Run]:
    """The oracle: every run of the project's experiments, filtered in Python (tiny store)."""
    ids = project_experiments(client).all_ids
    everything = client.search_runs(ids, max_results=1000)
    return [
        r
        for r in everything
        if window.start_ms <= r.info.start_time < window.end_ms
        and "mlflow.parentRunId" not in r.data.tags
    ]


def test_runs_are_counted_per_phase_and_model_type_as_the_store_has_them(
    store: Store, report: WeeklyReport
) -> None:
    phase_of = project_experiments(store.client).phase_of
    expected = Counter(
        (phase_of[r.info.experiment_id], r.data.tags.get("model_type", "unknown"))
        for r in _week_runs_read_back(store.client, WeekWindow.of(WEEK))
        if phase_of[r.info.experiment_id] != MONITORING_PHASE
    )
    assert {(row.phase, row.model_type): row.count for row in report.runs_by_phase} == expected
    assert expected == {
        ("foundation", "xgboost"): 4,
        ("foundation", "lightgbm"): 1,
        ("advanced", "ensemble"): 1,
        ("production", "xgboost"): 1,
    }
    assert [row.phase for row in report.runs_by_phase] == [
        "foundation",
        "foundation",
        "advanced",
        "production",
    ]
    foundation_xgb = report.runs_by_phase[0]
    assert foundation_xgb.best_val_mae == pytest.approx(4.7)


def test_best_runs_of_the_week_and_their_runs(store: Store, report: WeeklyReport) -> None:
    assert report.best_val_mae is not None
    assert report.best_val_mae.run_id == store.ids["a-ens"]  # not a member (4.5), not failed (3.0)
    assert report.best_val_mae.value == pytest.approx(
        store.client.get_run(store.ids["a-ens"]).data.metrics["val_mae"]
    )
    assert (report.best_val_mae.phase, report.best_val_mae.model_type) == ("advanced", "ensemble")
    assert report.best_wf_roi is not None
    assert report.best_wf_roi.run_id == store.ids["p-backtest"]  # not next week's 0.09
    assert report.best_wf_roi.value == pytest.approx(0.031)


def test_runs_outside_the_week_are_left_out(store: Store, report: WeeklyReport) -> None:
    # long-ago (3.5), at-end (3.9, Monday 00:00 of the next week) and prev-xgb (4.0) would
    # all beat the week's best; the run at this Monday 00:00 is inside.
    times = [when for when, _ in report.val_mae_over_time]
    assert all(MON <= when < MON + dt.timedelta(days=7) for when in times)
    assert times[0] == MON
    assert [v for _, v in report.val_mae_over_time] == [4.9, 4.7, 5.1, 4.8, 4.6]
    assert report.total_runs == 7
    names = {row.run_name for row in report.best_by_phase}
    assert not names & {"prev-xgb", "at-end", "next-week-bt", "long-ago"}
    assert store.ids["at-end"] != report.best_val_mae.run_id if report.best_val_mae else True


def test_average_training_time_uses_finished_top_level_runs(report: WeeklyReport) -> None:
    assert report.avg_training_time_s == pytest.approx((10 + 20 + 30 + 40 + 60) / 5)


def test_best_run_of_each_phase_side_by_side(report: WeeklyReport) -> None:
    rows = {row.phase: row for row in report.best_by_phase}
    assert list(rows) == ["foundation", "advanced", "production"]
    assert (rows["foundation"].run_name, rows["foundation"].val_mae) == ("f-xgb-2", 4.7)
    assert rows["advanced"].calibration_error == pytest.approx(0.031)
    assert rows["advanced"].brier_score == pytest.approx(0.248)
    assert rows["production"].run_name == "p-backtest"  # no val_mae: best walk-forward ROI
    assert rows["production"].wf_roi == pytest.approx(0.031)


def test_change_against_last_week(report: WeeklyReport) -> None:
    changes = {c.metric: c for c in report.vs_last_week}
    assert (changes["best val MAE"].this_week, changes["best val MAE"].last_week) == (4.6, 4.0)
    assert changes["best val MAE"].better is False
    assert (changes["runs"].this_week, changes["runs"].last_week) == (7, 2)
    roi = changes["best walk-forward ROI"]
    assert (roi.this_week, roi.last_week) == (pytest.approx(0.031), pytest.approx(0.012))
    assert roi.better is True
    assert changes["avg training time"].last_week == pytest.approx(100.0)
    assert (changes["drift breaches"].this_week, changes["drift breaches"].last_week) == (1, 1)


def test_decisions_of_the_week_come_from_the_audit_trail(report: WeeklyReport) -> None:
    assert [(d.action, d.version, d.verdict) for d in report.decisions] == [
        ("promote", "1", "promote"),
        ("reject", "2", "rejected"),
    ]
    assert report.decisions[0].reason == "all criteria passed"
    assert report.decisions[1].actor == "cli:alice"


def test_drift_events_come_from_the_monitoring_runs(report: WeeklyReport) -> None:
    assert [(e.breached, e.psi_max) for e in report.drift_events] == [(False, 0.04), (True, 0.31)]
    assert report.drift_events[1].reasons == ("PSI of MIN 0.31 > 0.25", "live MAE 1.14x")
    assert report.drift_breaches == 1


def test_production_model_with_live_results_and_backtest_charts(
    store: Store, report: WeeklyReport
) -> None:
    production = report.production
    assert production is not None
    assert (production.name, production.version, production.semver) == (
        DEFAULT_MODEL_NAME,
        "1",
        "v1.0.0",
    )
    assert production.val_mae == pytest.approx(4.7)  # its training run's
    assert production.promoted_at == MON + dt.timedelta(hours=26)  # from the audit trail
    assert (production.live_settled_count, production.live_mae) == (412, pytest.approx(4.91))
    assert production.live_roi == pytest.approx(0.021)
    # Bankroll from bets.csv, in flat-stake units from 100 the day before the first bet.
    assert report.bankroll == (
        (dt.date(2024, 2, 29), BANKROLL_START_UNITS),
        (dt.date(2024, 3, 1), pytest.approx(100 - 0.091)),
        (dt.date(2024, 3, 2), pytest.approx(100 - 1.091)),
        (dt.date(2024, 3, 3), pytest.approx(100 - 0.182)),
    )
    assert sum(b.count for b in report.calibration) == 4  # the push is left out


def test_every_run_search_is_bounded_by_the_week_in_milliseconds(store: Store) -> None:
    store.client.searches.clear()
    collect_weekly_report(store.client, store.audit, WEEK, NOW)
    searches = store.client.searches
    assert searches, "the report made no run search"
    week_bounds = {
        WeekWindow.of(w).run_filter for w in (WEEK, "2025-W02")
    }  # this week and last week
    # The trend: the season so far, from July 1 to the end of the week.
    season = WeekWindow("2024-25", dt.date(2024, 7, 1), WeekWindow.of(WEEK).end).run_filter
    for search in searches:
        bounded_by_week = search["filter_string"] in week_bounds | {season}
        single = search["max_results"] == 1 and "attributes.start_time <" in search["filter_string"]
        assert bounded_by_week or single, search
        assert search["max_results"] <= 5000
    assert f"attributes.start_time >= {ms(MON)}" in WeekWindow.of(WEEK).run_filter
    assert len(str(ms(MON))) == 13  # milliseconds, not seconds


def test_empty_week_gives_an_empty_report(store: Store) -> None:
    empty = collect_weekly_report(store.client, store.audit, "2023-W10", NOW)
    assert empty.total_runs == 0
    assert (empty.best_val_mae, empty.best_wf_roi, empty.decisions) == (None, None, ())
    assert empty.production is not None  # Production is the current alias, whatever the week
    assert empty.bankroll == ()  # its backtest started after the end of that week


def test_without_audit_trail_or_production_the_report_says_so(store: Store) -> None:
    report = collect_weekly_report(store.client, None, WEEK, NOW, registered_model="NoSuchModel")
    assert report.production is None
    assert report.decisions == ()
    assert any("audit trail was not available" in note for note in report.notes)
    assert report.total_runs == 7


def test_paging_reads_every_run_of_a_busy_week(store: Store) -> None:
    experiments = project_experiments(store.client)
    window = WeekWindow.of(WEEK)
    paged = runs_in_week(store.client, experiments.all_ids, window, page_size=2)
    whole = runs_in_week(store.client, experiments.all_ids, window)
    assert [r.info.run_id for r in paged.runs] == [r.info.run_id for r in whole.runs]
    capped = runs_in_week(store.client, experiments.all_ids, window, max_runs=3, page_size=2)
    assert (len(capped.runs), capped.truncated) == (3, True)


def test_models_registered_in_the_week_of_their_creation(store: Store) -> None:
    client = store.client
    source = f"{client.get_run(store.ids['f-lgbm-1']).info.artifact_uri}/model"
    created = client.create_model_version(
        DEFAULT_MODEL_NAME,
        source=source,
        run_id=store.ids["f-lgbm-1"],
        tags={"semver": "v1.1.0", "lifecycle": "staging"},
    )
    # The registry stamps versions with the real clock, so report the week they landed in.
    landed = from_ms(int(created.creation_timestamp))
    week = week_of(landed.date())
    report = collect_weekly_report(client, store.audit, week, landed + dt.timedelta(days=7))
    registered = [(m.version, m.semver, m.lifecycle) for m in report.models_registered]
    assert ("2", "v1.1.0", "staging") in registered
    window = WeekWindow.of(week)
    read_back = versions_registered_between(
        client, DEFAULT_MODEL_NAME, window.start_ms, window.end_ms, page_size=1
    )
    every = client.search_model_versions(f"name = '{DEFAULT_MODEL_NAME}'")
    in_week = sorted(
        (str(v.version) for v in every if window.start_ms <= v.creation_timestamp < window.end_ms),
        key=int,
    )
    assert [str(v.version) for v in read_back] == in_week
    assert [m.version for m in report.models_registered] == in_week
    changes = {c.metric: c for c in report.vs_last_week}
    assert changes["models registered"].this_week == len(registered)


def test_an_unreadable_bets_file_costs_the_charts_not_the_report(
    store: Store, tmp_path: Path
) -> None:
    later = MON + dt.timedelta(weeks=3)  # 2025-W06: leaves the other tests' weeks alone
    tags = {"model_type": "xgboost", "backtest": "walk_forward", "model_version": "1"}
    run_id = _run(
        store.client,
        store.ids,
        "p-backtest-bad",
        store.experiment["Phase4_Production"],
        later,
        {"wf_roi": 0.02},
        tags,
    )
    broken = tmp_path / "bets.csv"
    BETS.drop(columns=["stake_flat"]).to_csv(broken, index=False)
    store.client.log_artifact(run_id, str(broken))
    report = collect_weekly_report(store.client, store.audit, week_of(later.date()), NOW)
    assert report.production is not None
    assert (report.bankroll, report.calibration) == ((), ())
    assert any("p-backtest-bad" in note and "stake_flat" in note for note in report.notes)


# ---- pure summaries, table-driven ----------------------------------------------------------


def test_bets_file_without_ledger_columns_is_refused() -> None:
    with pytest.raises(BetsFileError, match="profit_flat"):
        bankroll_series(BETS.drop(columns=["profit_flat"]))


@pytest.mark.parametrize(
    ("side", "p_model", "result", "p_over", "went_over"),
    [
        ("over", 0.6, "win", 0.6, 1.0),
        ("over", 0.6, "loss", 0.6, 0.0),
        ("under", 0.6, "win", 0.4, 0.0),
        ("under", 0.6, "loss", 0.4, 1.0),
    ],
)
def test_calibration_reads_each_bet_as_a_probability_of_the_over(
    side: str, p_model: float, result: str, p_over: float, went_over: float
) -> None:
    one = pd.DataFrame(
        {
            "game_date": ["2024-01-02"],
            "side": [side],
            "p_model": [p_model],
            "result": [result],
            "profit_flat": [0.0],
            "stake_flat": [10.0],
        }
    )
    (only,) = calibration_bins(one)
    assert (only.mean_p, only.mean_y, only.count) == (pytest.approx(p_over), went_over, 1)


def test_decision_rows_keep_decisions_only_and_explain_them() -> None:
    at = MON + dt.timedelta(hours=5)
    entry = functools.partial(audit_entry, at, actor="s", model_name="m")
    held = {"verdict": "keep_in_staging", "reasons": ["bet_count 120 < 500", "x"]}
    entries: list[AuditEntry] = [
        entry(action="register", version=3),
        entry(action="repair"),
        entry(action="evaluate", version=3, decision=held),
        entry(action="rollback", version=2, reason="drift"),
    ]
    rows = decision_rows(entries)
    assert [(r.action, r.verdict, r.reason) for r in rows] == [
        ("evaluate", "keep_in_staging", "bet_count 120 < 500; x"),
        ("rollback", "rolled back", "drift"),
    ]


def test_week_window_is_half_open_in_utc_milliseconds() -> None:
    window = WeekWindow.of(WEEK)
    assert (window.start_ms, window.end_ms) == (1736726400000, 1737331200000)
    assert window.contains(MON)
    assert not window.contains(MON + dt.timedelta(days=7))
    assert math.isclose((window.end_ms - window.start_ms) / 3_600_000, 168)
