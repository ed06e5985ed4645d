"""Sportsbook player-prop lines for the synthetic feed: three books, opening and closing lines.

A book's estimate of a player's median blends the truth with a stale estimate (his trailing
average, else last season's, else his tier's norm) by the market efficiency; the close is
sharper (efficiency moved halfway to 1). Lines are half-points near the estimate (a few whole
numbers, so pushes happen), priced around -110 with the juice on the side the book leans to.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from nbaprops.data.feed import LINE_COLUMNS, MARKETS, SNAPSHOTS
from nbaprops.data.synthetic.players import BENCH, ROTATION, STAR

BOOKMAKERS: tuple[str, ...] = ("fanduel", "draftkings", "betmgm")
OPEN_OFFSET = pd.Timedelta(hours=-14)  # 10:00 the day before
CLOSE_OFFSET = pd.Timedelta(hours=18, minutes=30)  # 18:30 on game day
TRAILING_GAMES = 10
MIN_TRAILING_GAMES = 3
BENCH_LINE_MIN_PTS = 6.0
WHOLE_LINE_SHARE = 0.05
# Per-book estimate noise (SD) at efficiency 0; it shrinks to nothing at efficiency 1.
BOOK_NOISE = {"PTS": 0.8, "REB": 0.4, "AST": 0.35, "PRA": 1.0}
# The books' own variance-to-mean ratio, used to price the lean.
BOOK_PHI = {"PTS": 2.1, "REB": 1.5, "AST": 1.6, "PRA": 2.3}
# A tier's typical average, the estimate of last resort (star, rotation, bench).
TIER_DEFAULTS = {
    "PTS": (22.0, 10.5, 4.3),
    "REB": (6.3, 4.5, 2.2),
    "AST": (5.0, 2.3, 1.0),
    "PRA": (33.3, 17.3, 7.5),
}
OVERROUND = 2 * 110 / 210  # the -110/-110 book: implied probabilities sum to 1.0476
PRICE_RANGE = (-125, -105)
PRICE_LEAN_SHARE = 0.4


def _stat(played: pd.DataFrame, market: str) -> np.ndarray:
    if market == "PRA":
        return (played["PTS"] + played["REB"] + played["AST"]).to_numpy(dtype=float)
    return played[market].to_numpy(dtype=float)


def stale_averages(played: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each row's pre-game stale estimate of the mean per market, aligned with `played`.

    Trailing mean of the player's previous (up to) 10 games this season when he has 3 or
    more, else his last-season average, else his tier's default.
    """
    n = len(played)
    season_code = pd.factorize(played["season"], sort=True)[0]
    player = played["player_id"].to_numpy()
    order = np.lexsort((played["game_date"].to_numpy(), season_code, player))
    pid, code = player[order], season_code[order]
    first = np.r_[True, (pid[1:] != pid[:-1]) | (code[1:] != code[:-1])]
    group = np.cumsum(first) - 1
    index = np.arange(n)
    start = np.maximum.accumulate(np.where(first, index, 0))
    before = index - start
    window = np.minimum(before, TRAILING_GAMES)
    head = order[first]
    previous_ok = np.r_[
        False, (pid[head][1:] == pid[head][:-1]) & (code[head][1:] == code[head][:-1] + 1)
    ]
    tier = played["tier"].to_numpy()[order]
    result: dict[str, np.ndarray] = {}
    for market in MARKETS:
        values = _stat(played, market)[order]
        cumulative = np.r_[0.0, np.cumsum(values)]
        trailing = (cumulative[index] - cumulative[index - window]) / np.maximum(window, 1)
        season_mean = np.bincount(group, values) / np.bincount(group)
        last_season = np.r_[np.nan, season_mean[:-1]]
        last_season = np.where(previous_ok, last_season, np.nan)[group]
        default = np.asarray(TIER_DEFAULTS[market])[tier]
        stale = np.where(
            window >= MIN_TRAILING_GAMES,
            trailing,
            np.where(np.isnan(last_season), default, last_season),
        )
        out = np.empty(n)
        out[order] = stale
        result[market] = out
    return result


def american_price(probability: np.ndarray) -> np.ndarray:
    """Book prices (American, int) for implied probabilities, kept within -105..-125."""
    q = np.clip(probability, 0.01, 0.99)
    raw = np.where(q >= 0.5, -100.0 * q / (1.0 - q), PRICE_RANGE[1])
    return np.clip(np.round(raw / 5.0) * 5.0, *PRICE_RANGE).astype(np.int64)


def sportsbook_lines(
    played: pd.DataFrame, market_efficiency: float, rng: np.random.Generator
) -> pd.DataFrame:
    """Lines (LINE_COLUMNS, sorted by date) for star and rotation players' games and for
    bench players averaging 6+ points, in every market, from every book, open and close."""
    stale = stale_averages(played)
    tier = played["tier"].to_numpy()
    eligible = np.isin(tier, (STAR, ROTATION)) | (
        (tier == BENCH) & (stale["PTS"] >= BENCH_LINE_MIN_PTS)
    )
    rows = played.loc[eligible]
    n, m, b, s = len(rows), len(MARKETS), len(BOOKMAKERS), len(SNAPSHOTS)
    efficiency = np.array([market_efficiency, (1.0 + market_efficiency) / 2.0])[None, None, None, :]

    truth = np.stack([rows[f"true_median_{k}"].to_numpy() for k in MARKETS], axis=1)
    mean = np.stack([rows[f"true_mean_{k}"].to_numpy() for k in MARKETS], axis=1)
    lagging = (
        np.stack([stale[k][eligible] for k in MARKETS], axis=1) * truth / np.maximum(mean, 1e-6)
    )
    noise_sd = np.array([BOOK_NOISE[k] for k in MARKETS])[None, :, None, None]
    estimate = (
        efficiency * truth[:, :, None, None]
        + (1.0 - efficiency) * lagging[:, :, None, None]
        + (1.0 - efficiency) * noise_sd * rng.standard_normal((n, m, b, s))
    )
    whole = rng.random(estimate.shape) < WHOLE_LINE_SHARE
    line = np.maximum(np.where(whole, np.round(estimate), np.floor(estimate) + 0.5), 0.5)
    phi = np.array([BOOK_PHI[k] for k in MARKETS])[None, :, None, None]
    spread = np.sqrt(phi * np.maximum(estimate, 1.0))
    # Books mostly move the line, not the price: only part of the lean shows in the juice.
    lean = 0.5 + PRICE_LEAN_SHARE * (special.ndtr((estimate - line) / spread) - 0.5)

    count = n * m * b * s
    day = np.repeat(rows["game_date"].to_numpy(), m * b * s)
    snapshot = np.tile(np.arange(s), n * m * b)
    offset = np.where(snapshot == 0, OPEN_OFFSET.value, CLOSE_OFFSET.value).astype(
        "timedelta64[ns]"
    )
    frame = pd.DataFrame(
        {
            "game_date": day,
            "player_id": np.repeat(rows["player_id"].to_numpy(), m * b * s),
            "player_name": _strings(
                rows["player_name"].to_numpy(), np.repeat(np.arange(n), m * b * s)
            ),
            "market": _strings(np.array(MARKETS), np.tile(np.repeat(np.arange(m), b * s), n)),
            "line": line.reshape(count),
            "over_price": american_price(lean * OVERROUND).reshape(count),
            "under_price": american_price((1.0 - lean) * OVERROUND).reshape(count),
            "bookmaker": _strings(np.array(BOOKMAKERS), np.tile(np.repeat(np.arange(b), s), n * m)),
            "snapshot": _strings(np.array(SNAPSHOTS), snapshot),
            "snapshot_ts": day + offset,
        }
    )
    return frame[list(LINE_COLUMNS)]


def _strings(values: np.ndarray, codes: np.ndarray) -> pd.Series:
    """A str column of values[codes], built without a Python object per row when pandas
    stores strings in Arrow (its default when pyarrow is installed)."""
    if getattr(pd.Series(dtype="str").dtype, "storage", None) == "pyarrow":
        import pyarrow as pa

        taken = pa.array([str(v) for v in values], pa.large_string()).take(pa.array(codes))
        return pd.Series(pd.array(taken, dtype="str"))
    return pd.Series(np.asarray(values, dtype=object)[codes], dtype="str")
