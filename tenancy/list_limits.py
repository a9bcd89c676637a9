"""How much a list may hold: set by the operator, 500 entries each by default."""

from __future__ import annotations

from dataclasses import dataclass

from policy import Scope

DEFAULT_LIST_LIMIT = 500
DEFAULT_SIMULATION_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class ListLimits:
    account_list: int = DEFAULT_LIST_LIMIT
    personal_list: int = DEFAULT_LIST_LIMIT
    # Saved simulations an account may hold.
    simulations: int = DEFAULT_SIMULATION_LIMIT
    # Webhook URLs may be plain http:// to a loopback address (outside production only).
    webhook_plain_http: bool = True

    def for_scope(self, scope: Scope) -> int:
        return self.account_list if scope is Scope.ACCOUNT else self.personal_list
