"""Roles, the signed-in viewer, and who may do what: the permission table of PRODUCT.md
("Accounts, users and roles"), written once, here.

``TABLE`` has one row per action: the roles that may take it, and the words that refuse
everyone else. Nothing outside this module compares roles (tests/test_roles.py holds to
it); the table is read in three ways:

- a field of the schema declares the action it needs (``Allowed`` in
  schema/permissions.py), which refuses with the role the request signed in with, before
  anything is read or checked;
- a change checks the role again at the moment it is made, under the account's lock
  (``actor_now(..., action=...)``): a user demoted or deactivated meanwhile is refused,
  never applied;
- reads keep to it (``Viewer.may``, ``Viewer.may_see``): a super admin sees the whole
  account's saved simulations, audit events and API tokens, a user their own.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from persistence import accounts
from persistence.tables import User
from policy.errors import Forbidden


class Role(enum.Enum):
    SUPER_ADMIN = "SUPER_ADMIN"
    USER = "USER"


class Action(enum.Enum):
    """What a user may do or see: the rows of PRODUCT.md's table, and the actions of the
    service that those rows stand for (invitations, settings, webhooks, tokens)."""

    CHANGE_OWN_PERSONAL_LIST = enum.auto()
    READ_ACCOUNT_LIST = enum.auto()
    CHANGE_ACCOUNT_LIST = enum.auto()
    READ_OTHERS_PERSONAL_LIST = enum.auto()
    LIST_USERS = enum.auto()
    ADD_USERS = enum.auto()
    INVITE_USERS = enum.auto()
    CHANGE_ROLES = enum.auto()
    DEACTIVATE_USERS = enum.auto()
    DECIDE_AS_THEMSELVES = enum.auto()
    DECIDE_FOR_ANOTHER_SENDER = enum.auto()
    SEE_ACCOUNT_SIMULATIONS = enum.auto()
    SEE_ACCOUNT_AUDIT_EVENTS = enum.auto()
    SEE_ACCOUNT_API_TOKENS = enum.auto()
    REVOKE_OTHERS_TOKENS = enum.auto()
    CREATE_TOKEN_FOR_ANOTHER_USER = enum.auto()
    READ_INTERNAL_DOMAINS = enum.auto()
    CHANGE_INTERNAL_DOMAINS = enum.auto()
    CHANGE_ACCOUNT_SETTINGS = enum.auto()
    KEEP_WEBHOOK_ENDPOINTS = enum.auto()
    SEE_WEBHOOK_ENDPOINTS = enum.auto()
    SEE_WEBHOOK_DELIVERIES = enum.auto()


@dataclass(frozen=True, slots=True)
class Rule:
    """Who may take an action, and the words that refuse everyone else."""

    roles: frozenset[Role]
    doing: str  # as in "Only super admins may {doing}."
    words: str | None = None  # a refusal in words of its own, where that sentence does not fit

    @property
    def refusal(self) -> str:
        return self.words or f"Only super admins may {self.doing}."

    @property
    def refusal_now(self) -> str:
        """The refusal of a change by a user whose role allowed it when they signed in,
        and no longer does when it is made."""
        return (
            f"Only super admins may {self.doing}, and you are no longer one: "
            "the change was refused."
        )


EVERYONE: Final = frozenset(Role)
SUPER_ADMINS: Final = frozenset({Role.SUPER_ADMIN})
NOBODY: Final = frozenset[Role]()

# PRODUCT.md's table, row by row (a row there may be several actions here).
TABLE: Final[Mapping[Action, Rule]] = {
    # read and change their own personal list
    Action.CHANGE_OWN_PERSONAL_LIST: Rule(EVERYONE, "change their own personal list"),
    # read the account-wide list
    Action.READ_ACCOUNT_LIST: Rule(EVERYONE, "read the account-wide list"),
    # change the account-wide list
    Action.CHANGE_ACCOUNT_LIST: Rule(SUPER_ADMINS, "change the account-wide list"),
    # read another user's personal list: nobody (personal lists are private)
    Action.READ_OTHERS_PERSONAL_LIST: Rule(
        NOBODY,
        "read another user's personal list",
        "Personal lists are private: nobody reads another user's, super admins included.",
    ),
    # list the account's users
    Action.LIST_USERS: Rule(EVERYONE, "list the account's users"),
    # add users, change roles, deactivate users
    Action.ADD_USERS: Rule(SUPER_ADMINS, "add users"),
    Action.INVITE_USERS: Rule(SUPER_ADMINS, "invite users"),
    Action.CHANGE_ROLES: Rule(SUPER_ADMINS, "change roles"),
    Action.DEACTIVATE_USERS: Rule(SUPER_ADMINS, "deactivate users"),
    # evaluate or simulate as themselves
    Action.DECIDE_AS_THEMSELVES: Rule(EVERYONE, "decide for themselves"),
    # evaluate or simulate as another user (senderId)
    Action.DECIDE_FOR_ANOTHER_SENDER: Rule(SUPER_ADMINS, "decide for another sender"),
    # saved simulations, audit events, API tokens: their own; a super admin's, the account's
    Action.SEE_ACCOUNT_SIMULATIONS: Rule(SUPER_ADMINS, "see other users' saved simulations"),
    Action.SEE_ACCOUNT_AUDIT_EVENTS: Rule(SUPER_ADMINS, "see other users' audit events"),
    Action.SEE_ACCOUNT_API_TOKENS: Rule(SUPER_ADMINS, "see other users' API tokens"),
    Action.REVOKE_OTHERS_TOKENS: Rule(SUPER_ADMINS, "revoke other users' tokens"),
    # createApiToken for another user: nobody, super admins included (PRODUCT.md,
    # "Invitations"): whoever holds a user's token reads that user's personal list.
    Action.CREATE_TOKEN_FOR_ANOTHER_USER: Rule(
        NOBODY,
        "create a token for another user",
        "A token is made for its own user only: nobody may create a token for another "
        "user, super admins included (it would read their personal list). Invite them "
        "instead (inviteUser): they accept the code and hold their token themselves.",
    ),
    # read internal domains
    Action.READ_INTERNAL_DOMAINS: Rule(EVERYONE, "read internal domains"),
    # change internal domains, keep webhook endpoints
    Action.CHANGE_INTERNAL_DOMAINS: Rule(SUPER_ADMINS, "change internal domains"),
    Action.CHANGE_ACCOUNT_SETTINGS: Rule(SUPER_ADMINS, "change the account's settings"),
    Action.KEEP_WEBHOOK_ENDPOINTS: Rule(SUPER_ADMINS, "keep webhook endpoints"),
    Action.SEE_WEBHOOK_ENDPOINTS: Rule(SUPER_ADMINS, "see webhook endpoints"),
    Action.SEE_WEBHOOK_DELIVERIES: Rule(SUPER_ADMINS, "see webhook deliveries"),
}


def allowed(role: Role, action: Action) -> bool:
    """Whether ``role`` may take ``action``: the one reading of the table."""
    return role in TABLE[action].roles


def refusal(action: Action) -> Forbidden:
    """The refusal of ``action`` to a role that the table does not allow."""
    return Forbidden(TABLE[action].refusal)


def check(role: Role, action: Action) -> None:
    """Refuse (``Forbidden``) unless ``role`` may take ``action``."""
    if not allowed(role, action):
        raise refusal(action)


def keeps_the_account(role: Role) -> bool:
    """Whether ``role`` is one that no change may leave the account without an active user
    of (the last-super-admin rule): the role that may change roles, so that somebody
    always can. persistence.accounts.count_active_super_admins counts its holders."""
    return allowed(role, Action.CHANGE_ROLES)


def has_role(user: User, role: Role) -> bool:
    return Role(user.role) is role


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is calling: resolved once per request from the bearer token."""

    account_id: uuid.UUID
    user_id: uuid.UUID
    role: Role
    token_id: uuid.UUID

    def may(self, action: Action) -> bool:
        return allowed(self.role, action)

    def may_see(self, action: Action, owner_id: uuid.UUID | None) -> bool:
        """Whether the viewer may see a thing of ``owner_id``'s: their own, and another's
        where their role allows ``action`` (a super admin sees the whole account's)."""
        return owner_id == self.user_id or self.may(action)


def may_act_as(viewer: Viewer, user_id: uuid.UUID | None, action: Action) -> uuid.UUID:
    """The user to act as: the viewer, or another user where the role allows ``action``."""
    if user_id is None or user_id == viewer.user_id:
        return viewer.user_id
    check(viewer.role, action)
    return user_id


async def actor_now(session: AsyncSession, viewer: Viewer, *, action: Action | None = None) -> User:
    """The viewer as the database has them at this moment, read (and locked) inside the
    change's transaction, after the lock that the change takes first.

    The viewer's role was read when the request signed in; a concurrent request may have
    demoted or deactivated them since. Each change that needs a role calls this once it
    holds its lock, so the role it goes by is the one at the moment of the change: a change
    by a user deactivated, or (``action``) no longer allowed it, meanwhile is refused,
    never applied. Locking the actor's row too makes a demotion or deactivation that comes
    later wait until this change is committed.
    """
    actor = await accounts.get_user(
        session=session, account_id=viewer.account_id, user_id=viewer.user_id, lock=True
    )
    if actor is None or not actor.active:
        raise Forbidden("Your user has been deactivated: the change was refused.")
    if action is not None and not allowed(Role(actor.role), action):
        # Never allowed: the refusal that the field's declared permission gives.
        check(viewer.role, action)
        raise Forbidden(TABLE[action].refusal_now)
    # Who makes the change, for what the transaction records of it (tenancy/live.py).
    session.info["neverlog.actor_id"] = actor.id
    return actor
