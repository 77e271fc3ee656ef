"""Review finding 11: the per-person limit on mailed links holds under parallel requests."""

from __future__ import annotations

import threading

from sqlalchemy.orm import Session

from core import account_tokens
from core.models import Person
from tests.integration.helpers import add_person, at


def test_parallel_requests_cannot_pass_the_link_limit(db, rules) -> None:  # type: ignore[no-untyped-def]
    if not db.is_postgres:
        return  # one writer at a time: no interleaving to test
    pid = add_person(db, rules, "alice")
    with db.unit_of_work() as session:
        person = session.get(Person, pid)
        assert person is not None
        for _ in range(account_tokens.MAX_PER_WINDOW - 1):
            assert account_tokens.issue(session, person, account_tokens.RESET, now=at(3))
    given: list[str | None] = []

    def ask(session: Session) -> None:
        person = session.get(Person, pid)
        assert person is not None
        given.append(account_tokens.issue(session, person, account_tokens.RESET, now=at(3)))

    with Session(db.engine) as first, first.begin():
        ask(first)

        def second() -> None:
            with Session(db.engine) as other, other.begin():
                ask(other)

        thread = threading.Thread(target=second)
        thread.start()
        thread.join(0.5)  # it waits for this transaction's row lock
    thread.join(10)
    assert not thread.is_alive() and given[0] is not None and given[1] is None
