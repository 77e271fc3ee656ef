"""The request's view of the application: the App (settings, db, rules, clock) and one
database transaction per request, committed after a successful response and rolled back
after an error (a UserError, an abort, or an exception)."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from flask import Flask, current_app, g
from flask.wrappers import Response
from sqlalchemy.orm import Session

from runtime.app import App

EXTENSION = "flattr"


def flattr_app() -> App:
    return cast(App, current_app.extensions[EXTENSION])


def db_session() -> Session:
    if "db" not in g:
        session = Session(flattr_app().db.engine, expire_on_commit=False)
        session.begin()
        g.db = session
    return cast(Session, g.db)


def rollback() -> None:
    if "db" in g:
        g.db.rollback()
        g.db.begin()
    g.pop("after_commit", None)  # what was rolled back must not be announced (mails)


def install(flask_app: Flask, app: App) -> None:
    flask_app.extensions[EXTENSION] = app

    @flask_app.after_request
    def _commit(response: Response) -> Response:
        if "db" in g:
            if response.status_code < 400:
                g.db.commit()
            else:
                g.db.rollback()
        g.committed = response.status_code < 400
        return response

    @flask_app.teardown_request
    def _close(exc: BaseException | None) -> None:
        session = g.pop("db", None)
        if session is not None:
            session.close()  # rolls back whatever after_request did not commit
        later = g.pop("after_commit", [])
        if g.pop("committed", False) and exc is None:
            for action in later:
                action()


def after_commit(action: Callable[[], None]) -> None:
    """Run `action` once the request's transaction has committed, outside it (e.g. send an
    e-mail: no network call inside a transaction); never when the request failed."""
    g.setdefault("after_commit", []).append(action)


def commit() -> None:
    """Commit what the request did so far (e.g. before a slow call to a network, so that
    no database lock is held while waiting)."""
    if "db" in g:
        g.db.commit()
        g.db.begin()
