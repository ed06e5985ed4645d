"""Fixtures that make things when a test asks (daemons, servers) and clean up all they made."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Concatenate, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


@contextmanager
def made_on_demand(
    make: Callable[Concatenate[int, P], T], clean_up: Callable[[T], object]
) -> Iterator[Callable[P, T]]:
    """A maker for the test: its n-th call (from 0) returns `make(n, ...)`; on leaving, each
    thing made is cleaned up, oldest first."""
    made: list[T] = []

    def maker(*args: P.args, **kwargs: P.kwargs) -> T:
        thing = make(len(made), *args, **kwargs)
        made.append(thing)
        return thing

    try:
        yield maker
    finally:
        for thing in made:
            clean_up(thing)
