"""Player identity in user data: name keys for joining lines to games, and stable derived ids.

Sportsbooks and box scores spell names differently ("Nikola Jokić" / "Nikola Jokic",
"Jaren Jackson Jr." / "Jaren Jackson"), so joins use a normalised key; players given only by
name (or by a text id such as basketball-reference's "jamesle01") get a stable numeric id.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

import numpy as np
import pandas as pd

# Trailing name parts that books and box scores use inconsistently.
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "v"})
_NUMERIC_ID = re.compile(r"^\d+(\.0*)?$")
# Derived ids start here, far above every real NBA person id, so the two never collide.
DERIVED_ID_BASE = 10**12


def normalise_name(name: str) -> str:
    """The join key of a player name: lower-case, accents, punctuation and suffixes removed.

    Hyphens separate words, other punctuation vanishes, and runs of single letters are joined
    so that "P.J. Washington", "P. J. Washington" and "PJ Washington" share one key.
    """
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = re.sub(r"[-_/]", " ", text)
    text = re.sub(r"[^\w\s]", "", text)
    tokens = text.split()
    while len(tokens) > 1 and tokens[-1] in _SUFFIXES:
        tokens.pop()
    merged: list[str] = []
    previous_was_initial = False
    for token in tokens:
        is_initial = len(token) == 1
        if is_initial and previous_was_initial:
            merged[-1] += token
        else:
            merged.append(token)
        previous_was_initial = is_initial
    return " ".join(merged)


def derived_player_id(key: str) -> int:
    """A stable numeric id for a player known only by a name key or a text id."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return DERIVED_ID_BASE + int.from_bytes(digest[:6], "big") % DERIVED_ID_BASE


def ids_from_names(names: pd.Series) -> pd.Series:
    """Derived ids of a column of player names (same normalised name, same id)."""
    codes, distinct = pd.factorize(names)
    ids = [derived_player_id("name:" + normalise_name(str(n))) for n in distinct]
    return pd.Series(np.asarray(ids, dtype="int64")[codes], index=names.index)


def ids_from_text(ids: pd.Series) -> pd.Series:
    """Numeric ids as written ("2544", "2544.0"), or a stable derived id for text ids."""
    codes, distinct = pd.factorize(ids)
    numbers = [
        int(text.split(".")[0]) if _NUMERIC_ID.match(text) else derived_player_id("id:" + text)
        for text in map(str, distinct)
    ]
    return pd.Series(np.asarray(numbers, dtype="int64")[codes], index=ids.index)
