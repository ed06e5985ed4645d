"""CsvSource, its validation and the CSV writer: the bad corpus, aliases, joins, round trips."""

from __future__ import annotations

import csv
import datetime as dt
import warnings
from pathlib import Path

import pandas as pd
import pytest

from nbaprops.data.csv_source import CsvSource
from nbaprops.data.errors import (
    MAX_LISTED_PROBLEMS,
    DataSourceError,
    DataValidationError,
    DataWarning,
    OutputFolderError,
)
from nbaprops.data.feed import LINE_COLUMNS, Feed
from nbaprops.data.player_names import normalise_name
from nbaprops.data.sources import source_from_settings
from nbaprops.data.writer import write_feed
from nbaprops.settings import Settings

BAD = Path(__file__).parent / "bad"
AS_OF = dt.date(2025, 6, 30)
GAMES = (
    "game_date,player_id,player_name,team,opponent,home,MIN,PTS,REB,AST,FGA,FTA,TOV\n"
    "2024-10-22,1628369,Jayson Tatum,BOS,NYK,1,35,37,10,4,24,6,2\n"
    "2024-10-22,1628973,Jalen Brunson,NYK,BOS,0,36,22,2,8,19,4,3\n"
    "2024-10-24,1628369,Jayson Tatum,BOS,WAS,0,33,25,8,5,20,5,1\n"
    "2025-03-02,203999,Nikola Jokić,DEN,OKC,1,36,16,12,11,15,3,4\n"
)
LINES = (
    "game_date,player_id,market,line,over_price,under_price,bookmaker,snapshot\n"
    "2024-10-22,1628369,PTS,27.5,-110,-110,fanduel,open\n"
    "2024-10-22,1628369,PTS,28.5,-115,-105,fanduel,close\n"
    "2025-03-02,203999,PRA,45.5,+100,-120,draftkings,close\n"
)


def data_folder(root: Path, games: str, lines: str | None = None) -> Path:
    """A data folder holding the given CSV texts."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "games.csv").write_text(games, encoding="utf-8")
    if lines is not None:
        (root / "lines.csv").write_text(lines, encoding="utf-8")
    return root


def load_quietly(folder: Path, **kwargs: object) -> Feed:
    """Load a folder, ignoring the data-gap warnings a test is not about."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return CsvSource(folder, as_of=AS_OF, **kwargs).load()  # type: ignore[arg-type]


def bad_cases() -> list[dict[str, str]]:
    with (BAD / "expected.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("case", bad_cases(), ids=lambda c: c["case"])
def test_each_bad_folder_raises_naming_file_row_and_column(case: dict[str, str]) -> None:
    folder = BAD / case["case"]
    assert (folder / "README").read_text().strip(), "each case says what is wrong with it"
    with pytest.raises(DataValidationError) as caught:
        load_quietly(folder)
    error = caught.value
    assert isinstance(error, ValueError)
    assert Path(error.file).name == case["file"]
    assert error.row == (int(case["row"]) if case["row"] else None)
    assert error.column == (case["column"] or None)
    assert case["message"] in str(error)
    assert case["file"] in str(error)


def test_corpus_table_covers_every_case_folder() -> None:
    folders = {p.name for p in BAD.iterdir() if p.is_dir()}
    assert folders == {c["case"] for c in bad_cases()}


def test_many_problems_are_reported_together_with_their_places() -> None:
    with pytest.raises(DataValidationError) as caught:
        load_quietly(BAD / "many_problems")
    places = [(p.row, p.column) for p in caught.value.problems]
    assert places == [(2, "game_date"), (3, "PTS"), (5, "home")]


def test_long_problem_lists_are_cut_with_a_count(tmp_path: Path) -> None:
    rows = "".join(f"2024-10-{d:02d},1,A,x\n" for d in range(1, 31))
    folder = data_folder(tmp_path, "game_date,player_id,player_name,PTS\n" + rows)
    with pytest.raises(DataValidationError) as caught:
        load_quietly(folder)
    assert len(caught.value.problems) == 30
    message = str(caught.value)
    assert message.count("is not a number") == MAX_LISTED_PROBLEMS
    assert "and 10 more" in message


def test_good_folder_loads_into_canonical_frames(tmp_path: Path) -> None:
    feed = load_quietly(data_folder(tmp_path, GAMES, LINES))
    games, lines = feed.games, feed.lines
    assert len(games) == 4 and len(lines) == 3
    assert str(games["game_date"].dtype).startswith("datetime64")
    assert (games["game_date"] == games["game_date"].dt.normalize()).all()
    assert games["game_date"].is_monotonic_increasing
    assert games["home"].tolist() == [1, 0, 0, 1]
    assert games["season"].tolist() == ["2024-25"] * 4
    assert games["PTS"].dtype == "int64" and games["MIN"].dtype == "float64"
    assert games["game_id"].iloc[0] == games["game_id"].iloc[1] == "20241022-BOS-NYK"
    assert list(lines.columns) == list(LINE_COLUMNS)
    assert lines["player_name"].tolist() == ["Jayson Tatum", "Jayson Tatum", "Nikola Jokić"]
    assert lines["over_price"].tolist() == [-110, -115, 100]
    assert (lines["snapshot"] == ["open", "close", "close"]).all()
    assert feed.truth is None and feed.warnings == () and feed.source == "csv"


def test_blank_lines_keep_reported_line_numbers_true(tmp_path: Path) -> None:
    games = GAMES.replace("2024-10-24,1628369", "\n2024-10-24,1628369").replace(",16,12,", ",?,12,")
    with pytest.raises(DataValidationError) as caught:
        load_quietly(data_folder(tmp_path, games))
    assert (caught.value.row, caught.value.column) == (6, "PTS")


def test_nba_api_league_game_log_aliases(tmp_path: Path) -> None:
    games = (
        "SEASON_ID,PLAYER_ID,PLAYER_NAME,TEAM_ABBREVIATION,GAME_ID,GAME_DATE,MATCHUP,WL,MIN,PTS\n"
        "22024,1628369,Jayson Tatum,BOS,0022400061,2024-10-22T00:00:00,BOS vs. NYK,W,35,37\n"
        "22024,1628973,Jalen Brunson,NYK,0022400061,2024-10-22T00:00:00,NYK @ BOS,L,36,22\n"
    )
    feed = load_quietly(data_folder(tmp_path, games))
    g = feed.games
    assert g["team"].tolist() == ["BOS", "NYK"]
    assert g["opponent"].tolist() == ["NYK", "BOS"]
    assert g["home"].tolist() == [1, 0]
    assert g["season"].tolist() == ["2024-25", "2024-25"]
    assert g["game_id"].tolist() == ["0022400061", "0022400061"]
    assert g["player_id"].tolist() == [1628369, 1628973]


def test_player_game_log_and_basketball_reference_aliases(tmp_path: Path) -> None:
    games = (
        "Player_ID,Game_ID,GAME_DATE,Tm,Opp,MP,Points,TRB,assists\n"
        "jamesle01,0022301195,APR 14, 2024,LAL,NOP,34:30,28,9,8\n"
    ).replace("APR 14, 2024", '"APR 14, 2024"')
    feed = load_quietly(data_folder(tmp_path, games), target="PRA")
    row = feed.games.iloc[0]
    assert row["game_date"] == pd.Timestamp("2024-04-14")
    assert row["season"] == "2023-24"
    assert row["MIN"] == pytest.approx(34.5)
    assert (row["PTS"], row["REB"], row["AST"]) == (28, 9, 8)
    assert row["player_name"] == "jamesle01"
    assert row["player_id"] > 10**12  # text ids get a derived number


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("Nikola Jokić", "nikola jokic"),
        ("Jaren Jackson Jr.", "jaren jackson"),
        ("Marvin Bagley III", "marvin bagley"),
        ("P. J. Washington", "pj washington"),
        ("P.J. Washington", "pj washington"),
        ("Karl-Anthony Towns", "karl anthony towns"),
        ("De'Aaron  FOX", "deaaron fox"),
    ],
)
def test_name_keys_ignore_case_accents_punctuation_and_suffixes(written: str, key: str) -> None:
    assert normalise_name(written) == key


def test_lines_join_games_by_normalised_name(tmp_path: Path) -> None:
    games = (
        "game_date,player_id,player_name,PTS\n"
        "2024-10-22,1,Nikola Jokić,30\n"
        "2024-10-22,2,Jaren Jackson Jr.,20\n"
        "2024-10-22,3,Jalen Williams,18\n"
        "2024-10-23,4,Jalen Williams,11\n"
    )
    lines = (
        "date,player,market,line,over,under,book\n"
        "2024-10-22,NIKOLA JOKIC,points,29.5,-110,-110,FanDuel\n"
        "2024-10-22,Jaren Jackson,PTS,19.5,-110,-110,fanduel\n"
        "2024-10-23,Jalen Williams,PTS,10.5,-110,-110,betmgm\n"
        "2024-10-22,Jalen Williams,PTS,17.5,-110,-110,betmgm\n"
    )
    feed = load_quietly(data_folder(tmp_path, games, lines))
    assert feed.lines["player_id"].tolist() == [1, 2, 3, 4]
    assert feed.lines["player_name"].tolist()[:2] == ["Nikola Jokić", "Jaren Jackson Jr."]
    assert set(feed.lines["bookmaker"]) == {"fanduel", "betmgm"}
    assert (feed.lines["snapshot"] == "close").all()


def test_a_shared_name_without_a_game_that_day_asks_for_player_id(tmp_path: Path) -> None:
    games = "game_date,player_id,player_name,PTS\n2024-10-22,3,Jalen Williams,18\n"
    games += "2024-10-23,4,Jalen Williams,11\n"
    lines = "game_date,player_name,market,line,over_price,under_price,bookmaker\n"
    lines += "2024-10-25,Jalen Williams,PTS,10.5,-110,-110,betmgm\n"
    with pytest.raises(DataValidationError) as caught:
        load_quietly(data_folder(tmp_path, games, lines))
    assert (caught.value.row, caught.value.column) == (2, "player_name")
    assert "add a player_id column" in str(caught.value)


@pytest.mark.parametrize(
    ("games_header", "lines_player", "column"),
    [("player_id", "player_name", "player_name"), ("player_name", "player_id", "player_id")],
)
def test_lines_need_a_player_column_that_games_have(
    tmp_path: Path, games_header: str, lines_player: str, column: str
) -> None:
    games = f"game_date,{games_header},PTS\n2024-10-22,1628369,30\n"
    lines = f"game_date,{lines_player},market,line,over_price,under_price,bookmaker\n"
    lines += "2024-10-22,1628369,PTS,27.5,-110,-110,fanduel\n"
    with pytest.raises(DataValidationError) as caught:
        load_quietly(data_folder(tmp_path, games, lines))
    assert (Path(caught.value.file).name, caught.value.row) == ("lines.csv", 1)
    assert caught.value.column == column
    assert f"games.csv has no {column} column" in str(caught.value)


def test_games_by_name_only_get_stable_ids_shared_by_spellings(tmp_path: Path) -> None:
    games = "game_date,player_name,PTS\n2024-10-22,Nikola Jokić,30\n2024-10-24,Nikola Jokic,25\n"
    first = load_quietly(data_folder(tmp_path / "a", games)).games
    again = load_quietly(data_folder(tmp_path / "b", games)).games
    assert first["player_id"].nunique() == 1
    assert first["player_id"].tolist() == again["player_id"].tolist()
    assert first["game_id"].nunique() == 2


def test_missing_optional_columns_give_exactly_one_warning(tmp_path: Path) -> None:
    games = "game_date,player_id,player_name,PTS\n2024-10-22,1,A,30\n2024-10-24,1,A,25\n"
    lines = "game_date,player_id,market,line,over_price,under_price,bookmaker\n"
    lines += "2024-10-22,1,PTS,27.5,-110,-110,fanduel\n"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        feed = CsvSource(data_folder(tmp_path, games, lines), as_of=AS_OF).load()
    data_warnings = [w for w in caught if issubclass(w.category, DataWarning)]
    assert len(data_warnings) == 1
    assert feed.warnings == (str(data_warnings[0].message),)
    note = feed.warnings[0]
    for expected in ("MIN", "minutes features", "FGA", "usage, shooting", "team", "pace"):
        assert expected in note
    assert "home flag" in note


def test_complete_columns_give_no_warning(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        feed = CsvSource(data_folder(tmp_path, GAMES, LINES), as_of=AS_OF).load()
    assert feed.warnings == ()


def test_without_lines_csv_there_are_no_bets(tmp_path: Path) -> None:
    feed = load_quietly(data_folder(tmp_path, GAMES))
    assert feed.lines.empty and list(feed.lines.columns) == list(LINE_COLUMNS)
    assert any("no sportsbook lines" in w for w in feed.warnings)


def test_lines_may_be_dated_one_day_after_as_of_but_not_two(tmp_path: Path) -> None:
    base = "game_date,player_id,market,line,over_price,under_price,bookmaker\n"
    tomorrow = base + "2025-07-01,1628369,PTS,27.5,-110,-110,fanduel\n"
    assert len(load_quietly(data_folder(tmp_path / "a", GAMES, tomorrow)).lines) == 1
    later = base + "2025-07-02,1628369,PTS,27.5,-110,-110,fanduel\n"
    with pytest.raises(DataValidationError, match="more than a day after 2025-06-30"):
        load_quietly(data_folder(tmp_path / "b", GAMES, later))


def hand_made_feed() -> Feed:
    """Two dates, three players, a truth frame, every canonical column."""
    games = pd.DataFrame(
        {
            "game_date": pd.to_datetime(["2024-10-22", "2024-10-22", "2024-10-24"]),
            "player_id": [1628369, 1628973, 1628369],
            "player_name": ["Jayson Tatum", "Brunson, Jalen", "Jayson Tatum"],
            "game_id": ["g1", "g1", "g2"],
            "season": ["2024-25"] * 3,
            "team": ["BOS", "NYK", "BOS"],
            "opponent": ["NYK", "BOS", "WAS"],
            "home": [1, 0, 0],
            "MIN": [35.25, 36.0, 1 / 3],
            "PTS": [37, 22, 25],
            "REB": [10, 2, 8],
            "AST": [4, 8, 5],
            "FGA": [24, 19, 20],
            "FTA": [6, 4, 5],
            "TOV": [2, 3, 1],
        }
    )
    lines = pd.DataFrame(
        {
            "game_date": pd.to_datetime(["2024-10-22", "2024-10-22"]),
            "player_id": [1628369, 1628369],
            "player_name": ["Jayson Tatum"] * 2,
            "market": ["PTS", "PRA"],
            "line": [27.5, 41.0],
            "over_price": [-110, 105],
            "under_price": [-110, -125],
            "bookmaker": ["fanduel", "betmgm"],
            "snapshot": ["open", "close"],
            "snapshot_ts": pd.to_datetime(["2024-10-21 10:00", "2024-10-22 18:30"]),
        }
    )
    truth = pd.DataFrame(
        {
            "game_date": games["game_date"],
            "player_id": games["player_id"],
            "true_mean_PTS": [26.123456789, 20.5, 24.0],
            "true_median_PTS": [26.0, 20.0, 24.0],
        }
    )
    return Feed(games, lines, truth)


def assert_same_feed(read: Feed, original: Feed) -> None:
    """Equal frames up to dtype normalisation (date resolution, string flavour)."""

    def normal(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.reset_index(drop=True).copy()
        for column in out.columns:
            if str(out[column].dtype).startswith("datetime64"):
                out[column] = out[column].astype("datetime64[ns]")
            elif out[column].dtype == object or str(out[column].dtype) in ("str", "string"):
                out[column] = out[column].astype("str")
        return out

    pd.testing.assert_frame_equal(normal(read.games), normal(original.games))
    pd.testing.assert_frame_equal(normal(read.lines), normal(original.lines))
    assert (read.truth is None) == (original.truth is None)
    if original.truth is not None and read.truth is not None:
        pd.testing.assert_frame_equal(normal(read.truth), normal(original.truth))


def test_written_feed_reads_back_equal(tmp_path: Path) -> None:
    original = hand_made_feed()
    paths = write_feed(original, tmp_path / "feed")
    assert [p.name for p in paths] == ["games.csv", "lines.csv", "truth.csv"]
    assert_same_feed(load_quietly(tmp_path / "feed"), original)
    assert [p.name for p in tmp_path.iterdir()] == ["feed"]


def test_synthetic_feed_round_trips_through_csv(tmp_path: Path) -> None:
    synthetic = pytest.importorskip("nbaprops.data.synthetic")
    original = synthetic.SyntheticSource(seed=1, teams=4, seasons=["2024-25"]).load()
    write_feed(original, tmp_path / "feed")
    read = load_quietly(tmp_path / "feed")
    assert_same_feed(read, original)
    assert read.digest == original.digest  # same content and dtypes, byte for byte


def test_writer_refuses_a_non_empty_folder_and_leaves_it_alone(tmp_path: Path) -> None:
    target = data_folder(tmp_path / "feed", "keep me")
    with pytest.raises(OutputFolderError, match="already exists and is not empty"):
        write_feed(hand_made_feed(), target)
    assert [p.name for p in target.iterdir()] == ["games.csv"]
    assert (target / "games.csv").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feed"]


def test_writer_fills_an_empty_folder_and_overwrite_replaces_a_full_one(tmp_path: Path) -> None:
    target = tmp_path / "feed"
    target.mkdir()
    write_feed(hand_made_feed(), target)
    (target / "stale.txt").write_text("old")
    write_feed(hand_made_feed(), target, overwrite=True)
    assert sorted(p.name for p in target.iterdir()) == ["games.csv", "lines.csv", "truth.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feed"]


class _Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("cannot be written")


def test_a_failure_mid_write_leaves_nothing_behind(tmp_path: Path) -> None:
    feed = hand_made_feed()
    assert feed.truth is not None
    bad_truth = feed.truth.copy()  # truth.csv is written last
    bad_truth["true_mean_PTS"] = pd.Series([1.0, _Unprintable(), 2.0], dtype=object)
    with pytest.raises(Exception):  # noqa: B017 - whichever error the CSV writer raises
        write_feed(Feed(feed.games, feed.lines, bad_truth), tmp_path / "feed")
    assert list(tmp_path.iterdir()) == []


def test_writer_reports_an_unwritable_place(tmp_path: Path) -> None:
    (tmp_path / "a_file").write_text("")
    with pytest.raises(OutputFolderError, match="cannot create"):
        write_feed(hand_made_feed(), tmp_path / "a_file" / "feed")
    assert [p.name for p in tmp_path.iterdir()] == ["a_file"]


def test_settings_pick_the_source(tmp_path: Path) -> None:
    folder = data_folder(tmp_path / "csv", GAMES)
    source = source_from_settings(Settings(data=str(folder), target="REB"), as_of=AS_OF)
    assert isinstance(source, CsvSource)
    assert (source.folder, source.target, source.as_of) == (folder, "REB", AS_OF)
    with pytest.raises(DataSourceError, match="neither 'synthetic' nor an existing folder"):
        source_from_settings(Settings(data=str(tmp_path / "nowhere")))
    assert issubclass(DataSourceError, DataValidationError)


def test_synthetic_setting_builds_the_generator() -> None:
    synthetic = pytest.importorskip("nbaprops.data.synthetic")
    settings = Settings(data="synthetic", seed=3, teams=4, seasons="2024-25")
    source = source_from_settings(settings)
    assert isinstance(source, synthetic.SyntheticSource)
