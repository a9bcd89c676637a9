"""Realistic data for the benchmark: accounts whose lists are full (500 entries mixing
addresses, domains and subdomain entries), the email that a logging pipeline asks about,
and what must be decided for each of its recipients.

Rows are built with the project's own functions (``policy.parse_pattern`` for kind, text
and key; ``persistence.tables.new_id``; the token functions of ``tenancy.tokens``), so they
are what the service itself would have written.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from persistence.tables import new_id, utcnow
from policy import Channel, Email, Entry, EntryAction, Pattern, Scope, parse_pattern
from tenancy.tokens import PREFIX_LENGTH, hash_token, make_token, random_secret

LIST_SIZE = 500
POOL = 20_000  # distinct patterns that the lists are drawn from
USERS_PER_ACCOUNT = 2  # a super admin (who evaluates) and a user, each with a full list

# The entries that decide for the benchmark's email: one of each kind on each list.
ACCOUNT_SPECIALS = (
    "counsel@harbor-legal.com",
    "*@ridgeway-family.org",
    "*@*.meridian-partners.com",
)
PERSONAL_SPECIALS = ("dr.hale@oakfield-clinic.com", "*@summit-private.net", "*@*.ledger-bank.com")
# The entries that limit a capture (the capture email, CAPTURE_RECIPIENTS): the email that
# the benchmark asks about matches none of them.
LIMITING_SPECIALS = {
    Scope.ACCOUNT: (
        ("*@westbrook-capital.com", EntryAction.LOG_METADATA_ONLY),
        ("cfo@eastgate-holdings.com", EntryAction.LOG_SUBJECT_ONLY),
    ),
    Scope.PERSONAL: (("*@*.crestline-health.com", EntryAction.LOG_SUBJECT_ONLY),),
}
SPECIAL_DOMAINS = (
    "westbrook-capital.com",
    "eastgate-holdings.com",
    "crestline-health.com",
    "harbor-legal.com",
    "ridgeway-family.org",
    "meridian-partners.com",
    "oakfield-clinic.com",
    "summit-private.net",
    "ledger-bank.com",
    "northwind-traders.com",
    "brightpath.io",
)


@dataclass(frozen=True, slots=True)
class Expected:
    given: str
    field: str
    address: str
    outcome: str
    pattern: str | None = None
    scope: str | None = None


# Ten recipients: six blocked (each kind of entry, on each list), four logged, two of those
# right beside an entry (the domain of an address entry; the parent of a subdomain entry).
RECIPIENTS = (
    Expected(
        "counsel@harbor-legal.com",
        "TO",
        "counsel@harbor-legal.com",
        "NEVER_LOG",
        "counsel@harbor-legal.com",
        "ACCOUNT",
    ),
    Expected(
        "Ana Ruiz <ana@ridgeway-family.org>",
        "TO",
        "ana@ridgeway-family.org",
        "NEVER_LOG",
        "*@ridgeway-family.org",
        "ACCOUNT",
    ),
    Expected("jane.doe@northwind-traders.com", "TO", "jane.doe@northwind-traders.com", "LOGGED"),
    Expected(
        "ops@eu.meridian-partners.com",
        "TO",
        "ops@eu.meridian-partners.com",
        "NEVER_LOG",
        "*@*.meridian-partners.com",
        "ACCOUNT",
    ),
    Expected(
        "Dr.Hale@Oakfield-Clinic.com",
        "CC",
        "dr.hale@oakfield-clinic.com",
        "NEVER_LOG",
        "dr.hale@oakfield-clinic.com",
        "PERSONAL",
    ),
    Expected(
        "alex@summit-private.net",
        "CC",
        "alex@summit-private.net",
        "NEVER_LOG",
        "*@summit-private.net",
        "PERSONAL",
    ),
    Expected("Tom Baker <tom.baker@brightpath.io>", "CC", "tom.baker@brightpath.io", "LOGGED"),
    Expected("buyer@meridian-partners.com", "CC", "buyer@meridian-partners.com", "LOGGED"),
    Expected(
        "statements@mail.ledger-bank.com",
        "BCC",
        "statements@mail.ledger-bank.com",
        "NEVER_LOG",
        "*@*.ledger-bank.com",
        "PERSONAL",
    ),
    Expected("lena@harbor-legal.com", "BCC", "lena@harbor-legal.com", "LOGGED"),
)


def email_input(order: Sequence[Expected] = RECIPIENTS) -> dict[str, Any]:
    """The email as the GraphQL EmailInput (and the baseline's JSON body) takes it; its
    recipients in ``order`` (one of ``recipient_orders``)."""
    return {
        "channel": "SALES_EXTENSION",
        "to": [r.given for r in order if r.field == "TO"],
        "cc": [r.given for r in order if r.field == "CC"],
        "bcc": [r.given for r in order if r.field == "BCC"],
        "existingContacts": ["jane.doe@northwind-traders.com"],
    }


def recipient_orders(count: int) -> list[tuple[Expected, ...]]:
    """``count`` different orders of the email's recipients (each field's own reordered):
    the emails of a batch, to the same people as the single calls' email and decided as
    it is, but no two alike, so that a batch does the work of ``count`` emails."""
    fields = [tuple(r for r in RECIPIENTS if r.field == f) for f in ("TO", "CC", "BCC")]
    orders = [
        (*to, *cc, *bcc)
        for to, cc, bcc in itertools.product(*(itertools.permutations(f) for f in fields))
    ]
    if count > len(orders):
        raise ValueError(f"at most {len(orders)} different orders, not {count}")
    return orders[:count]


def email() -> Email:
    given = email_input()
    return Email(
        channel=Channel(given["channel"]),
        to=tuple(given["to"]),
        cc=tuple(given["cc"]),
        bcc=tuple(given["bcc"]),
        existing_contacts=tuple(given["existingContacts"]),
    )


RECIPIENT_FIELDS = (
    "address field outcome loggedToContact contactCreated timelineTracking "
    "associatedRecordsLogged activityFeedTracking matchedPattern matchedScope explanation"
)
DECISION_FIELDS = "channel neverLogApplies emailSent loggedCount neverLogCount"

# -- the capture and inbound emails -----------------------------------------------------------

CAPTURE_FIELDS = f"{RECIPIENT_FIELDS} matchedAction capture"
CAPTURE_DECISION_FIELDS = f"{DECISION_FIELDS} capture limitedCount"
CAPTURE = (
    "query Evaluate($email: EmailInput!) { evaluateEmailLogging(email: $email) { "
    f"{CAPTURE_DECISION_FIELDS} recipients {{ {CAPTURE_FIELDS} }} }} }}"
)
INBOUND = (
    "query Evaluate($email: EmailInput!) { evaluateEmailLogging(email: $email) { "
    f"{CAPTURE_DECISION_FIELDS} direction automated automatedReason "
    f"recipients {{ {CAPTURE_FIELDS} }} }} }}"
)
# Ten recipients: the benchmark email's, less three logged and three blocked ones, plus six
# that the limiting entries match (each of them; three at the address, domain or subdomain).
CAPTURE_RECIPIENTS: tuple[tuple[str, str, str | None], ...] = (
    # (address, outcome, capture)
    ("counsel@harbor-legal.com", "NEVER_LOG", None),
    ("ana@ridgeway-family.org", "NEVER_LOG", None),
    ("jane.doe@northwind-traders.com", "LOGGED", "FULL"),
    ("dr.hale@oakfield-clinic.com", "NEVER_LOG", None),
    ("ir@westbrook-capital.com", "LOGGED", "METADATA"),
    ("deals@westbrook-capital.com", "LOGGED", "METADATA"),
    ("cfo@eastgate-holdings.com", "LOGGED", "SUBJECT"),
    ("billing@eu.crestline-health.com", "LOGGED", "SUBJECT"),
    ("care@mail.crestline-health.com", "LOGGED", "SUBJECT"),
    ("tom.baker@brightpath.io", "LOGGED", "FULL"),
)


def capture_input() -> dict[str, Any]:
    """The capture email: six of its ten recipients matched by limiting entries."""
    addresses = [a for a, _, _ in CAPTURE_RECIPIENTS]
    return {
        "channel": "SALES_EXTENSION",
        "to": addresses[:5],
        "cc": addresses[5:8],
        "bcc": addresses[8:],
        "existingContacts": ["jane.doe@northwind-traders.com"],
    }


def check_capture(decision: dict[str, Any]) -> list[str]:
    """What is wrong with an answer for the capture email."""
    got = [(r["address"], r["outcome"], r["capture"]) for r in decision.get("recipients") or []]
    if got != list(CAPTURE_RECIPIENTS):
        return [f"recipients {got}"]
    if (decision["capture"], decision["limitedCount"]) != ("METADATA", 5):
        return [f"capture {decision['capture']}, limited {decision['limitedCount']}"]
    return []


# An inbound newsletter: its sender and four recipients are decided by the automated rule
# (rule 4), five by an entry first (rule 2); its headers as a mail server hands them over.
INBOUND_HEADERS = (
    ("Return-Path", "<bounce-4711@news.northwind-traders.com>"),
    ("Message-ID", "<20261207.4711@news.northwind-traders.com>"),
    ("Date", "Mon, 07 Dec 2026 06:00:00 +0000"),
    ("MIME-Version", "1.0"),
    ("Content-Type", "multipart/alternative; boundary=b1"),
    ("X-Mailer", "Campaigns 9.2"),
    ("List-Id", "Northwind news <news.northwind-traders.com>"),
    ("List-Unsubscribe", "<mailto:unsubscribe@news.northwind-traders.com>"),
    ("Precedence", "bulk"),
)
INBOUND_PARTICIPANTS: tuple[tuple[str, str, str], ...] = (
    # (address, field, outcome)
    ("news@northwind-traders.com", "FROM", "AUTOMATED"),
    ("user0@bench-0000.example.com", "TO", "AUTOMATED"),
    ("counsel@harbor-legal.com", "TO", "NEVER_LOG"),
    ("ana@ridgeway-family.org", "TO", "NEVER_LOG"),
    ("jane.doe@northwind-traders.com", "CC", "AUTOMATED"),
    ("ops@eu.meridian-partners.com", "CC", "NEVER_LOG"),
    ("alex@summit-private.net", "CC", "NEVER_LOG"),
    ("tom.baker@brightpath.io", "CC", "AUTOMATED"),
    ("statements@mail.ledger-bank.com", "BCC", "NEVER_LOG"),
    ("lena@harbor-legal.com", "BCC", "AUTOMATED"),
)


def inbound_input() -> dict[str, Any]:
    """The inbound email with its headers."""
    by_field: dict[str, list[str]] = {"TO": [], "CC": [], "BCC": []}
    for address, field_, _ in INBOUND_PARTICIPANTS[1:]:
        by_field[field_].append(address)
    return {
        "channel": "SALES_EXTENSION",
        "direction": "INBOUND",
        "from": INBOUND_PARTICIPANTS[0][0],
        "headers": [{"name": n, "value": v} for n, v in INBOUND_HEADERS],
        "to": by_field["TO"],
        "cc": by_field["CC"],
        "bcc": by_field["BCC"],
        "existingContacts": ["jane.doe@northwind-traders.com"],
    }


def check_inbound(decision: dict[str, Any]) -> list[str]:
    """What is wrong with an answer for the inbound email."""
    got = [(r["address"], r["field"], r["outcome"]) for r in decision.get("recipients") or []]
    if got != list(INBOUND_PARTICIPANTS):
        return [f"participants {got}"]
    seen = (decision["direction"], decision["automated"], decision["automatedReason"])
    if seen != ("INBOUND", True, "Precedence: bulk"):
        return [f"inbound {seen}"]
    return []


# Every field of a decision that a logging pipeline reads (its sender aside).
EVALUATE = (
    "query Evaluate($email: EmailInput!) { evaluateEmailLogging(email: $email) { "
    f"{DECISION_FIELDS} recipients {{ {RECIPIENT_FIELDS} }} }} }}"
)


def check_decision(decision: dict[str, Any], order: Sequence[Expected] = RECIPIENTS) -> list[str]:
    """What is wrong with an evaluateEmailLogging answer for the benchmark's email (its
    recipients in ``order``)."""
    problems: list[str] = []
    recipients = decision.get("recipients") or []
    if [r.get("address") for r in recipients] != [e.address for e in order]:
        return [f"recipients {[r.get('address') for r in recipients]}"]
    for got, want in zip(recipients, order, strict=True):
        seen = (got["field"], got["outcome"], got["matchedPattern"], got["matchedScope"])
        if seen != (want.field, want.outcome, want.pattern, want.scope):
            problems.append(f"{want.address}: {seen}")
    logged = sum(1 for e in RECIPIENTS if e.outcome == "LOGGED")
    if (decision.get("loggedCount"), decision.get("neverLogCount")) != (
        logged,
        len(RECIPIENTS) - logged,
    ):
        problems.append(f"counts {decision.get('loggedCount')}, {decision.get('neverLogCount')}")
    return problems


# -- realistic lists ------------------------------------------------------------------------

_FIRST = [
    "maria",
    "anna",
    "john",
    "david",
    "sofia",
    "lukas",
    "emma",
    "noah",
    "olivia",
    "liam",
    "mia",
    "elias",
    "lea",
    "paul",
    "hanna",
    "jonas",
    "chloe",
    "lucas",
    "ines",
    "mateo",
    "sara",
    "hugo",
    "nora",
    "felix",
    "ida",
    "oscar",
    "alma",
    "leon",
    "julia",
    "adam",
    "clara",
    "max",
]
_LAST = [
    "lopez",
    "smith",
    "muller",
    "garcia",
    "rossi",
    "martin",
    "bernard",
    "schmidt",
    "jansen",
    "silva",
    "nowak",
    "kowalski",
    "andersson",
    "nielsen",
    "dubois",
    "moreau",
    "fischer",
    "weber",
    "wagner",
    "becker",
    "hoffmann",
    "schulz",
    "koch",
    "richter",
    "klein",
    "wolf",
    "neumann",
    "schwarz",
    "zimmermann",
    "braun",
    "kruger",
    "hartmann",
    "lange",
]
_BRAND = [
    "north",
    "south",
    "blue",
    "green",
    "silver",
    "golden",
    "river",
    "stone",
    "oak",
    "pine",
    "cedar",
    "maple",
    "harbor",
    "summit",
    "bright",
    "clear",
    "swift",
    "true",
    "prime",
    "nova",
    "apex",
    "atlas",
    "delta",
    "orbit",
    "vector",
    "lumen",
    "terra",
    "aqua",
    "iron",
    "copper",
    "crystal",
]
_TRADE = [
    "wind",
    "path",
    "partners",
    "health",
    "legal",
    "law",
    "bank",
    "capital",
    "labs",
    "media",
    "logistics",
    "foods",
    "motors",
    "systems",
    "works",
    "group",
    "holdings",
    "ventures",
    "consulting",
    "analytics",
    "clinic",
    "insurance",
    "realty",
    "energy",
    "pharma",
    "textiles",
    "studios",
    "robotics",
    "security",
    "finance",
]
_TLDS = ("com", "de", "co.uk", "io", "fr", "se", "nl", "es", "it", "ch", "net", "org")
_IDN = ("domän.se", "müller-bau.de", "café-paris.fr", "łódź-tech.pl", "ålesund-fisk.no")
_PUBLIC = ("gmail.com", "outlook.com", "yahoo.com", "gmx.de", "icloud.com", "proton.me")
_SUBS = ("eu", "us", "mail", "corp", "uk", "de", "apac", "int")


def _domains(rng: random.Random) -> list[str]:
    names = [f"{a}{b}.{t}" for a in _BRAND for b in _TRADE for t in _TLDS]
    names += [f"{a}-{b}.{t}" for a in _BRAND[:10] for b in _TRADE[:10] for t in _TLDS[:4]]
    names = [n for n in names if not any(n.endswith(s) for s in SPECIAL_DOMAINS)]
    rng.shuffle(names)
    return list(_IDN) + names


class PatternBook:
    """Patterns parsed once each by ``policy.parse_pattern`` (seeding parses a pattern
    text once, however many lists hold it)."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.domains = _domains(self.rng)
        self._parsed: dict[str, Pattern] = {}
        self.pool: list[Pattern] = []

    def parse(self, text: str) -> Pattern:
        pattern = self._parsed.get(text)
        if pattern is None:
            pattern = self._parsed[text] = parse_pattern(text)
        return pattern

    def _filler(self) -> str:
        """One entry as people list them: half addresses (some at public mail
        providers), a third domains, the rest subdomain entries."""
        rng = self.rng
        draw = rng.random()
        if draw < 0.5:
            domain = rng.choice(_PUBLIC) if rng.random() < 0.3 else rng.choice(self.domains[:3000])
            sep = rng.choice((".", "_", ""))
            return f"{rng.choice(_FIRST)}{sep}{rng.choice(_LAST)}@{domain}"
        if draw < 0.85:
            return f"*@{rng.choice(self.domains)}"
        sub = f"{rng.choice(_SUBS)}." if rng.random() < 0.2 else ""
        return f"*@*.{sub}{rng.choice(self.domains)}"

    def _pool(self) -> list[Pattern]:
        """POOL distinct patterns that lists draw from (parsed once each)."""
        if not self.pool:
            by_key: dict[str, Pattern] = {}
            while len(by_key) < POOL:
                pattern = self.parse(self._filler())
                by_key.setdefault(pattern.key, pattern)
            self.pool = list(by_key.values())
        return self.pool

    def full_list(self, specials: Iterable[str] = (), size: int = LIST_SIZE) -> list[Pattern]:
        """A full list: ``specials`` and realistic others, each key once."""
        chosen: dict[str, Pattern] = {}
        for text in specials:
            pattern = self.parse(text)
            chosen[pattern.key] = pattern
        for pattern in self.rng.sample(self._pool(), size):
            if len(chosen) == size:
                break
            chosen.setdefault(pattern.key, pattern)
        return list(chosen.values())


# -- rows -------------------------------------------------------------------------------------


@dataclass(slots=True)
class SeedAccount:
    """One account's rows, in the column order of each table."""

    account_id: uuid.UUID
    admin_id: uuid.UUID
    token: str  # the super admin's: the benchmark evaluates as them
    accounts: list[tuple[Any, ...]] = field(default_factory=list)
    users: list[tuple[Any, ...]] = field(default_factory=list)
    api_tokens: list[tuple[Any, ...]] = field(default_factory=list)
    never_log_entries: list[tuple[Any, ...]] = field(default_factory=list)
    admin_entries: list[Entry] = field(default_factory=list)


TABLES = ("accounts", "users", "api_tokens", "never_log_entries")
COLUMNS = {
    "accounts": ("id", "name", "created_at"),
    "users": ("account_id", "id", "email", "email_key", "name", "role", "active", "created_at"),
    "api_tokens": (
        "account_id",
        "id",
        "user_id",
        "name",
        "prefix",
        "token_hash",
        "created_at",
        "last_used_at",
        "revoked_at",
    ),
    "never_log_entries": (
        "account_id",
        "id",
        "owner_id",
        "scope",
        "kind",
        "pattern",
        "match_key",
        "created_at",
        "created_by_id",
        "action",
    ),
}


def build_account(book: PatternBook, number: int) -> SeedAccount:
    """An account with a full account-wide list and USERS_PER_ACCOUNT users, each with a
    full personal list and a token."""
    now = utcnow()
    account_id = new_id()
    company = f"bench-{number:04d}.example.com"
    users = [(new_id(), "SUPER_ADMIN" if n == 0 else "USER", n) for n in range(USERS_PER_ACCOUNT)]
    admin_id = users[0][0]
    seed = SeedAccount(account_id=account_id, admin_id=admin_id, token="")
    seed.accounts.append((account_id, f"Bench Company {number}", now))
    for user_id, role, n in users:
        address = f"user{n}@{company}"
        seed.users.append((account_id, user_id, address, address, f"User {n}", role, True, now))
        token = make_token(account_id, random_secret())
        if n == 0:
            seed.token = token
        seed.api_tokens.append(
            (
                account_id,
                new_id(),
                user_id,
                "pipeline",
                token[:PREFIX_LENGTH],
                hash_token(token),
                now,
                None,
                None,
            )
        )
    limiting = {
        scope: {book.parse(text).key: action for text, action in chosen}
        for scope, chosen in LIMITING_SPECIALS.items()
    }
    account_specials = ACCOUNT_SPECIALS + tuple(t for t, _ in LIMITING_SPECIALS[Scope.ACCOUNT])
    personal_specials = PERSONAL_SPECIALS + tuple(t for t, _ in LIMITING_SPECIALS[Scope.PERSONAL])
    lists = [(account_id, Scope.ACCOUNT, book.full_list(account_specials))]
    for user_id, _, n in users:
        lists.append((user_id, Scope.PERSONAL, book.full_list(personal_specials if n == 0 else ())))
    for owner_id, scope, patterns in lists:
        for p in patterns:
            action = (
                limiting[scope].get(p.key, EntryAction.NEVER_LOG)
                if owner_id
                in (
                    account_id,
                    admin_id,
                )
                else EntryAction.NEVER_LOG
            )
            seed.never_log_entries.append(
                (
                    account_id,
                    new_id(),
                    owner_id,
                    scope.value,
                    p.kind.value,
                    p.text,
                    p.key,
                    now,
                    admin_id,
                    action.value,
                )
            )
            if number == 0 and owner_id in (account_id, admin_id):
                seed.admin_entries.append(Entry(scope=scope, pattern=p, action=action))
    return seed


def accounts(
    count: int, *, start: int = 0, book: PatternBook | None = None
) -> Iterator[SeedAccount]:
    book = book or PatternBook()
    for number in range(start, start + count):
        yield build_account(book, number)
