"""Drift statistics against hand-computed values, and the daily verdict's breach rules."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from governance.drift import (
    DriftInputError,
    DriftReport,
    assess_drift,
    ks_statistic,
    live_mae_ratio,
    psi,
    psi_band,
    rolling_calibration_error,
)
from governance.policy import DriftPolicy, Policy, load_policy
from jobs.loop.drift_watch import settled_for_every_rule
from jobs.loop.live_predictions import LivePredictions

POLICY = load_policy()


def _policy(**drift: Any) -> Policy:
    return dataclasses.replace(POLICY, drift=dataclasses.replace(POLICY.drift, **drift))


# ---- PSI ----------------------------------------------------------------------------------


def test_psi_of_identical_samples_is_zero() -> None:
    sample = np.random.default_rng(0).normal(20, 6, 2000)
    assert psi(sample, sample) == 0.0
    assert psi_band(psi(sample, sample), POLICY) == "stable"


def test_psi_of_two_samples_of_one_distribution_is_stable() -> None:
    rng = np.random.default_rng(1)
    value = psi(rng.normal(20, 6, 5000), rng.normal(20, 6, 5000))
    assert value < 0.02
    assert psi_band(value, POLICY) == "stable"


def test_psi_of_a_one_sd_shift_is_major() -> None:
    rng = np.random.default_rng(2)
    value = psi(rng.normal(20, 6, 5000), rng.normal(26, 6, 5000))
    assert psi_band(value, POLICY) == "major"


def test_psi_hand_computed() -> None:
    # Two bins split at the reference median 4.5: reference 50/50, current 80/20.
    reference = np.arange(10.0)
    current = np.array([0.0, 1.0, 2.0, 3.0, 9.0])
    expected = (0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5)
    assert psi(reference, current, bins=2) == pytest.approx(expected, rel=1e-12)


def test_psi_of_a_discrete_feature_merges_tied_edges() -> None:
    home_reference = np.array([0, 1] * 50)
    assert psi(home_reference, np.array([1, 0] * 30)) == 0.0
    # 70% home against 50%: two real bins, hand value.
    shifted = np.array([1] * 70 + [0] * 30)
    expected = (0.3 - 0.5) * math.log(0.3 / 0.5) + (0.7 - 0.5) * math.log(0.7 / 0.5)
    assert psi(home_reference, shifted) == pytest.approx(expected, rel=1e-12)


def test_empty_bin_stays_finite() -> None:
    reference = np.arange(100.0)
    everything_high = np.full(50, 1000.0)
    value = psi(reference, everything_high)
    assert math.isfinite(value)
    assert psi_band(value, POLICY) == "major"


def test_missing_values_are_a_bin_of_their_own() -> None:
    reference = np.arange(100.0)
    with_missing = np.concatenate([np.arange(0.0, 100.0, 2.0), np.full(50, np.nan)])
    assert psi(reference, with_missing) > POLICY.drift.psi_major
    assert psi(with_missing, with_missing) == 0.0


def test_psi_refuses_empty_samples() -> None:
    with pytest.raises(DriftInputError, match="current sample is empty"):
        psi([1.0, 2.0], [])


@pytest.mark.parametrize(
    ("value", "band"),
    [
        (0.0, "stable"),
        (0.099, "stable"),
        (0.1, "moderate"),
        (0.249, "moderate"),
        (0.25, "major"),
        (1.5, "major"),
    ],
)
def test_psi_band(value: float, band: str) -> None:
    assert psi_band(value, POLICY) == band


# ---- KS, MAE, calibration -----------------------------------------------------------------


def test_ks_statistic_hand_computed() -> None:
    assert ks_statistic([1, 2, 3, 4], [3, 4, 5, 6]) == pytest.approx(0.5)
    assert ks_statistic([1, 2, 3], [1, 2, 3]) == 0.0
    assert ks_statistic([1, 2, np.nan], [10, 11]) == 1.0
    assert math.isnan(ks_statistic([np.nan], [1.0]))


def test_live_mae_ratio() -> None:
    assert live_mae_ratio([3.0, 3.0, 4.5], 2.5) == pytest.approx(1.4)
    assert math.isnan(live_mae_ratio([], 2.5))
    with pytest.raises(DriftInputError, match="positive validation MAE"):
        live_mae_ratio([1.0], 0.0)


def test_rolling_calibration_error_uses_the_last_window() -> None:
    probs = np.full(200, 0.7)
    outcomes = np.concatenate([np.ones(100), np.tile([1.0] * 7 + [0.0] * 3, 10)])
    assert rolling_calibration_error(probs, outcomes, window=100) == pytest.approx(0.0)
    assert rolling_calibration_error(probs, outcomes, window=200) == pytest.approx(0.15)
    assert math.isnan(rolling_calibration_error([], [], window=10))
    with pytest.raises(DriftInputError, match="one outcome per bet"):
        rolling_calibration_error([0.5, 0.5], [1.0], window=10)


# ---- assess_drift -------------------------------------------------------------------------


def _features(rng: np.random.Generator, n: int, pts_shift: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "PTS_L15_EWMA": rng.normal(11 + pts_shift, 7, n),
            "rest_days": rng.integers(1, 5, n).astype(float),
            "home": rng.integers(0, 2, n),
            "tier": rng.choice(["star", "bench"], n),  # not numeric: not compared
        }
    )


def _assess(
    policy: Policy = POLICY,
    pts_shift: float = 0.0,
    pred_shift: float = 0.0,
    abs_errors: np.ndarray | None = None,
    probs: np.ndarray | None = None,
    outcomes: np.ndarray | None = None,
    current: pd.DataFrame | None = None,
) -> DriftReport:
    rng = np.random.default_rng(11)
    reference = _features(rng, 4000)
    current = _features(rng, 1500, pts_shift) if current is None else current
    errors = np.abs(rng.normal(0, 3.0 / 0.798, 600)) if abs_errors is None else abs_errors
    if probs is None:
        probs = rng.uniform(0.45, 0.65, 1200)
        outcomes = (rng.random(1200) < probs).astype(float)
    return assess_drift(
        reference_features=reference,
        current_features=current,
        reference_predictions=rng.normal(11, 6, 4000),
        current_predictions=rng.normal(11 + pred_shift, 6, 1500),
        settled_abs_errors=errors,
        val_mae=3.0,
        recent_probs=probs,
        recent_outcomes=outcomes,
        policy=policy,
    )


def test_no_drift_is_not_a_breach() -> None:
    report = _assess()
    assert not report.breached
    assert report.reasons == []
    assert [f.name for f in report.features] == ["PTS_L15_EWMA", "rest_days", "home"]
    assert all(f.band == "stable" for f in report.features)
    assert report.prediction_band == "stable"
    assert report.settled_count == POLICY.drift.mae_window
    assert report.calibration_bets == POLICY.drift.calibration_window
    assert 0.9 < report.live_mae_ratio < 1.1


def test_feature_shift_breaches_and_names_the_feature() -> None:
    report = _assess(pts_shift=8.0)
    assert report.breached
    (drifted,) = [f for f in report.features if f.breached]
    assert drifted.name == "PTS_L15_EWMA"
    assert drifted.band == "major"
    assert drifted.ks_flagged
    assert any("PTS_L15_EWMA" in r and "major" in r for r in report.reasons)
    assert report.psi_max == drifted.psi


def test_prediction_shift_breaches() -> None:
    report = _assess(pred_shift=6.0)
    assert report.breached
    assert report.prediction_band == "major"
    assert any(r.startswith("predictions:") for r in report.reasons)


def test_moderate_shift_is_a_warning_only() -> None:
    report = _assess(pts_shift=2.5)
    feature = report.features[0]
    assert feature.band == "moderate"
    assert not report.breached
    assert any("PTS_L15_EWMA" in w and "moderate" in w for w in report.warnings)


@pytest.mark.parametrize(
    ("settled", "breached"),
    [(100, False), (299, False), (300, True), (800, True)],
)
def test_live_mae_alarm_counts_only_with_enough_settled_predictions(
    settled: int, breached: bool
) -> None:
    errors = np.full(settled, 3.6)  # 1.2 x the validation MAE of 3.0
    report = _assess(abs_errors=errors)
    assert report.live_mae_ratio == pytest.approx(1.2)
    assert report.breached is breached
    assert report.settled_count == min(settled, POLICY.drift.mae_window)
    if not breached:
        assert any("not counted" in w for w in report.warnings)


def test_live_mae_uses_only_the_latest_window() -> None:
    errors = np.concatenate([np.full(1000, 9.0), np.full(500, 3.0)])
    report = _assess(abs_errors=errors)
    assert report.live_mae_ratio == pytest.approx(1.0)
    assert not report.breached


@pytest.mark.parametrize(("bets", "breached"), [(999, False), (1000, True)])
def test_calibration_alarm_counts_only_with_enough_bets(bets: int, breached: bool) -> None:
    rng = np.random.default_rng(5)
    probs = np.full(bets, 0.6)
    outcomes = (rng.random(bets) < 0.45).astype(float)  # overconfident by 15 points
    report = _assess(probs=probs, outcomes=outcomes)
    assert report.rolling_calibration_error > POLICY.drift.calibration_error_limit
    assert report.breached is breached


def test_key_features_limit_what_breaches() -> None:
    policy = _policy(key_features=("rest_days",))
    report = _assess(policy=policy, pts_shift=8.0)
    assert [f.name for f in report.features] == ["rest_days"]
    assert not report.breached


def test_missing_key_feature_breaches() -> None:
    rng = np.random.default_rng(3)
    current = _features(rng, 500).drop(columns="rest_days")
    report = _assess(policy=_policy(key_features=("rest_days", "home")), current=current)
    assert report.breached
    assert any("'rest_days' is missing" in r for r in report.reasons)


def test_key_feature_absent_from_reference_is_an_input_error() -> None:
    with pytest.raises(DriftInputError, match="key_features"):
        _assess(policy=_policy(key_features=("no_such_feature",)))


def test_ks_breaches_only_when_the_policy_says_so() -> None:
    shift = 2.5  # KS D above 0.1 but PSI below major
    quiet = _assess(pts_shift=shift)
    assert quiet.features[0].ks_flagged
    assert quiet.features[0].band != "major"
    assert not quiet.breached
    loud = _assess(policy=_policy(ks_breaches=True), pts_shift=shift)
    assert loud.breached


def test_report_to_dict_is_plain_json() -> None:
    report = _assess(abs_errors=np.array([]))
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["live_mae_ratio"] is None
    assert data["breached"] is False
    assert len(data["features"]) == 3


def test_drift_policy_defaults_match_the_packaged_file() -> None:
    assert POLICY.drift == DriftPolicy()


def _store_settled(
    engine: sa.Engine, start: dt.date, days: int, p_over: float | None, actual: float
) -> LivePredictions:
    """`days` x 100 settled live predictions at line 10.5 with P(over) p_over (None: unpriced)."""
    live = LivePredictions(engine)
    live.ensure_schema()
    for d in range(days):
        day = start + dt.timedelta(days=d)
        frame = pd.DataFrame(
            {
                "player_id": range(100),
                "player_name": "p",
                "market": "PTS",
                "line": 10.5 if p_over is not None else None,
                "prediction": 12.0,
                "p_over": p_over,
            }
        )
        live.record(day, "3", frame)
        live.settle(day, frame[["player_id", "market"]].assign(actual=actual), day)
    return live


def test_the_drift_job_reads_enough_settled_rows_for_the_calibration_rule(tmp_path: Any) -> None:
    """The issue's repro: 1,500 settled rows at P(over) 0.9 where every result is under. With
    only mae_window (500) rows read, the calibration rule (1,000 needed) could never fire."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'state.db'}")
    live = _store_settled(engine, dt.date(2025, 1, 1), days=15, p_over=0.9, actual=3.0)
    assert live.settled_window("3", POLICY.drift.mae_window).probabilities.size == 500
    window = settled_for_every_rule(live, "3", POLICY.drift)
    assert window.probabilities.size >= POLICY.drift.min_calibration_bets
    rng = np.random.default_rng(2)
    report = assess_drift(
        _features(rng, 2000),
        _features(rng, 800),
        rng.normal(11, 6, 2000),
        rng.normal(11, 6, 800),
        window.abs_errors,
        9.0,  # the MAE rule stays quiet: only calibration is wrong
        window.probabilities,
        window.outcomes,
        POLICY,
    )
    assert report.calibration_bets == POLICY.drift.calibration_window
    assert report.rolling_calibration_error == pytest.approx(0.9)
    assert report.breached
    assert any("rolling calibration error 0.900" in r for r in report.reasons)


def test_unpriced_rows_make_the_job_read_further(tmp_path: Any) -> None:
    """The latest 1,200 rows carry no price: the read doubles until 1,000 priced rows are in."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'state.db'}")
    _store_settled(engine, dt.date(2025, 1, 1), days=12, p_over=0.6, actual=12.0)
    live = _store_settled(engine, dt.date(2025, 2, 1), days=12, p_over=None, actual=11.0)
    window = settled_for_every_rule(live, "3", POLICY.drift)
    assert window.probabilities.size == 1200
    assert window.count == 2400  # every settled row: the history ran out before 4,000
