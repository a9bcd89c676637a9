"""schema/inputs.py builds the decision's inputs exactly as Strawberry's own conversion
does, for any value a client may send: it replaces that conversion on the hot path, so
this is what allows it to stay."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLInputObjectType, coerce_input_value
from hypothesis import given, settings
from hypothesis import strategies as st
from strawberry.types.arguments import convert_argument

from schema import build_schema, graphql_schema
from schema.decisions import EmailHeaderInput, EmailInput, OriginalEmailInput
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
    """Strawberry's own conversion: the inputs without their from_input hook."""
    definitions = [
        c.__strawberry_definition__ for c in (EmailInput, OriginalEmailInput, EmailHeaderInput)
    ]  # type: ignore[union-attr]
    hooks = [d.from_input for d in definitions]
    for definition in definitions:
        definition.from_input = None
    try:
        yield
    finally:
        for definition, hook in zip(definitions, hooks, strict=True):
            definition.from_input = hook


def _convert(value: Any) -> Any:
    return convert_argument(
        value, EmailInput, SCHEMA.schema_converter.scalar_registry, SCHEMA.config
    )


@settings(max_examples=examples(300, 60), deadline=None)
@given(email)
def test_an_email_is_built_as_strawberry_builds_it(raw: dict[str, Any]) -> None:
    # given what graphql-core makes of a client's value for EmailInput
    coerced = coerce_input_value(raw, EMAIL_TYPE)
    # when it is built by the plain hook and by Strawberry's own conversion
    plain = _convert(coerced)
    with strawberrys_own():
        own = _convert(coerced)
    # then both give the same EmailInput, nested reply and lists included
    assert type(plain) is type(own) is EmailInput
    assert plain == own
    assert type(plain.in_reply_to) is type(own.in_reply_to)
    assert [type(h) for h in plain.headers or ()] == [type(h) for h in own.headers or ()]


def test_a_built_list_is_a_copy_of_what_graphql_core_holds() -> None:
    # given a coerced value whose list graphql-core may hand to the next request as a default
    coerced = coerce_input_value({"channel": "CRM", "to": ["a@b.com"]}, EMAIL_TYPE)
    # when it is built
    built = _convert(coerced)
    built.to.append("c@d.com")
    # then the coerced value is untouched
    assert coerced["to"] == ["a@b.com"]
