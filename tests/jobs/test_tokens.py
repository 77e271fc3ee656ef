"""The worker's `refresh` job: X access tokens renewed before they expire, against the
sandbox's rotating refresh tokens; a refusal asks the person to reconnect; two workers
never spend the same refresh token twice."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bots.x.sandbox_oauth import X_ACCESS_LIFETIME
from core import accounts
from core.accounts import link_account
from core.models import Notification, SocialAccount
from jobs.tokens import refresh_tokens
from tests.jobs.conftest import Rig

SCOPES = ("tweet.read", "users.read", "like.read", "tweet.write", "offline.access")


def _connected(rig: Rig) -> tuple[int, str]:
    """An X account connected as the web flow leaves it: access and refresh tokens sealed,
    the access token's expiry stored. Returns (account id, refresh token)."""
    spec = rig.scenario["people"][0]["x"]
    world = rig.sandbox.world
    grant = world.issue_token("x", str(spec["user_id"]), scopes=SCOPES,
                              lifetime=X_ACCESS_LIFETIME)
    refresh = "xr-test-refresh-token"
    world.refresh_tokens[refresh] = grant
    person = rig.person("alice")
    with rig.app.db.unit_of_work() as session:
        account = link_account(session, rig.app.keys, person_id=person, network="x",
                               external_user_id=str(spec["user_id"]), token=grant.token,
                               now=rig.app.now(), handle=spec.get("username"))
        account.refresh_ciphertext = accounts.seal_token(rig.app.keys, refresh)
        account.token_expires_at = rig.app.now() + X_ACCESS_LIFETIME
        session.flush()
        return account.id, refresh


def _account(rig: Rig, account_id: int) -> SocialAccount:
    with rig.app.db.unit_of_work() as session:
        row = session.get(SocialAccount, account_id)
        session.expunge(row)
        return row


def test_a_worker_tick_refreshes_an_expiring_token(rig: Rig) -> None:
    account_id, old_refresh = _connected(rig)
    worker = rig.worker()
    try:
        assert worker.refresh_tokens().refreshed == 0  # two hours left: nothing to do
        rig.clock.advance(hours=1, minutes=50)
        before = _account(rig, account_id)
        result = worker.refresh_tokens()
        assert (result.refreshed, result.failed, result.raced) == (1, 0, 0)
        after = _account(rig, account_id)
        assert after.status == "active" and after.last_error is None
        assert after.token_expires_at == rig.app.now() + X_ACCESS_LIFETIME
        new_access = accounts.open_token(rig.app.keys, after.token_ciphertext)
        assert new_access != accounts.open_token(rig.app.keys, before.token_ciphertext)
        new_refresh = accounts.open_token(rig.app.keys, after.refresh_ciphertext)
        assert new_refresh != old_refresh and new_refresh in rig.sandbox.world.refresh_tokens
        assert old_refresh not in rig.sandbox.world.refresh_tokens  # rotated: spent
        assert worker.refresh_tokens().refreshed == 0  # fresh again: idempotent
        rig.clock.advance(minutes=30)  # past the old token's expiry: the new one works
        assert rig.sandbox.world.grant_for(new_access, "x") is not None
    finally:
        worker.close()


def test_a_refused_refresh_marks_the_account_needs_reconnect(rig: Rig) -> None:
    account_id, _ = _connected(rig)
    rig.sandbox.world.refresh_tokens.clear()  # the person revoked the app on X
    rig.clock.advance(hours=2)
    worker = rig.worker()
    try:
        result = worker.refresh_tokens()
        assert (result.refreshed, result.failed) == (0, 1)
        assert worker.refresh_tokens().failed == 0  # no longer active: not tried again
    finally:
        worker.close()
    account = _account(rig, account_id)
    assert account.status == accounts.STATUS_RECONNECT and account.last_error
    with rig.app.db.unit_of_work() as session:
        kinds = [n.kind for n in session.execute(select(Notification)).scalars()]
    assert kinds == ["needs_reconnect"]


def test_an_account_claimed_by_one_worker_is_left_to_it(rig: Rig) -> None:
    account_id, old_refresh = _connected(rig)
    rig.clock.advance(hours=1, minutes=50)
    now = rig.app.now()
    # One worker's claim hides the account from the others until its lease ends.
    from jobs import tokens

    (claim,) = accounts.claim_refresh(rig.app.db, "stalled", networks=["x"], now=now,
                                      horizon=now + tokens.REFRESH_MARGIN,
                                      lease=tokens.CLAIM_LEASE)
    assert claim.id == account_id
    assert refresh_tokens(rig.app.db, rig.app.settings, now=now).refreshed == 0
    assert old_refresh in rig.sandbox.world.refresh_tokens  # nobody spent it
    # A claim whose worker died lapses: the account is due again after the lease.
    later = now + tokens.CLAIM_LEASE + timedelta(seconds=1)
    rig.clock.set(later)
    assert refresh_tokens(rig.app.db, rig.app.settings, now=later).refreshed == 1
    after = _account(rig, account_id)  # the claim ended with the store
    assert (after.refresh_owner, after.refresh_until) == (None, None)


def test_the_refresh_claim_outlasts_a_slow_refresh_under_a_fast_clock(rig: Rig) -> None:
    from jobs import tokens

    worker = rig.worker(lease_scale=100.0)  # the clock runs 100 times faster than real time
    worker.close()
    assert worker.refresh_lease == tokens.CLAIM_LEASE * 100
    account_id, old_refresh = _connected(rig)
    rig.clock.advance(hours=1, minutes=50)
    now = rig.app.now()
    (claim,) = accounts.claim_refresh(rig.app.db, worker.owner, networks=["x"], now=now,
                                      horizon=now + tokens.REFRESH_MARGIN,
                                      lease=worker.refresh_lease)
    # Two real seconds of a refresh call are 200 simulated: unscaled, the claim would lapse
    # and another worker would spend the same refresh token.
    later = now + timedelta(seconds=200)
    rig.clock.set(later)
    assert claim.id == account_id
    assert refresh_tokens(rig.app.db, rig.app.settings, now=later).refreshed == 0
    assert old_refresh in rig.sandbox.world.refresh_tokens
