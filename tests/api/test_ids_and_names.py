"""Only the exact global IDs that the API hands out resolve: every other spelling of the same
UUID behaves as an ID that does not exist. Names refuse control and format characters
(bidirectional overrides) and line or paragraph separators, naming the value and what is
wrong."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable

import pytest

from policy.errors import Refusal
from tenancy.users import create_account
from tests.helpers import Api, assert_user_error

NODE = """query($id: ID!) { node(id: $id) { id ... on User { email } } }"""
UPDATE_ROLE = """mutation($id: ID!) { updateUserRole(input: {userId: $id, role: SUPER_ADMIN}) {
    user { id role } userErrors { field message code } } }"""


def _encoded(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _user_uuid(global_id: str) -> uuid.UUID:
    raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
    return uuid.UUID(raw.removeprefix("User:"))


# Other spellings of one user's ID, each of which the ID's decoder would accept.
SPELLINGS: dict[str, Callable[[str], str]] = {
    "upper-case uuid": lambda gid: _encoded(f"User:{str(_user_uuid(gid)).upper()}"),
    "braced uuid": lambda gid: _encoded(f"User:{{{_user_uuid(gid)}}}"),
    "urn uuid": lambda gid: _encoded(f"User:urn:uuid:{_user_uuid(gid)}"),
    "uuid without hyphens": lambda gid: _encoded(f"User:{_user_uuid(gid).hex}"),
    "padded with ==": lambda gid: base64.urlsafe_b64encode(
        f"User:{_user_uuid(gid)}".encode()
    ).decode(),
    "trailing newline": lambda gid: f"{gid}\n",
    "a character base64 skips": lambda gid: f"{gid[:4]}!{gid[4:]}",
    "surrounding space": lambda gid: f" {gid} ",
    "type in lower case": lambda gid: _encoded(f"user:{_user_uuid(gid)}"),
}


@pytest.mark.parametrize("spelling", list(SPELLINGS))
async def test_only_the_exact_id_handed_out_resolves(api: Api, spelling: str) -> None:
    # given: a user, and another spelling of their ID that is not the one handed out
    admin = await api.new_account()
    user = await api.add_member(admin)
    other = SPELLINGS[spelling](user.user_id)
    assert other != user.user_id
    # when
    exact = await api.data(NODE, {"id": user.user_id}, token=admin.token)
    found = await api.data(NODE, {"id": other}, token=admin.token)
    changed = await api.data(UPDATE_ROLE, {"id": other}, token=admin.token)
    # then: the exact ID finds the user; the other spelling finds nothing and changes nothing
    assert exact["node"] == {"id": user.user_id, "email": user.email}
    assert found["node"] is None
    assert_user_error(changed["updateUserRole"], "NOT_FOUND", ["input", "userId"])
    still = await api.data(NODE, {"id": user.user_id}, token=admin.token)
    assert still["node"] is not None


ADD_USER = """mutation($name: String!) { addUser(input: {email: "named@acme-corp.com", name: $name}) {
    user { id } userErrors { field message code } } }"""
CREATE_TOKEN = """mutation($name: String!) { createApiToken(input: {name: $name}) {
    token userErrors { field message code } } }"""
RUN_SIMULATION = """mutation($name: String!) { runEmailLoggingSimulation(input: {name: $name,
    email: {channel: CRM, to: ["a@customer.example"]}}) {
    simulation { id } userErrors { field message code } } }"""

# The name, how the message names the character, and how it quotes the name.
REFUSED = {
    "right-to-left override": (
        "Uma\u202egnissim",
        "U+202E (RIGHT-TO-LEFT OVERRIDE)",
        "Uma\\u202egnissim",
    ),
    "right-to-left isolate": (
        "Uma \u2067User",
        "U+2067 (RIGHT-TO-LEFT ISOLATE)",
        "Uma \\u2067User",
    ),
    "zero-width space": ("Uma\u200bUser", "U+200B (ZERO WIDTH SPACE)", "Uma\\u200bUser"),
    "line separator": ("Uma\u2028User", "U+2028 (LINE SEPARATOR)", "Uma\\u2028User"),
    "paragraph separator": ("Uma\u2029User", "U+2029 (PARAGRAPH SEPARATOR)", "Uma\\u2029User"),
    "control character": ("Uma\x1bUser", "U+001B", "Uma\\u001bUser"),
}


@pytest.mark.parametrize("character", list(REFUSED))
@pytest.mark.parametrize(
    ("mutation", "payload"),
    [
        pytest.param(ADD_USER, "addUser", id="user"),
        pytest.param(CREATE_TOKEN, "createApiToken", id="token"),
        pytest.param(RUN_SIMULATION, "runEmailLoggingSimulation", id="simulation"),
    ],
)
async def test_names_refuse_format_and_separator_characters(
    api: Api, character: str, mutation: str, payload: str
) -> None:
    # given
    admin = await api.new_account()
    name, named, quoted = REFUSED[character]
    before = await api.data("{ auditEvents { totalCount } }", token=admin.token)
    # when
    data = await api.data(mutation, {"name": name}, token=admin.token)
    # then: refused, naming the value (escaped) and the character, and nothing saved
    error = assert_user_error(data[payload], "INVALID_INPUT", ["input", "name"])
    assert named in error["message"]
    assert f'"{quoted}"' in error["message"], error["message"]
    after = await api.data("{ auditEvents { totalCount } }", token=admin.token)
    assert after == before


async def test_an_account_name_with_a_bidirectional_override_is_refused(api: Api) -> None:
    # when / then
    with pytest.raises(Refusal) as refused:
        await create_account(
            api.db, name="Acme\u202e", admin_email="boss@acme-corp.com", admin_name=None
        )
    assert "U+202E" in str(refused.value)


async def test_names_in_other_scripts_and_with_emoji_are_kept(api: Api) -> None:
    # given names that hold no refused character
    admin = await api.new_account()
    # when
    data = await api.data(ADD_USER, {"name": "Zoë Ångström-Łukasz 山田 🙂"}, token=admin.token)
    # then
    assert data["addUser"]["userErrors"] == []
