"""The real daemon running a real nightly retrain: kill -9 mid-training, a manual trigger while
the scheduled run holds the lock, and a restart that catches up the missed night once."""

from __future__ import annotations

import datetime as dt
import signal
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from jobs.daemon.status import stored_next_runs


def test_kill_9_during_training_then_the_restart_catches_up_the_missed_night_once(
    nbaprops: Any,
    daemons: Callable[..., Any],
    health: Any,
    processes: Any,
    poll: Callable[..., Any],
    scenario: Callable[[str], None],
) -> None:
    scenario("kill -9 of the daemon during training (nightly_retrain)")
    scenario("restart after a missed nightly run (real retrain caught up once)")
    scenario("manual trigger while the scheduled run holds the lock (exit 3)")
    now = dt.datetime.now(dt.UTC)
    fired = (now - dt.timedelta(minutes=5)).replace(second=0, microsecond=0)
    nightly = {"nightly_retrain": f"{fired.minute} {fired.hour} * * *"}
    versions_before = {v.version for v in health.versions()}

    first = daemons(nightly)
    first.seed({"nightly_retrain": fired})  # due five minutes ago: it runs at start-up
    first.start()

    def training() -> Any:
        runs = health.runs("RUNNING", "tags.`nbaprops.job` = 'nightly_retrain'")
        return runs[0] if runs else None

    killed_run = first.wait_for(training, "the nightly retrain's MLflow run")
    children = processes.children(first.pid)
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    poll(lambda: not any(processes.alive(pid) for pid in children),
         "the orphaned job process to stop itself", 30)  # fmt: skip
    (orphan,) = health.history("nightly_retrain")
    assert orphan.status == "running"  # nobody could close it
    # The killed run consumed tonight's trigger: the store waits for tomorrow's firing.
    assert stored_next_runs(health.engine)["nightly_retrain"] == fired + dt.timedelta(days=1)

    # The machine stays down past the next firing: the store's next run lies in the past.
    first.seed({"nightly_retrain": fired})
    second = daemons(nightly).start()
    catch_up = second.wait_for(
        lambda: [r for r in health.history("nightly_retrain")[1:] if r.status == "running"],
        "the catch-up run",
    )[0]
    busy = nbaprops.invoke("jobs", "run", "nightly_retrain")
    assert busy.exit_code == 3, busy.output
    assert "nightly_retrain is already running" in busy.stderr
    assert f"by pid {second.pid}" in busy.stderr and "scheduled" in busy.stderr
    second.wait_for(
        lambda: health.history("nightly_retrain")[-1].status == "succeeded", "the catch-up run"
    )
    assert second.stop() == 0

    orphan, done = health.history("nightly_retrain")  # the refused trigger wrote no row
    assert orphan.status == "failed"
    assert f"process {first.pid}" in orphan.error and "ended without closing" in orphan.error
    assert (done.id, done.trigger, done.scheduled_at) == (catch_up.id, "scheduled", fired)
    assert done.run_for == fired.date()
    assert stored_next_runs(health.engine)["nightly_retrain"] == fired + dt.timedelta(days=1)
    assert health.client.get_run(killed_run.info.run_id).info.status == "FAILED"
    (caught,) = health.runs(extra=f"tags.`nbaprops.job_run` = '{done.id}'")
    assert caught.info.status == "FINISHED"
    new_versions = [v for v in health.versions() if v.version not in versions_before]
    assert [v.run_id for v in new_versions] == [caught.info.run_id]
    assert done.summary is not None and done.summary["version"] == new_versions[0].version
    health.assert_healthy(production="1")
    beat = sa.select(sa.text("pid, state")).select_from(sa.text("scheduler_heartbeat"))
    with health.engine.connect() as conn:
        assert tuple(conn.execute(beat).one()) == (second.pid, "stopped")
