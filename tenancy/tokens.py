"""API tokens: random secrets, stored only as a hash, shown once, revocable.

A token reads ``nl_<48 hex: secret>_<32 hex: account id>``. It names its account, so a
request finds its token with one indexed look-up on (account_id, token_hash) and touches
one shard. Only the SHA-256 of the whole token is stored: the secret has 192 random bits,
so a fast hash is enough (no password stretching needed), and a copy of the database does
not yield working tokens.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from persistence import accounts, audit, invitations, tokens
from persistence.database import Database
from persistence.tables import Account, ApiToken, User, utcnow
from policy.errors import not_found
from tenancy import signin, touches
from tenancy.audit import AuditAction
from tenancy.roles import Action, Role, Viewer, actor_now, may_act_as
from tenancy.text import checked_name

_TOKEN = re.compile(r"nl_([0-9a-f]{48})_([0-9a-f]{32})")
PREFIX_LENGTH = len("nl_") + 8
# lastUsedAt is written at most once a minute per token, so that reads stay reads.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)

TokenGenerator = Callable[[], str]


def random_secret() -> str:
    return secrets.token_hex(24)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def make_token(account_id: uuid.UUID, secret: str) -> str:
    return f"nl_{secret}_{account_id.hex}"


@dataclass(frozen=True, slots=True)
class NewToken:
    token: str
    api_token: ApiToken


async def issue_token(
    *,
    session: AsyncSession,
    account_id: uuid.UUID,
    user_id: uuid.UUID,
    name: str,
    actor_id: uuid.UUID | None,
    generate: TokenGenerator = random_secret,
) -> NewToken:
    """Create a token in the caller's transaction and record it in the audit log. Its
    user holds a token of their own from now on (``User.hasSignedIn``): every token is
    made for its own user (``create_token``), by the operator for the first super admin,
    or by accepting an invitation."""
    token = make_token(account_id, generate())
    api_token = await tokens.insert_token(
        session=session,
        account_id=account_id,
        user_id=user_id,
        name=name,
        prefix=token[:PREFIX_LENGTH],
        token_hash=hash_token(token),
    )
    await audit.record(
        session=session,
        account_id=account_id,
        action=AuditAction.API_TOKEN_CREATED.value,
        actor_id=actor_id,
        subject_user_id=user_id,
        summary=f'API token "{name}" ({api_token.prefix}…) was created.',
    )
    await invitations.mark_signed_in(
        session=session, account_id=account_id, user_id=user_id, now=api_token.created_at
    )
    return NewToken(token=token, api_token=api_token)


async def authenticate(db: Database, token: str) -> Viewer | None:
    """The viewer a bearer token stands for, or None for a token that is malformed,
    unknown, revoked or whose user is deactivated.

    Where this process caches sign-ins (tenancy/signin.py: kept true by LISTEN/NOTIFY on
    PostgreSQL, by the file's data_version on SQLite), a token signed in a moment ago is not read again, unless its
    lastUsedAt is due to be written: then it is read and touched as any other."""
    match = _TOKEN.fullmatch(token.strip())
    if match is None:
        return None
    account_id = uuid.UUID(hex=match.group(2))
    token_hash = hash_token(token.strip())
    cache = signin.cache_of(db)
    ticket = None
    if cache is not None:
        cached = cache.get(token_hash)
        if cached is not None and not _touch_due(cached.last_used_at, utcnow()):
            return cached.viewer
        # Taken before the read: an invalidation during it keeps its result out.
        ticket = cache.ticket()
    found = await tokens.read_token_and_user(db=db, account_id=account_id, token_hash=token_hash)
    if found is None:
        return None
    # The look-up went by hash through an index; comparing the stored hash in constant time
    # as well keeps a timing side channel out even if the database compared by prefix.
    if not hmac.compare_digest(found.token_hash, token_hash):
        return None
    if found.revoked_at is not None or not found.active:
        return None
    last_used_at = found.last_used_at
    now = utcnow()
    if _touch_due(last_used_at, now):
        touches.touches_of(db).add(account_id, found.token_id, now)  # written in the background
        last_used_at = now
    viewer = Viewer(
        account_id=account_id, user_id=found.user_id, role=Role(found.role), token_id=found.token_id
    )
    if cache is not None and ticket is not None:
        cache.store(ticket, token_hash, viewer, last_used_at)
    return viewer


def _touch_due(last_used_at: dt.datetime | None, now: dt.datetime) -> bool:
    return last_used_at is None or now - last_used_at >= LAST_USED_RESOLUTION


async def create_token(
    db: Database,
    viewer: Viewer,
    *,
    name: str,
    user_id: uuid.UUID | None,
    generate: TokenGenerator = random_secret,
) -> NewToken:
    """A token for the viewer. Naming another user is FORBIDDEN, for super admins too:
    whoever holds a user's token reads that user's personal list, which is private from
    super admins; a new user's first token comes from an invitation (tenancy/invitations.py)."""
    name = checked_name(name, ["input", "name"], what="A token's name")
    may_act_as(viewer, user_id, Action.CREATE_TOKEN_FOR_ANOTHER_USER)
    async with db.transaction(viewer.account_id, write=True) as session:
        # The viewer as they are at the moment of the change (tenancy.roles.actor_now),
        # read after the account's lock, which user changes take first too: locks in one
        # order, no deadlock; a user deactivated meanwhile gets no new token.
        await accounts.lock_account(session=session, account_id=viewer.account_id)
        await actor_now(session, viewer)
        return await issue_token(
            session=session,
            account_id=viewer.account_id,
            user_id=viewer.user_id,
            name=name,
            actor_id=viewer.user_id,
            generate=generate,
        )


async def revoke_token(db: Database, viewer: Viewer, *, token_id: uuid.UUID | None) -> ApiToken:
    await touches.flush(db)  # the token answered shows its last use
    async with db.transaction(viewer.account_id, write=True) as session:
        # The account's lock first, as user changes take it: the actor is read again under it.
        await accounts.lock_account(session=session, account_id=viewer.account_id)
        api_token = (
            await tokens.get_token(session=session, account_id=viewer.account_id, token_id=token_id)
            if token_id is not None
            else None
        )
        if api_token is None or not viewer.may_see(
            Action.SEE_ACCOUNT_API_TOKENS, api_token.user_id
        ):
            raise not_found("API token", ["input", "id"])
        other = api_token.user_id != viewer.user_id
        await actor_now(session, viewer, action=Action.REVOKE_OTHERS_TOKENS if other else None)
        if api_token.revoked_at is None:
            api_token.revoked_at = utcnow()
            session.add(api_token)
            await audit.record(
                session=session,
                account_id=viewer.account_id,
                action=AuditAction.API_TOKEN_REVOKED.value,
                actor_id=viewer.user_id,
                subject_user_id=api_token.user_id,
                summary=f'API token "{api_token.name}" ({api_token.prefix}…) was revoked.',
            )
            await signin.signins_changed(db, session, viewer.account_id)
        return api_token


async def signed_in_rows(db: Database, viewer: Viewer) -> tuple[Account, User]:
    """The viewer's own account and user, in one statement (one round trip on PostgreSQL):
    what ``viewer`` answers."""
    found = await tokens.read_account_and_user(
        db=db, account_id=viewer.account_id, user_id=viewer.user_id
    )
    assert found is not None, "authentication has just found this user of this account"
    return found
