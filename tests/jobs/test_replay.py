"""A season replay on a small feed shows the whole lifecycle: promotion, rejection, rollback.

Eight teams, a book that lags (market efficiency 0.1) and a scoring regime that jumps by half on
2024-12-29 without the book or the model knowing. The replay policy is the packaged one with the
live-MAE alarm scaled to a small league (200 settled predictions in the window, 150 before it
counts): eight teams settle ~35 props a day, not the ~150 of a full league.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from governance.audit import AuditTrail
from governance.invariants import check_invariants
from governance.policy import load_policy
from jobs.loop.replay import replay
from nbaprops.settings import Settings
from nbaprops.statedb import state_engine
from nbaprops.tracking.setup import MONITORING_EXPERIMENT

START = dt.date(2024, 12, 1)
DAYS = 37
SHIFT = "2024-12-29:1.5"


def _replay_policy(folder: Path) -> Path:
    packaged = Path(__file__).resolve().parents[2] / "governance" / "policy.toml"
    text = packaged.read_text()
    text = text.replace("mae_window = 500", "mae_window = 200")
    text = text.replace("min_settled_predictions = 300", "min_settled_predictions = 150")
    path = folder / "replay-policy.toml"
    path.write_text(text)
    load_policy(path)  # refuses a broken file
    return path


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, list[dict[str, object]]]:
    folder = tmp_path_factory.mktemp("replay")
    settings = Settings(
        home=folder / "state",
        teams=8,
        seasons="2023-24,2024-25",
        market_efficiency=0.1,
        scoring_shift=SHIFT,
        seed=42,
        workers=2,
        backtest_days=42,
        refit_days=21,
        retrain_params="num_leaves=7,n_estimators=80,learning_rate=0.08,min_child_samples=50",
        policy_file=_replay_policy(folder),
        _env_file=None,  # type: ignore[call-arg]
    )
    days = [day.to_dict() for day in replay(settings, START, DAYS, retrain_every=7)]
    return settings, days


def test_every_job_of_every_day_ran(replayed: tuple[Settings, list[dict[str, object]]]) -> None:
    _, days = replayed
    assert len(days) == DAYS
    for day in days:
        jobs = day["jobs"]
        assert isinstance(jobs, dict)
        for name, job in jobs.items():
            assert job["status"] in ("succeeded", "skipped"), (day["day"], name, job)


def test_promotion_rejection_and_drift_rollback_are_audited(
    replayed: tuple[Settings, list[dict[str, object]]],
) -> None:
    settings, _ = replayed
    entries = AuditTrail(state_engine(settings)).since()
    to_production = [e for e in entries if e.action == "promote" and e.to_state == "production"]
    rejected = [e for e in entries if e.action == "reject"]
    rollbacks = [e for e in entries if e.action == "rollback"]
    assert to_production, "no promotion to production"
    assert rejected, "no rejected candidate"
    assert rollbacks, "no rollback"
    assert any(e.reason.startswith("drift:") for e in rollbacks)
    assert all(e.actor == "scheduler" for e in (*to_production, *rejected, *rollbacks))
    # the rollback came after the scoring regime changed
    assert min(e.at.date() for e in rollbacks) >= dt.date(2024, 12, 29)


def test_the_lifecycle_is_visible_in_mlflow(
    replayed: tuple[Settings, list[dict[str, object]]],
) -> None:
    settings, _ = replayed
    client = MlflowClient(settings.resolved_tracking_uri)
    name = settings.registered_model
    assert check_invariants(client, name) == []
    versions = {v.version: v for v in client.search_model_versions(f"name = '{name}'")}
    tags = {number: dict(v.tags) for number, v in versions.items()}
    assert any("rejected_reason" in t and t["lifecycle"] == "archived" for t in tags.values())
    rolled = [t for t in tags.values() if "rollback_reason" in t]
    assert rolled and all(t["lifecycle"] == "archived" for t in rolled)
    assert rolled[0]["rollback_reason"].startswith("drift:")
    production = client.get_model_version_by_alias(name, "production")
    assert tags[production.version]["lifecycle"] == "production"
    monitoring = client.get_experiment_by_name(MONITORING_EXPERIMENT)
    assert monitoring is not None
    breaches = client.search_runs(
        [monitoring.experiment_id], "tags.check = 'drift' and tags.breached = 'true'"
    )
    assert breaches and breaches[0].data.metrics["live_mae_ratio"] > 1.1
    running = client.search_runs(
        [e.experiment_id for e in client.search_experiments()], "attributes.status = 'RUNNING'"
    )
    assert running == []


def test_monday_reports_were_written(replayed: tuple[Settings, list[dict[str, object]]]) -> None:
    settings, days = replayed
    mondays = [d for d in days if dt.date.fromisoformat(str(d["day"])).weekday() == 0]
    reports = sorted((settings.home / "reports").glob("*-W*.html"))
    assert len(reports) == len(mondays) >= 5
    # the weekly report also refreshes the season page it lends its trend to
    assert (settings.home / "reports" / "season-2024-25.html").is_file()
    latest = reports[-1].read_text()
    assert "Governance decisions" in latest
