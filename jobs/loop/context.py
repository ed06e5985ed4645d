"""What every job needs, built once per job run: settings, store clients, policy, the feed, a clock,
and the feature frames its steps share.

This is the one place that wires the lab (nbaprops) and the rules (governance) for operations.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache

import sqlalchemy as sa
from mlflow.tracking import MlflowClient

from governance.audit import AuditTrail
from governance.policy import Policy
from jobs.loop.season_clock import season_day
from jobs.wiring import App
from nbaprops.data.feed import Feed
from nbaprops.data.shift import parse_scoring_shift, with_scoring_shift
from nbaprops.data.sources import source_from_settings
from nbaprops.settings import Settings
from nbaprops.training.prepare import PreparedData, prepare

SCHEDULER_ACTOR = "scheduler"
JOB_HOUR_UTC = 12


@lru_cache(maxsize=2)
def _cached_feed(settings_json: str) -> Feed:
    settings = Settings.model_validate_json(settings_json)
    feed = source_from_settings(settings).load()
    if settings.scoring_shift:
        start, factor = parse_scoring_shift(settings.scoring_shift)
        feed = with_scoring_shift(feed, start, factor)
    return feed


def load_feed(settings: Settings) -> Feed:
    """The configured feed, generated or read once per process (a replay reuses it daily)."""
    return _cached_feed(settings.model_dump_json())


def job_clock(run_for: dt.date, real_now: dt.datetime) -> dt.datetime:
    """The time a job's records carry: now for today's run, noon UTC of the day for a replay."""
    if run_for == real_now.date():
        return real_now
    return dt.datetime.combine(run_for, dt.time(JOB_HOUR_UTC), tzinfo=dt.UTC)


@dataclass
class JobContext:
    """Settings, MLflow client, state engine, audit trail, policy and clock of one job run."""

    settings: Settings
    run_for: dt.date
    now: dt.datetime
    client: MlflowClient
    engine: sa.Engine
    audit: AuditTrail
    policy: Policy
    actor: str = SCHEDULER_ACTOR
    _known_features: dict[tuple[str, str], PreparedData] = field(
        default_factory=dict, init=False, repr=False
    )

    @property
    def replayed_start(self) -> dt.datetime | None:
        """The start time runs carry when this is a replayed (past) day; None for today."""
        return None if self.run_for == dt.datetime.now(dt.UTC).date() else self.now

    @property
    def model_name(self) -> str:
        """The registered model the loop governs."""
        return self.settings.registered_model

    def feed(self) -> Feed:
        """The whole feed; jobs cut it with known_before(run_for) themselves."""
        return load_feed(self.settings)

    def known_features(self, target: str, feature_set: str) -> PreparedData:
        """Features of the games known before run_for, which every step of a run sees alike:
        built on the first request and kept for the run, so the candidate's and the champion's
        backtest of one recipe share one build."""
        key = (target, feature_set)
        if key not in self._known_features:
            known = self.feed().known_before(self.run_for)
            self._known_features[key] = prepare(known, target, feature_set)
        return self._known_features[key]

    def experiment_id(self, name: str) -> str:
        """Id of one of the project's experiments (created by init_tracking)."""
        experiment = self.client.get_experiment_by_name(name)
        assert experiment is not None, f"experiment {name} missing: init_tracking creates it"
        return str(experiment.experiment_id)


def feed_day(settings: Settings, day: dt.date) -> dt.date:
    """The day a job acts on: `day`, or its synthetic-clock day (jobs.loop.season_clock)."""
    if settings.data.strip().lower() != "synthetic" or not settings.synthetic_clock:
        return day
    return season_day(day, [d.date() for d in load_feed(settings).dates])


def job_context(settings: Settings, run_for: dt.date, actor: str = SCHEDULER_ACTOR) -> JobContext:
    """Build the context of one job run from the one wiring point (jobs.wiring.App)."""
    app = App.from_settings(settings)
    run_for = feed_day(settings, run_for)
    return JobContext(
        settings=settings,
        run_for=run_for,
        now=job_clock(run_for, app.clock()),
        client=app.client,
        engine=app.engine,
        audit=app.audit(),
        policy=app.policy,
        actor=actor,
    )
