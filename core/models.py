"""The tables: the one module that knows them. Money columns are integer cents."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every database. SQLite keeps naive UTC text (sortable, so
    comparisons in SQL hold); PostgreSQL keeps timestamptz."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def timed(sql: str, *time_params: str) -> TextClause:
    """A text() statement whose named parameters are UTC datetimes."""
    return text(sql).bindparams(*(bindparam(name, type_=UtcDateTime()) for name in time_params))


# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT identities.
Id = BigInteger().with_variant(Integer(), "sqlite")
Cents = BigInteger
Period = String(7)  # 'YYYY-MM'

UtcTime = UtcDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Person(Base):
    __tablename__ = "people"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(254))
    announce_flattrs: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Channels a person (or creator) chose for notifications, comma-separated:
    # any of x_dm, x_mention, email, log. Empty: no message at all.
    notify_channels: Mapped[str] = mapped_column(String(100), default="log", server_default="log")
    digest_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    password_hash: Mapped[str | None] = mapped_column(String(300))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Signed into every web session cookie and checked on every request: raising it (sign
    # out, a new password, an operator's revoke) ends every copy of every session.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UtcTime)
    # Set when the person deleted their account (core/account_deletion.py): the row stays,
    # without personal details, so that the ledger's wallet:<id> keys still name someone.
    deleted_at: Mapped[datetime | None] = mapped_column(UtcTime)
    # The language of the pages and messages ("en", "fr"); None: the browser's choice on
    # the pages, English in messages sent while they are away.
    language: Mapped[str | None] = mapped_column(String(8))


class Budget(Base):
    """A monthly budget from `effective_period` on, until a later row replaces it."""

    __tablename__ = "budgets"
    __table_args__ = (
        UniqueConstraint("person_id", "effective_period"),
        CheckConstraint("cents > 0", name="positive"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    effective_period: Mapped[str] = mapped_column(Period)
    cents: Mapped[int] = mapped_column(Cents)


class Thing(Base):
    """A creation, by canonical URL: owned by a person, or held by an identity until claimed."""

    __tablename__ = "things"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    title: Mapped[str | None] = mapped_column(String(300))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    identity: Mapped[str | None] = mapped_column(String(2100), index=True)
    # core.split.rank_key(url), fixed at creation: the thing's place in every split.
    rank_key: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcTime)


class Claim(Base):
    """A creator's claim on an identity (twitter:1) or a URL prefix (https://x.org/blog/)."""

    __tablename__ = "claims"
    __table_args__ = (CheckConstraint("kind IN ('identity', 'prefix')", name="kind"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    value: Mapped[str] = mapped_column(String(2100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcTime)


class SocialAccount(Base):
    """A person's linked account on a registered network, with its poll schedule and
    leases. core/accounts/ is the one module that writes `status` (see its states)."""

    __tablename__ = "social_accounts"
    __table_args__ = (
        UniqueConstraint("network", "external_user_id"),
        Index("ix_social_accounts_due", "status", "next_poll_at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    network: Mapped[str] = mapped_column(String(16))
    external_user_id: Mapped[str] = mapped_column(String(300))  # Mastodon: <host>:<id>
    identity: Mapped[str] = mapped_column(String(320), unique=True)
    handle: Mapped[str | None] = mapped_column(String(100))
    # No default here: core.accounts writes every state (the schema's default, from
    # migration 0001, only serves rows written by hand in tests).
    status: Mapped[str] = mapped_column(String(20))
    # Triggers this person switched on for the account, comma-separated (None: the
    # deployment's defaults); the deployment setting still limits them.
    triggers: Mapped[str | None] = mapped_column(String(200))
    token_ciphertext: Mapped[str | None] = mapped_column(Text)
    refresh_ciphertext: Mapped[str | None] = mapped_column(Text)
    token_expires_at: Mapped[datetime | None] = mapped_column(UtcTime)
    cursor: Mapped[str | None] = mapped_column(Text)  # JSON, opaque to the core
    next_poll_at: Mapped[datetime | None] = mapped_column(UtcTime)
    last_polled_at: Mapped[datetime | None] = mapped_column(UtcTime)
    last_activity_at: Mapped[datetime | None] = mapped_column(UtcTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UtcTime)
    # When a webhook last made it due (core.accounts.wake): the cap on how often one can.
    created_at: Mapped[datetime] = mapped_column(UtcTime)
    # When the account was last linked (or relinked): its current episode began.
    linked_at: Mapped[datetime | None] = mapped_column(UtcTime)
    # The last time a webhook asked for a poll now: the next poll reads every stream.
    wake_requested_at: Mapped[datetime | None] = mapped_column(UtcTime)
    # The token-refresh claim (a lease of its own: a poll may run meanwhile).
    refresh_owner: Mapped[str | None] = mapped_column(String(100))
    refresh_until: Mapped[datetime | None] = mapped_column(UtcTime)


class ActivityRecord(Base):
    """Every activity seen, once (unique key), with what became of it."""

    __tablename__ = "activities"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(512), unique=True)
    network: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UtcTime)
    thing_id: Mapped[int | None] = mapped_column(ForeignKey("things.id"))
    # The flattr it made or joins (an "already": the same thing in the same period), so
    # that undoing it withdraws that flattr only when nothing else supports it.
    flattr_id: Mapped[int | None] = mapped_column(ForeignKey("flattrs.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UtcTime)
    # Undone (a like deleted): it supports nothing any more (core.retractions).
    retracted_at: Mapped[datetime | None] = mapped_column(UtcTime)


class Flattr(Base):
    """One click: a person flattred a thing in a period (at most once)."""

    __tablename__ = "flattrs"
    __table_args__ = (
        UniqueConstraint("person_id", "thing_id", "period"),
        # Covers settlement's scan of a period's open flattrs, in the split's rank order.
        Index("ix_flattrs_open", "period", "person_id", "rank_key", "thing_id",
              sqlite_where=text("withdrawn_at IS NULL"),
              postgresql_where=text("withdrawn_at IS NULL")),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    thing_id: Mapped[int] = mapped_column(ForeignKey("things.id"), index=True)
    period: Mapped[str] = mapped_column(Period)
    # Its thing's rank_key, copied when the flattr is written, so that the split reads a
    # month of flattrs in rank order from ix_flattrs_open alone.
    rank_key: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(UtcTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcTime)
    # Who withdrew it: "person" (by hand), "own" (they came to own the thing), "undone"
    # (every activity behind it was undone: a new one brings it back, core.retractions).
    withdrawn_by: Mapped[str | None] = mapped_column(String(8))


class Settlement(Base):
    """One row per closed (or closing) period; `stage` is the last stage committed."""

    __tablename__ = "settlements"
    period: Mapped[str] = mapped_column(Period, primary_key=True)
    stage: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UtcTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcTime)
    # How the split ranked each person's flattrs (core.settlement_sql.SPLIT_ORDERS).
    split_order: Mapped[str] = mapped_column(String(16), server_default="url_hash")


class Charge(Base):
    """What a period cost one person, fixed once at settlement: min(budget, wallet), split
    over `flattrs` (0 for an idle budget given to charity)."""

    __tablename__ = "charges"
    period: Mapped[str] = mapped_column(Period, primary_key=True)
    person_id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=False)
    flattrs: Mapped[int] = mapped_column(Integer)
    budget_cents: Mapped[int] = mapped_column(Cents)
    charged_cents: Mapped[int] = mapped_column(Cents)


# A flattr's share of its person's period budget: the split, written once by settlement's
# INSERT ... SELECT and never updated. It has no key on purpose: settlement appends a month
# of rows in one pass (a key costs as much as the rows), and nothing looks a single share
# up: a person's shares are recomputed from their flattrs and charge (core.shares), and a
# thing's totals live in thing_totals. Only whole periods are read (the totals, the monthly
# expiry returning escrow to each donor): by period, a BRIN index on PostgreSQL (rows
# arrive period by period), a B-tree appended in order on SQLite. (period, person_id,
# thing_id) is unique.
shares = Table(
    "shares", Base.metadata,
    Column("period", Period, nullable=False),
    Column("person_id", Id, nullable=False),
    Column("thing_id", Id, nullable=False),
    Column("flattr_id", Id, nullable=False),
    Column("share_cents", Cents, nullable=False),
    CheckConstraint("share_cents >= 0", name="amount"),
    Index("ix_shares_period", "period", postgresql_using="brin"),
)


class ThingTotal(Base):
    """What a thing received in a period, and where it went.

    state: paid (to the owner, fee taken), escrow (waiting for `identity` to be claimed),
    released (escrow paid to the claimer, fee taken), returned (escrow back to the donors).
    fee_cents is core.split.fee_of each share at `fee_bps`, the rate when the period closed
    (escrow pays it on release). own_flattrs (0 or 1) is the claimer's own flattr of the
    thing, whose share refund_cents went back to their wallet on release (nobody is paid
    for their own thing); the creator gets gross - refund - fee.

    Written by settlement from the shares it just wrote, so there are no foreign keys here
    (nor on charges): their row-by-row checks could never fail and cost a third of the
    write.
    """

    __tablename__ = "thing_totals"
    __table_args__ = (
        # Partial: only the rows a claim, an invitation or an expiry looks for.
        Index("ix_thing_totals_escrow_identity", "identity",
              sqlite_where=text("state = 'escrow'"), postgresql_where=text("state = 'escrow'")),
        Index("ix_thing_totals_resolution_txn_id", "resolution_txn_id",
              sqlite_where=text("resolution_txn_id IS NOT NULL"),
              postgresql_where=text("resolution_txn_id IS NOT NULL")),
        CheckConstraint("gross_cents >= 0 AND refund_cents >= 0 AND fee_cents >= 0"
                        " AND refund_cents + fee_cents <= gross_cents", name="amounts"),
    )
    period: Mapped[str] = mapped_column(Period, primary_key=True)
    thing_id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=False)
    creator_id: Mapped[int | None] = mapped_column(Id)
    identity: Mapped[str | None] = mapped_column(String(2100))
    flattrs: Mapped[int] = mapped_column(Integer)
    gross_cents: Mapped[int] = mapped_column(Cents)
    fee_cents: Mapped[int] = mapped_column(Cents)
    fee_bps: Mapped[int] = mapped_column(Integer)
    refund_cents: Mapped[int] = mapped_column(Cents, default=0, server_default="0")
    own_flattrs: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    state: Mapped[str] = mapped_column(String(10))
    escrow_until: Mapped[datetime | None] = mapped_column(UtcTime)
    resolution_txn_id: Mapped[int | None] = mapped_column(Id)


class Transaction(Base):
    """A balanced set of entries; `ref` makes a posting happen once."""

    __tablename__ = "transactions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ref: Mapped[str | None] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    period: Mapped[str | None] = mapped_column(Period, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcTime)


class Entry(Base):
    """One leg of a transaction: a signed amount on an account such as 'wallet:42'."""

    __tablename__ = "entries"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("transactions.id"), index=True)
    account: Mapped[str] = mapped_column(String(2200), index=True)
    amount_cents: Mapped[int] = mapped_column(Cents)


class Notification(Base):
    """The outbox: written with the event that caused it, delivered by the notify job."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    identity: Mapped[str | None] = mapped_column(String(2100))
    payload: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")  # JSON
    status: Mapped[str] = mapped_column(String(12), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(UtcTime)
    created_at: Mapped[datetime] = mapped_column(UtcTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    # A folded announcement: the dedupe key of the day's post it was taken into.
    fold_key: Mapped[str | None] = mapped_column(String(300), index=True)


class OptOut(Base):
    """Someone who never wants a message from us again: an identity or 'person:<id>'."""

    __tablename__ = "opt_outs"
    subject: Mapped[str] = mapped_column(String(2100), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcTime)


class OAuthState(Base):
    """Kept server-side between the redirect to a network and its callback (one use)."""

    __tablename__ = "oauth_states"
    state: Mapped[str] = mapped_column(String(128), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    network: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(16), default="connect")  # connect | claim
    code_verifier: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcTime)
    instance: Mapped[str | None] = mapped_column(String(253))  # a federated network's server


class InstanceApp(Base):
    """The service's app on one server of a federated network (Mastodon): registered there
    once, the secret sealed like a token (core.accounts.seal_token)."""

    __tablename__ = "instance_apps"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    network: Mapped[str] = mapped_column(String(16))
    host: Mapped[str] = mapped_column(String(253))
    client_id: Mapped[str] = mapped_column(String(255))
    secret_ciphertext: Mapped[str] = mapped_column(Text)
    redirect_uri: Mapped[str] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(UtcTime)
    __table_args__ = (UniqueConstraint("network", "host", name="uq_instance_apps_network_host"),)


class SignInFailure(Base):
    """A failed sign-in, kept for core.users.SIGN_IN_WINDOW: too many failures for one name
    pause that name's sign-ins (whichever web process served them)."""

    __tablename__ = "sign_in_failures"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    failed_at: Mapped[datetime] = mapped_column(UtcTime, index=True)
    __table_args__ = (Index("ix_sign_in_failures_name", "name", "failed_at"),)


class SharedStream(Base):
    """A read that serves many linked accounts at once (bots/shared.py: X's search groups
    and the service's mentions): its members, cursor and schedule, leased to one worker at
    a time as an account is."""

    __tablename__ = "shared_streams"
    __table_args__ = (
        UniqueConstraint("network", "name"),
        Index("ix_shared_streams_due", "next_poll_at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    network: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(64))
    members: Mapped[str] = mapped_column(Text, default="{}")  # JSON: user id -> start mark
    cursor: Mapped[str | None] = mapped_column(Text)  # JSON, opaque to the core
    next_poll_at: Mapped[datetime] = mapped_column(UtcTime)
    last_polled_at: Mapped[datetime | None] = mapped_column(UtcTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UtcTime)
    created_at: Mapped[datetime] = mapped_column(UtcTime)


class ApiUsage(Base):
    """Posts read and requests made per network and month: what an API plan caps and
    bills (X), counted by every worker as it stores a poll."""

    __tablename__ = "api_usage"
    network: Mapped[str] = mapped_column(String(16), primary_key=True)
    period: Mapped[str] = mapped_column(Period, primary_key=True)
    posts_read: Mapped[int] = mapped_column(BigInteger, default=0)
    requests: Mapped[int] = mapped_column(BigInteger, default=0)


class WebhookEvent(Base):
    """A webhook event already acted on, by its digest, kept for web.webhooks.DEDUPE_WINDOW:
    a replay within the window changes nothing (whichever web process it reaches)."""

    __tablename__ = "webhook_events"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    network: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UtcTime, index=True)


class StreamCursor(Base):
    """Where one shard of a network's live stream was read to (`position`: the stream's own
    cursor, Jetstream's time_us) and the worker that reads it now (a lease):
    core/live_streams.py."""

    __tablename__ = "stream_cursors"
    __table_args__ = (UniqueConstraint("network", "shard"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    network: Mapped[str] = mapped_column(String(16))
    shard: Mapped[int] = mapped_column(Integer)
    position: Mapped[int | None] = mapped_column(BigInteger)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UtcTime)
    updated_at: Mapped[datetime] = mapped_column(UtcTime)


class IdentityName(Base):
    """How a network shows an identity (a creator, an author, a Page): its display name
    and handle, as last seen in the network's responses (core.names). Pages show these
    instead of `twitter:800000001`."""

    __tablename__ = "identity_names"
    identity: Mapped[str] = mapped_column(String(320), primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    handle: Mapped[str | None] = mapped_column(String(100))
    seen_at: Mapped[datetime] = mapped_column(UtcTime)


class AccountToken(Base):
    """A single-use link sent by e-mail (core/account_tokens.py): a password reset, or the
    confirmation of a new e-mail address. Only the SHA-256 of the token is kept."""

    __tablename__ = "account_tokens"
    __table_args__ = (CheckConstraint("purpose IN ('reset', 'email')", name="purpose"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(8))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    new_email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UtcTime)
    expires_at: Mapped[datetime] = mapped_column(UtcTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcTime)
