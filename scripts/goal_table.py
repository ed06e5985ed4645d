"""Rewrite README's goal table from the GOAL lines of a `make bench` log.

    python scripts/goal_table.py BENCH_LOG [README.md]

Every benchmark ends with one `GOAL <name> value=<x> goal=<y> PASS|MISS` line per goal
(benchmarks/goals.py). This reads them, in order, and replaces what stands between the
`<!-- goals:start -->` and `<!-- goals:end -->` markers of the README with one table row per
goal, so the table says what the last run measured and nothing else. A goal met twice in a log
(a benchmark run again) keeps its last line. Exits 1, leaving the README untouched, when the
log holds no GOAL line or the README lacks the markers.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

GOAL_LINE = re.compile(
    r"^GOAL (?P<name>\S+) value=(?P<value>\S+) goal=(?P<goal>\S+) (?P<verdict>PASS|MISS)$"
)
START, END = "<!-- goals:start -->", "<!-- goals:end -->"


def goal_rows(log: str) -> dict[str, tuple[str, str, str]]:
    """(value, goal, verdict) by goal name, in first-seen order, the last line of a name winning."""
    rows: dict[str, tuple[str, str, str]] = {}
    for line in log.splitlines():
        match = GOAL_LINE.match(line.strip())
        if match:
            rows[match["name"]] = (match["value"], match["goal"], match["verdict"])
    return rows


def goal_table(rows: dict[str, tuple[str, str, str]]) -> str:
    """The Markdown table of the goals."""
    lines = ["| name | value | goal | verdict |", "|---|---|---|---|"]
    for name, (value, goal, verdict) in rows.items():
        shown = f"**{verdict}**" if verdict == "MISS" else verdict
        lines.append(f"| `{name}` | {value} | {goal} | {shown} |")
    return "\n".join(lines)


def rewrite(readme: str, table: str) -> str:
    """The README with the text between the markers replaced by `table`."""
    start, end = readme.find(START), readme.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the README has no {START} ... {END} block to rewrite")
    return readme[: start + len(START)] + "\n" + table + "\n" + readme[end:]


def main(argv: list[str]) -> int:
    if not 1 <= len(argv) <= 2:
        print(__doc__, file=sys.stderr)
        return 2
    log_path = Path(argv[0])
    readme_path = Path(argv[1] if len(argv) == 2 else "README.md")
    rows = goal_rows(log_path.read_text())
    if not rows:
        print(f"{log_path}: no GOAL lines; run `make bench` first", file=sys.stderr)
        return 1
    try:
        text = rewrite(readme_path.read_text(), goal_table(rows))
    except ValueError as err:
        print(f"{readme_path}: {err}", file=sys.stderr)
        return 1
    readme_path.write_text(text)
    missed = [name for name, (_, _, verdict) in rows.items() if verdict == "MISS"]
    print(f"{readme_path}: {len(rows)} goals, {len(missed)} missed {missed or ''}".rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
