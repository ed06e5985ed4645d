"""One command reads the registry once: each version once, the intents repaired once, and the
backtest evidence searched in the evidence experiment only.

The client is a real MlflowClient on the test's SQLite store that also counts what it is asked;
the state database is real too, and its queries are counted with SQLAlchemy's own events.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from mlflow.entities import Experiment, Run
from mlflow.entities.model_registry import ModelVersion, RegisteredModel
from mlflow.store.entities import PagedList
from mlflow.tracking import MlflowClient

from governance.audit import AuditTrail, audit_entry
from governance.evidence import EVIDENCE_EXPERIMENT
from governance.intent_steps import audit_step, set_tags
from governance.intents import pending_intents, write_intent
from governance.invariants import check_invariants
from governance.lifecycle import Lifecycle
from governance.policy import Policy
from governance.promotion import promote
from governance.registry import aliases_of, get_version, register_run
from nbaprops.settings import Settings


class CountingClient(MlflowClient):
    """A real MlflowClient that counts the registry reads and run searches it makes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reads: Counter[tuple[str, str]] = Counter()
        self.searches: list[tuple[list[str], str, int]] = []

    def _count(self, call: str, what: str) -> None:
        """Count a read asked for by project code; MLflow's own checks inside its writes (a
        set_model_version_tag looks the model up first) are not reads the project makes."""
        caller = sys._getframe(2).f_globals.get("__name__", "")
        if not caller.startswith("mlflow"):
            self.reads[call, what] += 1

    def get_model_version(self, name: str, version: str) -> ModelVersion:
        self._count("get_model_version", str(version))
        return super().get_model_version(name, version)

    def get_registered_model(self, name: str) -> RegisteredModel:
        self._count("get_registered_model", name)
        return super().get_registered_model(name)

    def search_experiments(self, *args: Any, **kwargs: Any) -> PagedList[Experiment]:
        self._count("search_experiments", "")
        return super().search_experiments(*args, **kwargs)

    def search_runs(self, experiment_ids: Any, *args: Any, **kwargs: Any) -> PagedList[Run]:
        ids = [experiment_ids] if isinstance(experiment_ids, str) else list(experiment_ids)
        self.searches.append((ids, kwargs["filter_string"], kwargs["max_results"]))
        return super().search_runs(experiment_ids, *args, **kwargs)


@pytest.fixture
def pending_reads(gov: Lifecycle) -> Iterator[Callable[[], int]]:
    """How many times the state database was asked for the incomplete intents."""
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM registry_intents" in statement and "completed_at IS NULL" in statement:
            seen.append(statement)

    sa.event.listen(gov.engine, "before_cursor_execute", count)
    yield lambda: len(seen)
    sa.event.remove(gov.engine, "before_cursor_execute", count)


def test_one_promotion_reads_each_version_once_and_repairs_once(
    gov: Lifecycle,
    store_settings: Settings,
    run_id: str,
    permissive_policy: Policy,
    log_backtest: Callable[..., str],
    pending_reads: Callable[[], int],
) -> None:
    for _ in range(2):
        register_run(gov.client, gov.engine, run_id, gov.now, "setup")
    for version, to in (("1", "staging"), ("1", "production"), ("2", "staging")):
        promote(gov.client, gov.engine, gov.name, version, to, permissive_policy, gov.now,
                "setup", force=to == "production", reason="setup")  # fmt: skip
    log_backtest("1", {"wf_roi": 0.05})
    log_backtest("2", {"wf_roi": 0.06})
    # A move a killed process left half-done: its intent is written, none of its steps applied.
    entry = audit_entry(gov.now, actor="killed", action="evaluate", model_name=gov.name)
    half_done = [set_tags("1", {"verdict": "promote"}), audit_step(entry)]
    write_intent(gov.engine, gov.now, gov.name, "1", "evaluate", half_done)
    uri = store_settings.resolved_tracking_uri
    client = CountingClient(tracking_uri=uri, registry_uri=uri)
    before = pending_reads()

    command = Lifecycle(client, gov.engine, gov.name, gov.now + dt.timedelta(hours=1), "cli:t")
    assert command.repair() != []  # the CLI repairs first, to say what it completed
    result = command.promote("2", "production", permissive_policy)

    assert (result.action, result.to_state, result.displaced) == ("promote", "production", "1")
    assert result.evaluation is not None and result.evaluation.champion_metrics is not None
    assert pending_reads() - before == 1  # the command's own moves did not repair again
    assert pending_intents(gov.engine) == []
    assert [e.action for e in AuditTrail(gov.engine).since()].count("repair") == 1
    assert client.reads["get_model_version", "1"] == 1
    assert client.reads["get_model_version", "2"] == 1
    # The aliases are read once; the move's delete_alias step checks its alias once more.
    assert client.reads["get_registered_model", gov.name] == 2
    assert client.reads["search_experiments", ""] == 0  # never every experiment
    evidence = client.get_experiment_by_name(EVIDENCE_EXPERIMENT)
    assert evidence is not None
    evidence_id = evidence.experiment_id
    assert [ids for ids, _, _ in client.searches] == [[evidence_id], [evidence_id]]
    assert {limit for _, _, limit in client.searches} == {1}
    candidate, champion = (text for _, text, _ in client.searches)
    assert "model_version = '2'" in candidate and "backtest_window" not in candidate
    assert "model_version = '1'" in champion and "backtest_window" in champion
    # What the command read after its own writes is what the store now holds.
    assert command.view.aliases() == aliases_of(gov.client, gov.name)
    for version in ("1", "2"):
        fresh = get_version(gov.client, gov.name, version).to_dict()
        assert command.view.version(version).to_dict() == fresh
    assert check_invariants(gov.client, gov.name, AuditTrail(gov.engine)) == []


def test_a_failed_move_makes_the_same_command_repair_before_its_next_one(
    gov: Lifecycle, run_id: str, permissive_policy: Policy, pending_reads: Callable[[], int]
) -> None:
    class Crash(Exception):
        """Stands for the store failing after the first step."""

    def crash(applied: int) -> None:
        raise Crash(applied)

    register_run(gov.client, gov.engine, run_id, gov.now, "setup")
    command = Lifecycle(gov.client, gov.engine, gov.name, gov.now, "t")
    command.stage("1")
    with pytest.raises(Crash):
        command.promote("1", "production", permissive_policy, after_step=crash)
    assert len(pending_intents(gov.engine)) == 1
    before = pending_reads()
    with pytest.raises(ValueError, match="reason"):
        command.rollback(" ")  # refused before touching anything: no repair needed
    assert pending_reads() == before
    assert command.repair() != []
    assert aliases_of(gov.client, gov.name) == {"production": "1"}
    assert command.view.by_alias("production") == get_version(gov.client, gov.name, "1")
    assert check_invariants(gov.client, gov.name, AuditTrail(gov.engine)) == []
