"""Which list a change, a read or a file is about: a leaf that the list services
(``tenancy.lists``) and the CSV files (``tenancy.csvfiles``) both build on."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from policy import Scope


@dataclass(frozen=True, slots=True)
class ListRef:
    """One list of one account: the account-wide list or one user's personal list."""

    account_id: uuid.UUID
    scope: Scope
    owner_id: uuid.UUID
    limit: int

    @property
    def name(self) -> str:
        return "account-wide list" if self.scope is Scope.ACCOUNT else "personal list"
