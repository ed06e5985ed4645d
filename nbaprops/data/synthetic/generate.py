"""The embedded default data source: a realistic, seeded synthetic NBA feed with hidden truth.

Minutes come first (by role, scaled to 240 team minutes, 265 in overtime), then points,
rebounds and assists are negative binomial around minutes x per-minute skill x context (home,
back-to-back, opponent defence, pace, season scoring). Because the generator knows each row's
pre-game distribution it also returns the truth (mean and median per market), from which
`oracle_mae` gives the best MAE any mean-predicting model could reach. Figures: DOMAIN.md.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from nbaprops.data.feed import (
    GAME_COLUMNS,
    MARKETS,
    TRUTH_KEY,
    Feed,
    schedule_from_games,
    target_values,
)
from nbaprops.data.synthetic import players as league
from nbaprops.data.synthetic.lines import sportsbook_lines
from nbaprops.seasons import parse_season
from nbaprops.settings import DEFAULT_SEASONS

GAMES_PER_TEAM = 82
OVERTIME_SHARE = 0.06
TEAM_MINUTES, OVERTIME_MINUTES = 240.0, 265.0
MIN_DRESSED = 8  # fewest available players a team takes into a game
FULL_ROTATION = 10  # with fewer available, nobody is left out by the coach
MINUTES_CAP = 42.0  # most minutes anyone plays in regulation (scaled up in overtime)
BACK_TO_BACK_PUSH = 0.7  # chance a scheduler moves a game off a back-to-back (~15% remain)
HOME_FACTOR, AWAY_FACTOR, BACK_TO_BACK_FACTOR = 1.01, 0.99, 0.98
# League scoring by season relative to 2021-22; seasons outside use the nearest end.
SEASON_SCORING = {"2021-22": 1.0, "2022-23": 1.037, "2023-24": 1.045, "2024-25": 1.03}
MINUTES_DRAWS = 256  # Monte Carlo draws of a team-game's minutes, for the truth
ROSTER_SLOTS = 15
_TRUTH_CHUNK = 512


class SyntheticConfigError(ValueError):
    """SyntheticSource was given settings it cannot generate from."""


class UnknownMarketError(ValueError):
    """A target that is not one of the prop markets."""


class MissingTruthError(ValueError):
    """A feed without the synthetic truth was asked for something only the truth can give."""


def season_scoring(label: str) -> float:
    """League scoring multiplier of a season (1.0 = 2021-22)."""
    if label in SEASON_SCORING:
        return SEASON_SCORING[label]
    first, last = min(SEASON_SCORING), max(SEASON_SCORING)
    return SEASON_SCORING[first] if label < first else SEASON_SCORING[last]


def season_days(start_year: int) -> np.ndarray:
    """Game days of a season (datetime64[D]): the Tuesday from 18 October to the Sunday from
    8 April, without Thanksgiving, Christmas Eve and the All-Star break."""
    opening = dt.date(start_year, 10, 18)
    opening += dt.timedelta(days=(1 - opening.weekday()) % 7)
    closing = dt.date(start_year + 1, 4, 8)
    closing += dt.timedelta(days=(6 - closing.weekday()) % 7)
    november = dt.date(start_year, 11, 1)
    thanksgiving = november + dt.timedelta(days=(3 - november.weekday()) % 7 + 21)
    february = dt.date(start_year + 1, 2, 1)
    all_star = february + dt.timedelta(days=(6 - february.weekday()) % 7 + 14)
    days = np.arange(np.datetime64(opening), np.datetime64(closing) + 1)
    off = [np.datetime64(thanksgiving), np.datetime64(dt.date(start_year, 12, 24))]
    off += list(np.arange(np.datetime64(all_star) - 3, np.datetime64(all_star) + 4))
    return days[~np.isin(days, np.array(off, dtype="datetime64[D]"))]


def _rounds(n_teams: int, rng: np.random.Generator) -> list[list[tuple[int, int]]]:
    """Rounds of (home, away) pairs by the circle method, cycled until each team has ~82 games.

    Round order is shuffled within each cycle; home and away are then balanced by `_orient`.
    """
    order = rng.permutation(n_teams)
    slots = n_teams + n_teams % 2  # an odd league gets a bye slot
    base: list[list[tuple[int, int]]] = []
    ring = list(range(slots))
    for _ in range(slots - 1):
        base.append([(ring[i], ring[slots - 1 - i]) for i in range(slots // 2)])
        ring = [ring[0], ring[-1], *ring[1:-1]]
    n_rounds = math.ceil(GAMES_PER_TEAM * (slots - 1) / (n_teams - 1))
    rounds: list[list[tuple[int, int]]] = []
    while len(rounds) < n_rounds:
        for k in rng.permutation(slots - 1)[: n_rounds - len(rounds)]:
            pairs = [(int(order[x]), int(order[y])) for x, y in base[k] if max(x, y) < n_teams]
            rounds.append(pairs)
    return _orient(rounds, n_teams, rng)


def _orient(
    rounds: list[list[tuple[int, int]]], n_teams: int, rng: np.random.Generator
) -> list[list[tuple[int, int]]]:
    """Home and away: a pair's meetings alternate venues, and whoever hosts the odd meeting
    out is chosen greedily so that every team ends with about half its games at home."""
    meetings: dict[tuple[int, int], int] = {}
    for pairs in rounds:
        for a, b in pairs:
            key = (min(a, b), max(a, b))
            meetings[key] = meetings.get(key, 0) + 1
    extra_homes = np.zeros(n_teams)
    first_host: dict[tuple[int, int], int] = {}
    keys = list(meetings)
    for i in rng.permutation(len(keys)):
        a, b = keys[i]
        if meetings[keys[i]] % 2 == 0:
            first_host[keys[i]] = a if rng.random() < 0.5 else b
            continue
        host = a if (extra_homes[a], rng.random()) < (extra_homes[b], 0.5) else b
        first_host[keys[i]] = host
        extra_homes[host] += 1
    seen: dict[tuple[int, int], int] = {}
    oriented = []
    for pairs in rounds:
        games = []
        for a, b in pairs:
            key = (min(a, b), max(a, b))
            j = seen.get(key, 0)
            seen[key] = j + 1
            host = first_host[key] if j % 2 == 0 else key[0] + key[1] - first_host[key]
            games.append((host, key[0] + key[1] - host))
        oriented.append(games)
    return oriented


def season_schedule(n_teams: int, start_year: int, rng: np.random.Generator) -> pd.DataFrame:
    """One season's games (game_day datetime64[D], home, away, overtime), sorted by day.

    Rounds are spread evenly over the season; each game gets a day in its round's window,
    never three days running for a team, and pushed off a back-to-back 70% of the time
    (about 15% of team-games end up as the second night of one).
    """
    days = season_days(start_year)
    calendar = np.concatenate([days, days[-1] + np.arange(1, 31)]).astype(np.int64)
    rounds = _rounds(n_teams, rng)
    spacing = len(days) / len(rounds)
    last = np.full(n_teams, -1)  # index into calendar of each team's last game
    streak = np.zeros(n_teams, dtype=int)  # days in a row ending at that game
    out: list[tuple[int, int, int]] = []
    for r, pairs in enumerate(rounds):
        for g in rng.permutation(len(pairs)):
            home, away = pairs[g]
            pushed = False
            idx = max(int((r + rng.random()) * spacing), last[home] + 1, last[away] + 1)
            window_end = math.ceil((r + 1) * spacing)  # pushing past it would fall behind
            while True:
                b2b = [last[t] >= 0 and calendar[idx] - calendar[last[t]] == 1 for t in pairs[g]]
                tired = any(b and streak[t] >= 2 for b, t in zip(b2b, pairs[g], strict=True))
                rest = any(b2b) and not pushed and idx + 1 <= window_end
                if tired or (rest and rng.random() < BACK_TO_BACK_PUSH):
                    idx, pushed = idx + 1, True
                    continue
                break
            for t, b in zip(pairs[g], b2b, strict=True):
                streak[t] = streak[t] + 1 if b else 1
                last[t] = idx
            out.append((int(calendar[idx]), home, away))
    games = pd.DataFrame(out, columns=["day", "home", "away"])
    games = games.sort_values("day", kind="stable").reset_index(drop=True)
    return pd.DataFrame(
        {
            "game_day": games["day"].to_numpy().astype("datetime64[D]"),
            "home": games["home"].to_numpy(),
            "away": games["away"].to_numpy(),
            "overtime": rng.random(len(games)) < OVERTIME_SHARE,
        }
    )


def _negative_binomial(
    mean: np.ndarray, phi: np.ndarray | float, rng: np.random.Generator
) -> np.ndarray:
    """Counts with the given means and variance phi x mean."""
    phi = np.broadcast_to(np.asarray(phi, dtype=float), mean.shape)
    return rng.negative_binomial(np.maximum(mean, 1e-9) / (phi - 1.0), 1.0 / phi)


def mid_median(mean: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """Median of a count with this mean and variance (negative binomial), its values spread
    over +-0.5 so the median is continuous: the half-point line nearest it splits ~50/50."""
    mean = np.maximum(mean, 1e-6)
    variance = np.maximum(variance, mean * 1.0001)
    n, p = mean**2 / (variance - mean), mean / variance
    # Start from the mean - skew x sd / 6 rule, then step to the smallest k with F(k) >= 1/2.
    skew_sd = (2.0 - p) / (1.0 - p) * mean / n
    k = np.maximum(np.floor(mean - skew_sd / 6.0), 0.0)
    below, at = _nb_cdf(k - 1, n, p), _nb_cdf(k, n, p)
    todo = np.flatnonzero((below >= 0.5) | (at < 0.5))
    while len(todo):
        k[todo] += np.where(below[todo] >= 0.5, -1.0, 1.0)
        below[todo] = _nb_cdf(k[todo] - 1, n[todo], p[todo])
        at[todo] = _nb_cdf(k[todo], n[todo], p[todo])
        todo = todo[(below[todo] >= 0.5) | (at[todo] < 0.5)]
    return k - 0.5 + (0.5 - below) / np.maximum(at - below, 1e-12)


def _nb_cdf(k: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """P(X <= k) of a negative binomial (failures before n successes of chance p); 0 for k < 0."""
    return np.where(k >= 0, special.betainc(n, np.maximum(k, 0.0) + 1.0, p), 0.0)


@dataclass(frozen=True)
class _TeamGames:
    """Both sides of every game of a season, one row per (team, game)."""

    game: np.ndarray
    team: np.ndarray
    opp: np.ndarray
    home: np.ndarray
    day: np.ndarray
    overtime: np.ndarray
    number: np.ndarray  # the team's game number 0, 1, ...
    back_to_back: np.ndarray


def _team_games(schedule: pd.DataFrame) -> _TeamGames:
    """Each game seen from both sides, with the team's game number and back-to-back flag."""
    n = len(schedule)
    home, away = schedule["home"].to_numpy(), schedule["away"].to_numpy()
    team, opp = np.concatenate([home, away]), np.concatenate([away, home])
    day = np.tile(schedule["game_day"].to_numpy().astype("datetime64[D]").astype(np.int64), 2)
    order = np.lexsort((day, team))
    first = np.r_[True, team[order][1:] != team[order][:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(2 * n), 0))
    number, b2b = np.empty(2 * n, dtype=np.int64), np.empty(2 * n, dtype=bool)
    number[order] = np.arange(2 * n) - start
    b2b[order] = ~first & (np.diff(day[order], prepend=day[order][0]) == 1)
    return _TeamGames(
        game=np.tile(np.arange(n), 2),
        team=team,
        opp=opp,
        home=np.r_[np.ones(n, dtype=np.int64), np.zeros(n, dtype=np.int64)],
        day=day,
        overtime=np.tile(schedule["overtime"].to_numpy(), 2),
        number=number,
        back_to_back=b2b,
    )


def _roster_slots(roster: pd.DataFrame, n_teams: int) -> np.ndarray:
    """(team, slot) -> roster row, -1 for an empty slot; stars first."""
    order = np.lexsort((roster["tier"].to_numpy(), roster["team"].to_numpy()))
    team = roster["team"].to_numpy()[order]
    first = np.r_[True, team[1:] != team[:-1]]
    position = np.arange(len(order)) - np.maximum.accumulate(
        np.where(first, np.arange(len(order)), 0)
    )
    slots = np.full((n_teams, ROSTER_SLOTS), -1, dtype=np.int64)
    slots[team, position] = order
    return slots


def _injured(roster: pd.DataFrame, games: int, rng: np.random.Generator) -> np.ndarray:
    """(player, team game number) -> out injured: multi-game spells (mean ~7 games), about
    2.3 a player a season, so a player misses ~17% of his team's games."""
    n = len(roster)
    spells = rng.poisson(roster["injury_rate"].to_numpy())
    who = np.repeat(np.arange(n), spells)
    start = rng.integers(0, games, len(who))
    end = np.minimum(start + rng.geometric(0.14, len(who)), games)
    marks = np.zeros((n + 1, games + 1), dtype=np.int64)
    np.add.at(marks, (who, start), 1)
    np.add.at(marks, (who, end), -1)
    out = np.cumsum(marks, axis=1)[:, :games] > 0
    out[n] = True  # the sentinel row behind empty slots is never available
    return out


def share_minutes(planned: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Scale a team's planned minutes (axis 1 = players, 0 for those not playing) to the game's
    total, capping anyone at 42 minutes (46 with overtime) and giving the excess to the rest."""
    totals = np.expand_dims(total, 1)
    minutes = planned * (totals / planned.sum(axis=1, keepdims=True))
    cap = MINUTES_CAP * totals / TEAM_MINUTES
    capped = minutes > cap
    if capped.any():
        free = np.where(capped, 0.0, minutes)
        room = totals - (cap * capped).sum(axis=1, keepdims=True)
        spare = np.maximum(free.sum(axis=1, keepdims=True), 1e-9)
        minutes = np.where(capped, cap, free * (room / spare))
    return minutes


def _dressed(on_roster: np.ndarray, injured: np.ndarray) -> np.ndarray:
    """Who is available in each team-game: the healthy, plus the least-hurt (stars first) when
    fewer than eight are healthy, as teams play through knocks rather than field five."""
    hurt = on_roster & injured
    available = on_roster & ~injured
    short = np.maximum(MIN_DRESSED - available.sum(axis=1, keepdims=True), 0)
    return available | (hurt & (np.cumsum(hurt, axis=1) <= short))


def _minutes_moments(
    mean: np.ndarray,
    sd: np.ndarray,
    dnp: np.ndarray,
    available: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of each (team-game, slot)'s minutes given that he plays, by Monte Carlo
    over coach's DNPs, overtime and the team-minutes scaling."""
    first = np.full(mean.shape, np.nan)
    second = np.full(mean.shape, np.nan)
    k = MINUTES_DRAWS
    mean32, sd32, dnp32 = (a.astype(np.float32)[:, :, None] for a in (mean, sd, dnp))
    for lo in range(0, len(mean), _TRUTH_CHUNK):
        sl = slice(lo, lo + _TRUTH_CHUNK)
        shape = (*mean[sl].shape, k)
        raw = rng.standard_normal(shape, dtype=np.float32)
        raw *= sd32[sl]
        raw += mean32[sl]
        np.clip(raw, 1.0, 46.0, out=raw)
        plays = available[sl, :, None] & (rng.random(shape, dtype=np.float32) >= dnp32[sl])
        overtime = rng.random((shape[0], k)) < OVERTIME_SHARE
        total = np.where(overtime, OVERTIME_MINUTES, TEAM_MINUTES).astype(np.float32)
        raw *= plays
        minutes = share_minutes(raw, total)
        count = np.maximum(plays.sum(axis=2), 1)
        first[sl] = minutes.sum(axis=2) / count
        second[sl] = np.einsum("ijk,ijk->ij", minutes, minutes) / count
    return first, np.maximum(second - first**2, 0.0)


def play_season(
    roster: pd.DataFrame,
    ratings: pd.DataFrame,
    schedule: pd.DataFrame,
    label: str,
    rng: np.random.Generator,
    truth_rng: np.random.Generator,
) -> pd.DataFrame:
    """Box scores of every player who played, with his tier, per-minute rates and the truth."""
    n_teams = len(ratings)
    tg = _team_games(schedule)
    slots = _roster_slots(roster, n_teams)[tg.team]  # (team-game, slot) -> roster row
    attrs = {
        c: np.r_[roster[c].to_numpy(dtype=float), 0.0][slots]
        for c in ("tier", "min_mean", "dnp_p", "ppm", "reb_pm", "ast_pm", "tov_pm")
    }
    tier = attrs["tier"].astype(np.int64)
    injured = _injured(roster, int(tg.number.max()) + 1, rng)[slots, tg.number[:, None]]
    available = _dressed(slots >= 0, injured)
    # A team down to its last few healthy players plays all of them.
    attrs["dnp_p"] = np.where(
        available.sum(axis=1, keepdims=True) < FULL_ROTATION, 0.0, attrs["dnp_p"]
    )
    sd = league.TIER_RAW_MINUTES_SD[tier]

    raw = np.clip(attrs["min_mean"] + sd * rng.standard_normal(slots.shape), 1.0, 46.0)
    plays = available & (rng.random(slots.shape) >= attrs["dnp_p"])
    total = np.where(tg.overtime, OVERTIME_MINUTES, TEAM_MINUTES)
    minutes = share_minutes(raw * plays, total)
    mean_min, var_min = _minutes_moments(
        attrs["min_mean"], sd, attrs["dnp_p"], available, truth_rng
    )

    drtg, pace = ratings["drtg"].to_numpy(), ratings["pace"].to_numpy()
    pace_f = (pace[tg.team] + pace[tg.opp]) / 2.0 / league.LEAGUE_PACE
    pts_f = (
        season_scoring(label)
        * np.where(tg.home == 1, HOME_FACTOR, AWAY_FACTOR)
        * np.where(tg.back_to_back, BACK_TO_BACK_FACTOR, 1.0)
        * drtg[tg.opp]
        / league.LEAGUE_DRTG
        * pace_f
    )
    g, s = np.nonzero(plays)
    rates = {
        "PTS": attrs["ppm"][g, s] * pts_f[g],
        "REB": attrs["reb_pm"][g, s] * pace_f[g],
        "AST": attrs["ast_pm"][g, s] * pace_f[g],
    }
    phis = {"PTS": league.TIER_PHI_PTS[tier[g, s]], "REB": league.PHI_REB, "AST": league.PHI_AST}
    played = minutes[g, s]
    box = {m: _negative_binomial(played * rates[m], phis[m], rng) for m in ("PTS", "REB", "AST")}
    pts, mu_pts = box["PTS"], played * rates["PTS"]
    fga = rng.poisson((0.8 * pts + 0.2 * mu_pts) / 1.1)
    fta = rng.poisson(0.25 * fga)
    fga = np.maximum(fga, np.ceil((pts - fta) / 3.0).astype(np.int64))
    tov = rng.poisson(attrs["tov_pm"][g, s] * played)

    rows = roster.iloc[slots[g, s]]
    frame = pd.DataFrame(
        {
            "day": tg.day[g],
            "game": tg.game[g],
            "player_id": rows["player_id"].to_numpy(),
            "player_name": rows["player_name"].to_numpy(),
            "season": label,
            "team": tg.team[g],
            "opponent": tg.opp[g],
            "home": tg.home[g],
            "MIN": np.round(played, 1),
            "PTS": pts,
            "REB": box["REB"],
            "AST": box["AST"],
            "FGA": fga,
            "FTA": fta,
            "TOV": tov,
            "tier": tier[g, s],
        }
    )
    em, vm = mean_min[g, s], var_min[g, s]
    means = {m: rates[m] * em for m in rates}
    variances = {m: phis[m] * means[m] + rates[m] ** 2 * vm for m in rates}
    means["PRA"] = means["PTS"] + means["REB"] + means["AST"]
    total_rate = rates["PTS"] + rates["REB"] + rates["AST"]
    variances["PRA"] = sum(phis[m] * means[m] for m in rates) + total_rate**2 * vm
    for m in MARKETS:
        frame[f"true_mean_{m}"] = means[m]
        frame[f"true_median_{m}"] = mid_median(means[m], variances[m])
    return frame


@dataclass(frozen=True)
class SyntheticSource:
    """A seeded synthetic feed: real teams and player names, simulated seasons, books' lines.

    `market_efficiency` (0..1) is how much the books' lines follow the truth rather than the
    players' stale averages: 1 leaves no lasting edge, 0 gives lines that lag.
    """

    seed: int = 42
    teams: int = 30
    seasons: Sequence[str] = DEFAULT_SEASONS
    market_efficiency: float = 0.2

    def __post_init__(self) -> None:
        given = self.seasons.split(",") if isinstance(self.seasons, str) else self.seasons
        labels = tuple(str(s).strip() for s in given if str(s).strip())
        if not labels:
            raise SyntheticConfigError(
                "no seasons given; pass seasons such as ('2023-24', '2024-25')"
            )
        years = [parse_season(s) for s in labels]
        if years != sorted(set(years)):
            raise SyntheticConfigError(
                f"seasons {list(labels)} must be distinct and in order, e.g. 2023-24,2024-25"
            )
        if not 0.0 <= self.market_efficiency <= 1.0:
            raise SyntheticConfigError(
                f"market_efficiency={self.market_efficiency} must lie between 0 (lagging "
                "books) and 1 (fully efficient books)"
            )
        if not 2 <= self.teams <= 30:
            raise SyntheticConfigError(f"teams={self.teams} must lie between 2 and 30")
        object.__setattr__(self, "seasons", labels)

    def load(self) -> Feed:
        """Generate the whole feed; the same arguments always give the same frames."""
        streams = np.random.SeedSequence(self.seed).spawn(5)
        league_rng, schedule_rng, games_rng, truth_rng, lines_rng = (
            np.random.default_rng(s) for s in streams
        )
        teams = league.nba_teams(self.teams)
        pool = league.PlayerPool(league_rng)
        roster = league.initial_rosters(teams, pool, league_rng)
        ratings = league.team_ratings(self.teams, league_rng)
        frames = []
        for i, label in enumerate(self.seasons):
            if i:
                roster = league.next_season(roster, pool, league_rng)
                ratings = league.team_ratings(self.teams, league_rng, ratings)
            schedule = season_schedule(self.teams, parse_season(label), schedule_rng)
            season = play_season(roster, ratings, schedule, label, games_rng, truth_rng)
            prefix = f"002{parse_season(label) % 100:02d}"
            ids = np.array([f"{prefix}{n + 1:05d}" for n in range(len(schedule))], dtype=object)
            season["game_id"] = ids[season["game"].to_numpy()]
            frames.append(season)
        return _assemble(
            pd.concat(frames, ignore_index=True), teams, self.market_efficiency, lines_rng
        )


def _assemble(
    played: pd.DataFrame, teams: league.Teams, efficiency: float, rng: np.random.Generator
) -> Feed:
    """Canonical games, truth and lines frames from the simulated seasons, sorted by date."""
    order = np.lexsort(
        (
            -played["MIN"].to_numpy(),
            played["team"].to_numpy(),
            played["game_id"].to_numpy(),
            played["day"].to_numpy(),
        )
    )
    played = played.iloc[order].reset_index(drop=True)
    played["game_date"] = played["day"].to_numpy().astype("datetime64[D]").astype("datetime64[ns]")
    for column in ("team", "opponent"):
        played[column] = teams.abbreviation[played[column].to_numpy()]
    for column in ("game_id", "player_name", "season", "team", "opponent"):
        played[column] = played[column].astype("str")
    games = played[[c for c in GAME_COLUMNS if c != "PRA"]].astype(
        {"player_id": "int64", "home": "int64", "MIN": "float64"}
        | {c: "int64" for c in ("PTS", "REB", "AST", "FGA", "FTA", "TOV")}
    )
    truth_columns = [f"true_{kind}_{m}" for m in MARKETS for kind in ("mean", "median")]
    truth = played[[*TRUTH_KEY, *truth_columns]].copy()
    lines = sportsbook_lines(played, efficiency, rng)
    schedule = synthetic_schedule(games)
    return Feed(games=games, lines=lines, truth=truth, source="synthetic", schedule=schedule)


def synthetic_schedule(games: pd.DataFrame) -> pd.DataFrame:
    """The season's slate from its games; every game tips off at 7:30 pm Eastern (00:30 UTC
    the next day), as a typical NBA evening does."""
    slate = schedule_from_games(games)
    tipoff = slate["game_date"] + pd.Timedelta(days=1, minutes=30)
    return slate.assign(tipoff_utc=tipoff.dt.strftime("%Y-%m-%dT%H:%M:%SZ").astype("str"))


def oracle_mae(feed: Feed, target: str) -> float:
    """Mean |actual - true pre-game mean| over the feed's rows: the best MAE a model predicting
    each row's mean could reach on this data."""
    if feed.truth is None:
        raise MissingTruthError(
            f"the {feed.source!r} feed has no truth, so it has no oracle MAE; "
            "the oracle exists only for the synthetic source (NBAPROPS_DATA=synthetic)"
        )
    if target not in MARKETS:
        raise UnknownMarketError(
            f"target {target!r} is not a market; choose one of {', '.join(MARKETS)}"
        )
    keys = list(TRUTH_KEY)
    column = f"true_mean_{target}"
    truth = feed.games[keys].merge(feed.truth[[*keys, column]], on=keys, how="left")[column]
    if truth.isna().any():
        raise MissingTruthError(
            f"{int(truth.isna().sum())} game rows have no {column} in the truth frame; "
            "regenerate the feed so games and truth come from the same run"
        )
    actual = target_values(feed.games, target).to_numpy(dtype=float)
    return float(np.mean(np.abs(actual - truth.to_numpy(dtype=float))))
