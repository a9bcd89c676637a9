"""schema/decisions.py's given_email builds an EmailInput's domain email at once, exactly as
Strawberry's own conversion followed by a copy into policy.Email would, for any value a
client may send: it replaces that conversion on the hot path, so this is what allows it
to stay."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLInputObjectType, coerce_input_value
from hypothesis import given, settings
from hypothesis import strategies as st
from strawberry.types.arguments import convert_argument

from policy import Email, OriginalEmail
from schema import build_schema, graphql_schema
from schema.decisions import EmailInput, GivenEmail
from tests.profiles import examples

SCHEMA = build_schema()
_EMAIL_TYPE = graphql_schema().type_map["EmailInput"]
assert isinstance(_EMAIL_TYPE, GraphQLInputObjectType)
EMAIL_TYPE: GraphQLInputObjectType = _EMAIL_TYPE

addresses = st.lists(st.sampled_from(["jane@lawfirm.com", "Bob <bob@x.com>", "", "é@ü.de"]))
maybe_list = st.none() | addresses
original = st.fixed_dictionaries({"to": addresses}, optional={"cc": maybe_list, "bcc": maybe_list})
email = st.fixed_dictionaries(
    {
        "channel": st.sampled_from(["CRM", "SALES_EXTENSION", "BCC", "TEAM_INBOX"]),
        "to": addresses,
    },
    optional={
        "senderId": st.none() | st.just("VXNlcjox"),
        "cc": maybe_list,
        "bcc": maybe_list,
        "logToCrm": st.booleans(),
        "createNewContacts": st.booleans(),
        "excludedRecipients": maybe_list,
        "existingContacts": maybe_list,
        "inReplyTo": st.none() | original,
        "direction": st.sampled_from(["OUTBOUND", "INBOUND"]),
        "from": st.none() | st.sampled_from(["news@shop.com", "Jane <jane@x.com>"]),
        "headers": st.none()
        | st.lists(
            st.fixed_dictionaries(
                {
                    "name": st.sampled_from(["Precedence", "List-Id", "X-Other"]),
                    "value": st.sampled_from(["bulk", "", "<list.x.com>"]),
                }
            ),
            max_size=3,
        ),
    },
)


@contextlib.contextmanager
def strawberrys_own() -> Iterator[None]:
    """Strawberry's own conversion: EmailInput without its from_input hook."""
    definition = EmailInput.__strawberry_definition__  # type: ignore[attr-defined]
    hook = definition.from_input
    definition.from_input = None
    try:
        yield
    finally:
        definition.from_input = hook


def _convert(value: Any) -> Any:
    return convert_argument(
        value, EmailInput, SCHEMA.schema_converter.scalar_registry, SCHEMA.config
    )


def _as_domain(own: Any) -> GivenEmail:
    """What Strawberry's own EmailInput means as the domain's email: each field copied."""
    original = own.in_reply_to
    return GivenEmail(
        Email(
            channel=own.channel,
            to=tuple(own.to),
            cc=tuple(own.cc or ()),
            bcc=tuple(own.bcc or ()),
            log_to_crm=own.log_to_crm,
            create_new_contacts=own.create_new_contacts,
            excluded_recipients=tuple(own.excluded_recipients or ()),
            existing_contacts=tuple(own.existing_contacts or ()),
            in_reply_to=None
            if original is None
            else OriginalEmail(
                to=tuple(original.to), cc=tuple(original.cc or ()), bcc=tuple(original.bcc or ())
            ),
            direction=own.direction,
            sender_address=own.from_,
            headers=tuple((h.name, h.value) for h in own.headers) if own.headers else (),
        ),
        own.sender_id,
    )


@settings(max_examples=examples(300, 60), deadline=None)
@given(email)
def test_an_email_is_built_as_strawberry_builds_it(raw: dict[str, Any]) -> None:
    # given what graphql-core makes of a client's value for EmailInput
    coerced = coerce_input_value(raw, EMAIL_TYPE)
    # when it is built by the hook, and by Strawberry's own conversion
    given_email = _convert(coerced)
    with strawberrys_own():
        own = _convert(coerced)
    # then the hook's domain email is Strawberry's EmailInput, field by field, nested
    # reply and headers included, with the sender's ID as given
    assert type(own) is EmailInput and type(given_email) is GivenEmail
    assert given_email == _as_domain(own)
    assert [type(v) for v in given_email.email] == [type(v) for v in _as_domain(own).email]


def test_a_built_email_holds_no_list_of_graphql_cores() -> None:
    # given a coerced value whose lists graphql-core may hand to the next request as a
    # default
    coerced = coerce_input_value({"channel": "CRM", "to": ["a@b.com"]}, EMAIL_TYPE)
    # when it is built
    built = _convert(coerced)
    # then it holds tuples of its own, not the coerced value's lists
    assert built.email.to == ("a@b.com",) and built.email.cc == ()
    assert all(type(v) is not list for v in built.email)
