"""`nbaprops data generate|validate` through click's runner: output, exit codes, no debris."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from jobs.cli.main import cli

BAD = Path(__file__).parent / "bad"
AS_OF = "2025-06-30"
GAMES = (
    "GAME_DATE,PLAYER_ID,PLAYER_NAME,MATCHUP,MIN,PTS,REB,AST,FGA,FTA,TOV\n"
    "2024-10-22,1628369,Jayson Tatum,BOS vs. NYK,35,37,10,4,24,6,2\n"
    "2024-10-22,1628973,Jalen Brunson,NYK @ BOS,36,22,2,8,19,4,3\n"
    "2024-10-24,1628369,Jayson Tatum,BOS @ WAS,33,25,8,5,20,5,1\n"
)
LINES = (
    "game_date,player_name,market,line,over_price,under_price,bookmaker,snapshot\n"
    "2024-10-22,Jayson Tatum,PTS,27.5,-110,-110,fanduel,open\n"
    "2024-10-22,Jayson Tatum,PTS,28.5,-115,-105,fanduel,close\n"
)


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def bad_cases() -> list[dict[str, str]]:
    with (BAD / "expected.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def write_folder(folder: Path, games: str, lines: str | None = None) -> Path:
    folder.mkdir(parents=True)
    (folder / "games.csv").write_text(games, encoding="utf-8")
    if lines is not None:
        (folder / "lines.csv").write_text(lines, encoding="utf-8")
    return folder


def test_validate_summarises_a_good_folder(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "data", GAMES, LINES)
    result = run("data", "validate", str(folder), "--as-of", AS_OF)
    assert result.exit_code == 0, result.stderr
    assert "is valid (target PTS, as of 2025-06-30)" in result.stdout
    assert "games: 3 rows, 2 players, 2 dates (2024-10-22 to 2024-10-24), seasons 2024-25" in (
        result.stdout
    )
    assert "lines: 2 rows (PTS 2;" in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize("case", bad_cases(), ids=lambda c: c["case"])
def test_validate_exits_2_naming_file_row_and_column(case: dict[str, str]) -> None:
    result = run("data", "validate", str(BAD / case["case"]), "--as-of", AS_OF)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ")
    assert case["file"] in result.stderr
    assert case["message"] in result.stderr
    if case["row"]:
        assert f"line {case['row']}" in result.stderr
    if case["column"]:
        assert f"column {case['column']}" in result.stderr


def test_validate_warns_once_about_missing_optional_columns(tmp_path: Path) -> None:
    games = "game_date,player_id,player_name,PTS\n2024-10-22,1,A,30\n2024-10-24,1,A,25\n"
    lines = "game_date,player_id,market,line,over_price,under_price,bookmaker\n"
    lines += "2024-10-22,1,PTS,27.5,-110,-110,fanduel\n"
    result = run("data", "validate", str(write_folder(tmp_path / "d", games, lines)))
    assert result.exit_code == 0
    warnings = [ln for ln in result.stderr.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 1
    assert "minutes features" in warnings[0] and "home flag" in warnings[0]


def test_validate_checks_the_chosen_target(tmp_path: Path) -> None:
    games = "game_date,player_id,PTS\n2024-10-22,1,30\n"
    result = run("data", "validate", str(write_folder(tmp_path / "d", games)), "--target", "PRA")
    assert result.exit_code == 2
    assert "column REB is missing" in result.stderr and "column AST is missing" in result.stderr


def test_validate_of_a_missing_folder_exits_2(tmp_path: Path) -> None:
    result = run("data", "validate", str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    assert "data folder not found" in result.stderr


def generate(out: Path, *extra: str) -> Result:
    return run("data", "generate", "--out", str(out), "--seed", "1", "--teams", "4",
               "--seasons", "2024-25", *extra)  # fmt: skip


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    pytest.importorskip("nbaprops.data.synthetic")
    out = tmp_path_factory.mktemp("gen") / "feed"
    return out, generate(out)


def test_generate_writes_a_folder_that_validates(generated: tuple[Path, Result]) -> None:
    out, result = generated
    assert result.exit_code == 0, result.stderr
    names = ["games.csv", "lines.csv", "schedule.csv", "truth.csv"]
    assert sorted(p.name for p in out.iterdir()) == names
    assert f"wrote games.csv, lines.csv, truth.csv, schedule.csv to {out}" in result.stdout
    assert "seasons 2024-25" in result.stdout and "truth: yes" in result.stdout
    check = run("data", "validate", str(out))
    assert check.exit_code == 0, check.stderr
    assert check.stdout.splitlines()[1:] == result.stdout.splitlines()[1:]


def test_generate_refuses_a_full_folder_and_leaves_it_untouched(
    generated: tuple[Path, Result],
) -> None:
    out, _ = generated
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    result = generate(out, "--market-efficiency", "0.9")
    assert result.exit_code == 2
    assert "already exists and is not empty" in result.stderr
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
    assert [p.name for p in out.parent.iterdir()] == ["feed"]


def test_generate_into_an_unwritable_place_leaves_nothing(tmp_path: Path) -> None:
    pytest.importorskip("nbaprops.data.synthetic")
    (tmp_path / "a_file").write_text("")
    result = generate(tmp_path / "a_file" / "feed")
    assert result.exit_code == 2
    assert "cannot create" in result.stderr and "Traceback" not in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["a_file"]


def test_generate_rejects_a_bad_season_label(tmp_path: Path) -> None:
    result = run("data", "generate", "--out", str(tmp_path / "feed"), "--seasons", "2024-2025")
    assert result.exit_code == 2
    assert "not of the form YYYY-YY" in result.stderr
    assert list(tmp_path.iterdir()) == []
