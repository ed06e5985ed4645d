"""The canonical in-memory form of a data feed, shared by every source (synthetic or CSV).

Game logs: one row per player-game actually played (DNPs are absent, as in real box scores).
Lines: one row per (date, player, market, bookmaker, snapshot) with both American prices.
Truth: only the synthetic source has it: each row's true pre-game mean and median per market,
kept apart from the game logs so that no feature can ever read it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Protocol

import pandas as pd

# Canonical game-log columns. Required ones must exist in every source; optional ones may be
# missing from a user's CSV, which switches off the features that need them.
GAME_REQUIRED: tuple[str, ...] = ("game_date", "player_id", "player_name")
GAME_OPTIONAL: tuple[str, ...] = (
    "game_id",
    "season",
    "team",
    "opponent",
    "home",
    "MIN",
    "PTS",
    "REB",
    "AST",
    "FGA",
    "FTA",
    "TOV",
    "PRA",
)
GAME_COLUMNS: tuple[str, ...] = GAME_REQUIRED + GAME_OPTIONAL
STAT_COLUMNS: tuple[str, ...] = ("MIN", "PTS", "REB", "AST", "FGA", "FTA", "TOV", "PRA")
# PRA may be given directly (a PRA-only game log) instead of as its three parts.
PRA_PARTS: tuple[str, ...] = ("PTS", "REB", "AST")

LINE_COLUMNS: tuple[str, ...] = (
    "game_date",
    "player_id",
    "player_name",
    "market",
    "line",
    "over_price",
    "under_price",
    "bookmaker",
    "snapshot",
    "snapshot_ts",
)
MARKETS: tuple[str, ...] = ("PTS", "REB", "AST", "PRA")
SNAPSHOTS: tuple[str, ...] = ("open", "close")

# The slate: one row per scheduled game (schedule.csv); tipoff_utc is ISO text, may be empty.
SCHEDULE_COLUMNS: tuple[str, ...] = ("game_date", "game_id", "home_team", "away_team", "tipoff_utc")

# Truth columns (synthetic only): game_date, player_id, then true_mean_<M> and true_median_<M>.
TRUTH_KEY: tuple[str, ...] = ("game_date", "player_id")


def target_values(games: pd.DataFrame, target: str) -> pd.Series:
    """The prop target of each row: a box-score column; PRA as given, else PTS+REB+AST."""
    if target == "PRA" and "PRA" not in games.columns:
        return games["PTS"] + games["REB"] + games["AST"]
    return games[target]


def frame_digest(*frames: pd.DataFrame) -> str:
    """A short, stable content digest of data frames, for dataset lineage in MLflow."""
    h = hashlib.sha256()
    for frame in frames:
        h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
        h.update(",".join(map(str, frame.columns)).encode())
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class Feed:
    """Game logs, sportsbook lines and (synthetic only) the hidden truth, sorted by date.

    `games` and `lines` use the canonical columns above with `game_date` as datetime64 at
    midnight. `truth` is None for real data. `schedule` is the slate (SCHEDULE_COLUMNS), None
    when the source has none; `slate(day)` then falls back to the day's game logs.
    """

    games: pd.DataFrame
    lines: pd.DataFrame
    truth: pd.DataFrame | None = None
    source: str = "synthetic"
    warnings: tuple[str, ...] = field(default_factory=tuple)
    schedule: pd.DataFrame | None = None

    @property
    def digest(self) -> str:
        """Content digest of games and lines (truth is evaluation-only and excluded)."""
        return frame_digest(self.games, self.lines)

    @property
    def dates(self) -> pd.DatetimeIndex:
        """The distinct game dates, ascending."""
        return pd.DatetimeIndex(sorted(self.games["game_date"].unique()))

    def known_before(self, day: dt.date | pd.Timestamp) -> Feed:
        """Everything known before the start of `day`: earlier games and earlier lines."""
        cutoff = pd.Timestamp(day).normalize()
        return self._subset(_before(self.games, cutoff), _before(self.lines, cutoff))

    def morning_of(self, day: dt.date | pd.Timestamp, line_history: bool = True) -> Feed:
        """What is known on the morning of `day`, before tip-off: earlier games, the lines up
        to and including the day's, and the schedule (no box score of the day).

        `line_history=False` keeps the day's lines only: what scoring reads, without copying
        the earlier lines (1.7 million rows late in the default feed)."""
        d = pd.Timestamp(day).normalize()
        slate = self.slate(d) if self.schedule is None else None
        dates = self.lines["game_date"]
        lines = _before(self.lines, d, inclusive=True) if line_history else dates == d
        cut = self._subset(_before(self.games, d), lines)
        if slate is None:
            return cut
        return Feed(cut.games, cut.lines, cut.truth, cut.source, cut.warnings, slate)

    def slate(self, day: dt.date | pd.Timestamp) -> pd.DataFrame:
        """The games scheduled on `day` (SCHEDULE_COLUMNS); derived from the day's game logs
        when the source has no schedule (folders written before schedule.csv existed)."""
        d = pd.Timestamp(day).normalize()
        if self.schedule is not None:
            return self.schedule.loc[self.schedule["game_date"] == d].reset_index(drop=True)
        return schedule_from_games(self.games.loc[self.games["game_date"] == d])

    def on_date(self, day: dt.date | pd.Timestamp) -> Feed:
        """The games and lines of `day` only."""
        d = pd.Timestamp(day).normalize()
        return self._subset(self.games["game_date"] == d, self.lines["game_date"] == d)

    def between(self, start: dt.date | pd.Timestamp, end: dt.date | pd.Timestamp) -> Feed:
        """Games and lines with start <= game_date < end."""
        s, e = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
        g, ln = self.games["game_date"], self.lines["game_date"]
        return self._subset((g >= s) & (g < e), (ln >= s) & (ln < e))

    def _subset(self, game_rows: Rows, line_rows: Rows) -> Feed:
        games = _take(self.games, game_rows)
        lines = _take(self.lines, line_rows)
        truth = None
        if self.truth is not None:
            keys = games[list(TRUTH_KEY)]
            truth = keys.merge(self.truth, on=list(TRUTH_KEY), how="left")
        return Feed(games, lines, truth, self.source, self.warnings, self.schedule)


#: rows of a frame: a boolean mask, or a slice of positions (a date-sorted frame's prefix)
Rows = pd.Series | slice


def _before(frame: pd.DataFrame, cutoff: pd.Timestamp, inclusive: bool = False) -> Rows:
    """The rows dated before `cutoff` (or on it, `inclusive`): a prefix slice when the frame is
    sorted by date, as loaded feeds are (no copy of 1.7 million lines a job), else a mask."""
    dates = frame["game_date"]
    if dates.is_monotonic_increasing:
        return slice(0, int(dates.searchsorted(cutoff, side="right" if inclusive else "left")))
    return dates <= cutoff if inclusive else dates < cutoff


def _take(frame: pd.DataFrame, rows: Rows) -> pd.DataFrame:
    """`frame`'s rows, renumbered from 0."""
    part = frame.iloc[rows] if isinstance(rows, slice) else frame.loc[rows]
    return part.reset_index(drop=True)


def schedule_from_games(games: pd.DataFrame) -> pd.DataFrame:
    """The slate implied by game logs: one row per game_id from its home team's rows."""
    wanted = {"game_id", "team", "opponent", "home"}
    if games.empty or not wanted <= set(games.columns):
        return pd.DataFrame({c: pd.Series(dtype="str") for c in SCHEDULE_COLUMNS}).astype(
            {"game_date": "datetime64[ns]"}
        )
    home = games.loc[games["home"].fillna(0).astype(int) == 1]
    slate = home.drop_duplicates("game_id")[["game_date", "game_id", "team", "opponent"]]
    slate = slate.rename(columns={"team": "home_team", "opponent": "away_team"})
    return slate.assign(tipoff_utc="").reset_index(drop=True)


class DataSource(Protocol):
    """Anything that can produce a Feed: the synthetic generator or a folder of CSVs."""

    def load(self) -> Feed:
        """Read or generate the whole feed."""
        ...
