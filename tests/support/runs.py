"""MLflow runs logged through the client at explicit times, for stores that tests and
benchmarks read back by week."""

from __future__ import annotations

import datetime as dt

from mlflow.entities import Metric
from mlflow.tracking import MlflowClient


def ms(when: dt.datetime) -> int:
    """MLflow's millisecond timestamp of an aware datetime."""
    return int(when.timestamp() * 1000)


def log_finished_run(
    client: MlflowClient,
    experiment_id: str,
    name: str,
    start: dt.datetime,
    metrics: dict[str, float],
    tags: dict[str, str] | None = None,
    status: str = "FINISHED",
) -> str:
    """A run that started at `start`, logged `metrics` in one batch and ended a minute later
    with `status`; returns its id."""
    run = client.create_run(experiment_id, start_time=ms(start), run_name=name, tags=tags or {})
    run_id = str(run.info.run_id)
    client.log_batch(run_id, metrics=[Metric(k, v, ms(start), 0) for k, v in metrics.items()])
    client.set_terminated(run_id, status=status, end_time=ms(start) + 60_000)
    return run_id
