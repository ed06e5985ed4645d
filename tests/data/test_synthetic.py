"""The synthetic feed: determinism, schema, realistic figures, hidden truth and book lines.

Feeds are small (4-6 teams, one season, about 4-5k player-games each) so the file runs in
seconds; tolerances are wide enough for that sample but tight enough to catch a broken model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from nba_api.stats.static import players as static_players
from nba_api.stats.static import teams as static_teams
from scipy import stats

from nbaprops.data import synthetic
from nbaprops.data.feed import GAME_COLUMNS, LINE_COLUMNS, MARKETS, SNAPSHOTS, Feed, target_values
from nbaprops.data.synthetic.lines import TIER_DEFAULTS, american_price, stale_averages
from nbaprops.data.synthetic.players import BENCH, STAR

SEASON = ("2023-24",)


def _source(seed: int = 11, teams: int = 6, efficiency: float = 0.5) -> synthetic.SyntheticSource:
    return synthetic.SyntheticSource(
        seed=seed, teams=teams, seasons=SEASON, market_efficiency=efficiency
    )


@pytest.fixture(scope="module")
def feed() -> Feed:
    """Six teams, one season, market efficiency 0.5: about 5,300 player-games."""
    return _source().load()


@pytest.fixture(scope="module")
def efficient() -> Feed:
    """The same league and games as `feed`, priced by fully efficient books."""
    return _source(efficiency=1.0).load()


@pytest.fixture(scope="module")
def lagging() -> Feed:
    """The same league and games as `feed`, priced by books that only know stale averages."""
    return _source(efficiency=0.0).load()


def _with_truth(feed: Feed) -> pd.DataFrame:
    assert feed.truth is not None
    return feed.games.merge(feed.truth, on=["game_date", "player_id"], how="left")


def _priced(feed: Feed) -> pd.DataFrame:
    """Lines joined to the game's outcome and truth."""
    return feed.lines.merge(_with_truth(feed), on=["game_date", "player_id"], how="left")


def _mean_gap(feed: Feed, snapshot: str) -> float:
    """Mean |line - true median| over one snapshot's lines, all markets."""
    rows = _priced(feed)
    rows = rows[rows["snapshot"] == snapshot]
    gaps = [
        (rows.loc[rows["market"] == m, "line"] - rows.loc[rows["market"] == m, f"true_median_{m}"])
        .abs()
        .to_numpy()
        for m in MARKETS
    ]
    return float(np.mean(np.concatenate(gaps)))


# --- determinism -------------------------------------------------------------------------


def test_same_seed_gives_identical_frames(feed: Feed) -> None:
    again = _source().load()
    pd.testing.assert_frame_equal(feed.games, again.games)
    pd.testing.assert_frame_equal(feed.lines, again.lines)
    assert feed.truth is not None and again.truth is not None
    pd.testing.assert_frame_equal(feed.truth, again.truth)
    assert feed.digest == again.digest


def test_different_seed_gives_different_frames(feed: Feed) -> None:
    other = _source(seed=12).load()
    assert other.digest != feed.digest
    assert set(other.games["player_id"]) != set(feed.games["player_id"])


def test_market_efficiency_changes_only_the_lines(feed: Feed, efficient: Feed) -> None:
    pd.testing.assert_frame_equal(feed.games, efficient.games)
    assert not feed.lines["line"].equals(efficient.lines["line"])


# --- schema ------------------------------------------------------------------------------


def test_games_have_canonical_columns_and_dtypes(feed: Feed) -> None:
    games = feed.games
    assert tuple(games.columns) == tuple(c for c in GAME_COLUMNS if c != "PRA")
    assert games["game_date"].dtype == "datetime64[ns]"
    assert (games["game_date"] == games["game_date"].dt.normalize()).all()
    assert games["game_date"].is_monotonic_increasing
    for column in ("player_id", "home", "PTS", "REB", "AST", "FGA", "FTA", "TOV"):
        assert games[column].dtype == "int64", column
    assert games["MIN"].dtype == "float64"
    for column in ("player_name", "game_id", "season", "team", "opponent"):
        assert pd.api.types.is_string_dtype(games[column]), column
    assert set(games["home"]) == {0, 1}
    assert set(games["season"]) == {"2023-24"}
    assert not games.duplicated(["game_date", "player_id"]).any()


def test_lines_have_canonical_columns_and_dtypes(feed: Feed) -> None:
    lines = feed.lines
    assert tuple(lines.columns) == LINE_COLUMNS
    assert lines["game_date"].dtype == "datetime64[ns]"
    assert lines["snapshot_ts"].dtype == "datetime64[ns]"
    assert lines["game_date"].is_monotonic_increasing
    assert lines["line"].dtype == "float64"
    assert lines["over_price"].dtype == "int64" and lines["under_price"].dtype == "int64"
    assert set(lines["market"]) == set(MARKETS)
    assert set(lines["snapshot"]) == set(SNAPSHOTS)


def test_teams_and_players_are_real_nba_identities(feed: Feed) -> None:
    first_six = {t["abbreviation"] for t in static_teams.get_teams()[:6]}
    assert set(feed.games["team"]) == first_six
    assert set(feed.games["opponent"]) == first_six
    real = {p["id"]: p["full_name"] for p in static_players.get_players()}
    pairs = feed.games[["player_id", "player_name"]].drop_duplicates()
    assert pairs["player_id"].is_unique
    assert all(real.get(pid) == name for pid, name in pairs.itertuples(index=False))


def test_invalid_arguments_say_what_to_change() -> None:
    with pytest.raises(synthetic.SyntheticConfigError, match="between 2 and 30"):
        synthetic.SyntheticSource(teams=31)
    with pytest.raises(synthetic.SyntheticConfigError, match="in order"):
        synthetic.SyntheticSource(seasons=("2024-25", "2023-24"))
    with pytest.raises(synthetic.SyntheticConfigError, match="market_efficiency"):
        synthetic.SyntheticSource(market_efficiency=1.5)


# --- schedule ----------------------------------------------------------------------------


def test_every_team_plays_a_realistic_season(feed: Feed) -> None:
    games = feed.games.drop_duplicates(["game_id", "team"])
    per_team = games.groupby("team")
    assert (per_team.size() == 82).all()
    assert per_team["home"].sum().between(38, 44).all()
    assert games.groupby("game_id")["team"].nunique().eq(2).all()
    assert games.groupby("game_id")["home"].sum().eq(1).all()
    assert not games.duplicated(["team", "game_date"]).any()
    dates = games["game_date"]
    assert dates.min() >= pd.Timestamp("2023-10-01") and dates.max() <= pd.Timestamp("2024-04-30")
    days = (dates.max() - dates.min()).days
    assert 3.0 <= 82 / (days / 7) <= 4.0  # games a week
    gaps = games.sort_values("game_date").groupby("team")["game_date"].diff().dt.days
    back_to_back = (gaps == 1).mean()
    assert 0.08 <= back_to_back <= 0.22
    assert games["game_id"].str.fullmatch(r"00223\d{5}").all()


@pytest.mark.parametrize("n_teams", [2, 3, 5, 30])
def test_schedule_gives_every_team_about_82_games(n_teams: int) -> None:
    schedule = synthetic.season_schedule(n_teams, 2024, np.random.default_rng(n_teams))
    played = np.bincount(np.r_[schedule["home"], schedule["away"]], minlength=n_teams)
    assert played.min() >= 82 and played.max() <= 83
    assert schedule["game_day"].max() <= pd.Timestamp("2025-04-30")


# --- box scores --------------------------------------------------------------------------


def test_aggregate_figures_match_the_domain(feed: Feed) -> None:
    games = feed.games
    pts = games["PTS"]
    assert 9.5 <= pts.mean() <= 11.5
    assert 7.0 <= pts.std() <= 9.5
    assert 0.7 <= stats.skew(pts.to_numpy(dtype=float), bias=False) <= 1.4
    assert 0.05 <= (pts == 0).mean() <= 0.11
    assert 3.5 <= games["REB"].mean() <= 4.8
    assert 2.0 <= games["AST"].mean() <= 3.0
    assert 1.1 <= games["TOV"].mean() <= 1.7
    assert games["FGA"].mean() == pytest.approx(pts.mean() / 1.1, rel=0.06)
    assert games["FTA"].mean() == pytest.approx(0.25 * games["FGA"].mean(), rel=0.08)
    assert (pts <= 3 * games["FGA"] + games["FTA"]).all()
    per_team_game = games.groupby(["game_id", "team"])
    assert 9.5 <= per_team_game.size().mean() <= 12.0
    team_points = per_team_game["PTS"].sum().mean()
    assert 105 <= team_points <= 125


def test_team_minutes_add_up_to_240_or_265_in_overtime(feed: Feed) -> None:
    minutes = feed.games.groupby(["game_id", "team"])["MIN"].sum()
    regulation = minutes.sub(240).abs() < 1.0
    overtime = minutes.sub(265).abs() < 1.0
    assert (regulation | overtime).all()
    assert 0.01 <= overtime.mean() <= 0.12


def test_no_dnp_rows_and_absences_happen(feed: Feed) -> None:
    games = feed.games
    assert (games["MIN"] > 0).all()
    roster_seen = games.groupby("team")["player_id"].nunique()
    dressed = games.groupby(["game_id", "team"]).size().groupby(level="team").mean()
    assert (roster_seen >= 13).all()
    assert (dressed < roster_seen - 1.5).all()  # DNPs and injuries leave rows out


def test_star_game_to_game_spread_is_plausible(feed: Feed) -> None:
    per_player = feed.games.groupby("player_id")["PTS"].agg(["mean", "std", "size"])
    stars = per_player[(per_player["mean"] >= 20) & (per_player["size"] >= 40)]
    assert len(stars) >= 3
    assert 5.5 <= stars["std"].mean() <= 9.0
    assert (stars["std"] / stars["mean"]).between(0.2, 0.5).all()


def test_skill_carries_over_between_seasons() -> None:
    games = synthetic.SyntheticSource(seed=3, teams=4, seasons=("2023-24", "2024-25")).load().games
    ppg = games.groupby(["player_id", "season"])["PTS"].agg(["mean", "size"])
    ppg = ppg[ppg["size"] >= 20]["mean"].unstack("season").dropna()
    assert len(ppg) >= 25
    correlation = np.corrcoef(ppg.to_numpy(dtype=float).T)[0, 1]
    assert 0.7 <= correlation <= 0.97
    league = games.groupby("season")["PTS"].sum() / games.groupby("season")["game_id"].nunique()
    assert league["2024-25"] == pytest.approx(league["2023-24"] * 1.03 / 1.045, rel=0.06)


# --- truth -------------------------------------------------------------------------------


def test_truth_is_aligned_with_games_and_kept_apart(feed: Feed) -> None:
    truth = feed.truth
    assert truth is not None
    expected = ["game_date", "player_id"] + [
        f"true_{kind}_{m}" for m in MARKETS for kind in ("mean", "median")
    ]
    assert list(truth.columns) == expected
    pd.testing.assert_frame_equal(
        truth[["game_date", "player_id"]], feed.games[["game_date", "player_id"]]
    )
    assert not any(c.startswith("true_") for c in feed.games.columns)
    assert (truth[expected[2:]] > 0).all().all()
    assert truth["true_mean_PRA"].to_numpy() == pytest.approx(
        (truth["true_mean_PTS"] + truth["true_mean_REB"] + truth["true_mean_AST"]).to_numpy()
    )


def test_truth_is_unbiased_and_its_median_splits_outcomes(feed: Feed) -> None:
    rows = _with_truth(feed)
    for market in MARKETS:
        actual = target_values(rows, market)
        residual = actual - rows[f"true_mean_{market}"]
        assert abs(residual.mean()) < 0.04 * actual.mean(), market
        line = np.round(rows[f"true_median_{market}"] - 0.5) + 0.5
        regular = rows[f"true_median_{market}"] > 3  # away from the count's floor at zero
        assert (actual[regular] > line[regular]).mean() == pytest.approx(0.5, abs=0.03), market


def test_mid_median_splits_a_known_distribution() -> None:
    # Poisson(4) as the limit: P(X <= 3) = 0.4335, P(X = 4) = 0.1954.
    median = synthetic.mid_median(np.array([4.0]), np.array([4.0 * 1.000001]))
    assert median[0] == pytest.approx(4 - 0.5 + (0.5 - 0.4335) / 0.1954, abs=1e-3)
    bigger = synthetic.mid_median(np.array([4.0, 20.0]), np.array([8.0, 40.0]))
    assert bigger[0] < 4.0 and bigger[1] < 20.0  # right-skewed: median below the mean


def test_oracle_mae_beats_naive_season_average(feed: Feed) -> None:
    games = feed.games
    oracle = synthetic.oracle_mae(feed, "PTS")
    season_average = games.groupby("player_id")["PTS"].transform("mean")  # even in-sample
    assert 0 < oracle < float((games["PTS"] - season_average).abs().mean())
    for market in MARKETS:
        assert synthetic.oracle_mae(feed, market) > 0
    assert synthetic.oracle_mae(feed, "PRA") > oracle


def test_oracle_mae_needs_truth_and_a_market(feed: Feed) -> None:
    with pytest.raises(synthetic.MissingTruthError, match="synthetic"):
        synthetic.oracle_mae(Feed(feed.games, feed.lines, None, source="csv"), "PTS")
    with pytest.raises(synthetic.UnknownMarketError, match="PTS, REB, AST, PRA"):
        synthetic.oracle_mae(feed, "STL")


# --- lines -------------------------------------------------------------------------------


def test_every_priced_player_game_has_three_books_and_both_snapshots(feed: Feed) -> None:
    lines = feed.lines
    counts = lines.groupby(["game_date", "player_id", "market"]).agg(
        books=("bookmaker", "nunique"), snapshots=("snapshot", "nunique"), rows=("line", "size")
    )
    assert (counts["books"] == 3).all() and (counts["snapshots"] == 2).all()
    assert (counts["rows"] == 6).all()
    per_game = lines.groupby(["game_date", "player_id"])["market"].nunique()
    assert (per_game == len(MARKETS)).all()
    played = feed.games.set_index(["game_date", "player_id"]).index
    assert per_game.index.isin(played).all()
    assert 0.4 <= len(per_game) / len(feed.games) <= 0.85  # stars, rotation, scoring bench


def test_snapshot_times_are_the_day_before_and_game_evening(feed: Feed) -> None:
    lines = feed.lines
    opening = lines[lines["snapshot"] == "open"]
    closing = lines[lines["snapshot"] == "close"]
    assert (opening["snapshot_ts"] == opening["game_date"] - pd.Timedelta(hours=14)).all()
    assert (closing["snapshot_ts"] == closing["game_date"] + pd.Timedelta(hours=18.5)).all()


def test_lines_are_half_points_with_a_few_whole_numbers(feed: Feed) -> None:
    line = feed.lines["line"]
    assert (line >= 0.5).all()
    assert ((line * 2) % 1 == 0).all()
    whole = (line % 1 == 0).mean()
    assert 0.03 <= whole <= 0.07


def test_prices_are_valid_american_odds_near_minus_110(feed: Feed) -> None:
    lines = feed.lines
    for side in ("over_price", "under_price"):
        price = lines[side]
        assert not price.between(-99, 99).any()
        assert price.between(-125, -105).all()
    assert (lines["over_price"] == -110).mean() > 0.15

    def implied(price: pd.Series) -> pd.Series:
        return -price / (-price + 100)

    overround = implied(lines["over_price"]) + implied(lines["under_price"])
    assert overround.between(1.02, 1.08).all()
    # The juice sits on the side the book leans to; at efficiency 0.5 the lean follows the
    # truth, so over-juiced lines sit lower against the true median than under-juiced ones.
    rows = _priced(feed)
    pts = rows[rows["market"] == "PTS"]
    gap = pts["line"] - pts["true_median_PTS"]
    over_juiced = pts["over_price"] < pts["under_price"]
    under_juiced = pts["over_price"] > pts["under_price"]
    assert gap[over_juiced].mean() < gap[under_juiced].mean()


def test_close_is_sharper_than_open(feed: Feed) -> None:
    assert _mean_gap(feed, "close") < 0.8 * _mean_gap(feed, "open")


def test_efficient_books_leave_the_over_at_about_half(efficient: Feed) -> None:
    rows = _priced(efficient)
    rows = rows[rows["snapshot"] == "close"]
    for market in MARKETS:
        in_market = rows[rows["market"] == market]
        actual = target_values(in_market, market)
        decided = actual != in_market["line"]
        over = (actual[decided] > in_market["line"][decided]).mean()
        assert over == pytest.approx(0.5, abs=0.03), market
    gap = (rows["line"] - rows["true_median_PTS"]).abs()[rows["market"] == "PTS"]
    assert gap.max() <= 0.5 + 1e-9  # the half-point nearest the true median (or that whole)


def test_lagging_books_are_further_from_the_truth(
    feed: Feed, efficient: Feed, lagging: Feed
) -> None:
    assert _mean_gap(lagging, "open") > 1.5 * _mean_gap(feed, "open")
    assert _mean_gap(feed, "open") > 1.5 * _mean_gap(efficient, "open")
    assert _mean_gap(lagging, "close") > _mean_gap(efficient, "close")


def test_stale_average_trails_then_falls_back_to_last_season_then_tier() -> None:
    last_season = ["2023-11-01", "2023-11-03", "2023-11-05", "2023-11-07"]
    this_season = ["2024-11-01", "2024-11-03", "2024-11-05", "2024-11-07"]
    days = pd.to_datetime([*last_season, *this_season, "2024-11-01"])
    played = pd.DataFrame(
        {
            "game_date": days,
            "player_id": [1] * 8 + [2],
            "season": ["2023-24"] * 4 + ["2024-25"] * 4 + ["2024-25"],
            "tier": [STAR] * 8 + [BENCH],
            "PTS": [10, 20, 30, 40, 0, 6, 9, 12, 5],
            "REB": [1] * 9,
            "AST": [2] * 9,
        }
    )
    stale = stale_averages(played)["PTS"]
    default_star, default_bench = TIER_DEFAULTS["PTS"][STAR], TIER_DEFAULTS["PTS"][BENCH]
    trailing = [default_star, default_star, default_star, 20.0]  # 3 games in: trailing mean
    carried = [25.0, 25.0, 25.0, 5.0]  # new season: last season's 25 until 3 games are in
    assert stale.tolist() == pytest.approx([*trailing, *carried, default_bench])
    assert stale_averages(played)["PRA"][3] == pytest.approx(23.0)


@pytest.mark.parametrize(
    ("probability", "price"),
    [(0.5238, -110), (0.55, -120), (0.60, -125), (0.51, -105), (0.40, -105), (0.535, -115)],
)
def test_american_price_stays_between_minus_105_and_minus_125(
    probability: float, price: int
) -> None:
    assert american_price(np.array([probability]))[0] == price
