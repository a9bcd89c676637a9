"""Every refusal of the permission table (tenancy/roles.py), word for word, as a USER gets
it: a mutation answers it in its payload's ``userErrors``, a query as a top-level error,
each with code FORBIDDEN and the words the service has always used."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.decision_helpers import EVALUATE, email
from tests.helpers import Api, Member

NOT_AN_ID = "bm90LW9uZS1vZi1vdXJz"


def _mutation(name: str) -> str:
    input_type = f"{name[0].upper()}{name[1:]}Input"
    return f"""mutation($input: {input_type}!) {{ {name}(input: $input) {{
        userErrors {{ field message code }} }} }}"""


def _only_super_admins(doing: str) -> str:
    return f"Only super admins may {doing}."


# mutation, its input (``ADMIN`` stands for the account's super admin's ID), the refusal.
# Where an input is also wrong, the role is refused first, as it always was.
MUTATIONS: list[tuple[str, dict[str, Any], str]] = [
    (
        "addNeverLogEntries",
        {"scope": "ACCOUNT", "patterns": ["na*me@x.com"]},
        _only_super_admins("change the account-wide list"),
    ),
    (
        "removeNeverLogEntries",
        {"scope": "ACCOUNT", "patterns": ["*@x.com"]},
        _only_super_admins("change the account-wide list"),
    ),
    (
        "updateNeverLogEntries",
        {"scope": "ACCOUNT", "ids": [NOT_AN_ID], "note": "n"},
        _only_super_admins("change the account-wide list"),
    ),
    (
        "importNeverLogList",
        {"scope": "ACCOUNT", "csv": "*@x.com\n"},
        _only_super_admins("change the account-wide list"),
    ),
    ("addUser", {"email": "not an address", "name": "New"}, _only_super_admins("add users")),
    ("inviteUser", {"userId": "ADMIN"}, _only_super_admins("invite users")),
    ("updateUserRole", {"userId": "ADMIN", "role": "USER"}, _only_super_admins("change roles")),
    ("deactivateUser", {"userId": "ADMIN"}, _only_super_admins("deactivate users")),
    (
        "setInternalDomains",
        {"domains": ["not a domain"], "usersDomainsAreInternal": True},
        _only_super_admins("change internal domains"),
    ),
    (
        "updateAccountSettings",
        {"automatedSenderNames": ["not a name!"]},
        _only_super_admins("change the account's settings"),
    ),
    (
        "createWebhookEndpoint",
        {"url": "ftp://example.com/hook"},
        _only_super_admins("keep webhook endpoints"),
    ),
    (
        "updateWebhookEndpoint",
        {"id": NOT_AN_ID, "enabled": False},
        _only_super_admins("keep webhook endpoints"),
    ),
    ("deleteWebhookEndpoint", {"id": NOT_AN_ID}, _only_super_admins("keep webhook endpoints")),
    ("redeliverWebhook", {"deliveryId": NOT_AN_ID}, _only_super_admins("keep webhook endpoints")),
    (
        "runEmailLoggingSimulation",
        {"email": email("CRM", senderId="ADMIN", to=["a@x.com"])},
        _only_super_admins("decide for another sender"),
    ),
    (
        "createApiToken",
        {"name": "theirs", "userId": "ADMIN"},
        "A token is made for its own user only: nobody may create a token for another user, "
        "super admins included (it would read their personal list). Invite them instead "
        "(inviteUser): they accept the code and hold their token themselves.",
    ),
]


def _with_admin(value: Any, admin: Member) -> Any:
    if isinstance(value, dict):
        return {key: _with_admin(item, admin) for key, item in value.items()}
    return admin.user_id if value == "ADMIN" else value


@pytest.mark.parametrize(("name", "given", "message"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
async def test_a_mutation_refused_to_a_user_answers_in_user_errors(
    api: Api, name: str, given: dict[str, Any], message: str
) -> None:
    # given
    admin = await api.new_account()
    user = await api.add_member(admin)
    # when
    body = await api.gql(_mutation(name), {"input": _with_admin(given, admin)}, token=user.token)
    # then
    assert "errors" not in body, body
    assert body["data"][name]["userErrors"] == [
        {"field": None, "message": message, "code": "FORBIDDEN"}
    ]


async def test_a_query_refused_to_a_user_is_a_top_level_forbidden(api: Api) -> None:
    # given
    admin = await api.new_account()
    user = await api.add_member(admin)
    # when
    endpoints = await api.gql("{ webhookEndpoints { id } }", token=user.token)
    evaluated = await api.gql(
        EVALUATE, {"email": email("CRM", senderId=admin.user_id, to=["a@x.com"])}, token=user.token
    )
    # then
    assert endpoints["data"] is None
    assert [(e["message"], e["path"], e["extensions"]) for e in endpoints["errors"]] == [
        (_only_super_admins("see webhook endpoints"), ["webhookEndpoints"], {"code": "FORBIDDEN"})
    ]
    assert evaluated["data"] is None
    assert [(e["message"], e["path"], e["extensions"]) for e in evaluated["errors"]] == [
        (
            _only_super_admins("decide for another sender"),
            ["evaluateEmailLogging"],
            {"code": "FORBIDDEN"},
        )
    ]
