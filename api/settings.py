"""All configuration, from environment variables prefixed ``NEVERLOG_``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schema.limits import QueryLimits
from schema.services import (
    DEFAULT_LIST_LIMIT,
    AccountLimits,
    Database,
    Schedule,
    ServiceOptions,
    open_database,
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEVERLOG_", extra="ignore")

    database_url: str = Field(
        "sqlite+aiosqlite:///neverlog.db",
        description="SQLite file (default neverlog.db here) or postgresql+asyncpg://user:pass@host/db",
    )
    account_list_limit: int = Field(DEFAULT_LIST_LIMIT, ge=1, le=100_000)
    personal_list_limit: int = Field(DEFAULT_LIST_LIMIT, ge=1, le=100_000)
    environment: Literal["development", "production"] = "development"
    # GraphiQL, introspection and field suggestions: on by default, off by default in
    # production (each may be turned on there explicitly); see _production_defaults.
    graphiql: bool = True
    database_pool_size: int = Field(10, ge=1, le=200)
    database_pgbouncer: bool = Field(
        False, description="PostgreSQL is reached through PgBouncer in transaction mode"
    )
    # Each process's cache of sign-ins (tenancy/signin.py): no entry used once this old,
    # and every entry dropped when a notice of a change arrives. 0 turns it off; it is off
    # on SQLite and behind PgBouncer whatever this says.
    signin_cache_seconds: float = Field(30.0, ge=0, le=300)
    # Each process's lists held in memory (tenancy/held_lists.py), at most this many MiB
    # (an estimate); 0 turns holding off: every decision reads its entries.
    held_lists_mb: float = Field(64.0, ge=0, le=65_536)
    # An account's lists are read whole once its decisions have taken the database
    # look-up this many times (until then each look-up's answer is held).
    held_lists_after: int = Field(16, ge=1, le=1_000_000)
    log_level: str = "INFO"
    # Live list changes (api/live.py, docs/live.md): a direct connection to PostgreSQL for
    # LISTEN where NEVERLOG_DATABASE_URL goes through PgBouncer in transaction mode (none:
    # the database URL's own); the WebSocket connections each process holds; the changes
    # that may wait for one subscription before its connection is closed (4408); the
    # seconds a new connection has to send connection_init; what a subscription may cost
    # (executed for every change); how often every open connection's token is checked
    # again (a revocation ends its subscriptions within this and a round trip).
    listen_database_url: str | None = None
    live_max_connections: int = Field(1_000, ge=0, le=100_000)
    live_queue: int = Field(100, ge=1, le=10_000)
    live_init_seconds: float = Field(5.0, gt=0, le=60)
    live_max_subscription_cost: int = Field(200, ge=1)
    live_recheck_seconds: float = Field(2.0, gt=0, le=4)
    # The server pings every open connection this often (graphql-transport-ws "ping"); one
    # whose pong has not come back by the next ping reads too slowly and is closed (4408).
    live_ping_seconds: float = Field(10.0, gt=0, le=300)

    # GraphQL over HTTP: what is refused before a query runs.
    introspection: bool = True
    field_suggestions: bool = True
    max_body_bytes: int = Field(1_048_576, ge=1_024)
    max_query_depth: int = Field(10, ge=1)
    max_query_aliases: int = Field(30, ge=0)
    max_query_tokens: int = Field(10_000, ge=10)
    max_query_cost: int = Field(3_000, ge=1)
    # Cost and memory (see "What a request may cost"): the longest string argument, in
    # characters; the bytes the parsed queries kept by each process may take.
    max_string_length: int = Field(1_048_576, ge=1_024)
    max_query_length: int = Field(100_000, ge=1_024)
    query_cache_bytes: int = Field(32 * 1024 * 1024, ge=0)
    # Queries run on plans compiled once per text (schema/compiled_operations.py); false:
    # every request runs on stock Strawberry execution.
    compiled_operations: bool = True
    # Saved simulations an account may hold.
    simulation_limit: int = Field(10_000, ge=1)
    # Slow clients (neverlog serve): seconds for a request's headers to arrive, seconds a
    # body may stall, connections each process holds open.
    header_timeout: float = Field(5.0, gt=0)
    body_timeout: float = Field(10.0, gt=0)
    max_connections: int = Field(1_000, ge=1)
    # Off only behind a proxy that already times out slow clients (README, Production).
    slow_client_guard: bool = True
    # Per account (per client address without a token), in each process.
    rate_limit_capacity: float = Field(20_000, gt=0)
    rate_limit_restore_rate: float = Field(5_000, gt=0)
    # Where the buckets live: a Redis URL (redis://host:6379/0) shares them between every
    # process; none keeps them in each process.
    redis_url: str | None = None
    rate_limit_key_prefix: str = "neverlog:ratelimit:"
    # acceptInvitation (tenancy/invitations.py): the attempts each client address may make
    # at once, and the seconds in which that allowance refills; the least time a refused
    # code takes to answer, the same whatever the reason.
    invitation_attempts: int = Field(10, ge=1)
    invitation_attempts_window_seconds: float = Field(600.0, gt=0)
    invitation_answer_seconds: float = Field(0.25, ge=0, le=10)
    cors_origins: list[str] = Field(default_factory=list)
    # /metrics answers only with "Authorization: Bearer <metrics_token>" where one is set,
    # and in production only so (without one there, it answers no one).
    metrics_token: SecretStr | None = None
    # The proxies whose X-Forwarded-For (and -Proto) neverlog serve trusts, as uvicorn's
    # forwarded_allow_ips takes them ("10.0.0.1,10.0.0.0/8"); none by default, so that no
    # client picks its own address (and with it a fresh anonymous rate-limit bucket).
    forwarded_allow_ips: str = ""
    # How often each process removes expired never-log entries: well within the minute that
    # PRODUCT.md allows (reads leave an expired entry out at its expiresAt regardless).
    expiry_sweep_seconds: float = Field(20.0, gt=0, le=60)
    # Webhooks (tenancy/delivery.py): in production a delivery to a private, loopback or
    # link-local address is refused unless allowed here; the intervals between attempts
    # (seconds), the time an attempt may take and a claim's lease may be set for tests.
    webhook_allow_private: bool = False
    webhook_worker: bool = Field(True, description="deliver webhooks from this process")
    webhook_retry_intervals: list[float] = Field(
        default_factory=lambda: list(Schedule().intervals), min_length=1, max_length=20
    )
    webhook_timeout_seconds: float = Field(15.0, gt=0, le=60)
    webhook_lease_seconds: float = Field(60.0, gt=0, le=3600)
    webhook_poll_seconds: float = Field(0.5, gt=0, le=60)
    # Attempts in flight at once: in each process, and for one account over every process
    # (its share: an account whose endpoints hang holds no more; tenancy/delivery.py).
    webhook_concurrency: int = Field(64, ge=1, le=1000)
    webhook_account_share: int = Field(8, ge=1, le=1000)

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, url: str) -> str:
        """Plain ``postgresql://`` and ``sqlite://`` URLs get their async driver."""
        for plain, driver in (
            ("postgresql://", "postgresql+asyncpg://"),
            ("postgres://", "postgresql+asyncpg://"),
            ("sqlite://", "sqlite+aiosqlite://"),
        ):
            if url.startswith(plain):
                return driver + url[len(plain) :]
        if not url.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
            raise ValueError(
                f"{url.split('://')[0]!r} is not supported: use postgresql+asyncpg:// or sqlite+aiosqlite://"
            )
        return url

    @field_validator("listen_database_url")
    @classmethod
    def _listen_postgresql(cls, url: str | None) -> str | None:
        if url is None or not url.strip():
            return None
        if not url.startswith(("postgresql://", "postgres://", "postgresql+asyncpg://")):
            raise ValueError(
                f"{url.split('://')[0]!r} is not supported: LISTEN needs postgresql://"
            )
        return url

    @model_validator(mode="before")
    @classmethod
    def _production_defaults(cls, data: Any) -> Any:
        """In production, what helps people explore the API (GraphiQL, introspection, "Did
        you mean" suggestions) is off unless set explicitly."""
        if isinstance(data, dict) and str(data.get("environment", "")).lower() == "production":
            for name in ("graphiql", "introspection", "field_suggestions"):
                data.setdefault(name, False)
        return data

    @property
    def metrics_protected(self) -> bool:
        return self.metrics_token is not None or self.environment == "production"

    @model_validator(mode="after")
    def _safe_in_production(self) -> Settings:
        if self.environment == "production" and self.database_url.startswith("sqlite"):
            raise ValueError("production needs PostgreSQL: set NEVERLOG_DATABASE_URL")
        return self

    @property
    def query_limits(self) -> QueryLimits:
        return QueryLimits(
            max_depth=self.max_query_depth,
            max_aliases=self.max_query_aliases,
            max_tokens=self.max_query_tokens,
            max_cost=self.max_query_cost,
            max_string_length=self.max_string_length,
            max_query_length=self.max_query_length,
            largest_list=max(self.account_list_limit, self.personal_list_limit),
        )

    @model_validator(mode="after")
    def _lease_outlasts_an_attempt(self) -> Settings:
        # A claim must outlast the attempt it covers, or two processes could send it at once.
        if self.webhook_lease_seconds <= self.webhook_timeout_seconds + 1:
            raise ValueError(
                f"NEVERLOG_WEBHOOK_LEASE_SECONDS ({self.webhook_lease_seconds:g}) must exceed "
                f"NEVERLOG_WEBHOOK_TIMEOUT_SECONDS ({self.webhook_timeout_seconds:g}) by more "
                "than a second"
            )
        return self

    @property
    def webhook_schedule(self) -> Schedule:
        return Schedule(
            intervals=tuple(self.webhook_retry_intervals),
            timeout=self.webhook_timeout_seconds,
            lease=self.webhook_lease_seconds,
            poll_interval=self.webhook_poll_seconds,
            per_account=self.webhook_account_share,
        )

    @property
    def webhook_refuse_private(self) -> bool:
        return self.environment == "production" and not self.webhook_allow_private

    @property
    def limits(self) -> AccountLimits:
        return AccountLimits(
            account_list=self.account_list_limit,
            personal_list=self.personal_list_limit,
            simulations=self.simulation_limit,
            webhook_plain_http=self.environment != "production",
            invitation_answer_seconds=self.invitation_answer_seconds,
        )

    def database(self) -> Database:
        return open_database(
            self.database_url,
            pool_size=self.database_pool_size,
            pgbouncer=self.database_pgbouncer,
        )

    @property
    def services(self) -> ServiceOptions:
        """How the app's background services run (tenancy/services.py)."""
        return ServiceOptions(
            expiry_sweep_seconds=self.expiry_sweep_seconds,
            webhook_worker=self.webhook_worker,
            webhook_schedule=self.webhook_schedule,
            webhook_refuse_private=self.webhook_refuse_private,
            webhook_concurrency=self.webhook_concurrency,
            signin_cache_seconds=self.signin_cache_seconds,
            listen_url=self.listen_database_url,
            live_recheck_seconds=self.live_recheck_seconds,
            held_lists_bytes=int(self.held_lists_mb * 1024 * 1024),
            held_lists_after=self.held_lists_after,
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
