"""What an account may hold and do, as the operator sets it: entries per list (500 each by
default), saved simulations (10,000), and whether webhook URLs may be plain http."""

from __future__ import annotations

from dataclasses import dataclass

from policy import Scope

DEFAULT_LIST_LIMIT = 500
DEFAULT_SIMULATION_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class AccountLimits:
    account_list: int = DEFAULT_LIST_LIMIT
    personal_list: int = DEFAULT_LIST_LIMIT
    # Saved simulations an account may hold.
    simulations: int = DEFAULT_SIMULATION_LIMIT
    # Webhook URLs may be plain http:// to a loopback address (outside production only).
    webhook_plain_http: bool = True
    # The least time, in seconds, that a refused invitation code takes to answer
    # (tenancy/invitations.py): the same for every reason it is refused.
    invitation_answer_seconds: float = 0.25

    def for_scope(self, scope: Scope) -> int:
        return self.account_list if scope is Scope.ACCOUNT else self.personal_list
