"""A Production model whose live P(over) is badly calibrated is rolled back by the real
drift job (`nbaprops jobs run drift_check`), with the calibration reason in the audit trail.

The MAE rule stays quiet (every prediction is exact); only the calibration rule can fire, and
it needs min_calibration_bets (1,000) settled priced rows, more than the MAE window's 500.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd

from governance.audit import AuditTrail
from governance.policy import parse_policy
from governance.promotion import promote
from governance.registry import PRODUCTION, register_run, version_by_alias
from jobs.loop.live_predictions import LivePredictions
from nbaprops.statedb import state_engine
from nbaprops.tracking.setup import fluent_store, init_tracking
from tests.support.stores import PERMISSIVE_POLICY

from .conftest import MODEL, T0, Lab, fresh_home, live_settings, run_cli

DAY = dt.date(2025, 1, 20)
LENIENT = parse_policy(PERMISSIVE_POLICY)


def test_miscalibrated_production_is_rolled_back_with_the_reason(lab: Lab, tmp_path: Path) -> None:
    home = fresh_home(lab, tmp_path / "state")
    settings = live_settings(home, lab.full)
    client = init_tracking(settings)
    engine = state_engine(settings)
    first = version_by_alias(client, MODEL, PRODUCTION)
    assert first is not None
    with fluent_store(client):
        second = register_run(client, engine, first.run_id, T0, "test")
    promote(client, engine, MODEL, second.version, "staging", LENIENT, T0, "test")
    promote(client, engine, MODEL, second.version, "production", LENIENT, T0, "test",
            force=True, reason="the miscalibrated one")  # fmt: skip
    live = LivePredictions(engine)
    live.ensure_schema()
    for offset in range(15):  # 1,500 settled rows: P(over) 0.9, every result under, exact MAE
        day = DAY - dt.timedelta(days=15 - offset)
        frame = pd.DataFrame({"player_id": range(100), "player_name": "p", "market": "PTS",
                              "line": 10.5, "prediction": 3.0, "p_over": 0.9})  # fmt: skip
        live.record(day, second.version, frame)
        live.settle(day, frame[["player_id", "market"]].assign(actual=3.0), day)
    engine.dispose()

    result = run_cli(settings, "jobs", "run", "drift_check", "--date", str(DAY), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)["summary"]
    assert summary["breached"] is True
    assert any("rolling calibration error 0.900" in r for r in summary["reasons"])
    assert summary["rollback"]["restored"] == first.version

    restored = version_by_alias(init_tracking(settings), MODEL, PRODUCTION)
    assert restored is not None and restored.version == first.version
    rollbacks = [e for e in AuditTrail(state_engine(settings)).since() if e.action == "rollback"]
    # one entry for the archived version, one for the restored one, both with the reason
    assert len(rollbacks) == 2
    assert all("drift: rolling calibration error 0.900" in e.reason for e in rollbacks)
