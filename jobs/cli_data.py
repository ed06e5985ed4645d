"""`nbaprops data ...`: generate the synthetic feed as CSV, validate a folder of CSVs."""

from __future__ import annotations

import click


@click.group("data")
def data_group() -> None:
    """Generate or validate data feeds."""
