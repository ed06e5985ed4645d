"""Promotion policy texts that several suites parse."""

from __future__ import annotations

#: The smallest valid policy: one hard gate, val_mae < 3.5 or the candidate is rejected.
MINIMAL_POLICY = """
[[criteria]]
name = "accuracy"
metric = "val_mae"
op = "<"
threshold = 3.5
on_fail = "reject"
"""
