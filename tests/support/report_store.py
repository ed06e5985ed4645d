"""A season's worth of real MLflow runs, registry versions, audit entries and live predictions,
for the report's trend and season-page tests.

Everything is logged for real into a temporary SQLite tracking store and state database, at
explicit timestamps: four ISO weeks (2025-W01..2025-W04) with three training runs each, a
candidate backtest every week and a champion backtest from the second week on, one version
registered per week, promotions of v1 (week 1) and v3 (week 3) in the audit trail, a drift
check, and 24 settled live predictions a day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from mlflow.tracking import MlflowClient

from governance.audit import AuditTrail, audit_entry
from jobs.loop.live_predictions import LivePredictions
from nbaprops.settings import Settings
from nbaprops.statedb import state_engine
from nbaprops.tracking.setup import MONITORING_EXPERIMENT, init_tracking
from tests.support.runs import log_finished_run

MODEL = "nbaprops-season-test"
WEEKS = ("2025-W01", "2025-W02", "2025-W03", "2025-W04")
FIRST_MONDAY = dt.datetime(2024, 12, 30, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)
BETS = pd.DataFrame(
    {
        "game_date": ["2025-01-20", "2025-01-21", "2025-01-22", "2025-01-22"],
        "side": ["over", "under", "over", "under"],
        "p_model": [0.58, 0.56, 0.61, 0.57],
        "result": ["win", "loss", "win", "win"],
        "profit_flat": [9.09, -10.0, 9.09, 9.09],
        "stake_flat": [10.0, 10.0, 10.0, 10.0],
    }
)


@dataclass
class SeasonStore:
    """The seeded stores and what was logged into them, week by week."""

    settings: Settings
    client: MlflowClient
    audit: AuditTrail
    engine: sa.Engine
    best_val_mae: dict[str, float] = field(default_factory=dict)
    candidate_roi: dict[str, tuple[float, float]] = field(default_factory=dict)
    champion_roi: dict[str, tuple[float, float]] = field(default_factory=dict)
    runs: dict[str, int] = field(default_factory=dict)


def _live_day(live: LivePredictions, day: dt.date, version: str, rng: np.random.Generator) -> None:
    """24 predictions for `day`, settled the next morning; skill drifts a little by week."""
    n = 24
    actual = rng.normal(20.0, 6.0, n).round()
    prediction = actual + rng.normal(0.0, 4.0 + 0.3 * (day.toordinal() % 7), n)
    line = (prediction + rng.normal(0.0, 2.0, n)).round() + 0.5
    p_over = np.clip(0.5 + (prediction - line) / 12.0, 0.05, 0.95)
    frame = pd.DataFrame(
        {
            "player_id": np.arange(n) + 1000,
            "player_name": [f"player {i}" for i in range(n)],
            "market": "points",
            "line": line,
            "prediction": prediction,
            "p_over": p_over,
        }
    )
    live.record(day, version, frame)
    actuals = pd.DataFrame({"player_id": frame["player_id"], "market": "points", "actual": actual})
    live.settle(day, actuals, day + dt.timedelta(days=1))


def _promote(store: SeasonStore, version: str, at: dt.datetime, previous: str | None) -> None:
    store.audit.record(
        audit_entry(
            at,
            actor="scheduler",
            action="promote",
            model_name=MODEL,
            version=version,
            from_state="staging",
            to_state="production",
            decision={"verdict": "approved"},
            reason=f"v{version} beat {'v' + previous if previous else 'no champion'}",
        )
    )


def seed_season(home: Path) -> SeasonStore:
    """Log the four weeks into stores under `home` and return them with the expected figures."""
    settings = Settings(
        home=home,
        tracking_uri=f"sqlite:///{home / 'mlflow.db'}",
        database_url=f"sqlite:///{home / 'state.db'}",
        registered_model=MODEL,
        report_recipients="a@example.com",
        smtp_host="127.0.0.1",
        _env_file=None,  # type: ignore[call-arg]
    )
    init_tracking(settings)
    uri = settings.resolved_tracking_uri
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    engine = state_engine(settings)
    audit = AuditTrail(engine)
    audit.ensure_schema()
    live = LivePredictions(engine)
    live.ensure_schema()
    store = SeasonStore(settings, client, audit, engine)
    exp = {name: client.get_experiment_by_name(name) for name in ("Phase1_Foundation",)}
    phase1 = exp["Phase1_Foundation"]
    phase4 = client.get_experiment_by_name("Phase4_Production")
    monitoring = client.get_experiment_by_name(MONITORING_EXPERIMENT)
    assert phase1 and phase4 and monitoring
    client.create_registered_model(MODEL)
    rng = np.random.default_rng(16)
    champion: str | None = None
    for k, week in enumerate(WEEKS):
        monday = FIRST_MONDAY + dt.timedelta(weeks=k)
        maes = [4.9 - 0.05 * k, 4.8 - 0.07 * k, 5.0 - 0.04 * k]
        first_run = ""
        for i, mae in enumerate(maes):
            run_id = log_finished_run(
                client,
                phase1.experiment_id,
                f"xgb-{week}-{i}",
                monday + (1 + 5 * i) * H,
                {"val_mae": mae, "training_time": 30.0 + i},
                {"model_type": "xgboost"},
            )
            first_run = first_run or run_id
        store.best_val_mae[week] = min(maes)
        version = client.create_model_version(
            MODEL,
            source=f"runs:/{first_run}/model",
            run_id=first_run,
            tags={"registered_at": (monday + 2 * H).isoformat(), "lifecycle": "staging"},
        ).version
        roi, lower = 0.01 + 0.012 * k, -0.02 + 0.01 * k
        log_finished_run(
            client,
            phase4.experiment_id,
            f"bt-candidate-{week}",
            monday + 3 * H,
            {"wf_roi": roi, "roi_lower_95": lower, "bet_count": 500.0 + k},
            {"backtest": "walk_forward", "model_version": str(version), "model_type": "xgboost"},
        )
        store.candidate_roi[week] = (roi, lower)
        bt_runs = 4
        if champion is not None:
            croi, clower = 0.015 + 0.004 * k, -0.01 + 0.003 * k
            champion_run = log_finished_run(
                client,
                phase4.experiment_id,
                f"bt-champion-{week}",
                monday + 4 * H,
                {"wf_roi": croi, "roi_lower_95": clower, "bet_count": 480.0 + k},
                {"backtest": "walk_forward", "model_version": champion, "model_type": "xgboost"},
            )
            store.champion_roi[week] = (croi, clower)
            bt_runs = 5
            if week == WEEKS[-1]:
                bets = home / "bets.csv"
                BETS.to_csv(bets, index=False)
                client.log_artifact(champion_run, str(bets))
        store.runs[week] = bt_runs
        if str(version) in ("1", "3"):
            _promote(store, str(version), monday + 6 * H, champion)
            client.set_registered_model_alias(MODEL, "production", str(version))
            champion = str(version)
        for day in range(7):
            _live_day(live, (monday + dt.timedelta(days=day)).date(), champion or "1", rng)
    client.set_registered_model_alias(MODEL, "staging", "4")
    log_finished_run(
        client,
        monitoring.experiment_id,
        "drift-W04",
        FIRST_MONDAY + dt.timedelta(weeks=3, days=5),
        {"psi_max": 0.05, "live_mae_ratio": 1.02, "live_mae": 4.91, "live_settled_count": 96.0},
        {"check": "drift", "breached": "false", "model_version": "3"},
    )
    return store
