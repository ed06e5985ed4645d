"""The evidence behind a promotion decision, gathered from MLflow, judged and recorded.

A version's metrics are its training run's metrics overlaid by those of its latest finished
walk-forward backtest (a run tagged backtest=walk_forward and model_version=<version> whose
recipe_digest is the version's recipe and whose betting_digest is the standard betting rules';
the backtest wins on names both log, e.g. calibration_error). The champion's backtest must also
carry the candidate's data_digest: same window, same data. The champion (the Production
version) is judged on its own backtest of the SAME window (tag backtest_window) as the
candidate's; without one the comparison cannot be made, and the verdict cannot be promote.

Backtests are evidence only in the experiment where backtests of versions live (the
production phase's, EVIDENCE_EXPERIMENT): every search is bounded to it and to one run.
`EvidenceReader.judge` gathers the evidence of one command (each search made once) and calls
the pure `governance.decision.decide`; the lifecycle (governance/lifecycle.py) records it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlflow.entities import Run
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from governance.decision import Decision, decide
from governance.policy import Policy
from governance.registry import PRODUCTION, RegistryView, VersionInfo
from nbaprops.tracking.outage import is_absent, store_errors
from nbaprops.tracking.setup import phase_by_key

#: The experiment where backtests of registered versions live (`nbaprops backtest --version`
#: and the nightly backtest job log there); backtests elsewhere are experiments, not evidence.
EVIDENCE_EXPERIMENT = phase_by_key("production").experiment


@dataclass(frozen=True)
class Evidence:
    """A version's metrics and where they came from."""

    version: str
    metrics: dict[str, float]
    training_run_id: str
    backtest_run_id: str | None = None
    window: str | None = None
    data_digest: str | None = None


@dataclass(frozen=True)
class Evaluation:
    """A recorded decision with the evidence it was made on."""

    version: str
    decision: Decision
    candidate_metrics: dict[str, float]
    champion_version: str | None
    window: str | None
    champion_metrics: dict[str, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {
            "version": self.version,
            "verdict": self.decision.verdict,
            "decision": self.decision.to_dict(),
            "candidate_metrics": self.candidate_metrics,
            "champion_version": self.champion_version,
            "champion_metrics": self.champion_metrics,
            "window": self.window,
        }


def evidence_experiment_ids(client: MlflowClient) -> list[str]:
    """The id of EVIDENCE_EXPERIMENT as a one-item list; empty when it does not exist yet."""
    with store_errors(client):
        experiment = client.get_experiment_by_name(EVIDENCE_EXPERIMENT)
    return [] if experiment is None else [str(experiment.experiment_id)]


def expected_pins(client: MlflowClient, training_run_id: str) -> dict[str, str]:
    """The tags a backtest must carry to count as evidence for the version trained in
    `training_run_id`: its recipe's digest and the standard betting rules' digest."""
    from nbaprops.backtest.pinning import (
        BETTING_TAG,
        RECIPE_TAG,
        recipe_digest,
        standard_betting_digest,
    )
    from nbaprops.training.recipe import recipe_of_run

    try:
        with store_errors(client):  # an outage is an error, not an unreadable recipe
            recipe = recipe_of_run(client, training_run_id)
    except (MlflowException, FileNotFoundError, KeyError, ValueError):
        digest = "unreadable-recipe"  # no backtest can match a recipe nobody can read
    else:
        digest = recipe_digest(
            recipe.model_type, recipe.params, recipe.calibration, recipe.feature_set, recipe.target
        )
    return {RECIPE_TAG: digest, BETTING_TAG: standard_betting_digest()}


def latest_backtest(
    client: MlflowClient,
    version: str,
    window: str | None = None,
    pins: Mapping[str, str] | None = None,
    experiment_ids: Sequence[str] | None = None,
    before_ms: int | None = None,
) -> Run | None:
    """The latest finished walk-forward backtest of `version` (on `window`, when given) whose
    tags equal every `pins` entry (recipe, betting and data digests); others are ignored.

    Searches `experiment_ids` (by default the evidence experiment) for one run; with
    `before_ms`, only runs started before it (milliseconds since the epoch).
    """
    ids = evidence_experiment_ids(client) if experiment_ids is None else list(experiment_ids)
    if not ids:
        return None
    filters = [
        "tags.backtest = 'walk_forward'",
        f"tags.model_version = '{_quoted(version)}'",
        "attributes.status = 'FINISHED'",
    ]
    if window is not None:
        filters.append(f"tags.backtest_window = '{_quoted(window)}'")
    for tag, value in sorted((pins or {}).items()):
        filters.append(f"tags.{tag} = '{_quoted(value)}'")
    if before_ms is not None:
        filters.append(f"attributes.start_time < {int(before_ms)}")
    with store_errors(client):
        runs = client.search_runs(
            ids,
            filter_string=" and ".join(filters),
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
    return runs[0] if runs else None


def _quoted(value: str) -> str:
    return str(value).replace("'", "\\'")


class EvidenceReader:
    """The evidence of one command: pins, training metrics and backtests, each searched once.

    Reads versions through a RegistryView (each read once) and searches backtests in the
    evidence experiment only (looked up once).
    """

    def __init__(self, view: RegistryView) -> None:
        self.view = view
        self._experiment_ids: list[str] | None = None
        self._pins: dict[str, dict[str, str]] = {}
        self._training: dict[str, dict[str, float]] = {}
        self._backtests: dict[tuple[Any, ...], Run | None] = {}

    @property
    def client(self) -> MlflowClient:
        return self.view.client

    def experiment_ids(self) -> list[str]:
        """Where backtests are searched for: the evidence experiment, if it exists."""
        if self._experiment_ids is None:
            self._experiment_ids = evidence_experiment_ids(self.client)
        return list(self._experiment_ids)

    def pins(self, info: VersionInfo) -> dict[str, str]:
        """The tags a backtest needs to count as `info`'s evidence (recipe and betting rules)."""
        if info.run_id not in self._pins:
            self._pins[info.run_id] = expected_pins(self.client, info.run_id)
        return dict(self._pins[info.run_id])

    def backtest(
        self,
        version: str,
        window: str | None = None,
        pins: Mapping[str, str] | None = None,
        before_ms: int | None = None,
    ) -> Run | None:
        """`latest_backtest` in this reader's experiments, searched once per question."""
        key = (version, window, tuple(sorted((pins or {}).items())), before_ms)
        if key not in self._backtests:
            self._backtests[key] = latest_backtest(
                self.client, version, window, pins, self.experiment_ids(), before_ms
            )
        return self._backtests[key]

    def backtest_of(
        self, info: VersionInfo, window: str | None = None, data_digest: str | None = None
    ) -> Run | None:
        """The latest backtest pinned to the version's recipe (and window and data, if given)."""
        pins = self.pins(info)
        if data_digest is not None:
            pins["data_digest"] = data_digest
        return self.backtest(info.version, window, pins)

    def _training_metrics(self, run_id: str) -> dict[str, float]:
        if run_id not in self._training:
            try:
                with store_errors(self.client):
                    self._training[run_id] = dict(self.client.get_run(run_id).data.metrics)
            except MlflowException as exc:
                if not is_absent(exc):
                    raise
                self._training[run_id] = {}  # only a training run gone from the store has none
        return dict(self._training[run_id])

    def evidence(
        self, version: str, window: str | None = None, data_digest: str | None = None
    ) -> Evidence | None:
        """Training metrics overlaid by the latest backtest pinned to the version (on
        `window` and `data_digest` when given): a backtest of another recipe, other betting
        rules or other data is never used.

        With a `window` and no matching backtest on it, returns None: no evidence there.
        """
        info = self.view.version(version)
        metrics = self._training_metrics(info.run_id)
        backtest = self.backtest_of(info, window, data_digest)
        if backtest is None:
            if window is not None:
                return None
            return Evidence(info.version, metrics, info.run_id)
        metrics.update(backtest.data.metrics)
        return Evidence(
            info.version,
            metrics,
            info.run_id,
            backtest.info.run_id,
            backtest.data.tags.get("backtest_window"),
            backtest.data.tags.get("data_digest"),
        )

    def metrics(self, version: str) -> dict[str, float]:
        """A version's candidate metrics: training metrics overlaid by its latest backtest's."""
        evidence = self.evidence(version)
        assert evidence is not None
        return evidence.metrics

    def judge(self, version: str, policy: Policy) -> Evaluation:
        """Gather the evidence and decide (the pure `decide`), without recording anything."""
        candidate = self.evidence(version)
        assert candidate is not None
        champion = self.view.aliases().get(PRODUCTION)
        if champion is None or champion == candidate.version:
            decision = decide(candidate.metrics, None, policy)
            return Evaluation(
                candidate.version, decision, candidate.metrics, champion, candidate.window
            )
        rival = None
        if candidate.window is not None:
            rival = self.evidence(champion, candidate.window, candidate.data_digest)
        if rival is None:
            decision = _cannot_compare(
                decide(candidate.metrics, None, policy), _backtest_hint(champion, candidate.window)
            )
            return Evaluation(
                candidate.version, decision, candidate.metrics, champion, candidate.window
            )
        decision = decide(candidate.metrics, rival.metrics, policy)
        return Evaluation(
            candidate.version,
            decision,
            candidate.metrics,
            champion,
            candidate.window,
            rival.metrics,
        )


def version_evidence(
    client: MlflowClient,
    name: str,
    version: str,
    window: str | None = None,
    data_digest: str | None = None,
) -> Evidence | None:
    """One-shot form of `EvidenceReader.evidence` (a fresh reader for one question)."""
    return EvidenceReader(RegistryView(client, name)).evidence(version, window, data_digest)


def _backtest_hint(champion: str, window: str | None) -> str:
    if window is None:
        return "the candidate has no walk-forward backtest tagged model_version=<version>"
    start = window.split("..", 1)[0]
    return (
        f"champion not backtested on {window}: run `nbaprops backtest --version {champion} "
        f"--start {start}`"
    )


def _cannot_compare(decision: Decision, reason: str) -> Decision:
    """A decision whose champion comparison could not be made: never promote."""
    verdict = "keep_in_staging" if decision.verdict == "promote" else decision.verdict
    reasons = (*(() if decision.verdict == "promote" else decision.reasons), reason)
    return dataclasses.replace(decision, verdict=verdict, reasons=reasons, has_champion=True)


def decision_rows(decision: Decision) -> list[dict[str, Any]]:
    """The decision as table rows: criterion, metric, value, op, threshold, result, note."""
    return [
        {
            "criterion": r.name,
            "metric": r.metric,
            "value": r.value,
            "op": r.op,
            "threshold": r.threshold,
            "result": "pass" if r.passed else "fail",
            "note": r.note,
        }
        for r in (*decision.criteria, *decision.champion_comparison)
    ]


def decision_text(decision: Decision) -> str:
    """The decision table and the verdict as plain text (for error messages and logs)."""
    lines = []
    for row in decision_rows(decision):
        value = "missing" if row["value"] is None else f"{row['value']:.4g}"
        threshold = "" if row["threshold"] is None else f"{row['threshold']:g}"
        lines.append(
            f"  {row['result']:<4} {row['criterion']}: {row['metric']} = {value} "
            f"(needs {row['op']} {threshold})"
        )
    lines.append(f"verdict: {decision.verdict}")
    lines.extend(f"  - {reason}" for reason in decision.reasons)
    return "\n".join(lines)


__all__ = [
    "EVIDENCE_EXPERIMENT",
    "Evaluation",
    "Evidence",
    "EvidenceReader",
    "decision_rows",
    "decision_text",
    "evidence_experiment_ids",
    "expected_pins",
    "latest_backtest",
    "version_evidence",
]
