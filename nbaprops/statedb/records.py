"""Rows of the state database read back as frozen dataclasses, one field per column.

The audit trail, the registry intents and the job history each keep a table whose columns are
the fields of one dataclass; `fetch_records` reads a query's rows into that dataclass, so the
column-to-field mapping is written once rather than once per table. Text columns that hold JSON
(or any other encoded value) are decoded by the functions the caller names per column.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Engine, Executable, RowMapping

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Record = TypeVar("Record", bound="DataclassInstance")
#: Per column, how a stored non-NULL value becomes the field's value (NULL stays None).
Decoders = Mapping[str, Callable[[Any], Any]]


def record_from_row(cls: type[Record], row: RowMapping, decoders: Decoders | None = None) -> Record:
    """One row as `cls`, each field read from the column of the same name."""
    decoders = decoders or {}
    values = {}
    for field in dataclasses.fields(cls):
        value = row[field.name]
        decode = decoders.get(field.name)
        values[field.name] = value if decode is None or value is None else decode(value)
    return cls(**values)


def fetch_records(
    engine: Engine, query: Executable, cls: type[Record], decoders: Decoders | None = None
) -> list[Record]:
    """Every row `query` returns, in its order, as `cls` (see `record_from_row`)."""
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [record_from_row(cls, row, decoders) for row in rows]


__all__ = ["Decoders", "fetch_records", "record_from_row"]
