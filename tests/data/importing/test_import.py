"""nbaprops.data.importing on a scrape with the real season's habits (see conftest.py)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from jobs.cli.main import cli
from nbaprops.data.csv_source import CsvSource
from nbaprops.data.errors import DataValidationError
from nbaprops.data.importing import ImportRefused, import_raw

from .conftest import HEADER, games_csv, line

# The fixture is tiny: its two deliberate faults are 9% of its lines inside the logs' dates.
LOOSE = 0.2
# Each name the shared season's README lists, pinned to the player it means.
README_NAMES = {
    "Nicolas Claxton": 1629651,
    "Obadiah Toppin": 1628391,
    "M. Moody": 1630541,
    "P. Pritchard": 1628403,
    "S Gilgeous-Alexander": 1628983,
    "Murray Dejounte": 1627749,
    "Wembanyama Victor": 1641705,
    "Portis, Bobby": 1626171,
    "Kenyon Martin Jr.": 1630168,
    "Christian James McCollum": 203468,
}


def _load(folder: Path) -> CsvSource:
    return CsvSource(folder, target="PRA")


def _feed(folder: Path):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _load(folder).load()


def test_every_readme_name_joins_its_player(season: tuple[Path, Path], tmp_path: Path) -> None:
    games, lines = season
    report = import_raw(games, lines, tmp_path / "out", max_set_aside=LOOSE)
    feed = _feed(tmp_path / "out")
    day = feed.lines[feed.lines["game_date"] == pd.Timestamp("2024-01-10")]
    assert set(README_NAMES.values()) <= set(day["player_id"])
    rejects = pd.read_csv(tmp_path / "out" / "rejects" / "lines.csv", dtype=str)
    for raw in README_NAMES:
        assert raw not in set(rejects["player_name"]), raw
    # 5 + 6 names on 2024-01-10 (J. Green unresolved, Brunson's row has no price), 4 + 3 later
    assert report.player_dates == {"joined": 18, "void": 1, "unresolved": 1}
    assert report.join_share == pytest.approx(18 / 19)


def test_two_players_who_both_played_are_never_guessed(
    season: tuple[Path, Path], tmp_path: Path
) -> None:
    games, lines = season
    import_raw(games, lines, tmp_path / "out", max_set_aside=LOOSE)
    rejects = pd.read_csv(tmp_path / "out" / "rejects" / "lines.csv", dtype=str)
    green = rejects[rejects["player_name"] == "J. Green"]
    assert len(green) == 1
    assert "Jeff Green (201145)" in green["reason"].iloc[0]
    assert "Jalen Green (1630224)" in green["reason"].iloc[0]


def test_a_late_tipoff_dated_the_next_day_in_utc_joins_the_us_date(
    season: tuple[Path, Path], tmp_path: Path
) -> None:
    games, lines = season
    report = import_raw(games, lines, tmp_path / "out", max_set_aside=LOOSE)
    feed = _feed(tmp_path / "out")
    assert report.events_moved_to_day_before == 1
    claxton = feed.lines[feed.lines["player_id"] == 1629651]
    assert pd.Timestamp("2024-01-11") in set(claxton["game_date"])
    assert pd.Timestamp("2024-01-12") not in set(claxton["game_date"])
    slate = pd.read_csv(tmp_path / "out" / "schedule.csv", dtype=str)
    row = slate[slate["game_id"] == "G3"].iloc[0]
    assert (row["game_date"], row["home_team"], row["away_team"]) == ("2024-01-11", "ATL", "MIL")


def test_void_duplicates_snapshots_and_bad_rows(season: tuple[Path, Path], tmp_path: Path) -> None:
    games, lines = season
    report = import_raw(games, lines, tmp_path / "out", max_set_aside=LOOSE)
    feed = _feed(tmp_path / "out")
    assert report.exact_duplicates == 1
    assert report.void == 1  # Obi Toppin did not play on 2024-01-11: kept, no bet
    toppin = feed.lines[feed.lines["player_id"] == 1628391]
    assert pd.Timestamp("2024-01-11") in set(toppin["game_date"])
    bridges = feed.lines[
        (feed.lines["player_id"] == 1628388)
        & (feed.lines["game_date"] == pd.Timestamp("2024-01-10"))
    ]
    assert dict(zip(bridges["snapshot"], bridges["line"], strict=True)) == {
        "open": 24.5,
        "close": 25.5,
    }
    assert set(feed.lines["over_price"]) == {-110}
    assert report.set_aside == {
        "ambiguous player": 1,
        "before the game logs": 1,
        "the over price is empty": 1,
    }
    rejects = pd.read_csv(tmp_path / "out" / "rejects" / "lines.csv", dtype=str)
    assert set(rejects.columns[:3]) == {"source_file", "source_line", "reason"}
    assert rejects["reason"].str.len().gt(0).all()


def test_importing_twice_changes_nothing(season: tuple[Path, Path], tmp_path: Path) -> None:
    games, lines = season
    out = tmp_path / "out"
    import_raw(games, lines, out, max_set_aside=LOOSE)
    first = {p.name: p.read_bytes() for p in out.rglob("*.csv")}
    import_raw(games, lines, out, max_set_aside=LOOSE)
    assert {p.name: p.read_bytes() for p in out.rglob("*.csv")} == first


def test_decimal_odds_are_detected_per_file(tmp_path: Path) -> None:
    games = games_csv(tmp_path / "games.csv")
    lines = tmp_path / "decimal.csv"
    rows = [
        HEADER,
        line("Mikal Bridges", "E1", "2024-01-10", over="1.91", under="2.10"),
        line("Dejounte Murray", "E1", "2024-01-10", over="1.87", under="1.95"),
    ]
    lines.write_text("\n".join(rows) + "\n")
    report = import_raw(games, lines, tmp_path / "out", max_set_aside=LOOSE)
    assert report.odds_format == "decimal"
    feed = _feed(tmp_path / "out")
    bridges = feed.lines[feed.lines["player_id"] == 1628388].iloc[0]
    assert (bridges["over_price"], bridges["under_price"]) == (-110, 110)


def test_a_user_alias_wins(season: tuple[Path, Path], tmp_path: Path) -> None:
    games, lines = season
    aliases = tmp_path / "aliases.csv"
    aliases.write_text("raw_name,player\nJ. Green,Jalen Green\n")
    report = import_raw(games, lines, tmp_path / "out", aliases=aliases, max_set_aside=LOOSE)
    assert "ambiguous player" not in report.set_aside
    assert report.reconciled["alias"] == 1


def test_an_alias_naming_nobody_is_refused_with_its_row(
    season: tuple[Path, Path], tmp_path: Path
) -> None:
    games, lines = season
    aliases = tmp_path / "aliases.csv"
    aliases.write_text("raw_name,player\nJ. Green,Jalen Gren\n")
    with pytest.raises(DataValidationError, match=r"aliases.csv, line 2, column player"):
        import_raw(games, lines, tmp_path / "out", aliases=aliases, max_set_aside=LOOSE)
    assert not (tmp_path / "out").exists()


def test_lines_after_the_last_game_are_upcoming_not_set_aside(tmp_path: Path) -> None:
    games = games_csv(tmp_path / "games.csv")
    lines = tmp_path / "lines.csv"
    rows = [
        HEADER,
        line("Mikal Bridges", "E1", "2024-01-13"),
        line("Nic Claxton", "E1", "2024-01-13"),
    ]
    lines.write_text("\n".join(rows) + "\n")
    report = import_raw(games, lines, tmp_path / "out", max_set_aside=LOOSE)
    assert (report.upcoming, report.set_aside) == (2, {})
    feed = _feed(tmp_path / "out")
    assert set(feed.lines["game_date"]) == {pd.Timestamp("2024-01-13")}


def test_too_many_unknown_names_write_nothing(tmp_path: Path) -> None:
    games = games_csv(tmp_path / "games.csv")
    lines = tmp_path / "lines.csv"
    rows = [HEADER, line("Mikal Bridges", "E1", "2024-01-10")]
    rows += [line(f"Nobody Known{i}", "E1", "2024-01-10") for i in range(3)]
    lines.write_text("\n".join(rows) + "\n")
    with pytest.raises(ImportRefused, match=r"75\.0% of the lines"):
        import_raw(games, lines, tmp_path / "out", max_set_aside=LOOSE)
    assert not (tmp_path / "out").exists()
    assert not list(tmp_path.glob(".out.*"))
    report = import_raw(games, lines, tmp_path / "out", max_set_aside=0.8)
    assert report.set_aside == {"unknown player": 3}


def test_malformed_game_logs_stay_precise(season: tuple[Path, Path], tmp_path: Path) -> None:
    games, lines = season
    text = games.read_text().replace("2024-01-10,1629651", "2024-13-10,1629651", 1)
    games.write_text(text)
    with pytest.raises(DataValidationError, match=r"games.csv, line 2, column game_date"):
        import_raw(games, lines, tmp_path / "out", max_set_aside=LOOSE)
    assert not (tmp_path / "out").exists()


def test_cli_prints_the_join_report(season: tuple[Path, Path], tmp_path: Path) -> None:
    games, lines = season
    args = [
        "data",
        "import",
        "--games",
        str(games),
        "--lines",
        str(lines),
        "--market",
        "PRA",
        "--out",
        str(tmp_path / "out"),
        "--max-set-aside",
        str(LOOSE),
    ]
    result = CliRunner().invoke(cli, [*args, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["joined"] > 0 and data["join_share"] > 0.9
    text = CliRunner().invoke(cli, args)
    assert "joined share" in text.output and "rejects" in text.output
    missing = CliRunner().invoke(
        cli,
        [
            "data",
            "import",
            "--games",
            str(games),
            "--lines",
            str(games),
            "--out",
            str(tmp_path / "x"),
        ],
    )
    assert missing.exit_code == 2
    assert "column bookmaker is missing" in missing.output
