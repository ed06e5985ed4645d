"""Whether the tests run in CI, where a missing tool (PostgreSQL, chromium) is a failure, not a
reason to skip."""

from __future__ import annotations

import os


def running_in_ci() -> bool:
    """CI sets `CI=true` (most CI services) or `NBAPROPS_CI=1` (.ci/run)."""
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("NBAPROPS_CI") == "1"


#: Read at import: the autouse fixture of tests/conftest.py clears NBAPROPS_* before each test.
IN_CI = running_in_ci()
