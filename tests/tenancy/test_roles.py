"""The permission table (tenancy/roles.py): one row per row of PRODUCT.md's table, "Accounts,
users and roles", and no role compared anywhere but there."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from persistence.database import Database
from policy import Scope
from policy.errors import ErrorCode, Forbidden
from tenancy import lists, users
from tenancy.account_limits import AccountLimits
from tenancy.roles import TABLE, Action, Role, Viewer, allowed, check

ROOT = Path(__file__).resolve().parents[2]
TABLE_MODULE = ROOT / "tenancy" / "roles.py"

# PRODUCT.md's table: what, its actions here, whether a USER may, whether a SUPER_ADMIN may.
PRODUCT = [
    ("read and change their own personal list", [Action.CHANGE_OWN_PERSONAL_LIST], True, True),
    ("read the account-wide list", [Action.READ_ACCOUNT_LIST], True, True),
    ("change the account-wide list", [Action.CHANGE_ACCOUNT_LIST], False, True),
    ("read another user's personal list", [Action.READ_OTHERS_PERSONAL_LIST], False, False),
    ("list the account's users", [Action.LIST_USERS], True, True),
    (
        "add users, change roles, deactivate users",
        [Action.ADD_USERS, Action.INVITE_USERS, Action.CHANGE_ROLES, Action.DEACTIVATE_USERS],
        False,
        True,
    ),
    ("evaluate or simulate as themselves", [Action.DECIDE_AS_THEMSELVES], True, True),
    (
        "evaluate or simulate as another user (senderId)",
        [Action.DECIDE_FOR_ANOTHER_SENDER],
        False,
        True,
    ),
    (
        # their own (always); the whole account's: super admins
        "saved simulations, audit events, API tokens",
        [
            Action.SEE_ACCOUNT_SIMULATIONS,
            Action.SEE_ACCOUNT_AUDIT_EVENTS,
            Action.SEE_ACCOUNT_API_TOKENS,
            Action.REVOKE_OTHERS_TOKENS,
        ],
        False,
        True,
    ),
    ("read internal domains", [Action.READ_INTERNAL_DOMAINS], True, True),
    (
        "change internal domains, keep webhook endpoints",
        [
            Action.CHANGE_INTERNAL_DOMAINS,
            Action.KEEP_WEBHOOK_ENDPOINTS,
            Action.SEE_WEBHOOK_ENDPOINTS,
            Action.SEE_WEBHOOK_DELIVERIES,
        ],
        False,
        True,
    ),
    # "Inbound and automated email": super admins replace the list (updateAccountSettings)
    ("change the account's settings", [Action.CHANGE_ACCOUNT_SETTINGS], False, True),
    # "Invitations": naming another user is FORBIDDEN, for super admins too
    ("create a token for another user", [Action.CREATE_TOKEN_FOR_ANOTHER_USER], False, False),
]

CASES = [
    pytest.param(action, role, may, id=f"{action.name}-{role.name}")
    for _, actions, user_may, super_admin_may in PRODUCT
    for action in actions
    for role, may in ((Role.USER, user_may), (Role.SUPER_ADMIN, super_admin_may))
]


def test_every_action_has_one_row_here_and_in_the_table() -> None:
    listed = [action for _, actions, _, _ in PRODUCT for action in actions]
    assert sorted(listed, key=lambda a: a.name) == sorted(Action, key=lambda a: a.name)
    assert set(TABLE) == set(Action)


@pytest.mark.parametrize(("action", "role", "may"), CASES)
def test_each_role_is_allowed_or_refused_as_the_product_table_says(
    action: Action, role: Role, may: bool
) -> None:
    # when
    answer = allowed(role, action)
    # then
    assert answer is may
    if may:
        check(role, action)
    else:
        with pytest.raises(Forbidden) as refused:
            check(role, action)
        assert [(p.code, p.message) for p in refused.value.problems] == [
            (ErrorCode.FORBIDDEN, TABLE[action].refusal)
        ]


# -- at the moment of the change ----------------------------------------------------------


async def test_a_change_is_checked_against_the_role_at_the_moment_it_is_made(db: Database) -> None:
    # given: a second super admin, signed in as one, then made a user
    first = await users.create_account(
        db, name="Acme", admin_email="first@acme-roles.com", admin_name="First"
    )
    admin = Viewer(first.account.id, first.admin.id, Role.SUPER_ADMIN, first.token.api_token.id)
    second = await users.add_user(
        db, admin, email="second@acme-roles.com", name="Second", role=Role.SUPER_ADMIN
    )
    signed_in = Viewer(first.account.id, second.user.id, Role.SUPER_ADMIN, first.token.api_token.id)
    await users.update_role(db, admin, user_id=second.user.id, role=Role.USER)
    # when
    with pytest.raises(Forbidden) as refused:
        await lists.add_entries(
            db, signed_in, AccountLimits(), scope=Scope.ACCOUNT, patterns=["*@x.com"]
        )
    # then
    assert str(refused.value) == (
        "Only super admins may change the account-wide list, and you are no longer one: "
        "the change was refused."
    )
    # and one who never was is refused in the table's words
    as_user = Viewer(first.account.id, second.user.id, Role.USER, first.token.api_token.id)
    with pytest.raises(Forbidden) as never:
        await lists.add_entries(
            db, as_user, AccountLimits(), scope=Scope.ACCOUNT, patterns=["*@x.com"]
        )
    assert str(never.value) == "Only super admins may change the account-wide list."


# -- no role compared outside the table --------------------------------------------------


def _names_a_role(node: ast.expr) -> bool:
    """``Role.X`` (or ``Role.X.value``), a ``.role`` attribute, or a role's name as text."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute) and (
            sub.attr == "role" or (isinstance(sub.value, ast.Name) and sub.value.id == "Role")
        ):
            return True
        if isinstance(sub, ast.Constant) and sub.value in {r.value for r in Role}:
            return True
    return False


def role_comparisons(source: str, filename: str = "<source>") -> list[str]:
    """Where ``source`` compares roles or asks ``is_super_admin``, by line."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Attribute) and node.attr == "is_super_admin":
            found.append(f"{filename}:{node.lineno} is_super_admin")
        elif isinstance(node, ast.Compare) and any(
            _names_a_role(operand) for operand in [node.left, *node.comparators]
        ):
            found.append(f"{filename}:{node.lineno} {ast.unparse(node)}")
    return found


@pytest.mark.parametrize(
    "source",
    [
        "viewer.is_super_admin",
        "if viewer.role is Role.SUPER_ADMIN: pass",
        "ok = user.role == 'SUPER_ADMIN'",
        "ok = role is not Role.SUPER_ADMIN",
        "ok = Role(user.role) is role",
        "ok = 'USER' != kind",
    ],
)
def test_the_check_finds_role_comparisons(source: str) -> None:
    assert role_comparisons(source)


def test_no_role_is_compared_outside_the_table() -> None:
    offending = [
        found
        for package in ("api", "schema", "tenancy")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != TABLE_MODULE
        for found in role_comparisons(path.read_text(), str(path.relative_to(ROOT)))
    ]
    assert offending == []
