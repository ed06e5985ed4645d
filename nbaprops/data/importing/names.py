"""Which player a sportsbook's name means: the reconciliation steps, in a fixed order.

1. the exact normalised name (accents, punctuation, case and suffixes such as Jr. ignored);
2. the name reversed ("Murray Dejounte") or written "Last, First";
3. qualifiers stripped ("(IND)", "(Phi)", "(2001)");
4. only among the players of the event's game: initial(s) and surname ("M. Moody",
   "Mil. Bridges", "Christian James McCollum" for CJ McCollum), then middle names dropped
   ("Alfred Joel Horford Reynoso" for Al Horford), then a near spelling of the surname with
   the same first name ("Bojan Bogdanovich");
5. the shipped nickname table (Nic/Nicolas, KJ/Kenyon, ...; nicknames.csv beside this file);
and the user's alias table first of all, which always wins.

A step may return several players (two share a name); the caller settles that with the day's
games and never guesses between two players who both played.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from difflib import SequenceMatcher
from importlib import resources

import pandas as pd

from nbaprops.data.player_names import normalise_name

_QUALIFIER = re.compile(r"\([^)]*\)")
# Longest given-name abbreviation taken as a prefix ("Mil." for Miles).
ABBREVIATION = 3
# How alike two surnames must be (difflib's ratio) to count as one spelt two ways.
SPELLING_RATIO = 0.85


@dataclass(frozen=True)
class Match:
    """The players a name may mean, and the step that found them."""

    ids: tuple[int, ...]
    step: str


def shipped_nicknames() -> dict[str, tuple[str, ...]]:
    """Given-name variants both ways (nic -> nicolas, nicolas -> nic), from nicknames.csv."""
    text = resources.files(__package__).joinpath("nicknames.csv").read_text(encoding="utf-8")
    pairs: dict[str, set[str]] = defaultdict(set)
    for line in text.splitlines()[1:]:
        short, _, formal = line.strip().partition(",")
        if short and formal:
            pairs[short].add(formal)
            pairs[formal].add(short)
    return {name: tuple(sorted(others)) for name, others in pairs.items()}


class PlayerNames:
    """Name lookups over the game logs' players (every spelling a player was given)."""

    def __init__(
        self,
        games: pd.DataFrame,
        aliases: Mapping[str, int] | None = None,
        nicknames: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        pairs = games[["player_id", "player_name"]].drop_duplicates()
        self._ids_by_key: dict[str, set[int]] = defaultdict(set)
        self._keys_by_id: dict[int, set[str]] = defaultdict(set)
        for player_id, name in zip(pairs["player_id"], pairs["player_name"], strict=True):
            key = normalise_name(str(name))
            self._ids_by_key[key].add(int(player_id))
            self._keys_by_id[int(player_id)].add(key)
        latest = games.drop_duplicates("player_id", keep="last")
        self.display = dict(
            zip(latest["player_id"].astype(int), latest["player_name"], strict=True)
        )
        self._aliases = {normalise_name(k): v for k, v in (aliases or {}).items()}
        self._nicknames = shipped_nicknames() if nicknames is None else dict(nicknames)

    def known(self, player_id: int) -> bool:
        """True when the game logs hold this player."""
        return player_id in self._keys_by_id

    def fixed(self, raw: str) -> Match | None:
        """Steps that need no game context: the user's alias, exact, reversed, qualifiers."""
        key = normalise_name(raw)
        if key in self._aliases:
            return Match((self._aliases[key],), "alias")
        found = self._lookup(key, "exact") or self._reversed(raw, "reversed")
        if found:
            return found
        stripped = _QUALIFIER.sub(" ", raw)
        if stripped != raw:
            return self._lookup(normalise_name(stripped), "qualifier") or self._reversed(
                stripped, "qualifier"
            )
        return None

    def in_game(self, raw: str, pool: Iterable[int]) -> Match | None:
        """Step 4: initials, then middle names, then spelling, among `pool` (the game's players)."""
        tokens = normalise_name(_QUALIFIER.sub(" ", raw)).split()
        players = sorted(set(pool))
        rules = (
            ("initials", _initials_fit),
            ("middle names", self._middle_fit),
            ("spelling", self._spelling_fit),
        )
        for step, rule in rules:
            fits = tuple(
                p
                for p in players
                if any(rule(tokens, k.split()) for k in self._keys_by_id.get(p, ()))
            )
            if fits:
                return Match(fits, step)
        return None

    def _first_fits(self, a: str, b: str) -> bool:
        """Same first name, one a prefix of the other (Ish/Ishmael), or a nickname pair."""
        short, long = sorted((a, b), key=len)
        return long.startswith(short) or b in self._nicknames.get(a, ())

    def _middle_fit(self, line: list[str], player: list[str]) -> bool:
        """'Brook Robert Lopez' for Brook Lopez: the first name fits, the surname is there."""
        return (
            len(line) > len(player) >= 2
            and player[-1] in line[1:]
            and self._first_fits(line[0], player[0])
        )

    def _spelling_fit(self, line: list[str], player: list[str]) -> bool:
        """'Danilo Galinari' for Danilo Gallinari: first name fits, surname nearly the same."""
        if len(line) != len(player) or len(line) < 2 or not self._first_fits(line[0], player[0]):
            return False
        ratio = SequenceMatcher(None, " ".join(line[1:]), " ".join(player[1:])).ratio()
        return ratio >= SPELLING_RATIO

    def by_nickname(self, raw: str) -> Match | None:
        """The first given name swapped for a shipped variant (Nicolas Claxton -> Nic Claxton)."""
        tokens = normalise_name(_QUALIFIER.sub(" ", raw)).split()
        if len(tokens) < 2:
            return None
        for variant in self._nicknames.get(tokens[0], ()):
            found = self._lookup(" ".join([variant, *tokens[1:]]), "nickname")
            if found:
                return found
        return None

    def _lookup(self, key: str, step: str) -> Match | None:
        ids = self._ids_by_key.get(key)
        return Match(tuple(sorted(ids)), step) if ids else None

    def _reversed(self, raw: str, step: str) -> Match | None:
        if "," in raw:
            last, _, first = raw.partition(",")
            return self._lookup(normalise_name(f"{first} {last}"), step)
        tokens = normalise_name(raw).split()
        if len(tokens) < 2:
            return None
        rotations = {" ".join([*tokens[1:], tokens[0]]), " ".join([tokens[-1], *tokens[:-1]])}
        for key in sorted(rotations):
            found = self._lookup(key, step)
            if found:
                return found
        return None


def _initials_fit(line: list[str], player: list[str]) -> bool:
    """True when the names share a surname and one given part abbreviates the other."""
    for cut in range(1, len(line)):
        surname = line[cut:]
        if len(player) <= len(surname) or player[-len(surname) :] != surname:
            continue
        if _abbreviates(line[:cut], player[: -len(surname)]):
            return True
    return False


def _abbreviates(a: list[str], b: list[str]) -> bool:
    """'m' ~ 'moses', 'mil' ~ 'miles', 'cj' ~ 'christian james', and the other way round."""
    joined_a, joined_b = "".join(a), "".join(b)
    initials_a, initials_b = "".join(t[0] for t in a), "".join(t[0] for t in b)
    if len(a) == 1 and len(joined_a) <= ABBREVIATION and joined_b.startswith(joined_a):
        return True
    if len(b) == 1 and len(joined_b) <= ABBREVIATION and joined_a.startswith(joined_b):
        return True
    return (len(b) >= 2 and joined_a == initials_b) or (len(a) >= 2 and joined_b == initials_a)
