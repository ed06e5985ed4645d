"""The demo's policy is the packaged one with two thresholds lowered, and it still loads."""

from __future__ import annotations

from pathlib import Path

from governance.policy import load_policy
from jobs.demo import demo_policy


def test_demo_policy_lowers_only_the_point_roi_and_win_rate(tmp_path: Path) -> None:
    packaged = load_policy(Path(__file__).resolve().parents[2] / "governance" / "policy.toml")
    demo = load_policy(demo_policy(tmp_path / "home"))
    before = {c.name: c.threshold for c in packaged.criteria}
    after = {c.name: c.threshold for c in demo.criteria}
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"profitability", "win_rate"}
    assert (after["profitability"], after["win_rate"]) == (0.02, 0.53)
    assert after["significant_edge"] == before["significant_edge"] == 0.0
