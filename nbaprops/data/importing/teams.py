"""NBA team names as odds APIs write them, to the abbreviations the game logs use."""

from __future__ import annotations

from functools import cache

from nba_api.stats.static import teams as nba_teams

# Names some books and odds APIs use besides nba_api's full names.
EXTRA_NAMES = {"LA Clippers": "LAC", "Los Angeles Clippers": "LAC", "LA Lakers": "LAL"}


@cache
def team_abbreviations() -> dict[str, str]:
    """Full team name -> abbreviation ("Denver Nuggets" -> "DEN"), from nba_api's static data."""
    names = {t["full_name"]: t["abbreviation"] for t in nba_teams.get_teams()}
    return names | EXTRA_NAMES
