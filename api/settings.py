"""All configuration, from environment variables prefixed ``NEVERLOG_``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from persistence.database import Database
from tenancy.limits import DEFAULT_LIST_LIMIT, Limits


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEVERLOG_", extra="ignore")

    database_url: str = Field(
        "sqlite+aiosqlite:///neverlog.db",
        description="SQLite file (default neverlog.db here) or postgresql+asyncpg://user:pass@host/db",
    )
    account_list_limit: int = Field(DEFAULT_LIST_LIMIT, ge=1, le=100_000)
    personal_list_limit: int = Field(DEFAULT_LIST_LIMIT, ge=1, le=100_000)
    environment: Literal["development", "production"] = "development"
    graphiql: bool = True
    database_pool_size: int = Field(10, ge=1, le=200)
    database_pgbouncer: bool = Field(
        False, description="PostgreSQL is reached through PgBouncer in transaction mode"
    )
    log_level: str = "INFO"

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

    @model_validator(mode="after")
    def _safe_in_production(self) -> Settings:
        if self.environment == "production" and self.database_url.startswith("sqlite"):
            raise ValueError("production needs PostgreSQL: set NEVERLOG_DATABASE_URL")
        return self

    @property
    def limits(self) -> Limits:
        return Limits(account_list=self.account_list_limit, personal_list=self.personal_list_limit)

    def database(self) -> Database:
        return Database(
            self.database_url,
            pool_size=self.database_pool_size,
            pgbouncer=self.database_pgbouncer,
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
