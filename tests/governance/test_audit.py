"""The audit trail on a real SQLite file (and, where its binaries exist, a real PostgreSQL)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from governance.audit import ACTIONS, AuditEntry, AuditError, AuditTrail, audit_entry
from governance.decision import decide
from governance.policy import load_policy

T0 = dt.datetime(2025, 1, 13, 6, 0, tzinfo=dt.UTC)
CANDIDATE = {
    "val_mae": 4.3,
    "mae_vs_baseline": 0.97,
    "leakage_suspected": 0.0,
    "wf_roi": 0.07,
    "bet_count": 420.0,
}


_schema_numbers = itertools.count()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """An engine on a fresh, empty database of each supported kind (PostgreSQL: a new schema)."""
    if request.param == "sqlite":
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'state.db'}")
    else:
        socket_dir = request.getfixturevalue("registry_pg_socket")  # tests/governance/conftest.py
        schema = f"audit_{next(_schema_numbers)}"
        url = f"postgresql+psycopg://postgres@/postgres?host={socket_dir}"
        with sa.create_engine(url).begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
        engine = sa.create_engine(url, connect_args={"options": f"-c search_path={schema}"})
    yield engine
    engine.dispose()


@pytest.fixture
def trail(engine: sa.Engine) -> AuditTrail:
    trail = AuditTrail(engine)
    trail.ensure_schema()
    return trail


def _entry(hours: float = 0, **fields: object) -> AuditEntry:
    """An entry `hours` after T0 about version 3; `fields` override the defaults."""
    values: dict[str, object] = {
        "actor": "scheduler",
        "action": "evaluate",
        "model_name": "nbaprops-pts",
        "version": "3",
        **fields,
    }
    return audit_entry(T0 + dt.timedelta(hours=hours), **values)  # type: ignore[arg-type]


def test_ensure_schema_is_idempotent(engine: sa.Engine) -> None:
    trail = AuditTrail(engine)
    trail.ensure_schema()
    trail.ensure_schema()
    assert "audit_log" in sa.inspect(engine).get_table_names()
    trail.record(_entry())
    trail.ensure_schema()
    assert len(trail.since()) == 1


def test_record_and_read_back_with_the_decision(trail: AuditTrail) -> None:
    decision = decide(CANDIDATE, None, load_policy())
    entry = _entry(
        action="evaluate",
        from_state="candidate",
        to_state="staging",
        decision=decision,
        reason=decision.summary(),
    )
    new_id = trail.record(entry)
    (stored,) = trail.since()
    assert stored == dataclasses.replace(entry, id=new_id)
    assert stored.decision == decision.to_dict()
    assert stored.verdict == decision.verdict == "keep_in_staging"
    assert stored.at.tzinfo is dt.UTC


def test_time_is_stored_as_utc_whatever_the_callers_zone(trail: AuditTrail) -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    now = dt.datetime(2025, 1, 14, 9, 30, 15, 123456, tzinfo=paris)
    trail.record(audit_entry(now, actor="alice", action="force", model_name="nbaprops-pts"))
    (stored,) = trail.since()
    assert stored.at == now
    assert stored.at.tzinfo is dt.UTC
    assert (stored.at.hour, stored.at.microsecond) == (8, 123456)


def test_ids_increase_and_same_time_keeps_insertion_order(trail: AuditTrail) -> None:
    ids = [trail.record(_entry(0, action=a)) for a in ("register", "evaluate", "promote")]
    assert ids == sorted(ids)
    assert len(set(ids)) == 3
    assert [e.action for e in trail.since()] == ["register", "evaluate", "promote"]


def test_since_filters_by_time_and_limit_keeps_the_latest(trail: AuditTrail) -> None:
    for hour in range(5):
        trail.record(_entry(hour, reason=f"hour {hour}"))
    assert [e.reason for e in trail.since(T0 + dt.timedelta(hours=2))] == [
        "hour 2",
        "hour 3",
        "hour 4",
    ]
    assert [e.reason for e in trail.since(None, limit=2)] == ["hour 3", "hour 4"]
    assert [e.reason for e in trail.since(T0 + dt.timedelta(hours=1), limit=10)] == [
        "hour 1",
        "hour 2",
        "hour 3",
        "hour 4",
    ]
    assert trail.since(T0 + dt.timedelta(days=1)) == []


def test_for_version(trail: AuditTrail) -> None:
    trail.record(_entry(0, action="register", version="1"))
    trail.record(_entry(1, action="register", version="2"))
    trail.record(_entry(2, action="promote", version="2", from_state="staging", to_state="prod"))
    trail.record(_entry(3, action="rollback", version="1", to_state="production"))
    assert [e.action for e in trail.for_version("nbaprops-pts", 2)] == ["register", "promote"]
    assert [e.action for e in trail.for_version("nbaprops-pts", "1")] == ["register", "rollback"]
    assert trail.for_version("other-model", "1") == []


def test_records_are_never_modified_by_later_records(trail: AuditTrail) -> None:
    for hour, action in enumerate(ACTIONS):
        trail.record(_entry(hour, action=action, reason=action))
    before = trail.since()
    for hour in range(len(ACTIONS), len(ACTIONS) + 4):
        trail.record(_entry(hour, action="evaluate", version="3", reason="re-evaluated"))
    after = trail.since()
    assert after[: len(before)] == before
    assert len(after) == len(before) + 4


def test_the_trail_offers_no_way_to_change_history() -> None:
    public = [name for name in dir(AuditTrail) if not name.startswith("_")]
    assert sorted(public) == ["ensure_schema", "for_version", "record", "since"]


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_log SET reason = 'rewritten'", "DELETE FROM audit_log"],
)
def test_the_database_refuses_update_and_delete(
    trail: AuditTrail, engine: sa.Engine, statement: str
) -> None:
    trail.record(_entry(reason="original"))
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(sa.text(statement))
    (stored,) = trail.since()
    assert stored.reason == "original"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: _entry(action="delete"), "is not one of"),
        (lambda: _entry(actor=""), "actor is empty"),
        (
            lambda: audit_entry(
                dt.datetime(2025, 1, 1), actor="x", action="evaluate", model_name="m"
            ),
            "no timezone",
        ),
        (lambda: audit_entry(T0, actor="x", action="evaluate", model_name=""), "model_name"),
    ],
)
def test_bad_entries_are_refused(build: object, message: str) -> None:
    with pytest.raises(AuditError, match=message):
        build()  # type: ignore[operator]


def test_bad_entries_never_reach_the_table(trail: AuditTrail) -> None:
    naive = AuditEntry(dt.datetime(2025, 1, 1), "x", "evaluate", "m")
    with pytest.raises(AuditError, match="timezone"):
        trail.record(naive)
    with pytest.raises(AuditError, match="JSON"):
        trail.record(_entry(decision={"verdict": "promote", "value": float("nan")}))
    with pytest.raises(AuditError, match="not one of"):
        trail.record(dataclasses.replace(_entry(), action="erase"))
    assert trail.since() == []


def test_the_trail_survives_a_new_engine(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    first = AuditTrail(sa.create_engine(url))
    first.ensure_schema()
    first.record(_entry(reason="kept"))
    first.engine.dispose()
    second = AuditTrail(sa.create_engine(url))
    second.ensure_schema()
    assert [e.reason for e in second.since()] == ["kept"]
    second.engine.dispose()
