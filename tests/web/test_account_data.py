"""Issue 15: the first budget chosen at sign-up (in force from this month), download my
data (a JSON attachment), and delete my account: the money rules, the personal details
gone, the ledger still balancing (`flattr check`), escrow returned later given to charity."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from commands.main import main
from core import flattring, ledger, people
from core.account_deletion import anonymous_name
from core.models import (
    AccountToken,
    ActivityRecord,
    Claim,
    Flattr,
    Notification,
    Person,
    SocialAccount,
    Thing,
)
from runtime.app import App
from tests.web.conftest import ALICE_FB, ALICE_X, BOB_X, PAGE, PASSWORD
from tests.web.flow import close_october, poll, push_webhooks
from tests.web.helpers import connect, csrf_of
from tests.web.smtp import Inbox, body, inbox, settings, smtp

__all__ = ["inbox", "settings", "smtp"]  # fixtures


def _join(client: FlaskClient, name: str, budget: str | None = "5.00", **extra: str) -> str:
    form = {"csrf_token": csrf_of(client, "/signup"), "name": name, "password": PASSWORD,
            "password2": PASSWORD, "email": f"{name}@test.example", **extra}
    if budget is not None:
        form["budget"] = budget
    response = client.post("/signup", data=form)
    assert response.status_code == 303, response.get_data(as_text=True)
    return csrf_of(client)


def _person(app: App, name: str) -> Person:
    with app.db.unit_of_work() as session:
        return session.execute(select(Person).where(Person.name == name)).scalar_one()


def test_sign_up_asks_the_first_budget_in_force_this_month(web: Flask, client: FlaskClient,
                                                           app: App) -> None:
    form = client.get("/signup").get_data(as_text=True)
    assert 'name="budget" value="2.00"' in form and "from this month on" in form
    low = client.post("/signup", data={"csrf_token": csrf_of(client, "/signup"), "name": "al",
                                       "budget": "1.99", "password": PASSWORD,
                                       "password2": PASSWORD})
    assert low.status_code == 400 and "below the minimum" in low.get_data(as_text=True)
    bad = client.post("/signup", data={"csrf_token": csrf_of(client, "/signup"), "name": "al",
                                       "budget": "five", "password": PASSWORD,
                                       "password2": PASSWORD})
    assert bad.status_code == 400
    _join(client, "alice", "5.00")
    page = client.get("/me").get_data(as_text=True)
    assert "counts from this month" in page and "A new budget counts from next month" not in page
    assert "€5.00" in page.split('id="budget-now"')[1][:80]
    with app.db.unit_of_work() as session:
        assert people.budget_for(session, _person(app, "alice").id, "2026-10") == 500
        assert session.execute(select(func.count()).select_from(Person)).scalar_one() == 1
    _join(web.test_client(), "script", budget=None)  # a form from before: the minimum
    with app.db.unit_of_work() as session:
        assert people.budget_for(session, _person(app, "script").id, "2026-10") == 200


def _october(web: Flask, app: App, clock) -> tuple[FlaskClient, FlaskClient]:  # type: ignore[no-untyped-def]
    """alice (budget 5.00, wallet 20.00) flattrs three things in October, which closes;
    bob links and claims his X identity (his escrow is released to him); the Facebook
    Page's share stays in escrow. In November alice flattrs one more thing."""
    alice = web.test_client()
    csrf = _join(alice, "alice")
    alice.post("/me/topup", data={"csrf_token": csrf, "amount": "20.00"})
    connect(alice, csrf, "x", ALICE_X)
    connect(alice, csrf, "facebook", ALICE_FB)
    poll(app)
    clock.set(datetime(2026, 10, 1, 10, 30, tzinfo=UTC))
    push_webhooks(alice, app, ALICE_X, ALICE_FB)
    assert poll(app).flattrs == 3
    close_october(app)
    clock.set(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    bob = web.test_client()
    bob_csrf = _join(bob, "bob")
    connect(bob, bob_csrf, "x", BOB_X, purpose="claim")
    with app.db.unit_of_work() as session:
        person = session.execute(select(Person).where(Person.name == "alice")).scalar_one()
        flattring.flattr_url(session, app.rules, person, "https://blog.example.org/post",
                             at=clock.now, now=clock.now)
    return alice, bob


def test_download_my_data_is_a_json_attachment(web: Flask, app: App, clock) -> None:  # type: ignore[no-untyped-def]
    alice, _ = _october(web, app, clock)
    response = alice.get("/me/export")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == \
        'attachment; filename="flattr-alice-2026-11-02.json"'
    assert response.headers["Cache-Control"] == "no-store"
    data = json.loads(response.get_data(as_text=True))
    assert data["format"] == "flattr-export/1" and data["currency"] == "EUR"
    assert data["profile"]["name"] == "alice"
    assert data["profile"]["email"] == "alice@test.example"
    assert data["budgets"] == [{"from_period": "2026-10", "cents": 500}]
    assert data["wallet_cents"] == 1500
    assert {(a["network"], a["user_id"]) for a in data["linked_accounts"]} == {
        ("x", ALICE_X), ("facebook", ALICE_FB)}
    assert len(data["flattrs"]) == 4
    assert {f["period"] for f in data["flattrs"]} == {"2026-10", "2026-11"}
    assert data["statements"] == [{"period": "2026-10", "flattrs": 3, "budget_cents": 500,
                                   "charged_cents": 500}]
    assert any(n["kind"] for n in data["notifications"])
    text = response.get_data(as_text=True)
    with app.db.unit_of_work() as session:  # no secret leaves
        for account in session.execute(select(SocialAccount)).scalars():
            for secret in (account.token_ciphertext, account.refresh_ciphertext):
                assert not secret or secret not in text
    assert _person(app, "alice").password_hash not in text and "scrypt$" not in text
    assert web.test_client().get("/me/export").status_code == 302  # signed in only


def test_deleting_an_account_keeps_the_ledger_whole(web: Flask, app: App, clock,  # type: ignore[no-untyped-def]
                                                    inbox: Inbox, database_url: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    alice, bob = _october(web, app, clock)
    monkeypatch.setenv("FLATTR_DATABASE_URL", database_url)
    alice_id, bob_id = _person(app, "alice").id, _person(app, "bob").id
    with app.db.unit_of_work() as session:
        earned = ledger.balance(session, ledger.earnings(bob_id))
        page_escrow = ledger.balance(session, ledger.escrow(f"facebook:page:{PAGE}"))
    assert earned > 0 and page_escrow > 0

    page = alice.get("/me/delete").get_data(as_text=True)
    assert "€15.00</span>. It is refunded to you" in page and "withdrawn" in page
    assert "goes to charity" in page and "<script" not in page
    kept = alice.post("/me/delete", data={"csrf_token": csrf_of(alice), "password": "wrong",
                                          "confirm": "yes"}, follow_redirects=True)
    assert "not deleted" in kept.get_data(as_text=True)
    response = alice.post("/me/delete", data={"csrf_token": csrf_of(alice, "/me/delete"),
                                              "password": PASSWORD, "confirm": "yes"})
    assert response.status_code == 303 and alice.get("/me").status_code == 302
    goodbye = inbox.wait("alice@test.example")
    assert goodbye["Subject"] == "Your Flattr account is deleted"
    assert "Wallet refunded: €15.00" in body(goodbye)
    assert "Flattrs withdrawn from this month: 1" in body(goodbye)
    bob.post("/me/delete", data={"csrf_token": csrf_of(bob, "/me/delete"),
                                 "password": PASSWORD, "confirm": "yes"})
    assert "Earnings paid out" in body(inbox.wait("bob@test.example"))

    with app.db.unit_of_work() as session:
        gone = session.get(Person, alice_id)
        assert gone is not None and gone.name == anonymous_name(alice_id)
        assert gone.email is None and gone.password_hash is None and gone.deleted_at
        for model in (SocialAccount, ActivityRecord, Notification, AccountToken, Claim):
            assert session.execute(select(func.count()).select_from(model).where(
                model.person_id.in_([alice_id, bob_id]))).scalar_one() == 0
        assert session.execute(select(func.count()).select_from(Thing)
                               .where(Thing.owner_id == bob_id)).scalar_one() == 0
        november = session.execute(select(Flattr).where(Flattr.period == "2026-11")).scalar_one()
        assert november.withdrawn_at is not None  # the open month's flattr: withdrawn
        assert session.execute(select(func.count()).select_from(Flattr).where(
            Flattr.period == "2026-10", Flattr.withdrawn_at.is_(None))).scalar_one() == 3
        assert ledger.balance(session, ledger.wallet(alice_id)) == 0
        assert ledger.balance(session, ledger.earnings(bob_id)) == 0
        assert ledger.balance(session, ledger.PAYOUTS) == 1500 + earned
        assert ledger.balance(session, ledger.escrow(f"facebook:page:{PAGE}")) == page_escrow
    assert main(["check"]) == 0  # flattr check: every account still belongs to someone
    login = web.test_client()
    assert login.post("/login", data={"csrf_token": csrf_of(login, "/login"), "name": "alice",
                                      "password": PASSWORD}).status_code == 401
    _join(web.test_client(), "alice")  # the name is free again

    # The Page never claims its escrow: when the window passes it cannot go back to
    # alice's wallet, so it goes to charity.
    assert main(["--now", "2027-03-01T00:00:00+00:00", "expire"]) == 0
    with app.db.unit_of_work() as session:
        assert ledger.balance(session, ledger.wallet(alice_id)) == 0
        assert ledger.balance(session, ledger.CHARITY) == page_escrow
    assert main(["check"]) == 0
