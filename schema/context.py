"""What a request carries into the resolvers: built fresh for every request, and with it
the DataLoaders, so that no cache outlives its request or crosses accounts."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from strawberry.dataloader import DataLoader

from policy import Decision
from tenancy import reads
from tenancy.account_limits import AccountLimits
from tenancy.errors import Forbidden
from tenancy.records import Database, User
from tenancy.roles import Viewer

# Where a request carries its sign-in: the API's middleware resolves the bearer token once
# per request and puts the viewer (None: no token) on the request's scope under this key
# (a live connection, once its connection_init signs in, on the connection's scope). The
# context reads it from there, and the permission classes through the context: nothing
# below the middleware signs anyone in again.
SIGNED_IN = "neverlog.viewer"


def viewer_of(scope: Mapping[str, Any]) -> Viewer | None:
    """The request's sign-in, as the middleware put it on the scope."""
    viewer: Viewer | None = scope.get(SIGNED_IN)
    return viewer


def _users_loader(db: Database, viewer: Viewer) -> DataLoader[uuid.UUID, User | None]:
    async def load(user_ids: Sequence[uuid.UUID]) -> list[User | None]:
        found = await reads.users_by_id(db, viewer, user_ids)
        return [found.get(user_id) for user_id in user_ids]

    return DataLoader(load_fn=load)


def _unobserved(decisions: Sequence[Decision]) -> None:
    """Where nobody counts decisions (a live connection's, a test's context)."""


class InvitationAttempts(Protocol):
    """The invitation codes that the request's client address may try (the HTTP layer
    holds the allowance): ``admit`` takes one attempt, answering 0 where it may be made,
    else the seconds until one may; ``accepted`` gives it back, for a code that worked
    (only codes that do not work count: an office behind one address may accept many)."""

    async def admit(self) -> float: ...

    async def accepted(self) -> None: ...


class Unlimited:
    async def admit(self) -> float:
        return 0.0

    async def accepted(self) -> None:
        return None


@dataclass
class Context:
    db: Database
    limits: AccountLimits
    # The request's (or live connection's) ASGI scope, which carries its sign-in.
    scope: Mapping[str, Any]
    request_id: str = ""
    invitation_attempts: InvitationAttempts = field(default_factory=Unlimited)
    # Told of the decisions that a request made (evaluate, a batch, a saved simulation),
    # all of a request's at once: the app's metrics count them (api/metrics.py).
    observe_decisions: Callable[[Sequence[Decision]], None] = _unobserved
    # The objects of the answer built so far (its root aside), counted by the executor
    # (schema/execution.py) as it builds them: what an answer larger than its calculated
    # cost is charged for. An object an error then nulls was built all the same.
    objects: int = 0
    _loaders: dict[str, DataLoader[Any, Any]] = field(default_factory=dict, repr=False)

    def loader(self, name: str, make: Callable[[], DataLoader[Any, Any]]) -> DataLoader[Any, Any]:
        """The request's DataLoader called ``name``, made on first use."""
        if name not in self._loaders:
            self._loaders[name] = make()
        return self._loaders[name]

    @property
    def viewer(self) -> Viewer | None:
        """The request's sign-in (``viewer_of``); None where no token was sent."""
        return viewer_of(self.scope)

    @property
    def signed_in(self) -> Viewer:
        """The viewer; every field but ``__typename`` and introspection has checked it."""
        if self.viewer is None:
            raise Forbidden("Sign in first.")
        return self.viewer

    @property
    def users(self) -> DataLoader[uuid.UUID, User | None]:
        """Users of the viewer's account by id, batched per request."""
        users: DataLoader[uuid.UUID, User | None] = self.loader(
            "users", lambda: _users_loader(self.db, self.signed_in)
        )
        return users
