"""Best of interleaved rounds: how every timing here resists a shared machine's noise.

Every case is measured once per round and the rounds are interleaved, so a burst of load from other work lands
on one round of each case rather than on every round of one; each case keeps its best round (load only ever
adds time, so the best is the least disturbed).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

from squeezenext.errors import SqueezeNextError

K = TypeVar("K", bound=Hashable)
R = TypeVar("R")


def best_of_rounds(
    keys: Sequence[K], measure: Callable[[K], R], rounds: int, score: Callable[[R], float], *, lower_is_better: bool
) -> dict[K, R]:
    """``measure(key)`` for every key in each of ``rounds`` rounds; per key, the result with the best ``score``
    (the lowest time, or the highest rate)."""
    if rounds < 1:
        raise SqueezeNextError(f"rounds must be at least 1, got {rounds}")
    best: dict[K, R] = {}
    for _ in range(rounds):
        for key in keys:
            result = measure(key)
            if key not in best or (score(result) < score(best[key])) == lower_is_better:
                best[key] = result
    return best
