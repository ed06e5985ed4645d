"""The promotion decision, pinned table by table against the packaged default policy."""

from __future__ import annotations

import json
import math
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.decision import Decision, decide
from governance.policy import load_policy, parse_policy
from tests.support.policies import MINIMAL_POLICY

POLICY = load_policy()

# A candidate that clears every default criterion with room to spare.
GOOD: dict[str, float] = {
    "val_mae": 4.30,
    "wf_mae": 4.30,
    "mae_vs_baseline": 0.97,
    "leakage_suspected": 0.0,
    "edge_concentration": 0.0,
    "wf_roi": 0.070,
    "roi_lower_95": 0.010,
    "calibration_error": 0.030,
    "n_scored_props": 4000.0,
    "wf_win_rate": 0.565,
    "bet_count": 1200.0,
    "sharpe_ratio": 1.40,
}


def _with(**changes: float) -> dict[str, float]:
    return {**GOOD, **changes}


def _result(decision: Decision, metric: str) -> tuple[bool, float | None, str | None]:
    (found,) = [r for r in decision.criteria if r.metric == metric]
    return found.passed, found.value, found.severity


def test_good_candidate_without_champion_is_promoted() -> None:
    decision = decide(GOOD, None, POLICY)
    assert decision.verdict == "promote"
    assert decision.promoted
    assert all(r.passed for r in decision.criteria)
    assert decision.champion_comparison == ()
    assert decision.failures == ()
    assert "no champion" in " ".join(decision.reasons)


# (metric, value, criterion passes, verdict): each criterion below, at and above its threshold.
THRESHOLD_TABLE = [
    ("leakage_suspected", 0.0, True, "promote"),
    ("leakage_suspected", 1.0, False, "reject"),
    ("edge_concentration", 0.0, True, "promote"),
    ("edge_concentration", 1.0, False, "keep_in_staging"),
    ("mae_vs_baseline", 0.999, True, "promote"),
    ("mae_vs_baseline", 1.000, False, "reject"),
    ("mae_vs_baseline", 1.001, False, "reject"),
    ("val_mae", 5.49, True, "promote"),
    ("val_mae", 5.50, False, "reject"),
    ("val_mae", 5.51, False, "reject"),
    ("wf_roi", 0.051, True, "promote"),
    ("wf_roi", 0.050, False, "keep_in_staging"),
    ("wf_roi", 0.049, False, "keep_in_staging"),
    ("wf_roi", 0.001, False, "keep_in_staging"),
    ("wf_roi", 0.000, False, "reject"),
    ("wf_roi", -0.02, False, "reject"),
    ("roi_lower_95", 0.001, True, "promote"),
    ("roi_lower_95", 0.000, False, "keep_in_staging"),
    ("roi_lower_95", -0.001, False, "keep_in_staging"),
    ("calibration_error", 0.049, True, "promote"),
    ("calibration_error", 0.050, False, "reject"),
    ("calibration_error", 0.051, False, "reject"),
    ("wf_win_rate", 0.551, True, "promote"),
    ("wf_win_rate", 0.550, False, "keep_in_staging"),
    ("wf_win_rate", 0.549, False, "keep_in_staging"),
    ("bet_count", 501, True, "promote"),
    ("bet_count", 500, True, "promote"),
    ("bet_count", 499, False, "keep_in_staging"),
    ("sharpe_ratio", 1.01, True, "promote"),
    ("sharpe_ratio", 1.00, False, "keep_in_staging"),
    ("sharpe_ratio", 0.99, False, "keep_in_staging"),
]


@pytest.mark.parametrize(("metric", "value", "passes", "verdict"), THRESHOLD_TABLE)
def test_each_criterion_at_above_and_below_its_threshold(
    metric: str, value: float, passes: bool, verdict: str
) -> None:
    decision = decide(_with(**{metric: value}), None, POLICY)
    passed, seen, severity = _result(decision, metric)
    assert passed is passes
    assert seen == pytest.approx(value)
    assert (severity is None) is passes
    assert decision.verdict == verdict


# (metric removed or spoiled, verdict): a missing metric fails with its criterion's severity.
MISSING_TABLE = [
    ("mae_vs_baseline", "reject"),
    ("val_mae", "reject"),
    ("wf_roi", "keep_in_staging"),
    ("roi_lower_95", "keep_in_staging"),
    ("calibration_error", "reject"),
    ("wf_win_rate", "keep_in_staging"),
    ("sharpe_ratio", "keep_in_staging"),
]


@pytest.mark.parametrize(("metric", "verdict"), MISSING_TABLE)
def test_missing_metric_fails_its_criterion(metric: str, verdict: str) -> None:
    candidate = {k: v for k, v in GOOD.items() if k != metric}
    decision = decide(candidate, None, POLICY)
    passed, value, _ = _result(decision, metric)
    assert not passed
    assert value is None
    assert decision.verdict == verdict
    assert any(metric in reason and "missing" in reason for reason in decision.reasons)


@pytest.mark.parametrize("spoiled", [float("nan"), float("inf"), -float("inf"), "3.1x", None])
@pytest.mark.parametrize(("metric", "verdict"), MISSING_TABLE)
def test_unusable_value_never_passes(metric: str, verdict: str, spoiled: object) -> None:
    candidate: dict[str, object] = {**GOOD, metric: spoiled}
    decision = decide(candidate, None, POLICY)  # type: ignore[arg-type]
    passed, value, _ = _result(decision, metric)
    assert not passed
    assert value is None
    assert decision.verdict == verdict


@pytest.mark.parametrize("bets", [0.0, 1.0, None])
def test_leakage_flag_rejects_whatever_the_bet_count(bets: float | None) -> None:
    """The oracle check behind the flag needs no bets: a flagged backtest with none rejects."""
    candidate = {k: v for k, v in _with(leakage_suspected=1.0).items() if k != "bet_count"}
    if bets is not None:
        candidate["bet_count"] = bets
    decision = decide(candidate, None, POLICY)
    (leakage,) = [r for r in decision.criteria if r.name == "no_leakage"]
    assert leakage.evaluated and not leakage.passed
    assert decision.verdict == "reject"


def test_missing_bet_count_fails_sample_size_and_leaves_profitability_unevaluated() -> None:
    candidate = {k: v for k, v in GOOD.items() if k != "bet_count"}
    decision = decide(candidate, None, POLICY)
    assert decision.verdict == "keep_in_staging"
    (profitability,) = [r for r in decision.criteria if r.name == "profitability"]
    assert not profitability.passed
    assert not profitability.evaluated
    assert "bet_count missing" in profitability.note


@pytest.mark.parametrize(
    ("n_val_props", "calibration_error", "evaluated", "passed", "verdict"),
    [
        (999, 0.030, False, False, "keep_in_staging"),  # good value, too few props to judge
        (999, 0.200, False, False, "keep_in_staging"),  # bad value, still too few to judge
        (1000, 0.030, True, True, "promote"),
        (1000, 0.200, True, False, "reject"),
        (float("nan"), 0.030, False, False, "keep_in_staging"),
    ],
)
def test_calibration_counts_only_with_enough_props(
    n_val_props: float, calibration_error: float, evaluated: bool, passed: bool, verdict: str
) -> None:
    decision = decide(
        _with(n_scored_props=n_val_props, calibration_error=calibration_error), None, POLICY
    )
    (calibration,) = [r for r in decision.criteria if r.name == "calibration"]
    assert calibration.evaluated is evaluated
    assert calibration.passed is passed
    assert decision.verdict == verdict
    if not evaluated:
        assert calibration.severity == "keep_in_staging"
        assert "not evaluated" in calibration.note


@pytest.mark.parametrize(
    ("bets", "wf_roi", "verdict"),
    [
        (1200, -0.05, "reject"),  # a losing model over enough bets
        (499, -0.05, "keep_in_staging"),  # losing, but too few bets to call it
        (499, 0.09, "keep_in_staging"),  # winning, but too few bets to trust it
        (500, 0.0, "reject"),  # exactly at the reject limit with enough bets
    ],
)
def test_roi_reject_limit_needs_enough_bets(bets: int, wf_roi: float, verdict: str) -> None:
    decision = decide(_with(bet_count=bets, wf_roi=wf_roi), None, POLICY)
    assert decision.verdict == verdict


# (champion metrics, verdict): candidate GOOD has wf_mae 4.30 and wf_roi 0.070; margins are
# 0.02 points of MAE and 0.005 of ROI.
CHAMPION_TABLE = [
    (None, "promote"),
    ({"wf_mae": 4.40, "wf_roi": 0.060}, "promote"),  # candidate better on both
    ({"wf_mae": 4.29, "wf_roi": 0.074}, "promote"),  # slightly worse, within the margins
    ({"wf_mae": 4.25, "wf_roi": 0.060}, "keep_in_staging"),  # MAE worse beyond the margin
    ({"wf_mae": 4.40, "wf_roi": 0.080}, "keep_in_staging"),  # ROI worse beyond the margin
    ({"wf_mae": 4.10, "wf_roi": 0.120}, "keep_in_staging"),  # worse on both
    ({}, "promote"),  # a champion without metrics cannot be compared
    ({"wf_mae": float("nan"), "wf_roi": 0.060}, "promote"),
]


@pytest.mark.parametrize(("champion", "verdict"), CHAMPION_TABLE)
def test_champion_comparison(champion: dict[str, float] | None, verdict: str) -> None:
    decision = decide(GOOD, champion, POLICY)
    assert decision.verdict == verdict
    assert decision.has_champion is (champion is not None)
    if champion is None:
        assert decision.champion_comparison == ()
    else:
        assert [r.metric for r in decision.champion_comparison] == ["wf_mae", "wf_roi"]


def test_champion_comparison_records_the_bound() -> None:
    decision = decide(GOOD, {"wf_mae": 4.25, "wf_roi": 0.06}, POLICY)
    mae, roi = decision.champion_comparison
    assert (mae.op, mae.threshold, mae.passed) == ("<=", pytest.approx(4.27), False)
    assert (roi.op, roi.threshold, roi.passed) == (">=", pytest.approx(0.055), True)
    assert mae.severity == "keep_in_staging"
    assert "champion" in " ".join(decision.reasons)


def test_champion_without_a_metric_passes_with_a_note() -> None:
    decision = decide(GOOD, {"wf_roi": 0.06}, POLICY)
    mae = decision.champion_comparison[0]
    assert mae.passed
    assert mae.threshold is None
    assert "not compared" in mae.note


def test_candidate_missing_a_compared_metric_fails_the_comparison() -> None:
    candidate = {k: v for k, v in GOOD.items() if k != "wf_roi"}
    decision = decide(candidate, {"wf_mae": 4.4, "wf_roi": 0.06}, POLICY)
    roi = decision.champion_comparison[1]
    assert not roi.passed
    assert roi.value is None


def test_hard_failure_rejects_even_when_better_than_champion() -> None:
    decision = decide(_with(val_mae=5.6), {"wf_mae": 5.9, "wf_roi": 0.01}, POLICY)
    assert decision.verdict == "reject"
    assert decision.reasons[0].startswith("accuracy:")


def test_champion_rule_can_be_hard() -> None:
    hard_champion_rule = """
[champion]
on_fail = "reject"

[[champion.comparisons]]
metric = "val_mae"
max_worse_by = 0.0
"""
    policy = parse_policy(MINIMAL_POLICY + hard_champion_rule)
    assert decide({"val_mae": 3.3}, {"val_mae": 3.2}, policy).verdict == "reject"
    assert decide({"val_mae": 3.2}, {"val_mae": 3.2}, policy).verdict == "promote"


# Whole scenarios: the verdict table of the module docstring.
VERDICT_TABLE = [
    ("clears everything", GOOD, None, "promote"),
    ("no better than the baseline", _with(mae_vs_baseline=1.02), None, "reject"),
    ("inaccurate", _with(val_mae=6.1), None, "reject"),
    ("miscalibrated over enough props", _with(calibration_error=0.09), None, "reject"),
    ("losing over enough bets", _with(wf_roi=-0.01, roi_lower_95=-0.05), None, "reject"),
    ("edge not significant", _with(roi_lower_95=-0.01), None, "keep_in_staging"),
    ("too few bets", _with(bet_count=300), None, "keep_in_staging"),
    ("win rate short", _with(wf_win_rate=0.54), None, "keep_in_staging"),
    ("not the champion's equal", GOOD, {"wf_mae": 4.0, "wf_roi": 0.07}, "keep_in_staging"),
    ("soft and hard failures", _with(wf_win_rate=0.5, val_mae=5.8), None, "reject"),
]


@pytest.mark.parametrize(
    ("candidate", "champion", "verdict"),
    [(c, ch, v) for _, c, ch, v in VERDICT_TABLE],
    ids=[name for name, *_ in VERDICT_TABLE],
)
def test_verdict_table(
    candidate: dict[str, float], champion: dict[str, float] | None, verdict: str
) -> None:
    assert decide(candidate, champion, POLICY).verdict == verdict


def test_hard_failures_are_listed_first() -> None:
    decision = decide(_with(wf_win_rate=0.5, val_mae=5.8), None, POLICY)
    assert decision.reasons[0].endswith("(reject)")
    assert decision.reasons[-1].endswith("(keep_in_staging)")
    assert decision.summary().startswith("reject: accuracy: val_mae 5.8 is not < 5.5")


def test_to_dict_is_plain_json_with_every_criterion() -> None:
    decision = decide(_with(val_mae=float("nan")), {"wf_mae": 4.2, "wf_roi": 0.1}, POLICY)
    data = json.loads(json.dumps(decision.to_dict(), allow_nan=False))
    assert data["verdict"] == "reject"
    assert [c["name"] for c in data["criteria"]] == [c.name for c in POLICY.criteria]
    (accuracy,) = [c for c in data["criteria"] if c["name"] == "accuracy"]
    assert accuracy["value"] is None and accuracy["passed"] is False
    assert len(data["champion_comparison"]) == 2
    assert data["policy_digest"] == POLICY.digest


def test_decide_is_pure() -> None:
    candidate = MappingProxyType(dict(GOOD))
    champion = MappingProxyType({"wf_mae": 4.4, "wf_roi": 0.06})
    first = decide(candidate, champion, POLICY)
    assert decide(candidate, champion, POLICY) == first
    assert dict(candidate) == GOOD


CRITERION_METRICS = sorted({c.metric for c in POLICY.criteria} | {"n_scored_props"})
metric_values = st.one_of(
    st.none(),
    st.just(float("nan")),
    st.floats(min_value=-1.0, max_value=5000.0, allow_nan=False),
)


@settings(max_examples=200, deadline=None)
@given(
    candidate=st.fixed_dictionaries({m: metric_values for m in CRITERION_METRICS}),
    with_champion=st.booleans(),
)
def test_verdict_invariants(candidate: dict[str, float | None], with_champion: bool) -> None:
    present = {k: v for k, v in candidate.items() if v is not None}
    champion = {"wf_mae": 4.3, "wf_roi": 0.06} if with_champion else None
    decision = decide(present, champion, POLICY)
    results = (*decision.criteria, *decision.champion_comparison)
    if decision.verdict == "promote":
        assert all(r.passed for r in results)
        for criterion in POLICY.criteria:
            value = present.get(criterion.metric)
            assert value is not None and math.isfinite(value)
    elif decision.verdict == "reject":
        assert any(r.severity == "reject" for r in results)
    else:
        assert not any(r.severity == "reject" for r in results)
        assert not all(r.passed for r in results)
    assert all((r.severity is None) == r.passed for r in results)


def test_inclusive_operators() -> None:
    policy = parse_policy(
        '[[criteria]]\nmetric = "val_mae"\nop = "<="\nthreshold = 3.5\non_fail = "reject"\n'
    )
    assert decide({"val_mae": 3.5}, None, policy).verdict == "promote"
    assert decide({"val_mae": 3.5000001}, None, policy).verdict == "reject"
