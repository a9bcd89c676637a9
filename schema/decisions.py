"""evaluateEmailLogging and saved simulations: the GraphQL face of the decision module."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from functools import partial
from itertools import compress, repeat
from operator import attrgetter, is_
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple, get_type_hints

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types import Info
from strawberry.types.arguments import InputContext

from policy import (
    BadEmail,
    Decision,
    Email,
    OriginalEmail,
    RecipientDecision,
    TooManyRecipients,
    read_email,
)
from policy.errors import BadUserInput
from schema.connections import Connection, page_size
from schema.enums import (
    CaptureLevel,
    Channel,
    EmailDirection,
    Outcome,
)
from schema.errors import UserError, signed_in_mutation
from schema.ids import decode_id, to_global_id
from schema.permissions import SIGNED_IN
from schema.types import Node, User, load_user
from tenancy import decisions, privacy, reads
from tenancy.records import SETTINGS_SCOPES, EmailSimulation, KeyedEntry


@strawberry.input(description="The recipients of the email that a reply answers.")
class OriginalEmailInput:
    to: list[str]
    cc: list[str] | None = strawberry.field(default_factory=list)
    bcc: list[str] | None = strawberry.field(default_factory=list)


@strawberry.input(
    description="A header of the email. Only those that tell automated email apart are read; "
    "others are ignored."
)
class EmailHeaderInput:
    name: str
    value: str


@strawberry.input(
    description="An email to decide on. Addresses may be bare (jane@example.com) or carry a "
    "display name (Jane Doe <jane@example.com>)."
)
class EmailInput:
    channel: Channel
    sender_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The account's user whose email it is: who sent it (OUTBOUND) or whose "
        "mailbox received it (INBOUND); the viewer when omitted. Only super admins may name "
        "another user.",
    )
    direction: EmailDirection = EmailDirection.OUTBOUND
    from_: str | None = strawberry.field(
        name="from",
        default=None,
        description="INBOUND only (required there, refused for OUTBOUND): the address the "
        "email came from.",
    )
    headers: list[EmailHeaderInput] | None = strawberry.field(
        default_factory=list,
        description="The email's headers that tell automated email apart: Auto-Submitted, "
        "Precedence, List-Id, List-Unsubscribe. Names compare without regard to case. At "
        "most 50.",
    )
    to: list[str]
    cc: list[str] | None = strawberry.field(default_factory=list)
    bcc: list[str] | None = strawberry.field(default_factory=list)
    log_to_crm: bool = True
    create_new_contacts: bool = True
    excluded_recipients: list[str] | None = strawberry.field(default_factory=list)
    existing_contacts: list[str] | None = strawberry.field(default_factory=list)
    in_reply_to: OriginalEmailInput | None = None


class GivenEmail(NamedTuple):
    """An EmailInput as its resolvers take it: the domain's email, built once from what
    graphql-core coerced (given_email), and the sender's ID as given, decoded where the
    resolver reads it."""

    email: Email
    sender_id: str | None

    def sender(self) -> uuid.UUID | None:
        return decode_id(self.sender_id, "User") if self.sender_id is not None else None


def given_email(type_: type, value: Mapping[str, Any], context: InputContext) -> GivenEmail:
    """EmailInput's value as graphql-core coerced it (every field present, defaults
    included; enums already members) made the domain's email at once: Strawberry's hook
    for input types that build their own value (``from_input``), in place of an
    EmailInput, its nested inputs and a copy of each. tests/schema/test_inputs.py holds it
    to Strawberry's own conversion. Built by position (as ``Email._make`` builds it, in
    Email's field order, without its Python call): a batch builds a hundred."""
    get = value.get
    original = get("inReplyTo")
    headers = get("headers")
    cc = get("cc")
    bcc = get("bcc")
    excluded = get("excludedRecipients")
    existing = get("existingContacts")
    return _given(
        (
            _email(
                (
                    value["channel"],
                    tuple(value["to"]),
                    tuple(cc) if cc else (),
                    tuple(bcc) if bcc else (),
                    get("logToCrm", True),
                    get("createNewContacts", True),
                    tuple(excluded) if excluded else (),
                    tuple(existing) if existing else (),
                    None
                    if original is None
                    else OriginalEmail(
                        to=tuple(original["to"]),
                        cc=tuple(original.get("cc") or ()),
                        bcc=tuple(original.get("bcc") or ()),
                    ),
                    get("direction", EmailDirection.OUTBOUND),
                    get("from"),
                    tuple((h["name"], h["value"]) for h in headers) if headers else (),
                )
            ),
            get("senderId"),
        )
    )


_email = partial(tuple.__new__, Email)  # Email._make's work, without its Python call
_given = partial(tuple.__new__, GivenEmail)
assert Email._fields == (
    *("channel", "to", "cc", "bcc", "log_to_crm", "create_new_contacts"),
    *("excluded_recipients", "existing_contacts", "in_reply_to", "direction"),
    *("sender_address", "headers"),
), "given_email builds an Email by position"


EmailInput.__strawberry_definition__.from_input = given_email  # type: ignore[attr-defined]
# How a resolver's argument (or an input's field) reads an EmailInput: as a GivenEmail.
EmailArgument = Annotated[GivenEmail, strawberry.argument(graphql_type=EmailInput)]


def _served_as(record: type[tuple[Any, ...]], name: str) -> type:
    """The GraphQL object type of a policy record (a named tuple): its fields are the
    record's, in the record's order, with the record's types (policy's enums are the
    GraphQL enums, schema/enums.py). Its values are the record's own: no copy on the hot
    path, and no second list of fields to keep in step."""
    hints = get_type_hints(record)
    fields = record._fields  # type: ignore[attr-defined]
    namespace = {"__annotations__": {f: hints[f] for f in fields}, "__module__": __name__}
    return strawberry.type(type(name, (), namespace), name=name)


if TYPE_CHECKING:
    RecipientDecisionType = RecipientDecision
else:
    RecipientDecisionType = _served_as(RecipientDecision, "RecipientDecision")


_OUTCOME = attrgetter("outcome")
_CAPTURE = attrgetter("capture")
_RANK = {CaptureLevel.FULL: 2, CaptureLevel.SUBJECT: 1, CaptureLevel.METADATA: 0}


@strawberry.type
class EmailLoggingDecision:
    channel: Channel
    never_log_applies: bool
    email_sent: bool
    # As the viewer may see them: EmailLoggingDecision.seen_by, the only way one is made.
    recipients: list[RecipientDecisionType]
    logged_count: int
    never_log_count: int
    internal_count: int = strawberry.field(description="Recipients decided INTERNAL.")
    direction: EmailDirection
    automated: bool = strawberry.field(
        description="True for an INBOUND email that counts as automated, where the account "
        "skips automated email."
    )
    automated_reason: str | None = strawberry.field(
        description='Why the email counts as automated (e.g. "Precedence: bulk", '
        '"no-reply@acme.com is an automated sender"); null where it does not.'
    )
    capture: CaptureLevel | None = strawberry.field(
        description="The least capture among LOGGED recipients: the most a CRM that keeps one "
        "copy of the email may keep. Null where no recipient is logged."
    )
    limited_count: int = strawberry.field(
        description="LOGGED recipients whose capture is less than FULL."
    )
    sender_id: strawberry.Private[uuid.UUID]
    decision: strawberry.Private[Decision]

    @strawberry.field
    async def sender(self, info: Info) -> User:
        user = await load_user(info, self.sender_id)
        assert user is not None, "a sender is a user of the account, and users are never deleted"
        return user

    @classmethod
    async def seen_by(
        cls, info: Info, decided: Sequence[tuple[Decision, uuid.UUID]]
    ) -> list[EmailLoggingDecision]:
        """The decisions (each made for its sender) as the viewer may see them: the only
        way out of a decision's recipients, whatever field made the decision
        (tenancy.privacy), so that a super admin deciding for another sender never sees
        that sender's personal patterns. Their recipients are then a plain field, which
        the answer reads as it reads the counts.

        Nothing to hide (nearly always): the decision's own recipients, at once. Else the
        senders' names loaded first: those of every decision of a batch, in one load of
        the users' DataLoader, so that the decisions' ``sender`` fields find them there.

        A decision given again for the same sender (a batch's copies of one email:
        tenancy.decisions.evaluate_batch gives them the same Decision) is answered by the
        same object: what the viewer may see of it depends on nothing else."""
        viewer = info.context.signed_in
        # Each distinct (decision, sender), by their identities (``decided`` holds them
        # until the end; a UUID hashes in Python), with whether the viewer may not see all
        # of it.
        distinct: dict[tuple[int, int], bool] = {}
        for decision, sender_id in decided:
            key = (id(decision), id(sender_id))
            if key not in distinct:
                distinct[key] = privacy.needs_redaction(viewer, decision.recipients, sender_id)
        names: dict[uuid.UUID, str | None] = {}
        if any(distinct.values()):
            senders = list(dict.fromkeys(sender_id for _, sender_id in decided))
            users = await asyncio.gather(*(info.context.users.load(s) for s in senders))
            names = {
                sender_id: user.name if user is not None else None
                for sender_id, user in zip(senders, users, strict=True)
            }
        made: dict[tuple[int, int], EmailLoggingDecision] = {}
        answers: list[EmailLoggingDecision] = []
        for decision, sender_id in decided:
            key = (id(decision), id(sender_id))
            answer = made.get(key)
            if answer is None:
                answer = made[key] = cls.of(
                    decision,
                    sender_id,
                    privacy.visible_recipients(viewer, decision, sender_id, names[sender_id])
                    if distinct[key]
                    else decision.recipients,
                )
            answers.append(answer)
        return answers

    @classmethod
    def of(
        cls,
        decision: Decision,
        sender_id: uuid.UUID,
        recipients: Sequence[RecipientDecision],
    ) -> EmailLoggingDecision:
        """Use seen_by: ``recipients`` are those the viewer may see."""
        # Decision's counts, in C: its outcomes, and the captures of its LOGGED recipients
        # (a batch makes a hundred)
        every = decision.recipients
        outcomes = list(map(_OUTCOME, every))
        logged = outcomes.count(Outcome.LOGGED)
        capture = limited = None
        if logged:
            captures = list(
                compress(map(_CAPTURE, every), map(is_, outcomes, repeat(Outcome.LOGGED)))
            )
            if None in captures:
                captures = [c for c in captures if c is not None]
            limited = logged - captures.count(CaptureLevel.FULL)
            capture = min(captures, key=_RANK.__getitem__) if limited else CaptureLevel.FULL
        return cls(
            channel=decision.channel,
            never_log_applies=decision.never_log_applies,
            email_sent=decision.email_sent,
            logged_count=logged,
            never_log_count=outcomes.count(Outcome.NEVER_LOG),
            internal_count=outcomes.count(Outcome.INTERNAL),
            direction=decision.direction,
            automated=decision.automated,
            automated_reason=decision.automated_reason,
            capture=capture,
            limited_count=limited or 0,
            recipients=recipients,  # type: ignore[arg-type]
            sender_id=sender_id,
            decision=decision,
        )


@strawberry.type
class SimulatedOriginalEmail:
    to: list[str]
    cc: list[str]
    bcc: list[str]


@strawberry.type
class EmailHeader:
    name: str
    value: str


@strawberry.type(description="The stored form of a simulated email.")
class SimulatedEmail:
    channel: Channel
    direction: EmailDirection
    from_: str | None = strawberry.field(name="from")
    headers: list[EmailHeader]
    to: list[str]
    cc: list[str]
    bcc: list[str]
    log_to_crm: bool
    create_new_contacts: bool
    excluded_recipients: list[str]
    existing_contacts: list[str]
    in_reply_to: SimulatedOriginalEmail | None
    sender_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def sender(self, info: Info) -> User | None:
        return await load_user(info, self.sender_id)

    @classmethod
    def of(cls, email: Email, sender_id: uuid.UUID) -> SimulatedEmail:
        original = email.in_reply_to
        return cls(
            channel=email.channel,
            direction=email.direction,
            from_=email.sender_address,
            headers=[EmailHeader(name=name, value=value) for name, value in email.headers],
            to=list(email.to),
            cc=list(email.cc),
            bcc=list(email.bcc),
            log_to_crm=email.log_to_crm,
            create_new_contacts=email.create_new_contacts,
            excluded_recipients=list(email.excluded_recipients),
            existing_contacts=list(email.existing_contacts),
            in_reply_to=None
            if original is None
            else SimulatedOriginalEmail(
                to=list(original.to), cc=list(original.cc), bcc=list(original.bcc)
            ),
            sender_id=sender_id,
        )


LookupKey = tuple[uuid.UUID, frozenset[str]]


def _keyed_entries(info: Info) -> DataLoader[LookupKey, list[KeyedEntry]]:
    """Today's entries for many (sender, keys) at once: one query for a whole page of
    simulations."""
    ctx = info.context
    viewer = ctx.signed_in
    account_id = viewer.account_id

    async def load(wanted: Sequence[LookupKey]) -> list[list[KeyedEntry]]:
        senders = {sender for sender, _ in wanted}
        keys = set().union(*(keys for _, keys in wanted))
        rows = await decisions.keyed_entries(ctx.db, viewer, senders, keys)
        return [
            [
                r
                for r in rows
                if r.owner_id in (account_id, sender)
                and (r.match_key in keys or r.scope in SETTINGS_SCOPES)
            ]
            for sender, keys in wanted
        ]

    loader: DataLoader[LookupKey, list[KeyedEntry]] = ctx.loader(
        "keyed-entries", lambda: DataLoader(load_fn=load)
    )
    return loader


@strawberry.type(
    description="A saved simulation: an email, the decision when it was run, and the decision "
    "under today's lists."
)
class EmailLoggingSimulation(Node):
    id: strawberry.ID
    name: str | None
    created_at: dt.datetime
    email: SimulatedEmail
    row: strawberry.Private[EmailSimulation]
    parsed: strawberry.Private[Email]
    recorded_decision: strawberry.Private[Decision]

    @strawberry.field
    async def recorded(self, info: Info) -> EmailLoggingDecision:
        decided = [(self.recorded_decision, self.row.sender_id)]
        return (await EmailLoggingDecision.seen_by(info, decided))[0]

    @strawberry.field
    async def created_by(self, info: Info) -> User | None:
        return await load_user(info, self.row.created_by_id)

    @strawberry.field(description="The same email decided again under the lists as they are now.")
    async def current(self, info: Info) -> EmailLoggingDecision:
        decided = [(await self._current(info), self.row.sender_id)]
        return (await EmailLoggingDecision.seen_by(info, decided))[0]

    @strawberry.field(description="True where current differs from recorded for any recipient.")
    async def changed_since_run(self, info: Info) -> bool:
        recorded = Decision.from_dict(self.row.recorded)
        return (await self._current(info)).differs_from(recorded)

    async def _current(self, info: Info) -> Decision:
        read = read_email(self.parsed)
        rows = await _keyed_entries(info).load((self.row.sender_id, read.keys))
        return decisions.decide_with(read, self.row.sender_id, self.row.account_id, rows)

    @classmethod
    def from_row(cls, row: EmailSimulation) -> EmailLoggingSimulation:
        email = decisions.email_from_dict(row.email)
        return cls(
            id=to_global_id("EmailLoggingSimulation", row.id),
            name=row.name,
            created_at=row.created_at,
            email=SimulatedEmail.of(email, row.sender_id),
            row=row,
            parsed=email,
            recorded_decision=Decision.from_dict(row.recorded),
        )


@strawberry.type
class DecisionQuery:
    @strawberry.field(
        permission_classes=SIGNED_IN,
        description="Decide, without saving anything, what would be logged for this email.",
    )
    async def evaluate_email_logging(
        self, info: Info, email: EmailArgument
    ) -> EmailLoggingDecision:
        ctx = info.context
        try:
            decided = await decisions.evaluate(
                ctx.db, ctx.signed_in, email.email, sender_id=email.sender()
            )
        except TooManyRecipients as exc:
            raise BadUserInput(str(exc), limit=exc.limit) from exc
        except BadEmail as exc:
            raise BadUserInput(str(exc), field=["email", exc.field]) from exc
        ctx.observe_decisions((decided.decision,))
        decision = [(decided.decision, decided.sender_id)]
        return (await EmailLoggingDecision.seen_by(info, decision))[0]

    @strawberry.field(
        permission_classes=SIGNED_IN,
        description="Decide for several emails at once (at most 100), as evaluateEmailLogging "
        "would for each, in input order: for pipelines that log mailboxes in bulk.",
    )
    async def evaluate_email_logging_batch(
        self,
        info: Info,
        emails: Annotated[list[GivenEmail], strawberry.argument(graphql_type=list[EmailInput])],
    ) -> list[EmailLoggingDecision]:
        ctx = info.context
        given = [(email.email, email.sender()) for email in emails]
        # An email that fails them all raises decisions.InEmail: schema/errors.py's
        # public_error puts its error at the email's index in the batch's path.
        decided = await decisions.evaluate_batch(ctx.db, ctx.signed_in, given)
        ctx.observe_decisions([d.decision for d in decided])
        return await EmailLoggingDecision.seen_by(info, decided)  # (decision, sender) pairs

    @strawberry.field(
        permission_classes=SIGNED_IN,
        description="Saved simulations: the viewer's own; a super admin sees every simulation "
        "of the account.",
    )
    async def email_logging_simulations(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[EmailLoggingSimulation]:
        page = await reads.page_simulations(
            info.context.db, info.context.signed_in, first=page_size(first), after=after
        )
        return Connection.from_page(page, EmailLoggingSimulation.from_row)


@strawberry.input
class RunEmailLoggingSimulationInput:
    name: str | None = None
    email: GivenEmail = strawberry.field(graphql_type=EmailInput)


@strawberry.type
class RunEmailLoggingSimulationPayload:
    simulation: EmailLoggingSimulation | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class DeleteEmailLoggingSimulationInput:
    id: strawberry.ID


@strawberry.type
class DeleteEmailLoggingSimulationPayload:
    deleted_id: strawberry.ID | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DecisionMutation:
    @signed_in_mutation()
    async def run_email_logging_simulation(
        self, info: Info, input: RunEmailLoggingSimulationInput
    ) -> RunEmailLoggingSimulationPayload:
        ctx = info.context
        try:
            row = await decisions.run_simulation(
                ctx.db,
                ctx.signed_in,
                input.email.email,
                sender_id=input.email.sender(),
                name=input.name,
                limit=ctx.limits.simulations,
            )
        except BadEmail as exc:
            raise BadUserInput(str(exc), field=["input", "email", exc.field]) from exc
        simulation = EmailLoggingSimulation.from_row(row)
        ctx.observe_decisions((simulation.recorded_decision,))
        return RunEmailLoggingSimulationPayload(simulation=simulation)

    @signed_in_mutation()
    async def delete_email_logging_simulation(
        self, info: Info, input: DeleteEmailLoggingSimulationInput
    ) -> DeleteEmailLoggingSimulationPayload:
        ctx = info.context
        await decisions.delete_simulation(
            ctx.db, ctx.signed_in, simulation_id=decode_id(input.id, "EmailLoggingSimulation")
        )
        return DeleteEmailLoggingSimulationPayload(deleted_id=input.id)
