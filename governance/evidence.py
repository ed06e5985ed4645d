"""The evidence behind a promotion decision, gathered from MLflow, judged and recorded.

A version's metrics are its training run's metrics overlaid by those of its latest finished
walk-forward backtest (a run tagged backtest=walk_forward and model_version=<version> whose
recipe_digest is the version's recipe and whose betting_digest is the standard betting rules';
the backtest wins on names both log, e.g. calibration_error). The champion's backtest must also
carry the candidate's data_digest: same window, same data. The champion (the Production
version) is judged on its own backtest of the SAME window (tag backtest_window) as the
candidate's; without one the comparison cannot be made, and the verdict cannot be promote.

`evaluate` calls the pure `governance.decision.decide`, then records the decision as version
tags (last_decision, last_decision_at, verdict) and an `evaluate` audit row in one intent.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlflow.entities import Run
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from sqlalchemy import Engine

from governance.audit import audit_entry
from governance.decision import Decision, decide
from governance.intent_steps import audit_step, set_tags
from governance.intents import repair_pending, run_intent
from governance.policy import Policy
from governance.registry import PRODUCTION, aliases_of, get_version, timestamp
from nbaprops.tracking.outage import is_absent, store_errors


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


def _experiment_ids(client: MlflowClient) -> list[str]:
    return [e.experiment_id for e in client.search_experiments()]


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
) -> Run | None:
    """The latest finished walk-forward backtest of `version` (on `window`, when given) whose
    tags equal every `pins` entry (recipe, betting and data digests); others are ignored."""
    filters = [
        "tags.backtest = 'walk_forward'",
        f"tags.model_version = '{version}'",
        "attributes.status = 'FINISHED'",
    ]
    if window is not None:
        filters.append(f"tags.backtest_window = '{window}'")
    for tag, value in sorted((pins or {}).items()):
        filters.append(f"tags.{tag} = '{value}'")
    runs = client.search_runs(
        _experiment_ids(client),
        filter_string=" and ".join(filters),
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return runs[0] if runs else None


def version_evidence(
    client: MlflowClient,
    name: str,
    version: str,
    window: str | None = None,
    data_digest: str | None = None,
) -> Evidence | None:
    """Training metrics overlaid by the latest backtest pinned to the version (on `window` and
    `data_digest` when given): a backtest of another recipe, other betting rules or other data
    is never used.

    With a `window` and no matching backtest on it, returns None: no evidence there.
    """
    info = get_version(client, name, version)
    try:
        with store_errors(client):
            metrics = dict(client.get_run(info.run_id).data.metrics)
    except MlflowException as exc:
        if not is_absent(exc):
            raise
        metrics = {}  # only a training run gone from the store has none
    pins = expected_pins(client, info.run_id)
    if data_digest is not None:
        pins["data_digest"] = data_digest
    backtest = latest_backtest(client, info.version, window, pins)
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


def version_metrics(client: MlflowClient, name: str, version: str) -> dict[str, float]:
    """A version's candidate metrics: training metrics overlaid by its latest backtest's."""
    evidence = version_evidence(client, name, version)
    assert evidence is not None
    return evidence.metrics


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


def judge(client: MlflowClient, name: str, version: str, policy: Policy) -> Evaluation:
    """Gather the evidence and decide, without recording anything."""
    candidate = version_evidence(client, name, version)
    assert candidate is not None
    champion = aliases_of(client, name).get(PRODUCTION)
    if champion is None or champion == candidate.version:
        decision = decide(candidate.metrics, None, policy)
        return Evaluation(
            candidate.version, decision, candidate.metrics, champion, candidate.window
        )
    rival = None
    if candidate.window is not None:
        rival = version_evidence(client, name, champion, candidate.window, candidate.data_digest)
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


def evaluate(
    client: MlflowClient,
    engine: Engine,
    name: str,
    version: str,
    policy: Policy,
    now: dt.datetime,
    actor: str,
) -> Evaluation:
    """Decide on a version and record the decision (version tags + audit row, one intent)."""
    repair_pending(client, engine, now, actor)
    info = get_version(client, name, version)
    evaluation = judge(client, name, info.version, policy)
    decision = evaluation.decision
    tags = {
        "last_decision": json.dumps(decision.to_dict(), sort_keys=True, allow_nan=False),
        "last_decision_at": timestamp(now),
        "verdict": decision.verdict,
        "last_decision_window": evaluation.window or "none",
        "last_decision_champion": evaluation.champion_version or "none",
    }
    entry = audit_entry(
        now,
        actor=actor,
        action="evaluate",
        model_name=name,
        version=info.version,
        from_state=info.lifecycle,
        to_state=info.lifecycle,
        decision=decision,
        reason=decision.summary(),
    )
    run_intent(
        client,
        engine,
        now,
        name,
        info.version,
        "evaluate",
        [set_tags(info.version, tags), audit_step(entry)],
    )
    return evaluation


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
    "Evaluation",
    "Evidence",
    "decision_rows",
    "decision_text",
    "evaluate",
    "judge",
    "latest_backtest",
    "version_evidence",
    "version_metrics",
]
