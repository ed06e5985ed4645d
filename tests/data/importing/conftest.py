"""A small real-looking season for the importer: two days of games, a scrape with its habits."""

from __future__ import annotations

from pathlib import Path

import pytest

# (player_id, name as NBA.com writes it, game on 2024-01-10, game on 2024-01-11 or "")
PLAYERS = [
    (1629651, "Nic Claxton", "G1", "G3"),
    (1628388, "Mikal Bridges", "G1", "G3"),
    (1628391, "Obi Toppin", "G1", ""),
    (1630541, "Moses Moody", "G2", "G4"),
    (1629627, "Jalen Brunson", "G1", ""),
    (1628403, "Payton Pritchard", "G2", "G4"),
    (1628983, "Shai Gilgeous-Alexander", "G2", "G4"),
    (1627749, "Dejounte Murray", "G1", "G3"),
    (1641705, "Victor Wembanyama", "G2", "G4"),
    (1626171, "Bobby Portis", "G1", "G3"),
    (1630168, "KJ Martin", "G2", ""),
    (203468, "CJ McCollum", "G2", "G4"),
    (201145, "Jeff Green", "G1", ""),
    (1630224, "Jalen Green", "G1", ""),
    (1626157, "Karl-Anthony Towns", "G2", "G4"),
]
HEADER = (
    "player_name,event_id,event_date,home_team,away_team,bookmaker,line,timestamp,"
    "over_price,under_price"
)


def games_csv(path: Path) -> Path:
    """games.csv in the shared season's shape: date, id, name, game id, PRA only."""
    rows = ["game_date,player_id,player_name,game_id,PRA"]
    for pid, name, first, second in PLAYERS:
        rows.append(f"2024-01-10,{pid},{name},{first},{20 + pid % 17}")
        if second:
            rows.append(f"2024-01-11,{pid},{name},{second},{18 + pid % 13}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def line(
    name: str,
    event: str,
    date: str,
    book: str = "DraftKings",
    value: str = "24.5",
    stamp: str = "T22:00:00Z",
    over: str = "-110.0",
    under: str = "-110.0",
) -> str:
    """One scrape row; the event's teams follow from its id."""
    teams = {
        "E1": "Brooklyn Nets,New York Knicks",
        "E2": "Golden State Warriors,Boston Celtics",
        "E3": "Atlanta Hawks,Milwaukee Bucks",
        "E4": "Phoenix Suns,Portland Trail Blazers",
        "E5": "Miami Heat,Chicago Bulls",
    }
    name_cell = f'"{name}"' if "," in name else name
    return f"{name_cell},{event},{date},{teams[event]},{book},{value},{date}{stamp},{over},{under}"


@pytest.fixture
def season(tmp_path: Path) -> tuple[Path, Path]:
    """(games.csv, lines_raw.csv) with the shared README's name habits and data faults."""
    games = games_csv(tmp_path / "games.csv")
    rows = [HEADER]
    # game G1 / G2 on 2024-01-10, written as the books write the names
    for name in (
        "Nicolas Claxton",
        "Obadiah Toppin",
        "Murray Dejounte",
        "Portis, Bobby",
        "J. Green",
        "Mikal Bridges",
    ):
        rows.append(line(name, "E1", "2024-01-10"))
    for name in (
        "M. Moody",
        "P. Pritchard",
        "S Gilgeous-Alexander",
        "Wembanyama Victor",
        "Kenyon Martin Jr.",
        "Christian James McCollum",
    ):
        rows.append(line(name, "E2", "2024-01-10"))
    # a second, later snapshot of one book and an exact duplicate row
    rows.append(line("Mikal Bridges", "E1", "2024-01-10", value="25.5", stamp="T23:30:00Z"))
    rows.append(rows[-1])
    # an empty price: set aside with its reason
    rows.append(line("Jalen Brunson", "E1", "2024-01-10", book="FanDuel", over=""))
    # a late tip-off dated the next day in UTC: its players played on 2024-01-11 (game G3)
    for name in ("Nic Claxton", "Dejounte Murray", "Bobby Portis", "Mikal Bridges"):
        rows.append(line(name, "E3", "2024-01-12", stamp="T01:00:00Z"))
    # a player who did not play on 2024-01-11 (void), in an event whose others played (G4)
    for name in ("Moses Moody", "Payton Pritchard", "CJ McCollum", "Obi Toppin"):
        rows.append(line(name, "E4", "2024-01-11"))
    # a day before the game logs start
    rows.append(line("Nic Claxton", "E5", "2024-01-02"))
    lines = tmp_path / "lines_raw.csv"
    lines.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return games, lines
