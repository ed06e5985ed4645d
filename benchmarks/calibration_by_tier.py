"""Per-tier calibration of the walk-forward P(over) on the default synthetic feed.

The goal: ECE at most 0.03 within each tier, over at least 1,000 props each. One prop
per player-game (the first book's line), P(over) taken conditional on no push.
`python -m benchmarks.calibration_by_tier` prints each tier's count and ECE, one GOAL line per
tier, and the backtest's headline metrics.
"""

from __future__ import annotations

from benchmarks.goals import print_goal
from nbaprops.backtest.walkforward import BacktestSpec, _one_prop_per_player_game, run_backtest
from nbaprops.betting.metrics import expected_calibration_error
from nbaprops.data.sources import source_from_settings
from nbaprops.settings import Settings
from nbaprops.training.prepare import prepare

GOAL_ECE = 0.03
MIN_PROPS = 1_000


def main() -> None:
    """Run the default walk-forward and print the calibration of each tier."""
    feed = source_from_settings(Settings(_env_file=None)).load()  # type: ignore[call-arg]
    data = prepare(feed, "PTS", "full")
    spec = BacktestSpec(model_type="lightgbm", start=None, refit_days=30, workers=2, seed=42)
    result = run_backtest(data, spec)
    props = _one_prop_per_player_game(result.props)
    p_over = (props["p_over"] / (1 - props["p_push"])).clip(0, 1)
    over = (props["actual"] > props["line"]).astype(float)
    for tier, part in props.groupby("tier"):
        ece = expected_calibration_error(p_over[part.index], over[part.index])
        print(f"tier {tier}: {len(part):,} props, ECE {ece:.4f}")
        print_goal(f"ece_{tier}", ece if len(part) >= MIN_PROPS else float("inf"), GOAL_ECE)
    print(f"all: {len(props):,} props, ECE {expected_calibration_error(p_over, over):.4f}")
    keys = ("wf_mae", "wf_roi", "roi_lower_95", "bet_count", "push_count", "books_set_aside")
    print({k: round(float(v), 4) for k, v in result.metrics.items() if k in keys})


if __name__ == "__main__":
    main()
