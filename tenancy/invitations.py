"""Invitations: how a user gets their first token without anyone else holding it.

Personal lists are private from super admins, so a super admin never holds another
user's token (``createApiToken`` makes tokens for the viewer only). A new user's first
token comes from a one-time code instead: ``addUser`` and ``inviteUser`` (super admins)
or ``neverlog invite`` (the operator) make one; the user, without a token, accepts it
(``acceptInvitation``) and is shown their new token, once.

A code reads ``nli_<40 hex: secret>_<32 hex: account id>``: 160 random bits, and the
account it belongs to, so that accepting reads one account (one shard) by the code's
hash. Only the SHA-256 of the whole code is kept (a fast hash is enough for a random
secret of that size, as for tokens). A code works once, for ``VALID_FOR``, and only while
its user is active; a new code for the same user ends the earlier ones.

Every code that does not work (malformed, unknown, used, expired, superseded, its user
deactivated) is refused with the same words, and no sooner than ``answer_seconds`` after
the attempt began: the time of the answer says nothing about why. Attempts are also
limited per client address (api/graphql_http.py), so codes cannot be guessed in bulk.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from persistence import accounts, audit, invitations
from persistence.database import Database
from persistence.tables import ApiToken, Invitation, User, utcnow
from policy.errors import ErrorCode, Refusal
from tenancy.audit import AuditAction
from tenancy.text import checked_name
from tenancy.tokens import TokenGenerator, hash_token, issue_token, random_secret

VALID_FOR = dt.timedelta(days=7)
# The least time a refused code takes to answer (seconds): more than reading one row takes.
ANSWER_SECONDS = 0.25
INVALID_CODE = "This invitation code is not valid (used, expired or unknown)."
_CODE = re.compile(r"nli_([0-9a-f]{40})_([0-9a-f]{32})")


def make_code(account_id: uuid.UUID) -> str:
    return f"nli_{secrets.token_hex(20)}_{account_id.hex}"


@dataclass(frozen=True, slots=True)
class NewInvitation:
    code: str
    invitation: Invitation


@dataclass(frozen=True, slots=True)
class Accepted:
    """What accepting gives the one who accepted: the token (shown this once), its row,
    and the user it belongs to."""

    token: str
    api_token: ApiToken
    user: User


async def make_invitation(
    session: AsyncSession, *, account_id: uuid.UUID, user: User, actor_id: uuid.UUID | None
) -> NewInvitation:
    """A new code for ``user`` in the caller's transaction (which holds the account's
    lock), ending their earlier ones; audited as USER_INVITED."""
    code = make_code(account_id)
    now = utcnow()
    invitation = await invitations.replace_invitation(
        session=session,
        account_id=account_id,
        user_id=user.id,
        code_hash=hash_token(code),
        created_by_id=actor_id,
        now=now,
        expires_at=now + VALID_FOR,
    )
    await audit.record(
        session=session,
        account_id=account_id,
        action=AuditAction.USER_INVITED.value,
        actor_id=actor_id,
        subject_user_id=user.id,
        summary=f"{user.email} was invited: a one-time code that works until "
        f"{invitation.expires_at.strftime('%Y-%m-%d %H:%M')} UTC; earlier codes no longer work.",
    )
    return NewInvitation(code=code, invitation=invitation)


async def invite_by_email(db: Database, *, account_id: uuid.UUID, email: str) -> NewInvitation:
    """The operator's command (``neverlog invite``): a new code for the account's active
    user at ``email``, whether or not they have signed in (a user who lost every token of
    theirs has no other way back in). Audited with no actor."""
    async with db.transaction(account_id, write=True) as session:
        account = await accounts.lock_account(session=session, account_id=account_id)
        if account is None:
            raise Refusal.one(ErrorCode.NOT_FOUND, "No account with this ID.", ["account"])
        user = await accounts.user_by_email(session=session, account_id=account_id, email=email)
        if user is None:
            raise Refusal.one(
                ErrorCode.NOT_FOUND, f"No user of this account has the address {email}.", ["email"]
            )
        if not user.active:
            raise Refusal.one(
                ErrorCode.INVALID_INPUT,
                f"{user.email} is deactivated: a deactivated user cannot be invited.",
                ["email"],
            )
        return await make_invitation(session, account_id=account_id, user=user, actor_id=None)


def _usable(invitation: Invitation | None, code_hash: str, now: dt.datetime) -> bool:
    return (
        invitation is not None
        # found by its hash through an index; compared again in constant time, so that no
        # timing of a comparison by prefix could tell a near miss
        and hmac.compare_digest(invitation.code_hash, code_hash)
        and invitation.used_at is None
        and invitation.expires_at > now
    )


async def accept_invitation(
    db: Database,
    *,
    code: str,
    token_name: str,
    answer_seconds: float = ANSWER_SECONDS,
    generate: TokenGenerator = random_secret,
) -> Accepted:
    """Turn a code into its user's token. Any code that does not work is INVALID_INPUT
    ``INVALID_CODE``, answered no sooner than ``answer_seconds`` after the call began."""
    name = checked_name(token_name, ["input", "tokenName"], what="A token's name")
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        return await _accept(db, code.strip(), name, generate)
    except _NotValid:
        await hold(max(0.0, started + answer_seconds - loop.time()))
        raise Refusal.one(ErrorCode.INVALID_INPUT, INVALID_CODE, ["input", "code"]) from None


async def hold(seconds: float) -> None:
    """Hold a refusal back for ``seconds``: the one place an answer waits (a seam where the
    tests see which answers are held, and for how long, without timing them)."""
    await asyncio.sleep(seconds)


class _NotValid(Exception):
    """A code that does not work, whatever the reason (never told apart outside)."""


async def _accept(db: Database, code: str, name: str, generate: TokenGenerator) -> Accepted:
    match = _CODE.fullmatch(code)
    # A malformed code is looked up all the same, in an account that does not exist: every
    # code that does not work takes the same path.
    account_id = uuid.UUID(hex=match.group(2)) if match else uuid.uuid4()
    code_hash = hash_token(code)
    now = utcnow()
    # Read first, outside any lock: a code that does not work never takes the account's
    # lock (or SQLite's writer lock), however many are tried.
    async with db.transaction(account_id) as session:
        found = await invitations.find_invitation(
            session=session, account_id=account_id, code_hash=code_hash
        )
        if not _usable(found, code_hash, now):
            raise _NotValid
    async with db.transaction(account_id, write=True) as session:
        # The account's lock first, as user changes take it, then the code's row: two
        # callers of one code are served one after the other, and the second finds it used;
        # a deactivation waits for this to commit, or this finds the user deactivated.
        await accounts.lock_account(session=session, account_id=account_id)
        found = await invitations.find_invitation(
            session=session, account_id=account_id, code_hash=code_hash, lock=True
        )
        if found is None or not _usable(found, code_hash, now):
            raise _NotValid
        user = await accounts.get_user(
            session=session, account_id=account_id, user_id=found.user_id, lock=True
        )
        if user is None or not user.active:
            raise _NotValid
        await invitations.mark_used(session=session, invitation=found, now=now)
        new = await issue_token(
            session=session,
            account_id=account_id,
            user_id=user.id,
            name=name,
            actor_id=user.id,
            generate=generate,
        )
        await audit.record(
            session=session,
            account_id=account_id,
            action=AuditAction.INVITATION_ACCEPTED.value,
            actor_id=user.id,
            subject_user_id=user.id,
            summary=f"{user.email} accepted their invitation: their token "
            f'"{name}" ({new.api_token.prefix}…) was created.',
        )
        return Accepted(token=new.token, api_token=new.api_token, user=user)
