"""Writes a state database the way release 0.1.0 (commit 867fa5a) did, with known rows.

Run with release 0.1.0 on the path, e.g.
`PYTHONPATH=/tmp/wt017 .venv/bin/python tests/statedb/release_0_1_0.py sqlite:///state.db`;
tests/statedb/fixtures/state-0.1.0.db was made that way. The rows are chosen so an upgrade
that drops, rewrites or truncates anything is caught by `EXPECTED_COUNTS` and the contents.
"""

from __future__ import annotations

import datetime as dt
import sys

EXPECTED_COUNTS = {
    "job_history": 3,
    "scheduler_heartbeat": 1,
    "audit_log": 3,
    "live_predictions": 2,
    "registry_intents": 1,
}
T0 = dt.datetime(2025, 1, 6, 8, 0, tzinfo=dt.UTC)


def build(url: str) -> None:
    """Create the 0.1.0 tables in `url` through that release's own code and insert rows."""
    import pandas as pd
    import sqlalchemy as sa

    from governance.audit import AuditTrail, audit_entry
    from governance.intents import write_intent
    from jobs.history import Heartbeat, JobHistory  # type: ignore[import-not-found]
    from jobs.live import LivePredictions  # type: ignore[import-not-found]

    engine = sa.create_engine(url)
    history = JobHistory(engine)
    history.ensure_schema()
    done = history.open_run("ingest", T0.date(), T0, trigger="schedule", pid=11, host="h")
    history.close_run(done, T0 + dt.timedelta(minutes=2), "succeeded", summary={"rows": 7})
    failed = history.open_run("retrain", T0.date(), T0, trigger="manual", pid=12, host="h")
    history.close_run(failed, T0 + dt.timedelta(minutes=1), "failed", error="boom")
    history.open_run("report", T0.date(), T0, trigger="schedule", pid=13, host="h")
    history.write_heartbeat(Heartbeat(T0, T0, 11, "h", "running"))

    trail = AuditTrail(engine)
    trail.ensure_schema()
    for action, version in (("register", "1"), ("evaluate", "1"), ("promote", "1")):
        trail.record(
            audit_entry(
                T0,
                actor="nightly",
                action=action,
                model_name="M",
                version=version,
                reason=f"{action} v1",
            )
        )
    write_intent(engine, T0, "M", "1", "promote", [{"op": "set_alias", "alias": "Production",
                                                     "version": "1"}])  # fmt: skip

    live = LivePredictions(engine)
    live.ensure_schema()
    frame = pd.DataFrame(
        {
            "player_id": [1, 2],
            "player_name": ["A", "B"],
            "market": ["PTS", "PTS"],
            "line": [20.5, None],
            "prediction": [21.0, 9.5],
            "p_over": [0.55, None],
        }
    )
    live.record(T0.date(), "1", frame)
    engine.dispose()


if __name__ == "__main__":
    build(sys.argv[1])
