"""Pick the data source the settings ask for: the synthetic generator or a CSV folder."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from nbaprops.data.csv_source import CsvSource
from nbaprops.data.errors import DataSourceError
from nbaprops.data.feed import DataSource
from nbaprops.settings import Settings

SYNTHETIC = "synthetic"


def source_from_settings(settings: Settings, *, as_of: dt.date | None = None) -> DataSource:
    """NBAPROPS_DATA=synthetic gives the generator; anything else must be a CSV folder.

    `as_of` (the caller's today) is passed to CsvSource so game logs dated later are refused.
    """
    if settings.data.strip().lower() == SYNTHETIC:
        from nbaprops.data.synthetic import SyntheticSource

        return SyntheticSource(
            seed=settings.seed,
            teams=settings.teams,
            seasons=settings.season_list,
            market_efficiency=settings.market_efficiency,
        )
    folder = Path(settings.data).expanduser()
    if not folder.is_dir():
        raise DataSourceError(
            f"NBAPROPS_DATA={settings.data}",
            "this is neither 'synthetic' nor an existing folder; set NBAPROPS_DATA to "
            "'synthetic' or to a folder holding games.csv (and optionally lines.csv), "
            "see docs/data-schema.md",
        )
    return CsvSource(folder, target=settings.target, as_of=as_of)
