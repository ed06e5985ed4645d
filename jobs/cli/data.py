"""`nbaprops data ...`: generate the synthetic feed as CSV, import raw real data, validate.

Bad input (data, seasons, output folder) ends with the message on stderr and exit code 2.
"""

from __future__ import annotations

import datetime as dt
import json
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from click.decorators import FC

from jobs.cli.fetch import fetch_command
from nbaprops.data.csv_source import CsvSource
from nbaprops.data.errors import DataValidationError, DataWarning, OutputFolderError
from nbaprops.data.feed import Feed
from nbaprops.data.importing import DEFAULT_MAX_SET_ASIDE, import_raw
from nbaprops.data.writer import check_output_folder, write_feed
from nbaprops.seasons import SeasonError, parse_season
from nbaprops.settings import TARGETS, Settings

BAD_INPUT_EXIT_CODE = 2


def _required_path(flag: str, name: str, help_text: str) -> Callable[[FC], FC]:
    """A required option naming a file or folder, given to the command as a Path."""
    return click.option(flag, name, required=True, type=click.Path(path_type=Path), help=help_text)


@click.group("data")
def data_group() -> None:
    """Generate or validate data feeds."""


data_group.add_command(fetch_command)


@contextmanager
def _bad_input_exits() -> Iterator[None]:
    """Turn bad-input errors into their message on stderr and exit code 2, no traceback."""
    try:
        yield
    except (DataValidationError, SeasonError, OutputFolderError) as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(BAD_INPUT_EXIT_CODE) from None


def _settings(ctx: click.Context) -> Settings:
    """The Settings built by the top-level group (or fresh ones when run on its own)."""
    return ctx.obj if isinstance(ctx.obj, Settings) else Settings()


def parse_season_list(text: str) -> list[str]:
    """'2023-24,2024-25' as a checked list; raise SeasonError on a bad label."""
    seasons = [s.strip() for s in text.split(",") if s.strip()]
    if not seasons:
        raise SeasonError("--seasons is empty; give labels such as 2023-24,2024-25")
    for label in seasons:
        parse_season(label)
    return seasons


@data_group.command("generate")
@_required_path("--out", "out_dir", "New folder to write games.csv, lines.csv and truth.csv into.")
@click.option("--seed", type=int, default=None, help="Random seed [default: NBAPROPS_SEED].")
@click.option(
    "--teams", type=click.IntRange(2, 30), default=None, help="Teams [default: NBAPROPS_TEAMS]."
)
@click.option("--seasons", default=None, help="Comma-separated, e.g. 2023-24,2024-25.")
@click.option(
    "--market-efficiency",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="0 = lines lag badly, 1 = lines are the true median.",
)
@click.option("--force", is_flag=True, help="Replace --out if it already holds files.")
@click.pass_context
def generate(
    ctx: click.Context,
    out_dir: Path,
    seed: int | None,
    teams: int | None,
    seasons: str | None,
    market_efficiency: float | None,
    force: bool,
) -> None:
    """Generate the synthetic feed and write it as a CSV data folder."""
    settings = _settings(ctx)
    with _bad_input_exits():
        season_list = parse_season_list(seasons) if seasons else settings.season_list
        check_output_folder(out_dir, overwrite=force)
        from nbaprops.data.synthetic import SyntheticSource

        feed = SyntheticSource(
            seed=settings.seed if seed is None else seed,
            teams=settings.teams if teams is None else teams,
            seasons=season_list,
            market_efficiency=(
                settings.market_efficiency if market_efficiency is None else market_efficiency
            ),
        ).load()
        paths = write_feed(feed, out_dir, overwrite=force)
    click.echo(f"wrote {', '.join(p.name for p in paths)} to {out_dir}")
    click.echo(feed_summary(feed))


@data_group.command("validate")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option(
    "--target",
    type=click.Choice(TARGETS),
    default=None,
    help="Prop target [default: NBAPROPS_TARGET].",
)
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Game logs after this day are errors [default: today].",
)
@click.pass_context
def validate(
    ctx: click.Context, folder: Path, target: str | None, as_of: dt.datetime | None
) -> None:
    """Check a CSV data folder and summarise it; exit code 2 lists every problem found."""
    settings = _settings(ctx)
    day = as_of.date() if as_of is not None else dt.date.today()
    source = CsvSource(folder, target=target or settings.target, as_of=day)
    with _bad_input_exits(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        feed = source.load()
    click.echo(f"{folder} is valid (target {source.target}, as of {day}):")
    click.echo(feed_summary(feed))
    for note in feed.warnings:
        click.echo(f"warning: {note}", err=True)


@data_group.command("import")
@_required_path(
    "--games", "games_file", "Game logs as they come (NBA.com box scores, or date/player/PRA)."
)
@_required_path("--lines", "lines_file", "Sportsbook lines as an odds API scrape writes them.")
@click.option(
    "--market",
    type=click.Choice(TARGETS),
    default="PRA",
    show_default=True,
    help="The market of a scrape without a market column.",
)
@click.option(
    "--aliases",
    type=click.Path(path_type=Path),
    default=None,
    help="CSV raw_name,player (an id or a game-log name); always wins.",
)
@click.option(
    "--max-set-aside",
    type=click.FloatRange(0.0, 1.0),
    default=DEFAULT_MAX_SET_ASIDE,
    show_default=True,
    help="Refuse (exit 2, nothing written) when more of the lines inside the game "
    "logs' dates are set aside.",
)
@click.option(
    "--odds",
    type=click.Choice(["auto", "american", "decimal"]),
    default="auto",
    show_default=True,
    help="Price format; auto decides per file.",
)
@_required_path("--out", "out_dir", "The data folder to add to (NBAPROPS_DATA reads it).")
@click.option("--json", "as_json", is_flag=True, help="Print the join report as JSON.")
def import_command(
    games_file: Path,
    lines_file: Path,
    market: str,
    aliases: Path | None,
    max_set_aside: float,
    odds: str,
    out_dir: Path,
    as_json: bool,
) -> None:
    """Import raw game logs and an odds scrape into a data folder, with a join report."""
    with _bad_input_exits():
        report = import_raw(games_file, lines_file, out_dir, market, aliases, max_set_aside, odds)  # type: ignore[arg-type]
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        click.echo(report.render())
        click.echo(f"written: {out_dir}")


def feed_summary(feed: Feed) -> str:
    """A few lines a person can check a feed by: rows, players, dates, seasons, lines."""
    games, lines = feed.games, feed.lines
    dates = feed.dates
    span = f"{dates[0]:%Y-%m-%d} to {dates[-1]:%Y-%m-%d}" if len(dates) else "none"
    seasons = ", ".join(sorted(games["season"].unique())) if "season" in games else "-"
    out = [
        f"  games: {len(games):,} rows, {games['player_id'].nunique():,} players, "
        f"{len(dates):,} dates ({span}), seasons {seasons}"
    ]
    if lines.empty:
        out.append("  lines: none (no bets)")
    else:
        markets = ", ".join(f"{m} {n:,}" for m, n in lines["market"].value_counts().items())
        snapshots = ", ".join(f"{s} {n:,}" for s, n in lines["snapshot"].value_counts().items())
        out.append(
            f"  lines: {len(lines):,} rows ({markets}; {snapshots}; "
            f"{lines['bookmaker'].nunique()} bookmakers; {void_lines(feed):,} void: "
            "the player did not play)"
        )
    out.append(f"  truth: {'yes' if feed.truth is not None else 'no'}")
    return "\n".join(out)


def void_lines(feed: Feed) -> int:
    """Lines of played days whose player has no game that day (no bet, no loss)."""
    lines, games = feed.lines, feed.games
    played = lines["game_date"] <= games["game_date"].max()
    keys = ["game_date", "player_id"]
    matched = lines[keys].merge(games[keys].drop_duplicates(), on=keys, how="left", indicator=True)
    return int(((matched["_merge"] == "left_only").to_numpy() & played.to_numpy()).sum())
