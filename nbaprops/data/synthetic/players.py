"""The synthetic league's people: real teams and player identities, rosters and careers.

Teams, ids and names come from the static tables inside the `nba_api` wheel (no network).
Each season's roster table holds every player's team, role (star / rotation / bench) and
per-minute skills; `next_season` ages it one year (skill carry-over, young players' growth,
veterans' decline, role shocks, retirements, rookies and trades). Figures: DOMAIN.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

STAR, ROTATION, BENCH = 0, 1, 2
TIER_NAMES: tuple[str, ...] = ("star", "rotation", "bench")

# Target minutes when playing, by tier (DOMAIN.md): mean and game-to-game SD.
TIER_MINUTES = np.array([34.0, 26.0, 12.0])
TIER_MINUTES_SD = np.array([4.5, 6.0, 6.0])
# What the generator plans before a team's minutes are scaled to 240: absences push played
# minutes up, and the scaling (teammates' DNPs, injuries, overtime) adds spread, so these
# land on the targets above.
TIER_RAW_MINUTES = np.array([33.0, 25.0, 11.5])
TIER_RAW_MINUTES_SD = np.array([3.3, 5.0, 5.6])
# Spread of players' own planned means within a tier.
TIER_MINUTES_SPREAD = np.array([2.0, 3.0, 3.0])
# Points per minute (league-typical player of the tier) and its lognormal spread.
TIER_PTS_PER_MIN = np.array([0.625, 0.45, 0.27])
TIER_PTS_SPREAD = np.array([0.12, 0.18, 0.25])
# Variance-to-mean ratio of the negative binomial noise, by tier (points) or per stat.
TIER_PHI_PTS = np.array([1.8, 2.2, 2.5])
PHI_REB = 1.35
PHI_AST = 1.45
# Rebounds, assists and turnovers per minute of a typical player, scaled by tier.
REB_PER_MIN = 0.180
AST_PER_MIN = 0.095
TOV_PER_MIN = 0.058
TIER_REB_SCALE = np.array([1.15, 1.0, 0.95])
TIER_AST_SCALE = np.array([1.55, 0.95, 0.8])
TIER_TOV_SCALE = np.array([1.35, 0.95, 0.85])
# Bench players sit out (coach's decision) this often, drawn per player.
BENCH_DNP_RANGE = (0.15, 0.25)
# Expected injury spells a season (gamma-distributed proneness per player).
INJURY_SHAPE, INJURY_SCALE = 2.0, 1.15

LEAGUE_DRTG = 112.0  # league defensive rating (points allowed per 100 possessions)
LEAGUE_PACE = 99.0  # league possessions a game

SKILL_CARRYOVER = 0.65  # AR(1) of log points per minute around the tier's norm
MINUTES_DRIFT_SD = 2.0  # a player's minutes role moves this much a season within his tier
ROLE_SHOCK_SHARE = 0.10
ROLE_SHOCK_USAGE = 1.12  # a promoted player's points per minute rise this much (and fall)
TRADE_SHARE = 0.12
ROSTER_SIZES = (13, 14, 15)
STAR_COUNT_BOUNDS = (1, 3)
ROTATION_COUNT_BOUNDS = (4, 7)


class LeagueConfigError(ValueError):
    """The synthetic league cannot be built as asked (for example, too many teams)."""


@dataclass(frozen=True)
class Teams:
    """The league's teams in a fixed order: index i of every array is team i."""

    team_id: np.ndarray
    abbreviation: np.ndarray
    name: np.ndarray

    def __len__(self) -> int:
        return len(self.team_id)


def nba_teams(count: int) -> Teams:
    """The first `count` real NBA teams, as listed by nba_api's static table."""
    from nba_api.stats.static import teams as static_teams

    table = static_teams.get_teams()
    if not 2 <= count <= len(table):
        raise LeagueConfigError(
            f"teams={count} is out of range; choose between 2 and {len(table)} teams"
        )
    chosen = table[:count]
    return Teams(
        team_id=np.array([t["id"] for t in chosen], dtype=np.int64),
        abbreviation=np.array([t["abbreviation"] for t in chosen], dtype=object),
        name=np.array([t["full_name"] for t in chosen], dtype=object),
    )


class PlayerPool:
    """Real player ids and names, handed out once each in a seed-determined order.

    Active players come first (shuffled), then retired ones, so a league looks current.
    """

    def __init__(self, rng: np.random.Generator) -> None:
        from nba_api.stats.static import players as static_players

        table = static_players.get_players()
        active = [p for p in table if p["is_active"]]
        retired = [p for p in table if not p["is_active"]]
        ordered = [active[i] for i in rng.permutation(len(active))]
        ordered += [retired[i] for i in rng.permutation(len(retired))]
        self._ids = np.array([p["id"] for p in ordered], dtype=np.int64)
        self._names = np.array([p["full_name"] for p in ordered], dtype=object)
        self._next = 0

    def take(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """The next `count` unused (ids, names)."""
        end = self._next + count
        if end > len(self._ids):
            raise LeagueConfigError(
                "the synthetic league ran out of real player identities; "
                "generate fewer seasons or fewer teams"
            )
        ids, names = self._ids[self._next : end], self._names[self._next : end]
        self._next = end
        return ids, names


def _draw_role(tier: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Minutes mean and DNP chance of players newly placed in `tier`."""
    n = len(tier)
    minutes = TIER_RAW_MINUTES[tier] + TIER_MINUTES_SPREAD[tier] * rng.standard_normal(n)
    bench = tier == BENCH
    dnp = np.where(bench, rng.uniform(*BENCH_DNP_RANGE, size=n), 0.0)
    return {"min_mean": np.clip(minutes, 5.0, 38.0), "dnp_p": dnp}


def _lognormal(sigma: np.ndarray | float, n: int, rng: np.random.Generator) -> np.ndarray:
    """Mean-one lognormal factors."""
    sig = np.broadcast_to(np.asarray(sigma, dtype=float), (n,))
    return np.exp(sig * rng.standard_normal(n) - sig**2 / 2)


def new_players(
    ids: np.ndarray,
    names: np.ndarray,
    team: np.ndarray,
    tier: np.ndarray,
    age: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Roster rows for players entering the league: skills drawn around their tier's norms."""
    n = len(ids)
    position = rng.uniform(0.0, 1.0, n)  # 0 = guard, 1 = big
    ppm = TIER_PTS_PER_MIN[tier] * _lognormal(TIER_PTS_SPREAD[tier], n, rng)
    reb = REB_PER_MIN * TIER_REB_SCALE[tier] * np.exp(0.9 * (position - 0.5))
    ast = AST_PER_MIN * TIER_AST_SCALE[tier] * np.exp(-1.2 * (position - 0.5))
    reb = reb * _lognormal(0.25, n, rng)
    ast = ast * _lognormal(0.30, n, rng)
    tov = TOV_PER_MIN * TIER_TOV_SCALE[tier] * (ast / AST_PER_MIN) ** 0.3 * _lognormal(0.2, n, rng)
    frame = pd.DataFrame(
        {
            "player_id": ids.astype(np.int64),
            "player_name": names.astype(object),
            "team": team.astype(np.int64),
            "tier": tier.astype(np.int64),
            "age": age.astype(float),
            "ppm": ppm,
            "reb_pm": reb,
            "ast_pm": ast,
            "tov_pm": tov,
            "injury_rate": rng.gamma(INJURY_SHAPE, INJURY_SCALE, n),
        }
    )
    for column, values in _draw_role(tier, rng).items():
        frame[column] = values
    return frame


def initial_rosters(teams: Teams, pool: PlayerPool, rng: np.random.Generator) -> pd.DataFrame:
    """First-season rosters: 13-15 players a team, 1-3 stars, 4-7 rotation, the rest bench."""
    team_of: list[np.ndarray] = []
    tier_of: list[np.ndarray] = []
    for t in range(len(teams)):
        size = int(rng.choice(ROSTER_SIZES, p=[0.3, 0.4, 0.3]))
        stars = int(rng.choice([1, 2, 3], p=[0.2, 0.5, 0.3]))
        rotation = 7 - stars + int(rng.random() < 0.5)
        tiers = [STAR] * stars + [ROTATION] * rotation + [BENCH] * (size - stars - rotation)
        team_of.append(np.full(size, t))
        tier_of.append(np.array(tiers))
    team = np.concatenate(team_of)
    tier = np.concatenate(tier_of)
    ids, names = pool.take(len(team))
    mean_age = np.array([27.0, 27.0, 25.0])[tier]
    age = np.clip(np.round(mean_age + 3.5 * rng.standard_normal(len(team))), 19, 36)
    return new_players(ids, names, team, tier, age, rng)


def _retag(
    frame: pd.DataFrame, rows: np.ndarray, tier: np.ndarray, rng: np.random.Generator
) -> None:
    """Move `rows` to new tiers in place: new minutes role, usage up or down with the move."""
    old = frame.loc[rows, "tier"].to_numpy()
    frame.loc[rows, "ppm"] *= ROLE_SHOCK_USAGE ** (old - tier).astype(float)
    frame.loc[rows, "tier"] = tier
    for column, values in _draw_role(tier, rng).items():
        frame.loc[rows, column] = values


def _balance_roles(frame: pd.DataFrame, rng: np.random.Generator) -> None:
    """Keep every team's star and rotation counts within bounds, moving its best or worst."""
    team = frame["team"].to_numpy()
    for tier, (low, high) in ((STAR, STAR_COUNT_BOUNDS), (ROTATION, ROTATION_COUNT_BOUNDS)):
        tiers = frame["tier"].to_numpy()
        quality = (frame["ppm"] * frame["min_mean"]).to_numpy()
        rows: list[np.ndarray] = []
        targets: list[np.ndarray] = []
        for t in np.unique(team):
            in_tier = np.flatnonzero((team == t) & (tiers == tier))
            below = np.flatnonzero((team == t) & (tiers == tier + 1))
            if len(in_tier) < low and len(below):
                best = below[np.argsort(-quality[below])][: low - len(in_tier)]
                rows.append(best)
                targets.append(np.full(len(best), tier))
            elif len(in_tier) > high:
                worst = in_tier[np.argsort(quality[in_tier])][: len(in_tier) - high]
                rows.append(worst)
                targets.append(np.full(len(worst), tier + 1))
        if rows:
            _retag(frame, np.concatenate(rows), np.concatenate(targets), rng)


def next_season(roster: pd.DataFrame, pool: PlayerPool, rng: np.random.Generator) -> pd.DataFrame:
    """The league one year on: skills carry over (season ppg correlate ~0.89), young players
    grow, veterans fade, ~10% get a role shock, some retire for rookies, some are traded."""
    frame = roster.copy().reset_index(drop=True)
    n = len(frame)
    frame["age"] += 1.0
    age = frame["age"].to_numpy()
    tier = frame["tier"].to_numpy()
    centre, spread = np.log(TIER_PTS_PER_MIN[tier]), TIER_PTS_SPREAD[tier]
    innovation = np.sqrt(1 - SKILL_CARRYOVER**2) * spread * rng.standard_normal(n)
    carried = np.exp(
        centre + SKILL_CARRYOVER * (np.log(frame["ppm"].to_numpy()) - centre) + innovation
    )
    growth = np.where(age <= 24, rng.uniform(1.0, 3.0, n), np.where(age > 31, -1.0, 0.0)) / 30.0
    frame["ppm"] = np.clip(carried + growth, 0.12, 0.95)
    frame["min_mean"] = np.clip(
        frame["min_mean"] + MINUTES_DRIFT_SD * rng.standard_normal(n), 5.0, 38.0
    )
    frame["reb_pm"] *= _lognormal(0.06, n, rng)
    frame["ast_pm"] *= _lognormal(0.06, n, rng)

    retiring = (age >= 36) | (rng.random(n) < np.where(frame["tier"] == BENCH, 0.08, 0.02))
    if retiring.any():
        rows = np.flatnonzero(retiring)
        ids, names = pool.take(len(rows))
        rookies = new_players(
            ids,
            names,
            frame.loc[rows, "team"].to_numpy(),
            np.full(len(rows), BENCH),
            rng.integers(19, 23, len(rows)).astype(float),
            rng,
        )
        for column in rookies.columns:
            frame.loc[rows, column] = rookies[column].to_numpy()

    shocked = np.flatnonzero(rng.random(n) < ROLE_SHOCK_SHARE)
    old = frame.loc[shocked, "tier"].to_numpy()
    step = np.where(old == STAR, 1, np.where(old == BENCH, -1, rng.choice([-1, 1], len(old))))
    _retag(frame, shocked, old + step, rng)
    _balance_roles(frame, rng)

    _keep_league_level(frame, roster)
    for level in (STAR, ROTATION, BENCH):
        in_level = frame["tier"].to_numpy() == level
        movers = np.flatnonzero(in_level & (rng.random(n) < TRADE_SHARE))
        frame.loc[movers, "team"] = frame.loc[rng.permutation(movers), "team"].to_numpy()
    return frame.astype(roster.dtypes.to_dict())


def _keep_league_level(frame: pd.DataFrame, before: pd.DataFrame) -> None:
    """Rescale per-minute skills so the league's minutes-weighted average stays put.

    Careers move players against each other; the league's scoring level is set by the
    season multiplier alone.
    """
    for column in ("ppm", "reb_pm", "ast_pm", "tov_pm"):
        level = [
            np.average(f[column], weights=f["min_mean"] * (1 - f["dnp_p"])) for f in (before, frame)
        ]
        frame[column] *= level[0] / level[1]


def team_ratings(
    n_teams: int, rng: np.random.Generator, previous: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Each team's defensive rating (~N(112, 3.5)) and pace (~N(99, 2)), half carried over."""
    z = rng.standard_normal((n_teams, 2))
    if previous is not None:
        carried = np.column_stack(
            [(previous["drtg"] - LEAGUE_DRTG) / 3.5, (previous["pace"] - LEAGUE_PACE) / 2.0]
        )
        z = 0.55 * carried + np.sqrt(1 - 0.55**2) * z
    return pd.DataFrame({"drtg": LEAGUE_DRTG + 3.5 * z[:, 0], "pace": LEAGUE_PACE + 2.0 * z[:, 1]})
