"""Betting maths and the bet simulator: odds, P(over), calibration, metrics, bounds, ledger.

Pure functions on numbers and frames; nothing here talks to MLflow or the outside world.
"""

from nbaprops.betting.bets import PropsFrameError, simulate_bets
from nbaprops.betting.calibration import (
    Calibrator,
    IsotonicCalibrator,
    PlattCalibrator,
    fit_calibrator,
)
from nbaprops.betting.ledger import LEDGER_COLUMNS, SUMMARY_KEYS, BetLedger
from nbaprops.betting.metrics import (
    SHARPE_CONVENTION,
    brier_score,
    calibration_curve_points,
    closing_line_value,
    expected_calibration_error,
    kelly_fraction,
    line_clv,
    max_drawdown,
    roi,
    sharpe_ratio,
    sharpness,
    win_rate,
)
from nbaprops.betting.odds import (
    InvalidPriceError,
    american_to_decimal,
    american_to_implied,
    net_payout,
    vig_free_probabilities,
)
from nbaprops.betting.probability import (
    fit_tier_spread,
    prob_over,
    prob_over_nbinom,
    prob_push,
    prob_push_nbinom,
    prob_under,
    sigma_by_tier,
)
from nbaprops.betting.uncertainty import (
    bootstrap_lower_bound,
    roi_lower_bound,
    win_rate_lower_bound,
    win_rate_p_value,
)

__all__ = [
    "LEDGER_COLUMNS",
    "SHARPE_CONVENTION",
    "SUMMARY_KEYS",
    "BetLedger",
    "Calibrator",
    "InvalidPriceError",
    "IsotonicCalibrator",
    "PlattCalibrator",
    "PropsFrameError",
    "american_to_decimal",
    "american_to_implied",
    "bootstrap_lower_bound",
    "brier_score",
    "calibration_curve_points",
    "closing_line_value",
    "expected_calibration_error",
    "fit_calibrator",
    "fit_tier_spread",
    "kelly_fraction",
    "line_clv",
    "max_drawdown",
    "net_payout",
    "prob_over",
    "prob_over_nbinom",
    "prob_push",
    "prob_push_nbinom",
    "prob_under",
    "roi",
    "roi_lower_bound",
    "sharpe_ratio",
    "sharpness",
    "sigma_by_tier",
    "simulate_bets",
    "vig_free_probabilities",
    "win_rate",
    "win_rate_lower_bound",
    "win_rate_p_value",
]
