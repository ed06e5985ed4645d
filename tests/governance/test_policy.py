"""The policy file: the packaged defaults, and every way a bad policy is refused at load."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from governance.policy import (
    PolicyError,
    load_policy,
    metric_direction,
    parse_policy,
)
from tests.support.policies import MINIMAL_POLICY

DEFAULT_TEXT = resources.files("governance").joinpath("policy.toml").read_text("utf-8")


def test_packaged_default_carries_the_guide_thresholds() -> None:
    policy = load_policy()
    gates = {(c.metric, c.op, c.threshold) for c in policy.criteria}
    assert gates == {
        ("leakage_suspected", "<", 0.5),
        ("mae_vs_baseline", "<", 1.0),
        ("val_mae", "<", 5.5),
        ("wf_roi", ">", 0.05),
        ("roi_lower_95", ">", 0.0),
        ("calibration_error", "<", 0.05),
        ("wf_win_rate", ">", 0.55),
        ("bet_count", ">=", 500.0),
        ("sharpe_ratio", ">", 1.0),
        ("edge_concentration", "<", 0.5),
    }
    assert policy.criterion("no_leakage").min_count is None  # rejects at any bet count
    assert policy.criteria[0].name == "beats_baseline"
    assert policy.criterion("beats_baseline").on_fail == "reject"
    assert policy.sample_size_metric == "bet_count"
    calibration = policy.criterion("calibration")
    assert calibration.min_count == 1000
    assert calibration.count_metric == "n_scored_props"
    profitability = policy.criterion("profitability")
    assert (profitability.reject_at, profitability.count_metric) == (0.0, "bet_count")
    assert {c.metric for c in policy.champion.comparisons} == {"wf_mae", "wf_roi"}
    assert policy.drift.psi_moderate == 0.1
    assert policy.drift.psi_major == 0.25
    assert policy.drift.ks_statistic == 0.1
    assert policy.drift.live_mae_ratio == pytest.approx(1.10)
    assert "packaged default" in policy.source
    assert len(policy.digest) == 16


def test_default_file_loads_from_a_path_too(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    assert DEFAULT_TEXT.count("threshold = 5.5") == 1
    path.write_text(DEFAULT_TEXT.replace("threshold = 5.5", "threshold = 4.0"), "utf-8")
    policy = load_policy(path)
    assert policy.criterion("accuracy").threshold == 4.0
    assert policy.source == str(path)
    assert policy.digest != load_policy().digest


def test_minimal_policy_uses_drift_and_champion_defaults() -> None:
    policy = parse_policy(MINIMAL_POLICY)
    assert [c.name for c in policy.criteria] == ["accuracy"]
    assert policy.champion.comparisons == ()
    assert policy.drift.psi_bins == 10


@pytest.mark.parametrize(
    ("metric", "direction"),
    [
        ("val_mae", "lower"),
        ("wf_mae", "lower"),
        ("wf_mae_2023_24", "lower"),
        ("wf_mae_tier1_stars", "lower"),
        ("mae_tier3_bench", "lower"),
        ("val_r2", "higher"),
        ("wf_roi", "higher"),
        ("roi_lower_95", "higher"),
        ("bet_count", "higher"),
        ("wf_win_rate_p_value", "lower"),
        ("calibration_error", "lower"),
        ("n_scored_props", "higher"),
        ("val_accuracy_made_up", None),
        ("roi_2023", None),
        ("wf_roi_tier_star", "higher"),
        ("roi_book_fanduel", "higher"),
        ("roi_book_", None),
        ("training_time", None),
        ("", None),
    ],
)
def test_metric_direction(metric: str, direction: str | None) -> None:
    assert metric_direction(metric) == direction


def _criterion(**fields: object) -> str:
    """A one-criterion policy: a valid val_mae criterion with fields replaced (None drops one).

    Strings are written as TOML strings; anything else is written as it prints (3.5, true).
    """
    base: dict[str, object] = {
        "name": "accuracy",
        "metric": "val_mae",
        "op": "<",
        "threshold": 3.5,
        "on_fail": "reject",
    }
    base.update(fields)
    lines = ["[[criteria]]"]
    for key, value in base.items():
        if isinstance(value, str):
            lines.append(f'{key} = "{value}"')
        elif isinstance(value, bool):
            lines.append(f"{key} = {str(value).lower()}")
        elif value is not None:
            lines.append(f"{key} = {value}")
    return "\n".join(lines) + "\n"


BAD_POLICIES = [
    (
        "unknown metric",
        _criterion(metric="val_maee"),
        ["accuracy", "unknown metric 'val_maee'", "did you mean 'val_mae'?"],
    ),
    (
        "a run's size, not its quality",
        _criterion(metric="n_features", op=">", threshold=3),
        ["accuracy", "metric 'n_features' describes a run", "such as val_mae"],
    ),
    ("wrong direction", _criterion(op=">"), ["accuracy", "wrong direction", "lower is better"]),
    (
        "wrong direction, higher is better",
        _criterion(name="edge", metric="wf_roi", op="<", threshold=0.05),
        ["edge", "wrong direction", "higher is better", "'>' or '>='"],
    ),
    ("threshold is text", _criterion(threshold="3.5"), ["accuracy", "'threshold'", "number"]),
    ("threshold is a bool", _criterion(threshold=True), ["accuracy", "not a number"]),
    ("threshold missing", _criterion(threshold=None), ["accuracy", "'threshold' is missing"]),
    ("unknown op", _criterion(op="=<"), ["accuracy", "unknown op '=<'"]),
    ("typo in a key", _criterion(treshold=3.0), ["accuracy", "unknown key(s) treshold"]),
    ("bad on_fail", _criterion(on_fail="panic"), ["accuracy", "on_fail = 'panic'"]),
    ("reject_at on the passing side", _criterion(reject_at=3.0), ["accuracy", "reject_at"]),
    ("count_metric alone", _criterion(count_metric="n_scored_props"), ["accuracy", "min_count"]),
    ("min_count not positive", _criterion(min_count=0), ["accuracy", "min_count"]),
    ("unknown count metric", _criterion(min_count=5, count_metric="bets"), ["'bets'"]),
    (
        "duplicate name",
        MINIMAL_POLICY + _criterion(metric="val_rmse"),
        ["accuracy", "duplicate name"],
    ),
    (
        "duplicate criterion",
        MINIMAL_POLICY + _criterion(name="accuracy_again", threshold=3.0),
        ["accuracy_again", "duplicate criterion", "val_mae"],
    ),
    ("no criteria", "[drift]\npsi_moderate = 0.1\n", ["no [[criteria]]"]),
    ("unknown top-level key", MINIMAL_POLICY + "gate = 1\n", ["unknown key(s) gate"]),
    ("unsupported version", "version = 2\n" + MINIMAL_POLICY, ["version = 2"]),
    (
        "psi bands out of order",
        MINIMAL_POLICY + "[drift]\npsi_moderate = 0.3\npsi_major = 0.25\n",
        ["[drift]", "psi_moderate < psi_major"],
    ),
    (
        "MAE alarm could never count",
        MINIMAL_POLICY + "[drift]\nmae_window = 100\nmin_settled_predictions = 200\n",
        ["[drift]", "min_settled_predictions exceeds mae_window"],
    ),
    ("ks_breaches not a bool", MINIMAL_POLICY + "[drift]\nks_breaches = 1\n", ["ks_breaches"]),
    (
        "champion metric unknown",
        MINIMAL_POLICY + "[[champion.comparisons]]\nmetric = 'profit'\nmax_worse_by = 0.1\n",
        ["champion comparison 'profit'", "unknown metric"],
    ),
    (
        "champion margin negative",
        MINIMAL_POLICY + "[[champion.comparisons]]\nmetric = 'val_mae'\nmax_worse_by = -0.1\n",
        ["champion comparison 'val_mae'", "0 or more"],
    ),
]


@pytest.mark.parametrize(
    ("text", "fragments"), [(t, f) for _, t, f in BAD_POLICIES], ids=[c for c, _, _ in BAD_POLICIES]
)
def test_bad_policy_is_refused_naming_file_and_criterion(
    tmp_path: Path, text: str, fragments: list[str]
) -> None:
    path = tmp_path / "bad-policy.toml"
    path.write_text(text, "utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    message = str(caught.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(MINIMAL_POLICY + "[drift\npsi_major = 0.25\n", "utf-8")
    with pytest.raises(PolicyError, match=r"not valid TOML.*line 8") as caught:
        load_policy(path)
    assert str(path) in str(caught.value)


def test_missing_file_says_what_to_pass(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="not found; pass an existing file or None"):
        load_policy(tmp_path / "nope.toml")


def test_policy_error_is_a_value_error() -> None:
    assert issubclass(PolicyError, ValueError)
