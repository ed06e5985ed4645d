"""import_raw: raw game logs and an odds scrape in, the canonical data folder out.

The games are validated precisely (a malformed game log stops the import with its errors);
the lines are reconciled: names matched, UTC dates moved to US dates, snapshots reduced to
opening and closing lines, duplicates dropped, and what cannot be used set aside with a reason.
The import refuses (nothing written) only when more than `max_set_aside` of the lines inside
the game logs' dates are set aside.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from nbaprops.data.csv_source import GAMES_FILE, LINES_FILE
from nbaprops.data.errors import DataValidationError, Problem
from nbaprops.data.feed import LINE_COLUMNS, SCHEDULE_COLUMNS
from nbaprops.data.importing.events import GameIndex
from nbaprops.data.importing.folder import (
    REJECTS,
    SCHEDULE_FILE,
    held_games,
    held_lines,
    held_text,
    write_folder,
)
from nbaprops.data.importing.join import AMBIGUOUS, UNKNOWN, join_lines
from nbaprops.data.importing.names import PlayerNames
from nbaprops.data.importing.raw_lines import RAW_ALIASES, OddsFormat, parse_raw_lines, table_of
from nbaprops.data.importing.report import ImportReport
from nbaprops.data.importing.snapshots import open_close
from nbaprops.data.importing.teams import team_abbreviations
from nbaprops.data.player_names import normalise_name
from nbaprops.data.validate import LINE, read_table
from nbaprops.data.validate_games import parse_games

KEPT = ("joined", "void", "upcoming")
# The columns of an empty scrape (a batch of box scores only).
RAW_EMPTY = [names[0] for names in RAW_ALIASES.values()]
DEFAULT_MAX_SET_ASIDE = 0.05


class ImportRefused(DataValidationError):
    """Too many lines set aside: the import wrote nothing; the report says why."""


@dataclass(frozen=True)
class Batch:
    """One import's inputs, already read: new canonical games, scrape rows (text cells and
    LINE, as read_table gives them), an extra slate (NBA.com's schedule), and their names."""

    games: pd.DataFrame | None
    lines: pd.DataFrame | None
    games_name: str = "games"
    lines_name: str = "lines"
    slate: pd.DataFrame | None = None


def import_raw(
    games: Path,
    lines: Path,
    out_dir: Path,
    market: str = "PRA",
    aliases: Path | None = None,
    max_set_aside: float = DEFAULT_MAX_SET_ASIDE,
    odds: OddsFormat = "auto",
) -> ImportReport:
    """Import one pair of raw files into `out_dir`, adding to what it holds; the join report."""
    games, lines = Path(games), Path(lines)
    new_games = parse_games(read_table(games, "game logs"), str(games), market).games
    table = read_table(lines, "sportsbook lines (an odds scrape)")
    batch = Batch(new_games, table, str(games), str(lines))
    return import_batch(batch, Path(out_dir), market, market, aliases, max_set_aside, odds)


def import_batch(
    batch: Batch,
    out_dir: Path,
    target: str,
    lines_market: str | None = None,
    aliases: Path | None = None,
    max_set_aside: float = DEFAULT_MAX_SET_ASIDE,
    odds: OddsFormat = "auto",
) -> ImportReport:
    """Add a batch to `out_dir` (checked for `target`), or refuse it whole; the join report.

    The fetcher writes through here too, so fetched and imported data take the same path.
    """
    held = held_games(out_dir, target)
    if batch.games is None and held is None:
        raise DataValidationError.single(
            batch.games_name, "there are no game logs yet; import or fetch box scores first"
        )
    new_games = batch.games if batch.games is not None else held.iloc[:0]  # type: ignore[union-attr]
    all_games = _merge_games(held, new_games)
    names = PlayerNames(all_games, _read_aliases(aliases, all_games) if aliases else None)
    table = batch.lines if batch.lines is not None else table_of(pd.DataFrame(columns=RAW_EMPTY))
    raw = parse_raw_lines(table, batch.lines_name, lines_market, odds)
    joined = join_lines(raw.rows, GameIndex(all_games), names, team_abbreviations())
    quotes = _quotes(joined[joined["status"].isin(KEPT)], names)
    old = held_lines(out_dir)
    snaps = open_close(quotes if old is None else pd.concat([old, quotes], ignore_index=True))
    report = ImportReport(
        batch.games_name,
        batch.lines_name,
        str(out_dir),
        lines_market or target,
        raw.odds_format,
        games_rows=len(new_games),
        players=int(new_games["player_id"].nunique()),
        lines_read=raw.read,
        exact_duplicates=raw.exact_duplicates,
        after_tipoff=snaps.after_tipoff,
        between_snapshots=snaps.between,
        conflicting=snaps.conflicting,
        lines_written=len(snaps.lines),
        max_set_aside=max_set_aside,
    )
    _count(report, joined, names)
    if report.set_aside_share > max_set_aside:
        raise ImportRefused(
            [
                Problem(
                    batch.lines_name,
                    None,
                    None,
                    f"{report.set_aside_share:.1%} of the lines inside the game logs' dates "
                    f"were set aside, above the floor of {max_set_aside:.0%}; nothing was "
                    f"written. Fix the names with --aliases or raise --max-set-aside.\n"
                    + report.render(),
                )
            ]
        )
    report.rejects_file = str(out_dir / REJECTS) if report.set_aside else ""
    slate = _schedule(joined, held_text(out_dir, SCHEDULE_FILE), batch.slate)
    frames: dict[str | Path, pd.DataFrame] = {
        GAMES_FILE: all_games,
        LINES_FILE: snaps.lines[list(LINE_COLUMNS)],
        SCHEDULE_FILE: slate,
    }
    if report.set_aside or (out_dir / REJECTS).exists():
        frames[REJECTS] = _rejects(raw.original, joined, batch.lines_name,
                                   held_text(out_dir, REJECTS))  # fmt: skip
    write_folder(out_dir, frames, target)
    report.games_total, report.lines_total, report.schedule_total = (
        len(all_games), len(snaps.lines), len(slate))  # fmt: skip
    return report


def _merge_games(old: pd.DataFrame | None, new: pd.DataFrame) -> pd.DataFrame:
    if old is None:
        return new
    both = pd.concat([old, new], ignore_index=True)
    both = both.drop_duplicates(["player_id", "game_date"], keep="last")
    return both.sort_values("game_date", kind="stable").reset_index(drop=True)


def _read_aliases(path: Path, games: pd.DataFrame) -> dict[str, int]:
    """The user's aliases: raw name -> player id, or -> a player name of the game logs."""
    raw = read_table(path, "name aliases (raw_name, player)")
    cols = {str(c).strip().lower(): c for c in raw.columns}
    problems = [
        Problem(
            str(path),
            1,
            None,
            f"column {c} is missing; an aliases file has "
            "raw_name,player (player: an id or a name from the game logs)",
        )
        for c in ("raw_name", "player")
        if c not in cols
    ]
    if problems:
        raise DataValidationError(problems)
    ids = set(games["player_id"].astype(int))
    by_key = games.groupby(games["player_name"].map(normalise_name))["player_id"].unique()
    out: dict[str, int] = {}
    for row, name, player in zip(
        raw[LINE], raw[cols["raw_name"]], raw[cols["player"]], strict=True
    ):
        text = str(player).strip()
        if text.isdigit() and int(text) in ids:
            out[str(name)] = int(text)
            continue
        found = by_key.get(normalise_name(text))
        if found is None or len(found) != 1:
            what = "no player" if found is None else "several players"
            problems.append(
                Problem(
                    str(path),
                    int(row),
                    cols["player"],
                    f"{text!r} names {what} in the game logs; give the player id",
                )
            )
            continue
        out[str(name)] = int(found[0])
    if problems:
        raise DataValidationError(problems)
    return out


def _quotes(kept: pd.DataFrame, names: PlayerNames) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "game_date": kept["game_date"],
            "player_id": kept["player_id"].astype("int64"),
            "player_name": kept["player_id"].map(names.display).astype("str"),
            "market": kept["market"],
            "line": kept["line"],
            "over_price": kept["over_price"],
            "under_price": kept["under_price"],
            "bookmaker": kept["bookmaker"],
            "snapshot_ts": kept["timestamp"],
            "commence": kept["commence"],
        }
    )


def _count(report: ImportReport, joined: pd.DataFrame, names: PlayerNames) -> None:
    """Row and player-date counts of one import."""
    status = joined["status"].value_counts()
    report.joined, report.void = int(status.get("joined", 0)), int(status.get("void", 0))
    report.upcoming = int(status.get("upcoming", 0))
    aside = joined[joined["status"] == "set aside"]
    report.set_aside = {str(k): int(v) for k, v in aside["kind"].value_counts().items()}
    rank = {"joined": 0, "void": 1, "upcoming": 2, "set aside": 3}
    named = joined[joined["status"].isin(KEPT) | joined["kind"].isin([UNKNOWN, AMBIGUOUS])]
    best = named.assign(r=named["status"].map(rank)).sort_values("r")
    best = best.drop_duplicates(["raw_name", "event"])
    states = best["status"].replace("set aside", "unresolved").value_counts()
    report.player_dates = {str(k): int(v) for k, v in states.items()}
    report.reconciled = {str(k): int(v) for k, v in best["step"].value_counts().items() if k}
    moved = joined[joined["status"].isin(KEPT)].drop_duplicates("event")
    report.events_moved_to_day_before = int((moved["game_date"] < moved["event_date"]).sum())
    odd = best[best["status"].isin(KEPT) & (best["step"] != "exact")]
    shown = odd["player_id"].map(names.display)
    report.examples = sorted(
        {f"{r} -> {n} ({s})" for r, n, s in zip(odd["raw_name"], shown, odd["step"], strict=True)}
    )[:12]


def _schedule(
    joined: pd.DataFrame, old: pd.DataFrame | None, extra: pd.DataFrame | None
) -> pd.DataFrame:
    """The slate from the events (game id: the game logs', else the event's) and `extra`
    (NBA.com's schedule, whose ids and tip-offs win for the same date and teams)."""
    events = joined[joined["status"].isin(KEPT)].drop_duplicates("event")
    tipoff = events["commence"].dt.strftime("%Y-%m-%dT%H:%M:%SZ").fillna("")
    slate = pd.DataFrame(
        {
            "game_date": events["game_date"].dt.strftime("%Y-%m-%d"),
            "game_id": events["game_id"].where(events["game_id"] != "", events["event"]),
            "home_team": events["home_code"],
            "away_team": events["away_code"],
            "tipoff_utc": tipoff,
        }
    )
    slate = slate[(slate["home_team"] != "") & (slate["away_team"] != "")]
    parts = [old.astype(str) if old is not None else None, slate, extra]
    slate = pd.concat([p.astype(str) for p in parts if p is not None], ignore_index=True)
    slate = slate.drop_duplicates(["game_date", "home_team", "away_team"], keep="last")
    return (
        slate[list(SCHEDULE_COLUMNS)].sort_values(["game_date", "game_id"]).reset_index(drop=True)
    )


def _rejects(
    original: pd.DataFrame, joined: pd.DataFrame, file: str, old: pd.DataFrame | None
) -> pd.DataFrame:
    """The set-aside rows as they were written, with the file, line and one reason each."""
    aside = joined["status"] == "set aside"
    rows = original.loc[aside.to_numpy()].drop(columns=[LINE]).fillna("").astype(str)
    rows.insert(0, "reason", joined.loc[aside, "reason"].to_numpy())
    rows.insert(0, "source_line", joined.loc[aside, "row"].astype(str).to_numpy())
    rows.insert(0, "source_file", file)
    if old is not None:
        rows = pd.concat([old, rows], ignore_index=True).fillna("")
    return rows.drop_duplicates(["source_file", "source_line"], keep="last").reset_index(drop=True)
