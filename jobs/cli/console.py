"""Console helpers shared by the CLI commands: status lines on stderr, JSON and tables on stdout."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

import click


@contextmanager
def status(message: str, quiet: bool = False) -> Iterator[None]:
    """Print `message…` to stderr, then how long the step took."""
    started = time.perf_counter()
    if not quiet:
        click.echo(f"{message}…", err=True, nl=False)
    try:
        yield
    except BaseException:
        if not quiet:
            click.echo(" failed", err=True)
        raise
    if not quiet:
        click.echo(f" {time.perf_counter() - started:.1f}s", err=True)


def print_json(payload: Any) -> None:
    """Machine-readable output on stdout."""
    click.echo(json.dumps(payload, indent=2, sort_keys=True, default=str))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "" if value is None else str(value)


def print_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
    """A plain fixed-width table on stdout."""
    cells = [[_fmt(r.get(c)) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    click.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))


def fail(message: str, code: int = 2) -> NoReturn:
    """Print an error to stderr and exit with `code` (2: bad input)."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)
