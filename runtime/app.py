"""Everything built in one place at start-up: settings, database, rules, clock, token keys."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import inspect, make_url

import config
from bots import networks
from config import SECRET_FIELDS, Settings
from core.crypto import KeyRing
from core.db import Database, normalise_url
from core.errors import UserError
from core.rules import Rules
from runtime import logs
from runtime.keys import key_ring


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class App:
    settings: Settings
    db: Database
    rules: Rules
    clock: Callable[[], datetime] = field(default=utc_now)

    def now(self) -> datetime:
        return self.clock()

    @property
    def keys(self) -> KeyRing:
        """The token key ring, resolved when first needed: a command that stores no token
        needs no key (and makes no sandbox key file)."""
        return key_ring(self.settings)

    def require_schema(self) -> None:
        if "alembic_version" not in inspect(self.db.engine).get_table_names():
            raise UserError("the database has no schema yet: run `flattr db upgrade` first")

    def close(self) -> None:
        self.db.dispose()


def rules_from(settings: Settings) -> Rules:
    return Rules(
        currency=settings.currency,
        min_monthly_budget=settings.min_monthly_budget,
        fee_bps=settings.fee_bps,
        idle_budget_policy=settings.idle_budget_policy,
        claim_window_days=settings.claim_window_days,
    )


def load_settings(**overrides: Any) -> Settings:
    """The settings, checked against the networks' trigger names: the built-in networks are
    registered first (bots.networks), since config cannot import them."""
    networks.install()
    return config.load_settings(**overrides)


def secret_values(settings: Settings) -> list[str]:
    """The deployment's secrets as they could appear in a log line: each secret setting
    (each of the token keys), and the database password."""
    values = [str(getattr(settings, name) or "") for name in SECRET_FIELDS]
    values += (settings.token_keys or "").split(",")
    values.append(make_url(normalise_url(settings.database_url)).password or "")
    return [v.strip() for v in values if v.strip()]


def build_app(settings: Settings | None = None, clock: Callable[[], datetime] = utc_now) -> App:
    networks.install()
    settings = settings or load_settings()
    logs.add_secrets(secret_values(settings))
    return App(settings=settings, db=Database(settings.database_url), rules=rules_from(settings),
               clock=clock)
