"""NBAPROPS_RETRAIN_FEATURE_SET=market: the nightly model learns from the books' opening
lines, and the morning's scoring builds the same features from the day's posted lines."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from mlflow.tracking import MlflowClient

from governance.policy import parse_policy
from governance.promotion import promote
from tests.support.stores import PERMISSIVE_POLICY

from .conftest import MODEL, T0, Lab, fresh_home, live_settings, run_cli

DAY = dt.date(2025, 1, 13)


def test_market_features_train_and_score(lab: Lab, tmp_path: Path) -> None:
    home = fresh_home(lab, tmp_path / "state")
    settings = live_settings(home, lab.full, retrain_feature_set="market",
                             retrain_params="n_estimators=40")  # fmt: skip
    result = run_cli(settings, "jobs", "run", "nightly_retrain", "--date", str(DAY), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)["summary"]
    client = MlflowClient(settings.resolved_tracking_uri)
    run = client.get_run(summary["run_id"])
    assert run.data.tags["feature_set"] == "market"
    assert run.data.tags["feature_set_version"] == "fs-market-v1"
    from nbaprops.statedb import state_engine

    lenient = parse_policy(PERMISSIVE_POLICY)
    engine = state_engine(settings)
    version = str(summary["version"])
    if not summary.get("staged"):
        promote(client, engine, MODEL, version, "staging", lenient, T0, "test")
    promote(client, engine, MODEL, version, "production", lenient, T0, "test", force=True,
            reason="the market-feature model")  # fmt: skip
    engine.dispose()
    day = DAY + dt.timedelta(days=1)
    scored = run_cli(settings, "jobs", "run", "ingest", "--date", str(day), "--json")
    assert scored.exit_code == 0, scored.output
    outcome = json.loads(scored.stdout)
    assert outcome["status"] == "succeeded", outcome
    assert outcome["summary"]["model_version"] == version
    assert outcome["summary"]["predicted"] > 0
