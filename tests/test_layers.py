"""The layer rule `make lint` checks: nbaprops < governance < jobs, never upward."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "check_layers.py"


def _check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(root)], capture_output=True, text=True, check=False
    )


def test_the_repository_keeps_its_layers() -> None:
    result = _check(ROOT)
    assert (result.returncode, result.stdout) == (0, "")


def test_a_governance_module_importing_jobs_is_reported(tmp_path: Path) -> None:
    for layer in ("nbaprops", "governance", "jobs"):
        (tmp_path / layer).mkdir()
    (tmp_path / "jobs" / "cli.py").write_text("import governance.policy\n")
    (tmp_path / "governance" / "policy.py").write_text("from jobs.cli import main\n")
    (tmp_path / "nbaprops" / "lab.py").write_text("import json\n")
    result = _check(tmp_path)
    assert result.returncode == 1
    assert result.stdout == "governance/policy.py:1: governance imports jobs.cli\n"
