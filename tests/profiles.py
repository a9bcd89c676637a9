"""The two runs of the suite. ``make test`` (the ``short`` profile, the default) draws a
modest number of examples in the property tests and the fuzzing, the same ones on every run
(derandomized); ``make test-all`` (``NEVERLOG_TEST_PROFILE=long``, what ``.ci/run`` runs)
draws each test's full number, new ones on every run. Neither has a deadline per example:
a busy machine makes a test slower, never failed. tests/conftest.py loads the profile."""

from __future__ import annotations

import os

from hypothesis import settings

PROFILES = ("short", "long")
PROFILE = os.environ.get("NEVERLOG_TEST_PROFILE", "short").strip() or "short"
if PROFILE not in PROFILES:
    raise ValueError(
        f"NEVERLOG_TEST_PROFILE={PROFILE!r} is not a profile: it is short (make test) or "
        "long (make test-all)"
    )
LONG = PROFILE == "long"

settings.register_profile("short", max_examples=20, derandomize=True, database=None, deadline=None)
settings.register_profile("long", max_examples=100, deadline=None)


def examples(full: int, short: int) -> int:
    """A property test's number of examples: ``full`` in the long profile, ``short`` in the
    short one (never more than ``full``)."""
    return full if LONG else min(short, full)
