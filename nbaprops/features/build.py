"""build_features: canonical game logs in, a past-only feature matrix with keys and target out.

Every feature of a row is computed from games strictly before the row's game_date: the player's
earlier games, and the team's and opponent's earlier games. Rows with no history keep NaN
features (XGBoost and LightGBM route NaN natively); counts of earlier games are 0 there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from nbaprops.data.feed import GAME_COLUMNS, PRA_PARTS, target_values
from nbaprops.features.catalog import (
    POSSESSION_COLUMNS,
    FeatureError,
    FeatureSpec,
    feature_version,
    select_specs,
    target_columns,
)
from nbaprops.features.context import game_pace, opponent_defence, team_codes
from nbaprops.features.player import PlayerLog, player_features, rolling_baseline, season_form
from nbaprops.features.tiers import tier_labels
from nbaprops.features.window import run_positions

KEY_COLUMNS: tuple[str, ...] = (
    "game_date",
    "player_id",
    "player_name",
    "game_id",
    "season",
    "team",
    "opponent",
    "home",
)


@dataclass(frozen=True, eq=False)
class FeatureFrame:
    """Features, keys and target of a game log, row-aligned with the input frame's index.

    `X` holds feature columns only (float64); `keys` holds identifiers plus the past-only `tier`
    label and `baseline` (mean target of the previous 10 games) for evaluation; `disabled` maps a
    feature switched off by missing input columns to the reason.
    """

    X: pd.DataFrame
    keys: pd.DataFrame
    y: pd.Series
    feature_names: tuple[str, ...]
    version: str
    tiers: Mapping[str, str]
    target: str = "PTS"
    feature_set: str = "full"
    disabled: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.X)

    def select(self, rows: np.ndarray) -> FeatureFrame:
        """The same frame restricted to some rows (a boolean mask or positions, e.g. a split)."""
        return replace(self, X=self.X.iloc[rows], keys=self.keys.iloc[rows], y=self.y.iloc[rows])


def build_features(
    games: pd.DataFrame, target: str = "PTS", feature_set: str = "full"
) -> FeatureFrame:
    """Past-only features of every row of a canonical game log (see nbaprops.data.feed).

    `feature_set` is 'core', 'context' or 'full'. Optional columns that are missing (or empty)
    switch off the features that need them; they are listed in `disabled` with the reason.
    """
    specs = select_specs(target, feature_set)
    prepared, notes = _prepare(games)
    _check_target_columns(prepared, target)
    order, log = _player_log(prepared, target)

    disabled = _disabled(specs, prepared)
    enabled = [spec for spec in specs if spec.name not in disabled]
    wanted = {spec.name for spec in enabled}
    values = player_features(log, target, wanted)
    values.update(_team_features(log, wanted, notes))
    if "home" in wanted:
        values["home"] = log.column("home")

    inverse = np.empty(len(order), dtype=np.int64)
    inverse[order] = np.arange(len(order))
    names = tuple(spec.name for spec in enabled)
    X = pd.DataFrame({name: values[name][inverse] for name in names}, index=games.index)
    keys = _keys(prepared, games.index)
    keys["tier"] = tier_labels(season_form(log), target)[inverse]
    keys["baseline"] = rolling_baseline(log)[inverse]
    y = pd.Series(_target(prepared, target), index=games.index, name=target)
    return FeatureFrame(
        X=X,
        keys=keys,
        y=y,
        feature_names=names,
        version=feature_version(feature_set),
        tiers={spec.name: spec.tier for spec in enabled},
        target=target,
        feature_set=feature_set,
        disabled=disabled,
        notes=tuple(notes),
    )


def _check_target_columns(games: pd.DataFrame, target: str) -> None:
    missing = [c for c in target_columns(target) if c not in games.columns]
    if missing:
        given = "PRA, or PTS, REB and AST" if target == "PRA" else ", ".join(missing)
        raise FeatureError(
            f"target {target} needs column(s) {given}, missing from the games; "
            f"choose a target the data has, or add the column(s) (canonical columns: "
            f"{', '.join(GAME_COLUMNS)})"
        )


def _prepare(games: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Positional copy with a midnight game_date and a season label; checks one game a day."""
    notes: list[str] = []
    for column in ("game_date", "player_id"):
        if column not in games.columns:
            raise FeatureError(
                f"column {column!r} is missing from the games; expected columns: "
                f"{', '.join(GAME_COLUMNS)}"
            )
    frame = games.reset_index(drop=True)
    try:
        dates = pd.to_datetime(frame["game_date"]).dt.normalize()
    except (ValueError, TypeError) as exc:
        raise FeatureError(
            f"game_date could not be read as dates ({exc}); use ISO dates such as 2024-01-15"
        ) from exc
    if dates.isna().any() or frame["player_id"].isna().any():
        raise FeatureError(
            "some rows have no game_date or player_id; drop or fill them before building features"
        )
    frame["game_date"] = dates
    if "PRA" not in frame.columns and set(PRA_PARTS) <= set(frame.columns):
        frame["PRA"] = target_values(frame, "PRA")
    duplicated = frame.duplicated(["player_id", "game_date"], keep=False)
    if duplicated.any():
        first = frame.loc[duplicated].iloc[0]
        raise FeatureError(
            f"player {first['player_id']} has {int(duplicated.sum())} rows sharing dates "
            f"(e.g. {first['game_date'].date()}); keep one row per player and day"
        )
    derived = _season_from_dates(dates)
    if "season" not in frame.columns:
        frame["season"] = derived
        notes.append("season derived from game_date (July starts a new season)")
    else:
        frame["season"] = frame["season"].astype("object").where(frame["season"].notna(), derived)
    return frame, notes


def _season_from_dates(dates: pd.Series) -> pd.Series:
    start = dates.dt.year - (dates.dt.month < 7).astype(int)
    labels = {y: f"{y}-{(y + 1) % 100:02d}" for y in start.unique()}
    return start.map(labels).astype("object")


def _target(frame: pd.DataFrame, target: str) -> np.ndarray:
    return pd.to_numeric(frame[target], errors="coerce").to_numpy(np.float64)


def _player_log(frame: pd.DataFrame, target: str) -> tuple[np.ndarray, PlayerLog]:
    """Sort rows by (player, date) and label the player and player-season runs."""
    try:
        player_codes, _ = pd.factorize(frame["player_id"], sort=True)
    except TypeError:
        player_codes, _ = pd.factorize(frame["player_id"].astype(str), sort=True)
    days = frame["game_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    order = np.lexsort((days, player_codes))
    sorted_frame = frame.iloc[order].reset_index(drop=True)
    runs = player_codes[order].astype(np.int64)
    seasons, _ = pd.factorize(sorted_frame["season"])
    boundary = np.ones(len(order), dtype=bool)
    boundary[1:] = (runs[1:] != runs[:-1]) | (seasons[1:] != seasons[:-1])
    season_runs = np.cumsum(boundary).astype(np.int64)
    log = PlayerLog(
        games=sorted_frame,
        target=_target(sorted_frame, target),
        days=days[order],
        player_runs=runs,
        pos=run_positions(runs),
        season_runs=season_runs,
        season_pos=run_positions(season_runs),
    )
    return order, log


def _missing(frame: pd.DataFrame, columns: tuple[str, ...]) -> list[str]:
    """Columns that are absent, or present without a single value (an empty frame has all)."""
    return [c for c in columns if c not in frame.columns or (len(frame) and frame[c].isna().all())]


def _disabled(specs: tuple[FeatureSpec, ...], frame: pd.DataFrame) -> dict[str, str]:
    """Features whose input columns are absent or empty, with a reason naming the columns."""
    out: dict[str, str] = {}
    for spec in specs:
        missing = _missing(frame, spec.needs)
        if missing:
            out[spec.name] = f"needs column(s) {', '.join(missing)}, absent or empty in the games"
    return out


def _team_features(log: PlayerLog, wanted: set[str], notes: list[str]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    if not wanted & {"OPP_DRTG", "PACE_L15"}:
        return out
    codes = team_codes(log.games)
    if "OPP_DRTG" in wanted:
        per_possession = not _missing(log.games, POSSESSION_COLUMNS)
        if not per_possession:
            notes.append("OPP_DRTG uses points allowed per game: FGA, FTA or TOV is missing")
        out["OPP_DRTG"] = opponent_defence(log.games, log.days, codes, per_possession)
    if "PACE_L15" in wanted:
        out["PACE_L15"] = game_pace(log.games, log.days, codes)
    return out


def _keys(frame: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """Identifier columns for joins and evaluation; a key the games lack is all-NA."""
    keys = pd.DataFrame(index=index)
    for column in KEY_COLUMNS:
        if column in frame.columns:
            keys[column] = pd.Series(frame[column].array, index=index)
        else:
            keys[column] = pd.Series(pd.NA, index=index, dtype="object")
    return keys
