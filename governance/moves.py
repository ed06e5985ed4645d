"""Registry moves planned as intent steps: pure functions of the versions involved and `now`.

Each plan is the full list of idempotent steps of one move (tags, aliases, audit rows), so the
move can be written down before it starts and re-applied after a crash (governance/intents.py).
The rules they encode:
- to staging: the version enters staging (alias + lifecycle, was_staging=true); a version
  already in staging is superseded and archived (one staging candidate at a time).
- to production (promote or force): the old Production version is archived and takes the
  `previous-production` alias (moved off any older version); the new one takes `production`
  and lifecycle production, and drops its `staging` alias.
- reject: the candidate stays registered but is archived with rejected_reason, off staging.
- rollback: the Production version is archived with rollback_reason; the previous-production
  version is restored (alias + lifecycle) and the previous-production alias is removed, so a
  second rollback needs a new promotion first (kept simple on purpose: no chain of restores).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from governance.audit import audit_entry
from governance.decision import Decision
from governance.intent_steps import Step, audit_step, delete_alias, set_alias, set_tags
from governance.registry import PREVIOUS_PRODUCTION, PRODUCTION, STAGING, VersionInfo, timestamp


def _enter(state: str, now: dt.datetime, **extra: str) -> dict[str, str]:
    """Tags for a version entering `state` now."""
    return {"lifecycle": state, f"{state}_at": timestamp(now), **extra}


def _audit(
    now: dt.datetime,
    actor: str,
    action: str,
    info: VersionInfo,
    to_state: str,
    reason: str,
    decision: Decision | Mapping[str, Any] | None = None,
) -> Step:
    entry = audit_entry(
        now,
        actor=actor,
        action=action,
        model_name=info.name,
        version=info.version,
        from_state=info.lifecycle,
        to_state=to_state,
        decision=decision,
        reason=reason,
    )
    return audit_step(entry)


def plan_to_staging(
    info: VersionInfo, current: VersionInfo | None, now: dt.datetime, actor: str, reason: str
) -> list[Step]:
    """Move `info` into staging, archiving `current` (the staging version) if there is one."""
    steps: list[Step] = []
    if current is not None and current.version != info.version:
        why = f"superseded in staging by version {info.version}"
        steps += [
            set_tags(current.version, _enter("archived", now, archived_reason=why)),
            _audit(now, actor, "archive", current, "archived", why),
        ]
    steps += [
        set_alias(STAGING, info.version),
        set_tags(info.version, _enter("staging", now, was_staging="true")),
        _audit(now, actor, "promote", info, "staging", reason or "moved to staging"),
    ]
    return steps


def plan_to_production(
    info: VersionInfo,
    current: VersionInfo | None,
    now: dt.datetime,
    actor: str,
    action: str,
    reason: str,
    decision: Decision,
) -> list[Step]:
    """Move `info` (a staging version) into production, archiving `current` Production."""
    steps: list[Step] = []
    if current is not None and current.version != info.version:
        why = f"replaced in production by version {info.version}"
        archived = _enter("archived", now, archived_reason=why, replaced_by=info.version)
        steps += [
            set_tags(current.version, archived),
            set_alias(PREVIOUS_PRODUCTION, current.version),
            _audit(now, actor, "archive", current, "archived", why),
        ]
    promoted = _enter("production", now, promoted_by=actor, promotion_action=action)
    steps += [
        set_alias(PRODUCTION, info.version),
        set_tags(info.version, promoted),
        delete_alias(STAGING, info.version),
        _audit(now, actor, action, info, "production", reason, decision),
    ]
    return steps


def plan_reject(info: VersionInfo, now: dt.datetime, actor: str, decision: Decision) -> list[Step]:
    """Archive a rejected candidate with the decision's summary as rejected_reason."""
    why = decision.summary()
    return [
        set_tags(info.version, _enter("archived", now, rejected_reason=why)),
        delete_alias(STAGING, info.version),
        _audit(now, actor, "reject", info, "archived", why, decision),
    ]


def plan_rollback(
    current: VersionInfo, previous: VersionInfo, now: dt.datetime, actor: str, reason: str
) -> list[Step]:
    """Archive Production `current` and restore `previous` (the previous-production version)."""
    restored = f"restored by the rollback of version {current.version}: {reason}"
    return [
        set_tags(current.version, _enter("archived", now, rollback_reason=reason)),
        set_alias(PRODUCTION, previous.version),
        set_tags(previous.version, _enter("production", now, restored_at=timestamp(now))),
        delete_alias(PREVIOUS_PRODUCTION, previous.version),
        _audit(now, actor, "rollback", current, "archived", reason),
        _audit(now, actor, "rollback", previous, "production", restored),
    ]


__all__ = ["plan_reject", "plan_rollback", "plan_to_production", "plan_to_staging"]
