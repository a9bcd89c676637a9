"""The decision module alone, in this process, on one core: recipient decisions per
second of ``policy.decide`` with realistic entries.

The emails have 10 recipients each, drawn from the contacts of a sales team: some at the
addresses, domains and subdomains of the super admin's two full lists (500 entries each),
most elsewhere. ``decide`` is given what ``tenancy.decisions.evaluate`` gives it: the
entries of those lists whose keys the email's recipients could match.

- warm: 1,000 recurring contacts, as a logging pipeline sees them (the module's caches of
  parsed addresses serve again);
- cold: every recipient an address never seen before (every one parsed: by the fast path
  for plain ASCII addresses, by email-validator for the rest).

Time is this process's CPU time (``time.process_time``): what the module costs, less
disturbed than wall-clock time by whatever else the machine runs. The garbage collector
is tuned as ``neverlog serve`` tunes it (api/server.py, tune_collector).
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Any

from api.server import tune_collector
from policy import Channel, Email, Entry, EntryKind, decide, lookup_keys
from tests.bench.bench_data import PatternBook, build_account

RECIPIENTS_PER_EMAIL = 10
CONTACTS = 1_000


def _addresses_for(entries: list[Entry], rng: random.Random, count: int, tag: str) -> list[str]:
    """``count`` recipients: a third matched by an entry of each kind, the rest not."""
    domains = [e for e in entries if e.pattern.kind is EntryKind.DOMAIN]
    subdomains = [e for e in entries if e.pattern.kind is EntryKind.SUBDOMAINS]
    addresses = [e for e in entries if e.pattern.kind is EntryKind.ADDRESS]
    people = ("anna", "john.smith", "m.rossi", "sales", "info", "l.nielsen", "peter", "ceo")
    out: list[str] = []
    for n in range(count):
        draw = rng.random()
        if draw < 0.1:
            out.append(rng.choice(addresses).pattern.text)
        elif draw < 0.2:
            out.append(f"{rng.choice(people)}{tag}{n}@{rng.choice(domains).pattern.text[2:]}")
        elif draw < 0.3:
            parent = rng.choice(subdomains).pattern.text[4:]
            out.append(f"{rng.choice(people)}{tag}{n}@{rng.choice(('eu', 'mail', 'us'))}.{parent}")
        else:
            out.append(
                f"{rng.choice(people)}{tag}{n}@customer{n % 97}-{rng.choice(('gmbh', 'inc'))}.com"
            )
    return out


def _emails(addresses: list[str], rng: random.Random, count: int) -> list[Email]:
    emails = []
    for _ in range(count):
        chosen = rng.sample(addresses, RECIPIENTS_PER_EMAIL)
        emails.append(
            Email(
                channel=Channel.SALES_EXTENSION,
                to=tuple(chosen[:6]),
                cc=tuple(chosen[6:9]),
                bcc=tuple(chosen[9:]),
            )
        )
    return emails


def _work(emails: list[Email], entries: list[Entry]) -> list[tuple[Email, list[Entry]]]:
    """Each email with the entries that the database would return for it."""
    by_key: dict[str, list[Entry]] = {}
    for entry in entries:
        by_key.setdefault(entry.pattern.key, []).append(entry)
    return [
        (email, [e for key in lookup_keys(email) for e in by_key.get(key, ())]) for email in emails
    ]


SLICES = 5


def measure(seconds: float = 3.0) -> dict[str, Any]:
    """Recipient decisions per CPU second, warm and cold: each the median of SLICES
    slices (``seconds`` in all for the warm ones), so that a moment of a busy machine moves
    one slice, not the figure."""
    rng = random.Random(11)
    entries = build_account(PatternBook(), 0).admin_entries  # two full lists: 1,000 entries
    tune_collector()
    contacts = _addresses_for(entries, rng, CONTACTS, "")
    warm = _work(_emails(contacts, rng, 2_000), entries)
    for email, found in warm:  # the first pass fills the caches
        decide(email, found)
    warm_rates = []
    for _ in range(SLICES):
        decided, started = 0, time.process_time()
        while (elapsed := time.process_time() - started) < seconds / SLICES:
            for email, found in warm:
                decide(email, found)
            decided += len(warm) * RECIPIENTS_PER_EMAIL
        warm_rates.append(decided / elapsed)

    cold_rates = []
    for n in range(SLICES):
        fresh = _addresses_for(entries, rng, 20_000, f"-new{n}-")
        cold = _work(
            [
                _emails(fresh[k : k + RECIPIENTS_PER_EMAIL], rng, 1)[0]
                for k in range(0, len(fresh), RECIPIENTS_PER_EMAIL)
            ],
            entries,
        )
        started = time.process_time()
        for email, found in cold:
            decide(email, found)
        cold_rates.append(len(fresh) / (time.process_time() - started))
    return {
        "warm_decisions_per_s": round(statistics.median(warm_rates)),
        "cold_decisions_per_s": round(statistics.median(cold_rates)),
        "entries_on_lists": len(entries),
        "recipients_per_email": RECIPIENTS_PER_EMAIL,
        "slices": SLICES,
    }


if __name__ == "__main__":
    print(measure())
