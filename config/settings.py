"""Typed settings: FLATTR_* environment variables over an optional TOML file.

This is the only module that reads the environment. Every bad value is reported at once,
named by its environment variable.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from core.money import InvalidAmount, parse_cents

ENV_PREFIX = "FLATTR_"


def _cents(value: Any) -> int:
    """'2.00' (or 2) in currency units -> 200 cents."""
    if isinstance(value, bool):
        raise ValueError("expected an amount such as 2.00")
    try:
        return parse_cents(str(value))
    except InvalidAmount as exc:
        raise ValueError(str(exc)) from exc


def _word_set(value: Any) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return frozenset(w.strip().lower() for w in value.split(",") if w.strip())
    return frozenset(str(w).strip().lower() for w in value)


Cents = Annotated[int, BeforeValidator(_cents)]
# None: the network's default triggers (filled in by validation, see _known_triggers).
TriggerSet = Annotated[frozenset[str] | None, NoDecode, BeforeValidator(_word_set)]


@dataclass(frozen=True)
class TriggerVocabulary:
    """A network's trigger names, as its registration (bots.registry) hands them over:
    config imports no network code, yet checks the trigger settings inside validation, so
    a bad trigger is reported together with every other bad setting."""

    network: str
    names: frozenset[str]
    default: frozenset[str]
    always_on: frozenset[str]


_TRIGGER_SETTINGS: dict[str, TriggerVocabulary] = {}  # by Settings field name


def register_trigger_setting(field: str, vocabulary: TriggerVocabulary) -> None:
    if field not in Settings.model_fields:
        raise ValueError(f"Settings has no field {field!r} for {vocabulary.network}'s triggers")
    _TRIGGER_SETTINGS[field] = vocabulary


def unregister_trigger_settings(network: str) -> None:
    for field in [f for f, v in _TRIGGER_SETTINGS.items() if v.network == network]:
        del _TRIGGER_SETTINGS[field]


def _check_triggers(field: str, value: Iterable[str] | None) -> frozenset[str] | None:
    vocabulary = _TRIGGER_SETTINGS.get(field)
    if vocabulary is None:
        if value is None:
            return None
        raise ValueError("no network registered these triggers, so they cannot be checked")
    chosen = vocabulary.default if value is None else frozenset(value)
    unknown = chosen - vocabulary.names
    if unknown:
        raise ValueError(f"unknown trigger(s) {sorted(unknown)}; known: {sorted(vocabulary.names)}")
    return chosen | vocabulary.always_on  # an always-on trigger cannot be switched off


# Settings whose values must never reach a log line (runtime.app hands them to core.logs).
SECRET_FIELDS = ("x_client_secret", "x_consumer_secret", "facebook_app_secret",
                 "facebook_webhook_verify_token", "x_service_token", "facebook_page_token",
                 "mastodon_service_token", "token_keys", "session_secret", "smtp_password")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    database_url: str = "sqlite:///flattr.db"
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "EUR"
    min_monthly_budget: Cents = Field(default="2.00", validate_default=True)
    fee_bps: Annotated[int, Field(ge=0, le=10_000)] = 1000
    idle_budget_policy: Literal["keep", "charity"] = "keep"
    claim_window_days: Annotated[int, Field(ge=1, le=3650)] = 90

    # Networks. "sandbox" talks to the local emulated networks (no credentials needed).
    networks: Literal["sandbox", "live"] = "sandbox"
    sandbox_url: str | None = None
    # Which activity flattrs; the names and defaults come from the networks (bots.registry).
    x_triggers: TriggerSet = Field(default=None, validate_default=True)
    facebook_triggers: TriggerSet = Field(default=None, validate_default=True)
    mastodon_triggers: TriggerSet = Field(default=None, validate_default=True)
    x_service_handle: str = "flattrbot"
    # Explicit requests: found by X's recent search and the service's mentions ("search",
    # with x_app_bearer_token or x_service_token), or by reading every timeline.
    x_find_requests: Literal["search", "timelines"] = "search"
    # The query length X allows the deployment's access level: 512 self-serve (Basic,
    # pay-per-use), 1024 Pro, 4096 Enterprise.
    x_search_query_limit: Annotated[int, Field(ge=64, le=4096)] = 512
    # X posts the API plan lets the deployment read in a month (None: no cap); the worker
    # slows down as the month's reads approach it.
    x_monthly_read_cap: Annotated[int | None, Field(ge=1)] = None
    x_client_id: str = "sandbox-x-client"
    x_client_secret: str = "sandbox-x-secret"
    facebook_app_id: str = "100000000000001"
    facebook_app_secret: str = "sandbox-facebook-secret"
    facebook_graph_version: Annotated[str, Field(pattern=r"^v\d+\.\d+$")] = "v22.0"
    facebook_page_id: str | None = None
    # The service's own accounts, for notifications (secrets: never logged).
    x_service_user_id: str | None = None
    x_service_token: str | None = None
    x_app_bearer_token: str | None = None  # the X app's app-only token (search, mentions)
    facebook_page_token: str | None = None
    # Webhooks: Facebook's subscription check token (derived from the app secret when unset,
    # shown on /admin), and the X app's consumer secret that signs X's webhooks (defaults
    # to x_client_secret).
    facebook_webhook_verify_token: str | None = None
    x_consumer_secret: str | None = None
    # At most one webhook wake-up per account this often (0: every event wakes it).
    webhook_min_wake_seconds: Annotated[int, Field(ge=0, le=86_400)] = 60
    http_timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10.0
    # Mastodon: the app's name as instances show it; a per-request timeout (thousands of
    # independent instances: a slow one must not hold a worker); the service's own account
    # (`@user@host`, its id there and token) for direct messages to creators who chose them.
    mastodon_app_name: str = "Flattr"
    mastodon_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 5.0
    mastodon_service_account: str | None = None
    mastodon_service_user_id: str | None = None
    mastodon_service_token: str | None = None
    # Bluesky: likes and reposts read live from Jetstream v1 (public: no token is kept).
    bluesky_triggers: TriggerSet = Field(default=None, validate_default=True)
    bluesky_jetstream_url: str = "wss://jetstream2.us-east.bsky.network/subscribe"
    bluesky_appview_url: str = "https://public.api.bsky.app"  # getPosts, resolveHandle
    bluesky_pds_url: str = "https://bsky.social"  # createSession (listRecords: each DID's PDS)
    bluesky_plc_url: str = "https://plc.directory"  # did:plc documents name each DID's PDS
    # Bluesky allows 3,000 requests per 5 minutes per IP; this process keeps under this.
    bluesky_requests_per_5min: Annotated[int, Field(ge=1, le=3000)] = 2700
    bluesky_service_did: str | None = None  # the service's own account: never flattred
    bluesky_service_handle: str | None = None
    # Jetstream replays about 36 h; a cursor older than this is filled by listRecords.
    bluesky_replay_hours: Annotated[float, Field(gt=0, le=72)] = 24.0
    bluesky_dids_per_connection: Annotated[int, Field(ge=1, le=10_000)] = 10_000
    bluesky_batch_size: Annotated[int, Field(ge=1, le=10_000)] = 500
    bluesky_batch_wait_seconds: Annotated[float, Field(gt=0, le=60)] = 1.0

    # Worker.
    poll_concurrency: Annotated[int, Field(ge=1, le=256)] = 8
    poll_batch_size: Annotated[int, Field(ge=1, le=10_000)] = 50
    lease_seconds: Annotated[int, Field(ge=5, le=3600)] = 120
    settle_cron: str = "5 0 1 * *"

    # Notifications.
    invite_unclaimed_creators: bool = False
    notify_max_per_recipient_per_day: Annotated[int, Field(ge=1, le=1000)] = 5
    smtp_host: str | None = None
    smtp_port: Annotated[int, Field(ge=1, le=65535)] = 25
    smtp_sender: Annotated[str, Field(pattern=r"^[^@\s<>]+@[^@\s<>]+$")] = "flattr@localhost"
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: str | None = None
    # Account e-mail (reset, address change) with no SMTP host: .eml files in this folder;
    # unset, the message goes to the log (its text too in sandbox mode, for the demo).
    mail_outbox: Path | None = None

    # Web.
    web_host: str = "127.0.0.1"
    web_port: Annotated[int, Field(ge=0, le=65535)] = 8000
    web_base_url: str | None = None
    token_keys: str | None = None  # comma-separated; the first encrypts, all decrypt
    session_secret: str | None = None

    @field_validator("x_triggers", "facebook_triggers", "mastodon_triggers", "bluesky_triggers")
    @classmethod
    def _known_triggers(cls, value: frozenset[str] | None,
                        info: ValidationInfo) -> frozenset[str] | None:
        assert info.field_name is not None
        return _check_triggers(info.field_name, value)

    @field_validator("web_base_url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[A-Za-z0-9.\-\[\]:]+(/[^\s?#]*)?",
                                                  value):
            raise ValueError("expected the public address, e.g. https://flattr.example")
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
            raise ValueError("expected sqlite:///PATH or postgresql://...")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = os.environ.get(ENV_PREFIX + "CONFIG_FILE")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(toml_file)))
        return tuple(sources)


class ConfigError(Exception):
    """Every bad setting, one line each, named by its environment variable."""

    def __init__(self, problems: list[str]):
        super().__init__("bad configuration:\n  " + "\n  ".join(problems))
        self.problems = problems


def load_settings(**overrides: Any) -> Settings:
    toml_file = os.environ.get(ENV_PREFIX + "CONFIG_FILE")
    if toml_file and not Path(toml_file).is_file():
        raise ConfigError([f"{ENV_PREFIX}CONFIG_FILE: no such file: {toml_file}"])
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    except (ValueError, OSError) as exc:  # e.g. a TOML file that does not parse
        raise ConfigError([f"{ENV_PREFIX}CONFIG_FILE: {exc}"]) from None


def _describe(exc: ValidationError) -> list[str]:
    problems = []
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"]) or "settings"
        given = error.get("input")
        shown = "" if isinstance(given, Mapping) else f" (got {given!r})"
        message = error["msg"].removeprefix("Value error, ")
        problems.append(f"{ENV_PREFIX}{name.upper()}: {message}{shown}")
    return problems
