"""Price sanity before any bet: set aside books whose prices contradict the results or the market.

A scraping error (a book's over and under swapped, a stale line) looks to a model like a huge
edge. Before betting, every book is judged per season and past-only (on days strictly before the
bet) on two kinds of evidence:

- calibration: is the book's vig-free implied P(over) calibrated against the results? The score
  z = sum((y - p)(p - 1/2)) / sqrt(sum p (1 - p)(p - 1/2)^2) is about N(0, 1) for calibrated
  prices and strongly negative when the prices lean too far or the wrong way. A book is set
  aside when z <= -Z_ANTI and its prices carry little or wrong information (the least-squares
  slope of the results on p below MAX_SLOPE): where the real scrape's BetRivers implies 0.35
  the over hits 0.53.
- consensus: at the same line on the same prop, does its implied P(over) lean to the same side
  as the other books' mean? A book that leans the other way on most such props is set aside.

Rows that are impossible on their own are refused whatever the book: a negative overround (the
two implied probabilities sum below 1), or a line far from every other book's quoted with a
price that did not move. Once set aside, a book stays aside for the rest of the season.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from nbaprops.betting.odds import american_to_implied, vig_free_probabilities

#: Settled props a book needs before its calibration is judged, and the z that sets it aside.
MIN_CALIBRATION_PROPS = 150
Z_ANTI = 4.0
#: ... and only when its prices carry little or wrong information (results-on-p slope below it;
#: calibrated prices have slope 1), not when they are merely a little overconfident.
MAX_SLOPE = 0.5
#: Props compared with the consensus before that is judged; a book is set aside when it leans
#: the other way on at least MIN_DISAGREEMENT of them, Z_ANTI standard errors beyond a coin
#: flip. A lean counts when the vig-free probability is this far from 0.5 (-115/-105: 0.011).
MIN_CONSENSUS_PROPS = 50
MIN_DISAGREEMENT = 0.6
LEAN = 0.005
#: A line this far from the other books' median (points, or share of it) with a price within
#: UNMOVED of even is a stale or mistyped line.
FAR_POINTS = 3.0
FAR_SHARE = 0.25
UNMOVED = 0.08

PROP = ["game_date", "player_id", "market"]
HISTORY_COLUMNS = (*PROP, "bookmaker", "line", "over_price", "under_price", "actual")


class PriceSanityError(ValueError):
    """A history frame the price check cannot read."""


@dataclass(frozen=True)
class PriceSanity:
    """The outcome of a screen: the props kept, the rows refused and the books set aside.

    `books` has one row per (bookmaker, season) with the past-only evidence at the last day
    judged and, for a book set aside, `set_aside_from` (first day it was refused) and `reason`.
    """

    kept: pd.DataFrame
    refused: pd.DataFrame
    books: pd.DataFrame

    @property
    def set_aside(self) -> list[str]:
        """Names of the books set aside in any season, sorted."""
        aside = self.books[self.books["set_aside_from"].notna()]
        return sorted(aside["bookmaker"].astype(str).unique())

    def messages(self) -> list[str]:
        """One line of evidence per book and season set aside, for output and tags."""
        aside = self.books[self.books["set_aside_from"].notna()]
        return [
            f"{book} ({season}) set aside from {pd.Timestamp(str(day)).date()}: {reason}"
            for book, season, day, reason in zip(
                aside["bookmaker"],
                aside["season"],
                aside["set_aside_from"],
                aside["reason"],
                strict=True,
            )
        ]


def _implied_over(frame: pd.DataFrame) -> np.ndarray:
    p_over, _ = vig_free_probabilities(
        frame["over_price"].to_numpy(dtype=float), frame["under_price"].to_numpy(dtype=float)
    )
    return np.asarray(p_over, dtype=float)


def two_way_problems(props: pd.DataFrame) -> pd.Series:
    """Why each row's two-way price is impossible ('' when it is fine)."""
    over = np.asarray(american_to_implied(props["over_price"].to_numpy(dtype=float)))
    under = np.asarray(american_to_implied(props["under_price"].to_numpy(dtype=float)))
    reasons = np.full(len(props), "", dtype=object)
    negative = over + under < 1.0 - 1e-9
    reasons[negative] = "negative overround (implied over + under < 1)"
    line = props["line"].astype(float)
    grouped = line.groupby([props[c] for c in PROP])
    median, books = grouped.transform("median"), grouped.transform("size")
    far = (line - median).abs() >= np.maximum(FAR_POINTS, FAR_SHARE * median.abs())
    unmoved = np.abs(_implied_over(props) - 0.5) < UNMOVED
    stale = (books >= 3).to_numpy() & far.to_numpy() & unmoved & ~negative
    reasons[stale] = "line far from every other book's with an unmoved price"
    return pd.Series(reasons, index=props.index, dtype=object)


def _daily_evidence(history: pd.DataFrame) -> pd.DataFrame:
    """Per (bookmaker, season, game_date): that day's sums behind both tests."""
    frame = history.copy()
    frame["p"] = _implied_over(frame)
    actual, line = frame["actual"].astype(float), frame["line"].astype(float)
    settled = actual.notna() & (actual != line) & np.isfinite(frame["p"])
    frame["n"] = settled.astype(float)
    frame["y"] = np.where(settled, (actual > line).astype(float), 0.0)
    frame["sp"] = np.where(settled, frame["p"], 0.0)
    frame["spp"], frame["spy"] = frame["sp"] ** 2, frame["sp"] * frame["y"]
    frame["sv"] = frame["sp"] * (1 - frame["sp"]) * (frame["sp"] - 0.5) ** 2
    low = settled & (frame["p"] < 0.5)
    frame["n_low"], frame["p_low"] = low.astype(float), np.where(low, frame["p"], 0.0)
    frame["y_low"] = np.where(low, frame["y"], 0.0)
    high = settled & (frame["p"] >= 0.5)
    frame["n_high"], frame["p_high"] = high.astype(float), np.where(high, frame["p"], 0.0)
    frame["y_high"] = np.where(high, frame["y"], 0.0)
    keys = [frame[c] for c in (*PROP, "line")]
    total, count = (
        frame["p"].groupby(keys).transform("sum"),
        frame["p"].groupby(keys).transform("count"),
    )
    others = (total - frame["p"]) / (count - 1).where(count > 1)
    leans = (np.abs(frame["p"] - 0.5) > LEAN) & (np.abs(others - 0.5) > LEAN)
    frame["n_cmp"] = leans.astype(float)
    frame["n_opp"] = (leans & (np.sign(frame["p"] - 0.5) != np.sign(others - 0.5))).astype(float)
    sums = ["n", "y", "sp", "spp", "spy", "sv"]
    sums += ["n_low", "p_low", "y_low", "n_high", "p_high", "y_high"]
    return frame.groupby(["bookmaker", "season", "game_date"], sort=True)[
        [*sums, "n_cmp", "n_opp"]
    ].sum()


def _verdicts(daily: pd.DataFrame) -> pd.DataFrame:
    """Past-only cumulative evidence before each day, and whether the book is set aside."""
    past = daily.groupby(level=["bookmaker", "season"]).cumsum()
    past = past.groupby(level=["bookmaker", "season"]).shift(1).fillna(0.0)
    n = past["n"]
    sxx = past["spp"] - past["sp"] ** 2 / n.where(n > 0)
    sxy = past["spy"] - past["sp"] * past["y"] / n.where(n > 0)
    slope = sxy / sxx.where(sxx > 0)
    gap = past["spy"] - 0.5 * past["y"] - past["spp"] + 0.5 * past["sp"]  # sum (y - p)(p - 1/2)
    z: pd.Series = gap / np.sqrt(past["sv"].where(past["sv"] > 0))
    share = past["n_opp"] / past["n_cmp"].where(past["n_cmp"] > 0)
    anti = (n >= MIN_CALIBRATION_PROPS) & (z <= -Z_ANTI) & (slope < MAX_SLOPE)
    beyond_chance = (past["n_opp"] - 0.5 * past["n_cmp"]) / np.sqrt(0.25 * past["n_cmp"])
    opposite = (
        (past["n_cmp"] >= MIN_CONSENSUS_PROPS)
        & (share >= MIN_DISAGREEMENT)
        & (beyond_chance >= Z_ANTI)
    )
    flagged = (anti | opposite).groupby(level=["bookmaker", "season"]).cummax()
    return past.assign(
        z=z, slope=slope, disagreement=share, anti=anti, opposite=opposite, flagged=flagged
    )


def _reason(row: pd.Series) -> str:
    """The evidence behind a verdict, in words."""
    parts = []
    if row["anti"]:
        parts.append(
            f"{'anti-calibrated' if row['slope'] < 0 else 'uncalibrated'} over "
            f"{int(row['n'])} settled props (z = {row['z']:.1f}, slope "
            f"{row['slope']:.2f}): where it "
            f"implies P(over) {row['p_low'] / max(row['n_low'], 1):.2f} the over hit "
            f"{row['y_low'] / max(row['n_low'], 1):.2f}, where it implies "
            f"{row['p_high'] / max(row['n_high'], 1):.2f} it hit "
            f"{row['y_high'] / max(row['n_high'], 1):.2f}"
        )
    if row["opposite"]:
        parts.append(
            f"leans against the other books' consensus at the same line on "
            f"{row['disagreement']:.0%} of {int(row['n_cmp'])} props"
        )
    return "; ".join(parts) or "prices look consistent"


def _book_table(verdicts: pd.DataFrame, days: pd.DataFrame) -> pd.DataFrame:
    """Evidence per (bookmaker, season): at the first day set aside, else the last day judged."""
    judged = verdicts.reset_index().merge(days, on=["bookmaker", "season", "game_date"])
    rows = []
    for (book, season), part in judged.groupby(["bookmaker", "season"], sort=True):
        flagged = part[part["flagged"]]
        at = flagged.iloc[0] if len(flagged) else part.iloc[-1]
        rows.append(
            {
                "bookmaker": book,
                "season": season,
                "settled_props": int(at["n"]),
                "calibration_z": float(at["z"]),
                "calibration_slope": float(at["slope"]),
                "consensus_disagreement": float(at["disagreement"]),
                "set_aside_from": at["game_date"] if len(flagged) else pd.NaT,
                "reason": _reason(at) if len(flagged) else "",
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "bookmaker",
            "season",
            "settled_props",
            "calibration_z",
            "calibration_slope",
            "consensus_disagreement",
            "set_aside_from",
            "reason",
        ],
    )


def _with_season(frame: pd.DataFrame) -> pd.DataFrame:
    return frame if "season" in frame.columns else frame.assign(season="all")


def screen_props(props: pd.DataFrame, history: pd.DataFrame) -> PriceSanity:
    """Keep the props a bettor could trust, judging each book on `history` before each day.

    `history` holds every prop with its result (columns HISTORY_COLUMNS, optional `season`),
    including the days being bet: only days strictly before a bet's day are read. `props` are
    the rows about to be bet (the same columns, their result unused).
    """
    missing = [c for c in HISTORY_COLUMNS if c not in history.columns]
    if missing:
        raise PriceSanityError(
            f"price history lacks {missing}; pass every prop with its result, columns "
            f"{list(HISTORY_COLUMNS)} (and optionally season)"
        )
    props, history = _with_season(props), _with_season(history)
    verdicts = _verdicts(_daily_evidence(history))
    days = props[["bookmaker", "season", "game_date"]].drop_duplicates()
    flags = verdicts["flagged"].rename("book_set_aside").reset_index()
    marked = props.merge(flags, on=["bookmaker", "season", "game_date"], how="left")
    marked["book_set_aside"] = marked["book_set_aside"].fillna(False).astype(bool)
    problems = two_way_problems(marked)
    marked["refused_because"] = np.where(
        marked["book_set_aside"], "book set aside by the price check", problems
    )
    refused = marked["refused_because"] != ""
    kept = marked.loc[~refused].drop(columns=["book_set_aside", "refused_because"])
    return PriceSanity(
        kept=kept.reset_index(drop=True),
        refused=marked.loc[refused].reset_index(drop=True),
        books=_book_table(verdicts, days),
    )
