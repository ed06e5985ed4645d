"""Run comparison within a phase and across phases, with bounded MLflow queries."""

from __future__ import annotations

from dataclasses import dataclass, replace

from mlflow.entities import Run
from mlflow.tracking import MlflowClient

from nbaprops.tracking.setup import PHASES, Phase

COMPARE_METRICS: tuple[str, ...] = (
    "val_mae",
    "baseline_mae",
    "oracle_mae",
    "brier_score",
    "calibration_error",
    "wf_roi",
    "wf_win_rate",
)


@dataclass(frozen=True)
class RunRow:
    """One run as a comparison table row."""

    phase: str
    run_id: str
    run_name: str
    model_type: str
    metrics: dict[str, float]
    experiment_id: str = ""

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON output."""
        return {
            "phase": self.phase,
            "run_id": self.run_id,
            "run_name": self.run_name,
            "model_type": self.model_type,
            **{k: self.metrics.get(k) for k in COMPARE_METRICS},
        }


def _row(phase: Phase, run: Run) -> RunRow:
    return RunRow(
        phase=phase.experiment,
        run_id=run.info.run_id,
        run_name=run.info.run_name or "",
        model_type=run.data.tags.get("model_type", ""),
        metrics=dict(run.data.metrics),
        experiment_id=run.info.experiment_id,
    )


#: The walk-forward figures a training run's row borrows from the backtest of its recipe.
WALK_FORWARD_METRICS: tuple[str, ...] = ("wf_roi", "wf_win_rate")

#: The tag that links a walk-forward backtest to the training run whose recipe it replayed.
SOURCE_RUN_TAG = "source_run_id"


def with_walk_forward(client: MlflowClient, row: RunRow) -> RunRow:
    """`row` with the walk-forward figures of the latest finished backtest of its recipe.

    A training run has no walk-forward ROI of its own: `nbaprops backtest --run` (and the nightly
    backtest of a registered version) replays its recipe and tags the backtest with the run's id.
    One bounded search in the row's experiment; a row without such a backtest is left as is.
    """
    if not row.experiment_id or all(k in row.metrics for k in WALK_FORWARD_METRICS):
        return row
    found = client.search_runs(
        [row.experiment_id],
        filter_string=(
            f"tags.{SOURCE_RUN_TAG} = '{row.run_id}' and tags.backtest = 'walk_forward' "
            "and attributes.status = 'FINISHED'"
        ),
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if not found:
        return row
    borrowed = {k: v for k, v in found[0].data.metrics.items() if k in WALK_FORWARD_METRICS}
    return replace(row, metrics={**borrowed, **row.metrics})


def compare_phase(
    client: MlflowClient,
    phase: Phase,
    filter_string: str | None = None,
    top: int = 10,
    order_by: str = "metrics.val_mae ASC",
) -> list[RunRow]:
    """The best `top` finished top-level runs of one phase, by `order_by`.

    Ensemble members and backtest folds are child runs and are compared through their parent.
    """
    experiment = client.get_experiment_by_name(phase.experiment)
    if experiment is None:
        return []
    runs = client.search_runs(
        [experiment.experiment_id],
        filter_string=filter_string or "",
        order_by=[order_by],
        max_results=top * 3,
    )
    rows = [
        _row(phase, r)
        for r in runs
        if "mlflow.parentRunId" not in r.data.tags and r.info.status == "FINISHED"
    ]
    return rows[:top]


def best_by_phase(client: MlflowClient, filter_string: str | None = None) -> list[RunRow]:
    """The best run of each phase (lowest val_mae), side by side, one row per phase."""
    rows: list[RunRow] = []
    for phase in PHASES:
        best = compare_phase(client, phase, filter_string, top=1)
        rows.extend(with_walk_forward(client, row) for row in best)
    return rows
