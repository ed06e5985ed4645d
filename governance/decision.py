"""The promotion decision: candidate metrics, champion metrics and a policy in; a verdict out.

`decide` is pure (no registry, no clock, no I/O) so that every rule is pinned by table-driven
tests; only the registry layer acts on a Decision, and it records it in the audit trail.

Rules:
1. Each criterion checks `candidate[metric] op threshold`. A metric that is missing, not a
   number, NaN or infinite FAILS its criterion; it never passes silently.
2. A criterion with `min_count` is not evaluated when the sample behind it (its
   `count_metric`, by default the policy's `sample_size_metric`, the number of bets) is
   missing or below it: it fails as "not evaluated" and only ever keeps the candidate in
   staging (awaiting more evidence), never rejects it.
3. A failure's severity is the criterion's `on_fail`: "reject" (hard: the model is not good
   enough and more data will not change that, e.g. val_mae too high, or a calibration error
   above its limit over enough bets) or "keep_in_staging" (soft: not enough evidence yet, e.g.
   too few bets, ROI lower bound not above 0, win rate or Sharpe short of the bar). A soft
   failure at or beyond the criterion's `reject_at` is hard (e.g. wf_roi <= 0 over 500+ bets:
   a losing model).
4. With a champion (the current Production model scored on the same backtest window), each
   champion comparison passes when the candidate is not worse than the champion by more than
   its margin. A candidate metric that is missing fails the comparison; a champion metric that
   is missing cannot be compared and passes with a note saying so. A failed comparison has the
   champion rule's `on_fail` severity (by default keep_in_staging). Without a champion there
   is nothing to compare and the comparison passes.
5. Verdict: "reject" if any failure is hard; else "promote" if every criterion and every
   champion comparison passed; else "keep_in_staging".
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from governance.policy import ChampionComparison, Criterion, Policy, Severity, compare

Verdict = Literal["promote", "keep_in_staging", "reject"]
VERDICTS: tuple[str, ...] = ("promote", "keep_in_staging", "reject")


@dataclass(frozen=True)
class CriterionResult:
    """One check of a decision: the value seen, the bar, and whether it passed and why."""

    name: str
    metric: str
    value: float | None
    threshold: float | None
    op: str
    passed: bool
    note: str
    severity: Severity | None = None
    evaluated: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (no NaN)."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Decision:
    """The verdict with every criterion's value, bar and outcome, and the reasons in words."""

    verdict: Verdict
    criteria: tuple[CriterionResult, ...]
    champion_comparison: tuple[CriterionResult, ...]
    reasons: tuple[str, ...]
    has_champion: bool
    policy_source: str = ""
    policy_digest: str = ""

    @property
    def promoted(self) -> bool:
        """True when the verdict is promote."""
        return self.verdict == "promote"

    @property
    def failures(self) -> tuple[CriterionResult, ...]:
        """Every failed criterion and champion comparison, in policy order."""
        return tuple(r for r in (*self.criteria, *self.champion_comparison) if not r.passed)

    def summary(self) -> str:
        """One line for logs, tags and emails: the verdict and the first reasons."""
        return f"{self.verdict}: " + "; ".join(self.reasons)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form for MLflow tags and the audit trail."""
        return {
            "verdict": self.verdict,
            "criteria": [r.to_dict() for r in self.criteria],
            "champion_comparison": [r.to_dict() for r in self.champion_comparison],
            "reasons": list(self.reasons),
            "has_champion": self.has_champion,
            "policy_source": self.policy_source,
            "policy_digest": self.policy_digest,
        }


def decide(
    candidate: Mapping[str, float],
    champion: Mapping[str, float] | None,
    policy: Policy,
) -> Decision:
    """Judge a candidate against the policy and (when there is one) the Production champion."""
    criteria = tuple(_check_criterion(c, candidate) for c in policy.criteria)
    comparisons: tuple[CriterionResult, ...] = ()
    if champion is not None:
        comparisons = tuple(
            _check_champion(c, candidate, champion, policy.champion.on_fail)
            for c in policy.champion.comparisons
        )
    results = (*criteria, *comparisons)
    if any(r.severity == "reject" for r in results):
        verdict: Verdict = "reject"
    elif all(r.passed for r in results):
        verdict = "promote"
    else:
        verdict = "keep_in_staging"
    return Decision(
        verdict=verdict,
        criteria=criteria,
        champion_comparison=comparisons,
        reasons=_reasons(verdict, criteria, comparisons, champion is not None),
        has_champion=champion is not None,
        policy_source=policy.source,
        policy_digest=policy.digest,
    )


def _finite(raw: object) -> float | None:
    """The value as a finite float, or None when missing, not a number, NaN or infinite."""
    if raw is None or isinstance(raw, bool):
        return None
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _unusable(raw: object, metric: str) -> str:
    """Why a raw metric value cannot be judged, in words."""
    if raw is None:
        return f"{metric} is missing; re-run the evaluation that logs it"
    return f"{metric} = {raw!r} is not a finite number; re-run the evaluation that logs it"


def _check_criterion(criterion: Criterion, candidate: Mapping[str, float]) -> CriterionResult:
    raw = candidate.get(criterion.metric)
    value = _finite(raw)

    def result(
        passed: bool, note: str, severity: Severity | None = None, evaluated: bool = True
    ) -> CriterionResult:
        return CriterionResult(
            criterion.name,
            criterion.metric,
            value,
            criterion.threshold,
            criterion.op,
            passed,
            note,
            severity,
            evaluated,
        )

    if criterion.min_count is not None and criterion.count_metric is not None:
        count = _finite(candidate.get(criterion.count_metric))
        if count is None or count < criterion.min_count:
            seen = "missing" if count is None else f"{count:g}"
            note = (
                f"not evaluated: {criterion.count_metric} {seen} < {criterion.min_count} "
                "needed; awaiting more evidence"
            )
            return result(False, note, "keep_in_staging", evaluated=False)
    if value is None:
        return result(False, _unusable(raw, criterion.metric), criterion.on_fail)
    bar = f"{criterion.op} {criterion.threshold:g}"
    if compare(value, criterion.op, criterion.threshold):
        return result(True, f"{criterion.metric} {value:.4g} {bar}")
    severity = criterion.on_fail
    note = f"{criterion.metric} {value:.4g} is not {bar}"
    if criterion.reject_at is not None and _at_or_beyond(value, criterion):
        severity = "reject"
        note += f" and is at or beyond the reject limit {criterion.reject_at:g}"
    return result(False, note, severity)


def _at_or_beyond(value: float, criterion: Criterion) -> bool:
    """Whether a value sits at or past the criterion's reject limit (on the failing side)."""
    assert criterion.reject_at is not None
    if criterion.direction == "higher":
        return value <= criterion.reject_at
    return value >= criterion.reject_at


def _check_champion(
    comparison: ChampionComparison,
    candidate: Mapping[str, float],
    champion: Mapping[str, float],
    on_fail: Severity,
) -> CriterionResult:
    metric = comparison.metric
    raw = candidate.get(metric)
    value = _finite(raw)
    best = _finite(champion.get(metric))
    op = "<=" if comparison.direction == "lower" else ">="
    name = f"champion_{metric}"
    if best is None:
        note = f"the champion has no usable {metric}; not compared"
        return CriterionResult(name, metric, value, None, op, True, note)
    margin = comparison.max_worse_by
    bound = best + margin if comparison.direction == "lower" else best - margin
    if value is None:
        note = _unusable(raw, metric)
        return CriterionResult(name, metric, None, bound, op, False, note, on_fail)
    versus = f"candidate {value:.4g} vs champion {best:.4g} (margin {margin:g})"
    if compare(value, op, bound):
        return CriterionResult(name, metric, value, bound, op, True, versus)
    worse = f"worse than the champion on {metric} beyond the margin: {versus}"
    return CriterionResult(name, metric, value, bound, op, False, worse, on_fail)


def _reasons(
    verdict: Verdict,
    criteria: tuple[CriterionResult, ...],
    comparisons: tuple[CriterionResult, ...],
    has_champion: bool,
) -> tuple[str, ...]:
    """The decision in words: every failure with its severity, or why it passed."""
    failed = [r for r in (*criteria, *comparisons) if not r.passed]
    if verdict == "promote":
        lines = [f"all {len(criteria)} criteria passed"]
        if comparisons:
            lines.append("not worse than the champion: " + "; ".join(r.note for r in comparisons))
        elif has_champion:
            lines.append("the policy compares nothing with the champion")
        else:
            lines.append("no champion in Production: judged on the absolute criteria alone")
        return tuple(lines)
    order = {"reject": 0, "keep_in_staging": 1}
    failed.sort(key=lambda r: order.get(r.severity or "", 2))
    return tuple(f"{r.name}: {r.note} ({r.severity})" for r in failed)
