"""Registration, lifecycle moves, evaluation and rollback on a real SQLite MLflow store."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from governance.audit import AuditTrail
from governance.evidence import expected_pins, version_evidence
from governance.intents import pending_intents
from governance.invariants import check_invariants
from governance.lifecycle import Lifecycle
from governance.policy import Policy
from governance.promotion import (
    BadRequestError,
    NoPreviousVersion,
    PromotionRefused,
    TransitionError,
    promote,
)
from governance.registry import (
    NotRegistrableError,
    RegistrationIncompleteError,
    UnknownVersionError,
    VersionInfo,
    aliases_of,
    get_version,
    list_versions,
    register_run,
    resolve_version,
)
from jobs.cli.governance import Governance
from nbaprops.backtest.tracked import run_tracked_backtest
from nbaprops.data.feed import Feed
from nbaprops.training.prepare import prepare
from tests.support.backtests import QUICK_SPEC, production_experiment_id


def _command(gov: Governance, hours: float = 0, actor: str = "t") -> Lifecycle:
    """A fresh lifecycle for one command, `hours` after gov.now, as `actor`."""
    return dataclasses.replace(gov, now=gov.now + dt.timedelta(hours=hours), actor=actor)


def _register(gov: Governance, run_id: str, hours: float = 0) -> VersionInfo:
    return register_run(gov.client, gov.engine, run_id, gov.now + dt.timedelta(hours=hours), "t")


def _actions(gov: Governance, version: str | None = None) -> list[str]:
    trail = AuditTrail(gov.engine)
    entries = trail.since() if version is None else trail.for_version(gov.name, version)
    return [e.action for e in entries]


def _consistent(gov: Governance) -> None:
    assert check_invariants(gov.client, gov.name, AuditTrail(gov.engine)) == []
    assert pending_intents(gov.engine) == []


def _to_production(gov: Governance, version: str, policy: Policy, hours: float = 1) -> None:
    now = gov.now + dt.timedelta(hours=hours)
    promote(gov.client, gov.engine, gov.name, version, "staging", policy, now, "t")
    promote(gov.client, gov.engine, gov.name, version, "production", policy, now, "t")


def _refused_promotion(
    gov: Governance, run_id: str, policy: Policy, match: str
) -> PromotionRefused:
    """Register version 1, stage it and ask for production, which `policy` refuses."""
    _register(gov, run_id)
    promote(gov.client, gov.engine, gov.name, "1", "staging", policy, gov.now, "t")
    with pytest.raises(PromotionRefused, match=match) as refused:
        promote(gov.client, gov.engine, gov.name, "1", "production", policy, gov.now, "t")
    return refused.value


def test_register_tags_the_logged_model_and_audits_it(gov: Governance, run_id: str) -> None:
    info = _register(gov, run_id)
    assert (info.version, info.semver, info.lifecycle, info.aliases) == ("1", "v1.0.0", "none", ())
    assert info.source.startswith("models:/m-")
    assert info.tags["run_id"] == run_id
    assert info.tags["registered_at"] == gov.now.isoformat()
    assert {info.tags[k] for k in ("target", "model_type")} == {"PTS", "xgboost"}
    assert info.tags["feature_set_version"]
    (entry,) = AuditTrail(gov.engine).for_version(gov.name, "1")
    assert (entry.action, entry.to_state, entry.actor) == ("register", "none", "t")
    _consistent(gov)


def test_semver_follows_the_recipe_of_the_latest_version(
    gov: Governance, run_id: str, clone_run: Callable[..., str]
) -> None:
    semvers = [
        _register(gov, run_id).semver,
        _register(gov, run_id).semver,  # same recipe: a retrain
        _register(gov, clone_run(model_type="lightgbm")).semver,  # new recipe
        _register(gov, clone_run(model_type="lightgbm", target="REB")).semver,  # new product
    ]
    assert semvers == ["v1.0.0", "v1.0.1", "v1.1.0", "v2.0.0"]
    assert resolve_version(gov.client, gov.name, "v1.1.0").version == "3"
    _consistent(gov)


def test_unregistrable_runs_are_refused_and_change_nothing(
    gov: Governance, clone_run: Callable[..., str]
) -> None:
    with pytest.raises(NotRegistrableError, match="no run"):
        _register(gov, "0" * 32)
    with pytest.raises(NotRegistrableError, match="no logged model"):
        _register(gov, clone_run(model_uri="runs:/abc/model"))
    assert list_versions(gov.client, gov.name) == []
    assert _actions(gov) == []


def test_failed_registration_removes_the_half_registered_version(
    gov: Governance, run_id: str
) -> None:
    AuditTrail(gov.engine).ensure_schema()
    trigger = (
        "CREATE TRIGGER audit_full BEFORE INSERT ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    )
    with gov.engine.begin() as conn:
        conn.execute(sa.text(trigger))
    with pytest.raises(RegistrationIncompleteError, match="version 1 was removed"):
        _register(gov, run_id)
    assert list_versions(gov.client, gov.name) == []
    assert pending_intents(gov.engine) == []
    with gov.engine.begin() as conn:
        conn.execute(sa.text("DROP TRIGGER audit_full"))
    info = _register(gov, run_id)
    assert (info.version, info.semver) == ("2", "v1.0.0")
    _consistent(gov)


def test_lifecycle_staging_then_production_then_replaced(
    gov: Governance, run_id: str, permissive_policy: Policy
) -> None:
    first, second = _register(gov, run_id), _register(gov, run_id)
    _to_production(gov, first.version, permissive_policy, hours=1)
    one = get_version(gov.client, gov.name, "1")
    assert (one.lifecycle, one.aliases) == ("production", ("production",))
    assert one.tags["was_staging"] == "true"
    assert {"staging_at", "production_at"} <= set(one.tags)
    _consistent(gov)
    promote(gov.client, gov.engine, gov.name, second.version, "staging", permissive_policy,
            gov.now + dt.timedelta(hours=2), "t")  # fmt: skip
    assert aliases_of(gov.client, gov.name) == {"production": "1", "staging": "2"}
    # The champion has no backtest on the candidate's window: forced, with the reason kept.
    result = promote(
        gov.client, gov.engine, gov.name, second.version, "production", permissive_policy,
        gov.now + dt.timedelta(hours=3), "t", force=True, reason="hotfix for a scoring bug",
    )  # fmt: skip
    assert (result.action, result.displaced) == ("force", "1")
    assert aliases_of(gov.client, gov.name) == {"production": "2", "previous-production": "1"}
    one_after = get_version(gov.client, gov.name, "1")
    assert one_after.lifecycle == "archived"
    assert one_after.tags["archived_reason"] == "replaced in production by version 2"
    assert {k: v for k, v in one.tags.items() if k != "lifecycle"}.items() <= one_after.tags.items()
    assert _actions(gov, "1") == ["register", "promote", "evaluate", "promote", "archive"]
    assert _actions(gov, "2") == ["register", "promote", "evaluate", "force"]
    force = AuditTrail(gov.engine).for_version(gov.name, "2")[-1]
    assert force.reason == "hotfix for a scoring bug"
    assert force.decision is not None and force.verdict == "keep_in_staging"
    _consistent(gov)


def test_a_new_staging_candidate_archives_the_previous_one(
    gov: Governance, run_id: str, permissive_policy: Policy
) -> None:
    first, second = _register(gov, run_id), _register(gov, run_id)
    for version in (first.version, second.version):
        promote(gov.client, gov.engine, gov.name, version, "staging", permissive_policy,
                gov.now, "t")  # fmt: skip
    old = get_version(gov.client, gov.name, first.version)
    assert old.lifecycle == "archived"
    assert old.tags["archived_reason"] == "superseded in staging by version 2"
    assert aliases_of(gov.client, gov.name) == {"staging": "2"}
    _consistent(gov)


def test_moves_the_lifecycle_forbids_are_refused(
    gov: Governance, run_id: str, permissive_policy: Policy, strict_policy: Policy
) -> None:
    info = _register(gov, run_id)
    args = (gov.client, gov.engine, gov.name, info.version)
    with pytest.raises(TransitionError, match="only from staging"):
        promote(*args, "production", permissive_policy, gov.now, "t", force=True, reason="x")
    with pytest.raises(BadRequestError, match="--reason"):
        promote(*args, "production", permissive_policy, gov.now, "t", force=True)
    with pytest.raises(BadRequestError, match="staging or production"):
        promote(*args, "archived", permissive_policy, gov.now, "t")
    with pytest.raises(UnknownVersionError, match="registry list"):
        promote(gov.client, gov.engine, gov.name, "7", "staging", permissive_policy, gov.now, "t")
    promote(*args, "staging", strict_policy, gov.now, "t")
    with pytest.raises(TransitionError, match="is staging"):
        promote(*args, "staging", strict_policy, gov.now, "t")
    with pytest.raises(PromotionRefused):
        promote(*args, "production", strict_policy, gov.now, "t")
    with pytest.raises(TransitionError, match="is archived"):
        promote(*args, "staging", permissive_policy, gov.now, "t")
    _consistent(gov)


def test_version_metrics_overlay_the_latest_backtest(
    gov: Governance, run_id: str, log_backtest: Callable[..., str], window: str
) -> None:
    info = _register(gov, run_id)
    training = gov.client.get_run(run_id).data.metrics
    assert _command(gov).evidence.metrics(info.version) == training
    log_backtest(info.version, {"wf_roi": 0.01, "calibration_error": 0.9}, "2024-11-01..2024-12-01")
    run = log_backtest(info.version, {"wf_roi": 0.07, "calibration_error": 0.02, "bet_count": 812})
    crashed = log_backtest(info.version, {"wf_roi": 0.5})
    gov.client.set_terminated(crashed, status="FAILED")  # a crashed backtest is no evidence
    evidence = version_evidence(gov.client, gov.name, info.version)
    assert evidence is not None
    assert (evidence.backtest_run_id, evidence.window) == (run, window)
    assert evidence.metrics == {**training, "wf_roi": 0.07, "calibration_error": 0.02,
                                "bet_count": 812}  # fmt: skip


def test_evaluate_compares_with_the_champion_on_the_same_window_only(
    gov: Governance,
    run_id: str,
    permissive_policy: Policy,
    log_backtest: Callable[..., str],
    window: str,
) -> None:
    champion, candidate = _register(gov, run_id), _register(gov, run_id)
    _to_production(gov, champion.version, permissive_policy)
    log_backtest(candidate.version, {"wf_roi": 0.08})
    log_backtest(champion.version, {"wf_roi": 0.06}, "2024-10-01..2024-11-01")
    later = gov.now + dt.timedelta(hours=5)
    first = _command(gov, 5).evaluate("2", permissive_policy)
    assert (first.champion_version, first.window) == ("1", window)
    assert first.decision.verdict == "keep_in_staging"
    assert first.decision.reasons == (
        f"champion not backtested on {window}: run `nbaprops backtest --version 1 "
        "--start 2024-12-01`",
    )
    tags = get_version(gov.client, gov.name, "2").tags
    assert tags["verdict"] == "keep_in_staging"
    assert tags["last_decision_at"] == later.isoformat()
    assert json.loads(tags["last_decision"]) == first.decision.to_dict()
    log_backtest(champion.version, {"wf_roi": 0.06})
    second = _command(gov, 5).evaluate("2", permissive_policy)
    assert second.decision.verdict == "promote"
    assert second.champion_metrics is not None and second.champion_metrics["wf_roi"] == 0.06
    assert [c.metric for c in second.decision.champion_comparison] == ["val_mae"]
    evaluations = [e for e in AuditTrail(gov.engine).for_version(gov.name, "2")]
    assert [e.action for e in evaluations] == ["register", "evaluate", "evaluate"]
    assert evaluations[-1].decision == second.decision.to_dict()


def test_a_rejected_candidate_is_archived_with_its_reason(
    gov: Governance, run_id: str, strict_policy: Policy
) -> None:
    refused = _refused_promotion(gov, run_id, strict_policy, match="rejected and archived")
    assert refused.archived
    assert "fail accuracy: val_mae" in str(refused)
    after = get_version(gov.client, gov.name, "1")
    assert after.lifecycle == "archived"
    assert after.tags["rejected_reason"].startswith("reject: accuracy")
    assert aliases_of(gov.client, gov.name) == {}
    assert _actions(gov, "1") == ["register", "promote", "evaluate", "reject"]
    _consistent(gov)


def test_keep_in_staging_refuses_and_leaves_the_candidate_waiting(
    gov: Governance, run_id: str, waiting_policy: Policy
) -> None:
    refused = _refused_promotion(gov, run_id, waiting_policy, match="--force")
    assert not refused.archived
    assert get_version(gov.client, gov.name, "1").lifecycle == "staging"
    outcome = _command(gov, actor="scheduler").promote_if_qualified("1", waiting_policy)
    assert (outcome.action, outcome.to_state) == ("keep_in_staging", "staging")
    assert _actions(gov, "1") == ["register", "promote", "evaluate", "evaluate"]
    _consistent(gov)


def test_rollback_restores_the_previous_production_version(
    gov: Governance, run_id: str, permissive_policy: Policy
) -> None:
    _register(gov, run_id)
    _register(gov, run_id)
    _to_production(gov, "1", permissive_policy, hours=1)
    later = gov.now + dt.timedelta(hours=2)
    promote(gov.client, gov.engine, gov.name, "2", "staging", permissive_policy, later, "t")
    promote(gov.client, gov.engine, gov.name, "2", "production", permissive_policy, later, "t",
            force=True, reason="test")  # fmt: skip
    result = _command(gov, 3, "drift").rollback("live MAE drift")
    assert (result.rolled_back, result.restored) == ("2", "1")
    assert aliases_of(gov.client, gov.name) == {"production": "1"}
    two = get_version(gov.client, gov.name, "2")
    assert (two.lifecycle, two.tags["rollback_reason"]) == ("archived", "live MAE drift")
    one = get_version(gov.client, gov.name, "1")
    assert one.lifecycle == "production" and "restored_at" in one.tags
    assert "archived_reason" in one.tags  # its history stays
    assert _actions(gov, "2")[-1] == _actions(gov, "1")[-1] == "rollback"
    _consistent(gov)
    before = [v.to_dict() for v in list_versions(gov.client, gov.name)]
    with pytest.raises(NoPreviousVersion, match="nothing was changed"):
        _command(gov, 3).rollback("again")
    assert [v.to_dict() for v in list_versions(gov.client, gov.name)] == before


def test_rollback_without_production_changes_nothing(gov: Governance, run_id: str) -> None:
    _register(gov, run_id)
    with pytest.raises(NoPreviousVersion, match="no version in production"):
        _command(gov).rollback("why")
    assert _actions(gov) == ["register"]


def test_check_invariants_names_what_is_broken(gov: Governance, run_id: str) -> None:
    _register(gov, run_id)
    _register(gov, run_id)
    gov.client.set_registered_model_alias(gov.name, "production", "1")
    gov.client.set_model_version_tag(gov.name, "2", "lifecycle", "production")
    gov.client.set_model_version_tag(gov.name, "2", "production_at", gov.now.isoformat())
    gov.client.set_registered_model_alias(gov.name, "previous-production", "2")
    problems = check_invariants(gov.client, gov.name)
    assert any("alias production is on ['1'] but lifecycle=production on ['2']" in p
               for p in problems)  # fmt: skip
    assert any("without being in staging" in p for p in problems)
    assert any("previous-production is on version 2" in p for p in problems)


def test_real_walk_forward_backtests_feed_the_champion_comparison(
    gov: Governance, run_id: str, permissive_policy: Policy, small_feed: Feed
) -> None:
    """The tags the backtest job writes (model_version, backtest_window) are the ones read."""
    for _ in range(2):
        _register(gov, run_id)
    _to_production(gov, "1", permissive_policy)
    promote(gov.client, gov.engine, gov.name, "2", "staging", permissive_policy, gov.now, "t")
    data = prepare(small_feed, "PTS", "full")
    experiment_id = production_experiment_id(gov.client)
    for version in ("2", "1"):
        run_tracked_backtest(
            data, QUICK_SPEC, experiment_id, dt.date(2025, 1, 13),
            extra_tags={"model_version": version, **expected_pins(gov.client, run_id)},
            client=gov.client,
        )  # fmt: skip
    result = _command(gov, actor="scheduler").promote_if_qualified("2", permissive_policy)
    evaluation = result.evaluation
    assert evaluation is not None
    assert evaluation.window is not None and evaluation.window.startswith("2025-03-15..")
    assert evaluation.champion_metrics is not None
    assert evaluation.candidate_metrics["bet_count"] > 0
    assert "wf_roi" in evaluation.champion_metrics
    assert [c.passed for c in evaluation.decision.champion_comparison] == [True]
    assert (result.action, result.to_state, result.displaced) == ("promote", "production", "1")
    _consistent(gov)
