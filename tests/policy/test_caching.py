"""policy/caching.py: a bounded cache that keeps what is asked for again."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from policy.caching import CAPACITY, LONGEST_CACHED, cached


def _counting() -> tuple[Counter[str], Callable[[str], str]]:
    calls: Counter[str] = Counter()

    @cached
    def upper(text: str) -> str:
        calls[text] += 1
        return text.upper()

    return calls, upper


def test_a_result_is_computed_once_while_it_is_asked_for() -> None:
    # given a cached function
    calls, upper = _counting()
    # when one text is asked for between many others, far more than the cache holds
    for n in range(CAPACITY * 5):
        assert upper("hot") == "HOT"
        assert upper(f"cold {n}") == f"COLD {n}"
    # then the recurring one was computed once, each other once
    assert calls["hot"] == 1
    assert set(calls.values()) == {1}


def test_the_cache_forgets_what_is_not_asked_for_again() -> None:
    # given a cached function that was asked for many texts once each
    calls, upper = _counting()
    for n in range(CAPACITY * 2):
        upper(f"text {n}")
    # when the first of them is asked for again
    upper("text 0")
    # then it is computed again: the cache is bounded, not a record of everything
    assert calls["text 0"] == 2


def test_long_texts_are_never_kept() -> None:
    calls, upper = _counting()
    long = "x" * (LONGEST_CACHED + 1)
    upper(long)
    upper(long)
    assert calls[long] == 2
