"""Best of interleaved rounds: the order of measurement and the choice of the best, by hand."""

import pytest

from squeezenext.errors import SqueezeNextError
from squeezenext.rounds import best_of_rounds


def test_rounds_are_interleaved_and_each_key_keeps_its_best() -> None:
    order: list[str] = []
    times = {"a": iter([3.0, 1.0, 2.0]), "b": iter([5.0, 6.0, 4.0])}

    def measure(key: str) -> float:
        order.append(key)
        return next(times[key])

    assert best_of_rounds(["a", "b"], measure, 3, float, lower_is_better=True) == {"a": 1.0, "b": 4.0}
    assert order == ["a", "b", "a", "b", "a", "b"]
    rates = {"a": iter([3.0, 1.0]), "b": iter([5.0, 6.0])}
    assert best_of_rounds(["a", "b"], lambda k: next(rates[k]), 2, float, lower_is_better=False) == {"a": 3.0, "b": 6.0}


def test_rounds_must_be_at_least_one() -> None:
    with pytest.raises(SqueezeNextError, match="rounds must be at least 1"):
        best_of_rounds(["a"], lambda _: 1.0, 0, float, lower_is_better=True)
