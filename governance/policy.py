"""The promotion and drift policy: a TOML file read into frozen dataclasses and checked at load.

A policy that could silently weaken the gate (a typo in a metric, a comparison in the wrong
direction, a threshold that is not a number) is refused with a `PolicyError` naming the file,
the criterion and what to change.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast

Direction = Literal["lower", "higher"]
Op = Literal["<", "<=", ">", ">="]
Severity = Literal["reject", "keep_in_staging"]

OPS: tuple[str, ...] = ("<", "<=", ">", ">=")
SEVERITIES: tuple[str, ...] = ("reject", "keep_in_staging")
DEFAULT_POLICY_FILE = "policy.toml"
POLICY_VERSION = 1

# Every metric the system logs that a policy may name, by its base name, with the direction
# that is better. A logged name is a base name, optionally with a window prefix (val_, train_,
# wf_ for the walk-forward backtest, live_) and/or a season suffix such as _2023_24: val_mae,
# wf_roi, wf_bet_count, wf_mae_2023_24, wf_mae_tier1_stars.
KNOWN_METRICS: Mapping[str, Direction] = {
    # accuracy of the point prediction (nbaprops.training.regression_metrics)
    "mae": "lower",
    "rmse": "lower",
    "r2": "higher",
    "mape": "lower",
    "mae_tier1_stars": "lower",
    "mae_tier2_rotation": "lower",
    "mae_tier3_bench": "lower",
    "mae_home": "lower",
    "mae_away": "lower",
    "mae_b2b": "lower",
    "baseline_mae": "lower",
    "oracle_mae": "lower",
    "mae_vs_baseline": "lower",
    "mae_vs_oracle": "lower",
    "mae_props": "lower",
    # against the market, on the player-games with a line (nbaprops.backtest.market)
    "mae_lined": "lower",
    "baseline_mae_lined": "lower",
    "consensus_line_mae": "lower",
    "lined_rows": "higher",
    # probabilities over the lines (nbaprops.training.evaluation)
    "calibration_error": "lower",
    "calibration_error_raw": "lower",
    "brier_score": "lower",
    "brier_score_raw": "lower",
    "sharpness": "higher",
    "sharpness_raw": "higher",
    "over_accuracy": "higher",
    "n_val_props": "higher",
    "n_scored_props": "higher",
    # betting (nbaprops.betting.ledger SUMMARY_KEYS, logged with the wf_ prefix)
    "bet_count": "higher",
    "win_rate": "higher",
    "roi": "higher",
    "roi_kelly": "higher",
    "clv": "higher",
    "clv_line": "higher",
    "max_drawdown": "lower",
    "max_drawdown_kelly": "lower",
    "sharpe_ratio": "higher",
    "sharpe_ratio_kelly": "higher",
    "kelly_criterion": "higher",
    "bankroll_growth_kelly": "higher",
    "roi_edge_small": "higher",
    "roi_edge_medium": "higher",
    "roi_edge_large": "higher",
    "roi_lower_95": "higher",
    "win_rate_lower_95": "higher",
    "win_rate_p_value": "lower",
    # plausibility guard of the walk-forward backtest (1.0 = results imply future data)
    "leakage_suspected": "lower",
    # pushes and voids, counted apart from bet_count
    "push_count": "lower",
    "void_count": "lower",
    # price sanity and where the profit comes from (nbaprops.betting.price_sanity, concentration)
    "books_set_aside": "lower",
    "props_refused": "lower",
    "props_refused_two_way": "lower",
    "edge_concentration": "lower",
    "edge_share_top_book": "lower",
}
# Families of logged breakdowns whose last part comes from the data (a bookmaker, a price band,
# a player tier): roi_book_fanduel, bets_band_fav, wf_roi_tier_star.
BREAKDOWN_PREFIXES: Mapping[str, Direction] = {
    "roi_book_": "higher",
    "roi_band_": "higher",
    "roi_tier_": "higher",
    "bets_book_": "higher",
    "bets_band_": "higher",
}
# Metrics the system logs that describe a run rather than rank a model: sizes and timings, the
# per-fold figures of a backtest's child runs and the drift check's monitoring run. They are
# known, so a policy naming one is told why it cannot, not that the name is misspelt.
UNRANKED_METRICS: frozenset[str] = frozenset(
    {
        "n_estimators",
        "n_features",
        "n_train",
        "n_test",
        "training_time",
        "tracking_overhead_seconds",
        "fit_seconds",
        "fold_mae",
        "fold_roi",
        "psi_max",
        "prediction_psi",
        "live_mae_ratio",
        "live_settled_count",
        "rolling_calibration_error",
        "breached",
    }
)
WINDOW_PREFIXES: tuple[str, ...] = ("val_", "train_", "wf_", "live_")

_SEASON_SUFFIX = re.compile(r"_\d{4}_\d{2}$")
_DIRECTION_WORDS: Mapping[Direction, str] = {
    "lower": "lower is better",
    "higher": "higher is better",
}


class PolicyError(ValueError):
    """A policy file that cannot be trusted to gate promotions; the message says what to fix."""


def metric_direction(metric: str) -> Direction | None:
    """Whether lower or higher is better for a logged metric; None for a metric nobody logs."""
    for name in (metric, _SEASON_SUFFIX.sub("", metric)):
        bases = [name, *(name.removeprefix(p) for p in WINDOW_PREFIXES if name.startswith(p))]
        for base in bases:
            if base in KNOWN_METRICS:
                return KNOWN_METRICS[base]
            for prefix, direction in BREAKDOWN_PREFIXES.items():
                if base.startswith(prefix) and len(base) > len(prefix):
                    return direction
    return None


def is_known_metric(metric: str) -> bool:
    """Whether the system logs a metric of this name, ranked (with a direction) or not."""
    return metric_direction(metric) is not None or metric in UNRANKED_METRICS


def op_direction(op: str) -> Direction:
    """The direction an operator asks for: '<' and '<=' want lower values."""
    return "lower" if op.startswith("<") else "higher"


def compare(value: float, op: str, threshold: float) -> bool:
    """`value op threshold` for one of the four comparison operators."""
    if op == "<":
        return value < threshold
    if op == "<=":
        return value <= threshold
    if op == ">":
        return value > threshold
    if op == ">=":
        return value >= threshold
    raise ValueError(f"unknown comparison operator {op!r}; use one of {', '.join(OPS)}")


@dataclass(frozen=True)
class Criterion:
    """One absolute promotion criterion: `metric op threshold` must hold.

    `on_fail` says what a failure means; `reject_at` escalates a soft failure to a rejection at
    or beyond that value; `min_count` leaves the criterion unevaluated (and failed) while the
    sample behind it, `count_metric` (e.g. the number of bets or of scored props), is smaller.
    """

    name: str
    metric: str
    op: Op
    threshold: float
    on_fail: Severity
    description: str = ""
    reject_at: float | None = None
    min_count: int | None = None
    count_metric: str | None = None

    @property
    def direction(self) -> Direction:
        """Which way is better for this criterion's metric."""
        return op_direction(self.op)


@dataclass(frozen=True)
class ChampionComparison:
    """The candidate may be worse than the champion on `metric` by at most `max_worse_by`."""

    metric: str
    max_worse_by: float
    direction: Direction
    description: str = ""


@dataclass(frozen=True)
class ChampionRule:
    """Champion vs challenger, both scored on the same backtest window."""

    comparisons: tuple[ChampionComparison, ...]
    on_fail: Severity = "keep_in_staging"


@dataclass(frozen=True)
class DriftPolicy:
    """Thresholds of the daily drift monitor (see governance/drift.py)."""

    psi_moderate: float = 0.1
    psi_major: float = 0.25
    psi_bins: int = 10
    ks_statistic: float = 0.1
    ks_breaches: bool = False
    key_features: tuple[str, ...] = ()
    live_mae_ratio: float = 1.10
    mae_window: int = 500
    min_settled_predictions: int = 300
    calibration_window: int = 1000
    calibration_error_limit: float = 0.06
    min_calibration_bets: int = 1000


@dataclass(frozen=True)
class Policy:
    """A whole policy: absolute criteria, the champion rule and the drift thresholds."""

    criteria: tuple[Criterion, ...]
    champion: ChampionRule
    drift: DriftPolicy
    sample_size_metric: str = "wf_bet_count"
    source: str = "<memory>"
    digest: str = ""

    def criterion(self, name: str) -> Criterion:
        """The criterion called `name`; KeyError naming the known ones otherwise."""
        for item in self.criteria:
            if item.name == name:
                return item
        known = ", ".join(c.name for c in self.criteria)
        raise KeyError(f"no criterion {name!r} in {self.source}; known: {known}")


def load_policy(path: Path | None = None) -> Policy:
    """Read and check a policy file; None reads the default shipped inside the package."""
    if path is None:
        source = f"governance/{DEFAULT_POLICY_FILE} (packaged default)"
        text = resources.files("governance").joinpath(DEFAULT_POLICY_FILE).read_text("utf-8")
    else:
        source = str(path)
        try:
            text = Path(path).read_text("utf-8")
        except FileNotFoundError as exc:
            raise PolicyError(
                f"{source}: policy file not found; pass an existing file or None for the default"
            ) from exc
        except UnicodeDecodeError as exc:
            raise PolicyError(f"{source}: not UTF-8 text; save the policy as UTF-8") from exc
    return parse_policy(text, source=source)


def parse_policy(text: str, source: str = "<memory>") -> Policy:
    """Parse and check policy TOML text; `source` names it in error messages."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML: {exc}; fix the syntax there") from exc
    reader = _Reader(source)
    top_level = {"version", "sample_size_metric", "criteria", "champion", "drift"}
    reader.keys(raw, "the top level", top_level)
    version = raw.get("version", POLICY_VERSION)
    if version != POLICY_VERSION:
        raise PolicyError(
            f"{source}: version = {version!r} is not supported; this nbaprops reads "
            f"version = {POLICY_VERSION} policies"
        )
    sample_size_metric = reader.string(raw, "sample_size_metric", "the top level", "wf_bet_count")
    reader.metric(sample_size_metric, "sample_size_metric")
    criteria = reader.criteria(raw.get("criteria"), sample_size_metric)
    champion = reader.champion(raw.get("champion", {}))
    drift = reader.drift(raw.get("drift", {}))
    return Policy(
        criteria=criteria,
        champion=champion,
        drift=drift,
        sample_size_metric=sample_size_metric,
        source=source,
        digest=hashlib.sha256(text.encode("utf-8")).hexdigest()[:16],
    )


class _Reader:
    """Typed access to the raw TOML tables, raising PolicyError with file and place."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, problem: str) -> PolicyError:
        return PolicyError(f"{self.source}: {where}: {problem}")

    def keys(self, table: Mapping[str, Any], where: str, allowed: set[str]) -> None:
        unknown = sorted(set(table) - allowed)
        if unknown:
            raise self.fail(
                where,
                f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}",
            )

    def table(self, value: Any, where: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(where, "must be a table, e.g. [drift] or [[criteria]]")
        return value

    def number(self, table: Mapping[str, Any], key: str, where: str, default: Any = None) -> float:
        value = table.get(key, default)
        if value is None:
            raise self.fail(where, f"'{key}' is missing; give it a number")
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise self.fail(where, f"'{key}' = {value!r} is not a number; write e.g. {key} = 0.05")
        return float(value)

    def integer(self, table: Mapping[str, Any], key: str, where: str, default: Any = None) -> int:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.fail(where, f"'{key}' = {value!r} must be a positive whole number")
        return value

    def string(self, table: Mapping[str, Any], key: str, where: str, default: Any = None) -> str:
        value = table.get(key, default)
        if not isinstance(value, str) or not value:
            raise self.fail(where, f"'{key}' = {value!r} must be a non-empty string")
        return value

    def severity(self, table: Mapping[str, Any], where: str, default: str) -> Severity:
        value = table.get("on_fail", default)
        if value not in SEVERITIES:
            raise self.fail(where, f"on_fail = {value!r}; use one of {', '.join(SEVERITIES)}")
        return cast(Severity, value)

    def metric(self, metric: str, where: str) -> Direction:
        direction = metric_direction(metric)
        if direction is None and metric in UNRANKED_METRICS:
            raise self.fail(
                where,
                f"metric {metric!r} describes a run (a size, a timing or a monitoring figure) "
                "and has no better direction; name a metric that ranks models, such as val_mae",
            )
        if direction is None:
            spelled = [*KNOWN_METRICS, *(p + m for p in WINDOW_PREFIXES for m in KNOWN_METRICS)]
            close = difflib.get_close_matches(metric, spelled, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            prefixes = "/".join(WINDOW_PREFIXES)
            raise self.fail(
                where,
                f"unknown metric {metric!r}; {hint}use a metric the system logs, optionally "
                f"with a {prefixes} prefix or a _2023_24 season suffix: "
                + ", ".join(sorted(KNOWN_METRICS)),
            )
        return direction

    def criteria(self, value: Any, sample_size_metric: str) -> tuple[Criterion, ...]:
        if value is None:
            raise self.fail("criteria", "no [[criteria]] given; a policy needs at least one")
        if not isinstance(value, list) or not value:
            raise self.fail("criteria", "write each criterion as a [[criteria]] table")
        seen_names: set[str] = set()
        seen_checks: set[tuple[str, str]] = set()
        result = []
        for index, item in enumerate(value, start=1):
            table = self.table(item, f"criterion #{index}")
            criterion = self.criterion(table, index, sample_size_metric)
            if criterion.name in seen_names:
                raise self.fail(
                    f"criterion '{criterion.name}'", "duplicate name; give each criterion its own"
                )
            check = (criterion.metric, criterion.direction)
            if check in seen_checks:
                raise self.fail(
                    f"criterion '{criterion.name}'",
                    f"duplicate criterion: metric {criterion.metric!r} is already gated in the "
                    "same direction; keep one threshold per metric",
                )
            seen_names.add(criterion.name)
            seen_checks.add(check)
            result.append(criterion)
        return tuple(result)

    def criterion(self, table: Mapping[str, Any], index: int, sample_size_metric: str) -> Criterion:
        allowed = {
            "name", "metric", "op", "threshold", "on_fail", "description", "reject_at",
            "min_count", "count_metric",
        }  # fmt: skip
        metric = self.string(table, "metric", f"criterion #{index}")
        name = table.get("name", metric)
        where = f"criterion '{name}'"
        self.keys(table, where, allowed)
        name = self.string(table, "name", where, metric)
        direction = self.metric(metric, where)
        op = table.get("op")
        if op not in OPS:
            raise self.fail(where, f"unknown op {op!r}; use one of {', '.join(OPS)}")
        if op_direction(op) != direction:
            better = _DIRECTION_WORDS[direction]
            good_ops = "'<' or '<='" if direction == "lower" else "'>' or '>='"
            raise self.fail(
                where,
                f"wrong direction: '{metric} {op} ...' would favour worse models "
                f"({metric}: {better}); use {good_ops}",
            )
        threshold = self.number(table, "threshold", where)
        reject_at = None
        if "reject_at" in table:
            reject_at = self.number(table, "reject_at", where)
            beyond = reject_at <= threshold if direction == "higher" else reject_at >= threshold
            if not beyond:
                raise self.fail(
                    where,
                    f"reject_at = {reject_at} must be on the failing side of threshold "
                    f"{threshold} ({_DIRECTION_WORDS[direction]})",
                )
        min_count = count_metric = None
        if "count_metric" in table and "min_count" not in table:
            raise self.fail(where, "count_metric is set without min_count; add min_count = N")
        if "min_count" in table:
            min_count = self.integer(table, "min_count", where)
            count_metric = self.string(table, "count_metric", where, sample_size_metric)
            self.metric(count_metric, where)
        return Criterion(
            name=name,
            metric=metric,
            op=cast(Op, op),
            threshold=threshold,
            on_fail=self.severity(table, where, "keep_in_staging"),
            description=str(table.get("description", "")),
            reject_at=reject_at,
            min_count=min_count,
            count_metric=count_metric,
        )

    def champion(self, value: Any) -> ChampionRule:
        table = self.table(value, "[champion]")
        self.keys(table, "[champion]", {"on_fail", "comparisons"})
        on_fail = self.severity(table, "[champion]", "keep_in_staging")
        items = table.get("comparisons", [])
        if not isinstance(items, list):
            raise self.fail("[champion]", "write each comparison as a [[champion.comparisons]]")
        comparisons: list[ChampionComparison] = []
        for index, item in enumerate(items, start=1):
            where = f"champion comparison #{index}"
            item = self.table(item, where)
            self.keys(item, where, {"metric", "max_worse_by", "description"})
            metric = self.string(item, "metric", where)
            where = f"champion comparison '{metric}'"
            direction = self.metric(metric, where)
            if any(c.metric == metric for c in comparisons):
                raise self.fail(where, "duplicate comparison; keep one margin per metric")
            margin = self.number(item, "max_worse_by", where, 0.0)
            if margin < 0:
                raise self.fail(where, f"max_worse_by = {margin} must be 0 or more")
            comparisons.append(
                ChampionComparison(metric, margin, direction, str(item.get("description", "")))
            )
        return ChampionRule(tuple(comparisons), on_fail)

    def drift(self, value: Any) -> DriftPolicy:
        where = "[drift]"
        table = self.table(value, where)
        defaults = DriftPolicy()
        self.keys(table, where, {f.name for f in fields(DriftPolicy)})
        ks_breaches = table.get("ks_breaches", defaults.ks_breaches)
        if not isinstance(ks_breaches, bool):
            raise self.fail(where, f"ks_breaches = {ks_breaches!r} must be true or false")
        key_features = table.get("key_features", [])
        if not isinstance(key_features, list) or not all(isinstance(f, str) for f in key_features):
            raise self.fail(where, "key_features must be a list of feature names (strings)")
        policy = DriftPolicy(
            psi_moderate=self.number(table, "psi_moderate", where, defaults.psi_moderate),
            psi_major=self.number(table, "psi_major", where, defaults.psi_major),
            psi_bins=self.integer(table, "psi_bins", where, defaults.psi_bins),
            ks_statistic=self.number(table, "ks_statistic", where, defaults.ks_statistic),
            ks_breaches=ks_breaches,
            key_features=tuple(key_features),
            live_mae_ratio=self.number(table, "live_mae_ratio", where, defaults.live_mae_ratio),
            mae_window=self.integer(table, "mae_window", where, defaults.mae_window),
            min_settled_predictions=self.integer(
                table, "min_settled_predictions", where, defaults.min_settled_predictions
            ),
            calibration_window=self.integer(
                table, "calibration_window", where, defaults.calibration_window
            ),
            calibration_error_limit=self.number(
                table, "calibration_error_limit", where, defaults.calibration_error_limit
            ),
            min_calibration_bets=self.integer(
                table, "min_calibration_bets", where, defaults.min_calibration_bets
            ),
        )
        self.check_drift(policy)
        return policy

    def check_drift(self, policy: DriftPolicy) -> None:
        where = "[drift]"
        if not 0 < policy.psi_moderate < policy.psi_major:
            raise self.fail(where, "need 0 < psi_moderate < psi_major (e.g. 0.1 and 0.25)")
        if policy.psi_bins < 2:
            raise self.fail(where, "psi_bins must be at least 2 (10 is usual)")
        if not 0 < policy.ks_statistic < 1:
            raise self.fail(where, "ks_statistic is a D statistic in (0, 1); 0.1 is usual")
        if policy.live_mae_ratio <= 1:
            raise self.fail(where, "live_mae_ratio must be above 1 (e.g. 1.10 = 10% worse)")
        if not 0 < policy.calibration_error_limit < 1:
            raise self.fail(where, "calibration_error_limit must be in (0, 1); e.g. 0.06")
        if policy.min_settled_predictions > policy.mae_window:
            raise self.fail(
                where,
                "min_settled_predictions exceeds mae_window, so the MAE alarm could never "
                "count; lower it or widen the window",
            )
        if policy.min_calibration_bets > policy.calibration_window:
            raise self.fail(
                where,
                "min_calibration_bets exceeds calibration_window, so the calibration alarm "
                "could never count; lower it or widen the window",
            )
