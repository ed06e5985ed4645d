"""PostgreSQL restarted in the middle of a promotion.

A real throwaway cluster holds both the MLflow tracking store and the state database. The
candidate pipeline runs through `nbaprops jobs run` (each job in its child process, as the
daemon runs it) until version 1 is in production and version 2 is staged and backtested. Then
`evaluate_promotion` runs with a hook in its child process that restarts the cluster after the
decision was recorded and the intent written, around the registry move: the move meets a
server that is gone, the job fails naming the store, its history row says failed (written once
the server is back), and the next run completes the promotion once, with nothing lost.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from jobs.daemon.catalogue import lookup
from jobs.daemon.runner import JobRunner
from jobs.daemon.schedule_settings import SchedulerSettings
from nbaprops.settings import Settings
from nbaprops.statedb import state_engine
from tests.support.faults_postgres import RestartableCluster, missing_reason
from tests.support.ports import free_port
from tests.support.stores import PERMISSIVE_POLICY

FIRST, SECOND = "2024-12-02", "2024-12-12"
CHEAP_MODEL = "n_estimators=60,max_depth=3,learning_rate=0.1"  # beats the baseline on 4 teams
#: Loaded by every Python process started with the hook folder on PYTHONPATH (the job's child):
#: the first to_production move stops the cluster, tries its steps, and starts it again.
RESTART_HOOK = """
import json, os, subprocess

if os.environ.get("FAULTS_PG_RESTART"):
    import governance.intents as intents

    stop, start, marker = json.loads(os.environ["FAULTS_PG_RESTART"])
    real_apply_steps = intents.apply_steps

    def apply_steps(client, intent, after_step=None):
        if intent.kind != "to_production" or os.path.exists(marker):
            return real_apply_steps(client, intent, after_step)
        with open(marker, "w") as note:
            note.write(f"restarting PostgreSQL before the steps of intent #{intent.id}\\n")
        subprocess.run(stop, check=True, capture_output=True)
        try:
            return real_apply_steps(client, intent, after_step)
        finally:
            subprocess.run(start, check=True, capture_output=True)

    intents.apply_steps = apply_steps
"""
_numbers = itertools.count()


@pytest.fixture(scope="module")
def cluster() -> Iterator[RestartableCluster]:
    reason = missing_reason()
    if reason is not None:
        in_ci = os.environ.get("CI", "").lower() == "true" or os.environ.get("NBAPROPS_CI") == "1"
        if in_ci:
            pytest.fail(f"{reason}; CI runs the PostgreSQL fault scenarios for real", pytrace=False)
        pytest.skip(reason)
    made = RestartableCluster().init()
    yield made
    made.remove()


@pytest.fixture
def settings(tmp_path: Path, cluster: RestartableCluster) -> Settings:
    """Both stores in the cluster (fresh databases), the cheap retrain, a permissive policy."""
    number = f"{os.getpid()}_{next(_numbers)}"
    home = tmp_path / "state"
    home.mkdir()
    policy = tmp_path / "policy.toml"
    policy.write_text(PERMISSIVE_POLICY)
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        home=home, tracking_uri=cluster.create_database(f"mlflow_{number}"),
        database_url=cluster.create_database(f"state_{number}"), teams=4,
        seasons="2023-24,2024-25", seed=7, workers=2, retrain_model="xgboost",
        retrain_params=CHEAP_MODEL, backtest_days=14, refit_days=14, policy_file=policy,
        report_recipients="ops@example.com", smtp_host="127.0.0.1", smtp_port=free_port(),
    )  # fmt: skip


def test_postgres_restarted_mid_promotion_fails_the_job_and_the_next_run_completes_it(
    settings: Settings,
    cluster: RestartableCluster,
    nbaprops: Any,
    health: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    scenario: Callable[[str], None],
) -> None:
    scenario("PostgreSQL (tracking store and state DB) restarted in the middle of a promotion")
    runner = JobRunner(settings, SchedulerSettings(_env_file=None), state_engine(settings))  # type: ignore[call-arg]
    runner.history.ensure_schema()
    for job, day in [("nightly_retrain", FIRST), ("backtest", FIRST), ("evaluate_promotion", FIRST),
                     ("nightly_retrain", SECOND), ("backtest", SECOND)]:  # fmt: skip
        # in this process, as the replay runs them (the feed is built once)
        ran = runner.run(replace(lookup(job), heavy=False), dt.date.fromisoformat(day),
                         trigger="manual")  # fmt: skip
        assert ran.status == "succeeded", (job, ran.error)
    assert health.aliases() == {"production": "1", "staging": "2"}
    audit_before = health.audit_actions()

    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(RESTART_HOOK)
    marker = tmp_path / "restarted"
    search_path = [str(hook), *filter(None, [os.environ.get("PYTHONPATH")])]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(search_path))
    restart = [cluster.stop_command, cluster.start_command, str(marker)]
    monkeypatch.setenv("FAULTS_PG_RESTART", json.dumps(restart))
    failed = nbaprops.invoke("jobs", "run", "evaluate_promotion", "--date", SECOND)
    assert marker.exists(), "the restart hook never ran: " + failed.output
    assert cluster.running()
    health.engine.dispose()  # the checker's own pooled connections died with the restart
    assert failed.exit_code == 1, failed.output
    store = f"the MLflow tracking store {settings.tracking_uri} is unavailable"
    assert store in failed.stderr, failed.stderr
    row = health.history("evaluate_promotion")[-1]
    assert (row.status, str(row.run_for)) == ("failed", SECOND)
    assert store in (row.error or ""), row.error
    assert health.audit_actions() == [*audit_before, "evaluate"]  # the decision was recorded
    assert health.aliases() == {"production": "1", "staging": "2"}  # no move was made
    assert [(i.kind, i.version) for i in health.pending_intents()] == [("to_production", "2")]

    retried = nbaprops.invoke("jobs", "run", "evaluate_promotion", "--date", SECOND, "--json")
    health.assert_healthy(production="2")  # the next run completed the interrupted move
    assert health.aliases() == {"production": "2", "previous-production": "1"}
    actions = health.audit_actions()
    assert actions[: len(audit_before) + 1] == [*audit_before, "evaluate"]  # nothing lost
    assert actions[len(audit_before) + 1 :] == ["archive", "promote", "repair"]  # moved once
    assert retried.exit_code == 0, retried.output
    assert [r.status for r in health.history("evaluate_promotion")] == [
        "succeeded", "failed", "succeeded",
    ]  # fmt: skip
