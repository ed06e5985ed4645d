"""The SMTP password: used to log in, written nowhere.

A replay of the loop over eight days (training, backtest, promotion, ingest, drift, two weekly
reports) plus one weekly report through a job's child process, all against an SMTP server that
refuses mail without a login. Then every place the system writes to is searched for the
password: log records and captured output, MLflow params, tags, metric names and artifacts
(downloaded), registry tags, every row of the state database, and every byte under the state
folder (stores, outbox, sent mail, reports, job logs).
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from mlflow.entities import ViewType
from mlflow.tracking import MlflowClient
from pydantic import SecretStr

from jobs.daemon.catalogue import lookup
from jobs.daemon.runner import JobRunner
from jobs.daemon.schedule_settings import SchedulerSettings
from jobs.loop.replay import replay
from nbaprops.settings import Settings
from nbaprops.statedb import state_engine
from tests.support.stores import PERMISSIVE_POLICY

PASSWORD = "Zq7-NBAPROPS-SMTP-SECRET-4kF9x"
USER = "reporter"


def _forms(secret: str) -> list[bytes]:
    """The password as text and as base64 (how SMTP AUTH carries it)."""
    raw = secret.encode()
    return [raw, base64.b64encode(raw), base64.b64encode(f"\0{USER}\0{secret}".encode())]


def _leaks(text: str | bytes, where: str) -> list[str]:
    data = text.encode(errors="replace") if isinstance(text, str) else text
    return [f"{where} holds the password" for form in _forms(PASSWORD) if form in data]


def _all_files(folder: Path) -> Iterator[Path]:
    return (p for p in folder.rglob("*") if p.is_file())


def _mlflow_leaks(client: MlflowClient, download_to: Path) -> tuple[list[str], int]:
    """Search every run's params, tags, metric names and downloaded artifacts."""
    leaks: list[str] = []
    experiments = client.search_experiments(view_type=ViewType.ALL)
    runs = client.search_runs(
        [e.experiment_id for e in experiments], run_view_type=ViewType.ALL, max_results=1000
    )
    files = 0
    for experiment in experiments:
        leaks += _leaks(repr(experiment.tags), f"experiment {experiment.name}")
    for run in runs:
        where = f"run {run.info.run_name}"
        leaks += _leaks(repr(sorted(run.data.params.items())), f"{where} params")
        leaks += _leaks(repr(sorted(run.data.tags.items())), f"{where} tags")
        leaks += _leaks(repr(sorted(run.data.metrics)), f"{where} metric names")
        target = download_to / run.info.run_id
        target.mkdir(parents=True)
        client.download_artifacts(run.info.run_id, "", str(target))
        for path in _all_files(target):
            files += 1
            leaks += _leaks(path.read_bytes(), f"{where} artifact {path.name}")
    for model in client.search_registered_models():
        leaks += _leaks(repr((model.tags, model.aliases, model.description)), model.name)
    for version in client.search_model_versions():
        leaks += _leaks(repr(version.tags), f"version {version.version} tags")
    return leaks, files


def _database_leaks(engine: sa.Engine) -> tuple[list[str], int]:
    """Search every row of every table of the state database."""
    metadata = sa.MetaData()
    metadata.reflect(engine)
    leaks, rows = [], 0
    with engine.connect() as conn:
        for name, table in metadata.tables.items():
            for row in conn.execute(table.select()):
                rows += 1
                leaks += _leaks(repr(tuple(row)), f"state table {name}")
    return leaks, rows


@pytest.fixture
def login_smtp(auth_smtp: Callable[[str, str], Any]) -> Any:
    """A real SMTP server on 127.0.0.1 that accepts mail only after USER logs in."""
    return auth_smtp(USER, PASSWORD)


@pytest.fixture
def loop_settings(lived_in_settings: Settings, tmp_path: Path, login_smtp: Any) -> Settings:
    """The lived-in state (version 1 in production), a login-only SMTP server, the password."""
    policy = tmp_path / "policy.toml"
    policy.write_text(PERMISSIVE_POLICY, encoding="utf-8")
    return lived_in_settings.model_copy(
        update={
            "retrain_params": "n_estimators=40,learning_rate=0.2,max_depth=2",
            "backtest_days": 21,
            "refit_days": 14,
            "policy_file": policy,
            "smtp_host": "127.0.0.1",
            "smtp_port": login_smtp.port,
            "smtp_user": USER,
            "smtp_password": SecretStr(PASSWORD),
            "report_sender": "nbaprops@example.com",
        }
    )


def test_a_full_cycle_uses_the_smtp_password_and_writes_it_nowhere(
    loop_settings: Settings,
    login_smtp: Any,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    settings = loop_settings
    caplog.set_level(logging.DEBUG)
    days = list(replay(settings, dt.date(2025, 1, 6), 8, retrain_every=8))
    runner = JobRunner(
        settings,
        SchedulerSettings(_env_file=None),  # type: ignore[call-arg]
        state_engine(settings),
    )
    child = runner.run(lookup("weekly_report"), dt.date(2025, 1, 20), trigger="manual")

    # The loop ran end to end and the password was used: every email went out after a login.
    statuses = {job["status"] for day in days for job in day.jobs.values()}
    assert statuses <= {"succeeded", "skipped"}, [d.to_dict() for d in days]
    assert sum(day.jobs["ingest"]["summary"]["predicted"] for day in days) > 0
    assert all(day.jobs["drift_check"]["status"] == "succeeded" for day in days)
    reports = [day.jobs["weekly_report"]["summary"] for day in days if "weekly_report" in day.jobs]
    assert [r["delivered"] for r in reports] == [True, True]
    assert child.status == "succeeded" and child.summary["delivered"] is True
    assert len(login_smtp.received) == 3
    assert login_smtp.logins == [True, True, True]
    assert len(list((settings.outbox_dir / "sent").iterdir())) == 3

    assert _leaks(f"a line with {PASSWORD} in it", "probe")  # the search does find it
    leaks: list[str] = []
    captured = capfd.readouterr()
    leaks += _leaks(captured.out, "stdout") + _leaks(captured.err, "stderr")
    # every record but the test SMTP server's own protocol log (it sees the AUTH exchange)
    records = [r for r in caplog.records if not r.name.startswith("mail.log")]
    assert any(r.name.startswith("jobs") for r in records)
    for record in records:
        leaks += _leaks(f"{record.getMessage()} {record.args!r} {record.exc_text}", record.name)
    uri = settings.resolved_tracking_uri
    client = MlflowClient(uri, uri)
    mlflow_leaks, artifacts = _mlflow_leaks(client, tmp_path / "downloaded")
    leaks += mlflow_leaks
    for experiment in client.search_experiments(view_type=ViewType.ALL):  # logged models too
        store = Path(experiment.artifact_location.removeprefix("file://"))
        for path in _all_files(store) if store.is_dir() else ():
            leaks += _leaks(path.read_bytes(), f"artifact store file {path}")
    db_leaks, rows = _database_leaks(state_engine(settings))
    leaks += db_leaks
    files = list(_all_files(settings.home))
    for path in files:
        leaks += _leaks(path.read_bytes(), str(path.relative_to(settings.home)))
    assert leaks == []
    # ... and the search had something to search.
    assert artifacts > 20 and rows > 50
    job_logs = [p for p in files if "logs" in p.parts]
    assert job_logs and any(p.name.endswith(".eml") for p in files)
