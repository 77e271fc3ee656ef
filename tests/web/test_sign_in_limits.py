"""Password guessing: failed sign-ins pause a name (known or not) for a while, in the
database, so every web process sees the same count."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import func, select

from core.models import SignInFailure
from core.users import SIGN_IN_ATTEMPTS, SIGN_IN_WINDOW
from runtime.app import App
from tests.web.conftest import PASSWORD
from tests.web.helpers import csrf_of, sign_up


def _sign_in(client: FlaskClient, name: str, password: str) -> tuple[int, str]:
    response = client.post("/login", data={"csrf_token": csrf_of(client, "/login"),
                                           "name": name, "password": password})
    return response.status_code, response.get_data(as_text=True)


def _failures(app: App) -> int:
    with app.db.unit_of_work() as session:
        return session.execute(select(func.count()).select_from(SignInFailure)).scalar_one()


def test_wrong_passwords_pause_that_name_even_for_the_right_one(client: FlaskClient, app: App,
                                                                 clock) -> None:  # type: ignore[no-untyped-def]
    sign_up(client, "alice")
    sign_up(client, "bob")
    client.post("/logout", data={"csrf_token": csrf_of(client)})
    for _ in range(SIGN_IN_ATTEMPTS):
        assert _sign_in(client, "alice", "wrong password!")[0] == 401
    status, page = _sign_in(client, "alice", PASSWORD)
    assert status == 429 and "Too many failed sign-ins for this name" in page
    assert client.get("/me").status_code == 302  # not signed in
    assert _sign_in(client, "bob", PASSWORD)[0] == 303  # other names are not paused
    client.post("/logout", data={"csrf_token": csrf_of(client)})

    clock.advance(seconds=SIGN_IN_WINDOW.total_seconds() - 60)
    assert _sign_in(client, "alice", PASSWORD)[0] == 429  # still within the window
    clock.advance(seconds=61)
    assert _sign_in(client, "alice", PASSWORD)[0] == 303
    assert _failures(app) == 0  # a success forgets the name's failures


def test_unknown_names_are_paused_like_known_ones(client: FlaskClient) -> None:
    for _ in range(SIGN_IN_ATTEMPTS):
        assert _sign_in(client, "nobody", "any password at all")[0] == 401
    status, page = _sign_in(client, "nobody", "any password at all")
    assert status == 429 and "try again after" in page


def test_failures_older_than_the_window_are_dropped(client: FlaskClient, app: App,
                                                    clock) -> None:  # type: ignore[no-untyped-def]
    for name in ("first", "second"):
        assert _sign_in(client, name, "wrong password!")[0] == 401
    clock.advance(seconds=SIGN_IN_WINDOW.total_seconds() + 1)
    assert _sign_in(client, "third", "wrong password!")[0] == 401
    assert _failures(app) == 1
