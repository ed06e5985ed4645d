"""Live predictions of the Production model: made before each game day, settled after it.

The table is the monitor's memory: drift checks read the settled rows (rolling live MAE,
calibration of the bets it would have made) and the weekly report reads live performance.
A prediction for a player who then did not play is void: once the day's box scores are in,
it gets a settled_on date and no actual (no bet, no loss, out of every live metric).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from nbaprops.statedb.migrate import ensure_state_schema

metadata = sa.MetaData()
live_predictions = sa.Table(
    "live_predictions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("made_for", sa.Date, nullable=False, index=True),
    sa.Column("player_id", sa.BigInteger, nullable=False),
    sa.Column("player_name", sa.String(200), nullable=False),
    sa.Column("market", sa.String(8), nullable=False),
    sa.Column("line", sa.Float, nullable=True),
    sa.Column("prediction", sa.Float, nullable=False),
    sa.Column("p_over", sa.Float, nullable=True),
    sa.Column("model_version", sa.String(32), nullable=False, index=True),
    sa.Column("actual", sa.Float, nullable=True),
    sa.Column("settled_on", sa.Date, nullable=True),
    sa.UniqueConstraint("made_for", "player_id", "market", "model_version", name="uq_live_pred"),
)


def _optional(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


@dataclass(frozen=True)
class SettledWindow:
    """The most recent settled predictions of one model version, oldest first."""

    abs_errors: np.ndarray
    probabilities: np.ndarray
    outcomes: np.ndarray

    @property
    def count(self) -> int:
        """Settled predictions in the window."""
        return len(self.abs_errors)


class LivePredictions:
    """Store, settle and read live predictions in the project's state database."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def ensure_schema(self) -> None:
        """Bring the state database to the current schema (migrations; idempotent)."""
        ensure_state_schema(self.engine)

    def record(self, day: dt.date, version: str, frame: pd.DataFrame) -> int:
        """Store one day's predictions (player_id, player_name, market, line, prediction, p_over).

        Re-running the same day replaces that day's rows for the version, so a retried ingest
        never double-counts.
        """
        rows = [
            {
                "made_for": day,
                "player_id": int(r["player_id"]),
                "player_name": str(r["player_name"]),
                "market": str(r["market"]),
                "line": _optional(r["line"]),
                "prediction": float(r["prediction"]),
                "p_over": _optional(r["p_over"]),
                "model_version": version,
            }
            for r in frame.to_dict("records")
        ]
        table = live_predictions
        with self.engine.begin() as conn:
            conn.execute(
                table.delete().where(table.c.made_for == day, table.c.model_version == version)
            )
            if rows:
                conn.execute(table.insert(), rows)
        return len(rows)

    def settle(self, day: dt.date, actuals: pd.DataFrame, settled_on: dt.date) -> int:
        """Fill in the actual result of `day`'s predictions (actuals: player_id, market, actual)."""
        table = live_predictions
        updates = [
            {"p": int(r["player_id"]), "m": str(r["market"]), "a": float(r["actual"])}
            for r in actuals.to_dict("records")
        ]
        if not updates:
            return 0
        statement = (
            table.update()
            .where(
                table.c.made_for == day,
                table.c.player_id == sa.bindparam("p"),
                table.c.market == sa.bindparam("m"),
                table.c.actual.is_(None),
            )
            .values(actual=sa.bindparam("a"), settled_on=settled_on)
        )
        with self.engine.begin() as conn:
            result = conn.execute(statement, updates)
        return int(result.rowcount or 0)

    def void_unplayed(self, day: dt.date, settled_on: dt.date) -> int:
        """Close `day`'s predictions still without a result: their players did not play."""
        table = live_predictions
        statement = (
            table.update()
            .where(table.c.made_for == day, table.c.actual.is_(None), table.c.settled_on.is_(None))
            .values(settled_on=settled_on)
        )
        with self.engine.begin() as conn:
            return int(conn.execute(statement).rowcount or 0)

    def unsettled_days(self, before: dt.date) -> list[dt.date]:
        """Days before `before` with predictions still waiting for a result."""
        table = live_predictions
        query = (
            sa.select(table.c.made_for)
            .where(table.c.made_for < before, table.c.settled_on.is_(None))
            .distinct()
            .order_by(table.c.made_for)
        )
        with self.engine.connect() as conn:
            return [row[0] for row in conn.execute(query)]

    def settled_window(self, version: str, limit: int) -> SettledWindow:
        """The last `limit` settled predictions of a version (errors, P(over), went over)."""
        table = live_predictions
        query = (
            sa.select(table.c.prediction, table.c.actual, table.c.p_over, table.c.line)
            .where(table.c.model_version == version, table.c.actual.is_not(None))
            .order_by(table.c.made_for.desc(), table.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            frame = pd.DataFrame(conn.execute(query).fetchall(), columns=["pred", "y", "p", "line"])
        frame = frame.iloc[::-1]
        priced = frame.dropna(subset=["p", "line"])
        priced = priced[priced["y"] != priced["line"]]
        return SettledWindow(
            abs_errors=np.abs(frame["y"].to_numpy(float) - frame["pred"].to_numpy(float)),
            probabilities=priced["p"].to_numpy(float),
            outcomes=(priced["y"] > priced["line"]).to_numpy(float),
        )
