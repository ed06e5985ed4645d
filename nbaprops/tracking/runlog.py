"""Small helpers to log a run's content efficiently: batched metrics, one artifact upload."""

from __future__ import annotations

import datetime as dt
import json
import math
import multiprocessing
import subprocess
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient
from mlflow.utils.validation import (
    MAX_ENTITIES_PER_BATCH,
    MAX_METRICS_PER_BATCH,
    MAX_PARAMS_TAGS_PER_BATCH,
)

import nbaprops
from nbaprops.tracking.setup import fluent_store


def finite_metrics(metrics: Mapping[str, float]) -> dict[str, float]:
    """Drop NaN/inf values, which MLflow would store but no comparison can use."""
    return {k: float(v) for k, v in metrics.items() if v is not None and math.isfinite(float(v))}


def log_metrics(metrics: Mapping[str, float]) -> None:
    """One batched call (per-metric calls cost ~15 ms each on SQLite)."""
    clean = finite_metrics(metrics)
    if clean:
        mlflow.log_metrics(clean)


def log_run_batch(
    client: MlflowClient,
    run_id: str,
    *,
    metrics: Mapping[str, float] = {},
    stepped: list[Metric] | None = None,
    params: Mapping[str, Any] = {},
    tags: Mapping[str, str] = {},
) -> None:
    """Write a run's metrics, stepped curves, params and tags in as few log_batch calls as
    MLflow's limits allow (one SQLite transaction each, instead of one per value)."""
    now = int(dt.datetime.now().timestamp() * 1000)
    metric_rows = [Metric(k, v, now, 0) for k, v in finite_metrics(metrics).items()]
    metric_rows += [m for m in stepped or [] if math.isfinite(m.value)]
    param_rows = [Param(k, str(v)) for k, v in params.items()]
    tag_rows = [RunTag(k, str(v)) for k, v in tags.items()]
    while metric_rows or param_rows or tag_rows:
        cut = MAX_PARAMS_TAGS_PER_BATCH
        p, param_rows = param_rows[:cut], param_rows[cut:]
        t, tag_rows = tag_rows[:cut], tag_rows[cut:]
        room = min(MAX_METRICS_PER_BATCH, MAX_ENTITIES_PER_BATCH - len(p) - len(t))
        m, metric_rows = metric_rows[:room], metric_rows[room:]
        client.log_batch(run_id, metrics=m, params=p, tags=t)


def start_in_fork(work: Callable[[], None]) -> Callable[[], None]:
    """Run `work` (drawing and writing a run's artifacts) in a forked process, data shared
    copy-on-write and nothing pickled, while this one goes on logging; returns the wait.
    Where fork is missing, or the child fails, the work runs here, so an error surfaces as the
    real exception. The work must not touch the store or any booster's thread pool."""
    if "fork" not in multiprocessing.get_all_start_methods():
        work()
        return lambda: None
    child = multiprocessing.get_context("fork").Process(target=work, daemon=True)
    child.start()

    def wait() -> None:
        child.join()
        if child.exitcode != 0:
            work()

    return wait


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """`frame.to_csv(path, index=False)`, about ten times faster (pyarrow's writer): a run's
    prediction and bet tables run to 20,000-50,000 rows. Timestamps all at midnight are written
    as dates, others to the second; strings are quoted where needed, booleans as true/false
    (which read_csv reads back as booleans). A frame pyarrow cannot type goes through pandas."""
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        frame.to_csv(path, index=False)
        return path
    columns = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_timestamp(column.type):
            values = frame[name].dropna()
            midnight = bool((values == values.dt.normalize()).all())
            column = column.cast(pa.date32() if midnight else pa.timestamp("s"), safe=False)
        columns.append(column)
    pa_csv.write_csv(pa.table(columns, names=table.column_names), path)
    return path


def write_json(path: Path, payload: Any) -> Path:
    """Write pretty JSON (sorted keys) and return the path."""
    path.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
    return path


@lru_cache(maxsize=1)
def code_version() -> str:
    """Package version plus the git commit of the working tree when there is one."""
    root = Path(nbaprops.__file__).resolve().parent.parent
    try:
        sha = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    version = getattr(nbaprops, "__version__", "0")
    return f"{version}+{sha}" if sha else version


@contextmanager
def start_tracked_run(
    experiment_id: str,
    run_name: str,
    tags: Mapping[str, str],
    started_at: dt.datetime | None = None,
    *,
    client: MlflowClient,
) -> Iterator[mlflow.ActiveRun]:
    """An active run in `client`'s store; for a replayed day, one whose start time is that day.

    The fluent API (log_model, autologging, log_artifacts) points at `client`'s store for the
    run's duration only (fluent_store). Weekly reports select runs by start time, so a season
    replay must log its runs at the simulated time: the run is created with that start time,
    then resumed as the active run.
    """
    with fluent_store(client):
        if started_at is None:
            with mlflow.start_run(
                experiment_id=experiment_id, run_name=run_name, tags=dict(tags)
            ) as active:
                yield active
            return
        from mlflow.tracking.context.registry import resolve_tags

        run = client.create_run(
            experiment_id,
            start_time=int(started_at.timestamp() * 1000),
            # the context tags start_run adds (user, source, MLFLOW_RUN_CONTEXT: the job's run)
            tags=resolve_tags({**tags, "mlflow.runName": run_name}),
            run_name=run_name,
        )
        with mlflow.start_run(run_id=run.info.run_id) as active:
            yield active
