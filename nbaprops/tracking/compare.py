"""Run comparison within a phase and across phases, with bounded MLflow queries."""

from __future__ import annotations

from dataclasses import dataclass

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
    )


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
    rows = []
    for phase in PHASES:
        best = compare_phase(client, phase, filter_string, top=1)
        rows.extend(best)
    return rows
