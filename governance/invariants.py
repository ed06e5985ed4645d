"""The registry's lifecycle invariants, checked against the live registry (and audit trail).

Used by the tests after every operation and available to operators (`check_invariants` returns
the broken rules in words). The rules:
- every alias points at a live version;
- alias production <-> lifecycle=production, on exactly the same version (so at most one
  Production version); the same for staging;
- previous-production points at an archived version that was in production;
- semver tags do not repeat; every version has the core tags and a known lifecycle, with the
  `<state>_at` timestamp of its current state (archived versions keep all their tags);
- a version that was ever in production (production_at) went through staging (was_staging);
- with an audit trail: every version has its register row, and every move an audited one.
"""

from __future__ import annotations

from mlflow.tracking import MlflowClient

from governance.audit import AuditTrail
from governance.registry import (
    CORE_TAGS,
    LIFECYCLES,
    MODEL_NAME,
    PREVIOUS_PRODUCTION,
    PRODUCTION,
    STAGING,
    aliases_of,
    list_versions,
)


def check_invariants(
    client: MlflowClient, name: str = MODEL_NAME, trail: AuditTrail | None = None
) -> list[str]:
    """Every broken lifecycle rule, in words; an empty list means the registry is consistent.

    With a `trail`, also checks that every version's history is in the audit trail.
    """
    problems: list[str] = []
    versions = list_versions(client, name)
    by_number = {v.version: v for v in versions}
    aliases = aliases_of(client, name)
    for alias, target in aliases.items():
        if target not in by_number:
            problems.append(f"alias {alias} points at version {target}, which does not exist")
    for state, alias in (("production", PRODUCTION), ("staging", STAGING)):
        holders = sorted(v.version for v in versions if v.lifecycle == state)
        expected = [aliases[alias]] if alias in aliases else []
        if holders != expected:
            problems.append(
                f"alias {alias} is on {expected or 'no version'} but lifecycle={state} on "
                f"{holders or 'no version'}"
            )
    previous = by_number.get(aliases.get(PREVIOUS_PRODUCTION, ""))
    if previous is not None and (
        previous.lifecycle != "archived" or "production_at" not in previous.tags
    ):
        problems.append(
            f"previous-production is on version {previous.version}, which is "
            f"{previous.lifecycle} and was {'' if 'production_at' in previous.tags else 'never '}"
            "in production"
        )
    semvers = [v.semver for v in versions if v.semver]
    if len(semvers) != len(set(semvers)):
        problems.append(f"semver tags repeat: {semvers}")
    for v in versions:
        missing = [t for t in CORE_TAGS if not v.tags.get(t)]
        if missing:
            problems.append(f"version {v.version} lacks the tags {', '.join(missing)}")
        if v.lifecycle not in LIFECYCLES:
            problems.append(f"version {v.version} has lifecycle {v.lifecycle!r}")
        elif v.lifecycle != "none" and f"{v.lifecycle}_at" not in v.tags:
            problems.append(f"version {v.version} is {v.lifecycle} without {v.lifecycle}_at")
        if "production_at" in v.tags and v.tags.get("was_staging") != "true":
            problems.append(f"version {v.version} reached production without being in staging")
        if trail is not None:
            actions = [e.action for e in trail.for_version(name, v.version)]
            if "register" not in actions:
                problems.append(f"version {v.version} has no register row in the audit trail")
            if v.lifecycle != "none" and len(actions) < 2:
                problems.append(f"version {v.version} is {v.lifecycle} without an audited move")
    return problems


__all__ = ["check_invariants"]
