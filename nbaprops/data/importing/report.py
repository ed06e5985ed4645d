"""The join report an import prints: what was read, kept, joined, void and set aside, and why."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Set-aside kinds outside the game logs' coverage: they do not count against the floor.
OUTSIDE_COVERAGE = ("before the game logs", "no games that day", "game not in the game logs")


@dataclass
class ImportReport:
    """Counts of one import; `join_share` is joined / (joined + unresolved) player-dates."""

    games_file: str
    lines_file: str
    out_dir: str
    market: str
    odds_format: str = "american"
    games_rows: int = 0
    players: int = 0
    lines_read: int = 0
    exact_duplicates: int = 0
    after_tipoff: int = 0
    between_snapshots: int = 0
    conflicting: int = 0
    lines_written: int = 0
    joined: int = 0
    void: int = 0
    upcoming: int = 0
    set_aside: dict[str, int] = field(default_factory=dict)
    player_dates: dict[str, int] = field(default_factory=dict)
    events_moved_to_day_before: int = 0
    reconciled: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)
    rejects_file: str = ""
    max_set_aside: float = 0.05
    # rows the folder holds after the import
    games_total: int = 0
    lines_total: int = 0
    schedule_total: int = 0

    @property
    def join_share(self) -> float:
        """Share of the player-dates with a played game that joined (1.0 when there are none)."""
        joined = self.player_dates.get("joined", 0)
        unresolved = self.player_dates.get("unresolved", 0)
        return joined / (joined + unresolved) if joined + unresolved else 1.0

    @property
    def set_aside_share(self) -> float:
        """Share of the lines inside the game logs' dates that were set aside (the floor)."""
        outside = sum(self.set_aside.get(k, 0) for k in OUTSIDE_COVERAGE)
        inside = sum(self.set_aside.values()) - outside
        considered = self.lines_read - self.exact_duplicates - outside
        return inside / considered if considered > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        """Plain data for --json, with the two shares."""
        data = asdict(self)
        data["join_share"] = round(self.join_share, 4)
        data["set_aside_share"] = round(self.set_aside_share, 4)
        return data

    def render(self) -> str:
        """The report as a few readable lines."""
        pd_ = self.player_dates
        lines = [
            f"games: {self.games_rows:,} player-games of {self.players:,} players "
            f"from {self.games_file}",
            f"lines: {self.lines_read:,} rows read from {self.lines_file} "
            f"(market {self.market}, {self.odds_format} odds)",
            f"  dropped: {self.exact_duplicates:,} exact duplicates, "
            f"{self.between_snapshots:,} quotes between the opening and closing ones, "
            f"{self.after_tipoff:,} after tip-off, {self.conflicting:,} conflicting repeats",
            f"  kept: {self.lines_written:,} opening/closing lines: {self.joined:,} joined to a "
            f"played game, {self.void:,} void (the player did not play), "
            f"{self.upcoming:,} upcoming (game not played yet)",
            f"  set aside: {sum(self.set_aside.values()):,} "
            + (
                "(" + ", ".join(f"{k}: {v:,}" for k, v in sorted(self.set_aside.items())) + ")"
                if self.set_aside
                else ""
            ),
            f"player-dates: {pd_.get('joined', 0):,} joined, {pd_.get('void', 0):,} void, "
            f"{pd_.get('upcoming', 0):,} upcoming, {pd_.get('unresolved', 0):,} with no "
            f"sure player; joined share {self.join_share:.2%}",
            "names reconciled: "
            + ", ".join(f"{k} {v:,}" for k, v in sorted(self.reconciled.items())),
            f"events dated the day before (UTC date after a late tip-off): "
            f"{self.events_moved_to_day_before:,}",
            f"set aside inside the game logs' dates: {self.set_aside_share:.2%} "
            f"(the import refuses above {self.max_set_aside:.0%}, --max-set-aside)",
        ]
        if self.examples:
            lines.append("examples of reconciled names: " + "; ".join(self.examples))
        if self.rejects_file:
            lines.append(f"set-aside rows, one reason each: {self.rejects_file}")
        return "\n".join(lines)
