"""The operator's page shows the month's API reads against the deployment's cap."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from core import usage
from core.models import Person
from runtime.app import App
from tests.web.helpers import sign_up


def test_admin_page_shows_x_posts_read_this_month(client: FlaskClient, app: App) -> None:
    sign_up(client, "alice")
    with app.db.unit_of_work() as session:
        session.execute(select(Person)).scalar_one().is_admin = True
        usage.add(session, "x", now=app.now(), posts_read=1234, requests=56)
    page = client.get("/admin/").get_data(as_text=True)
    assert "API reads this month" in page
    assert ('<td data-label="Network">X</td><td data-label="Posts read" class="num">1234</td>'
            '<td data-label="Requests" class="num">56</td>') in page
    assert "none set" in page  # no cap configured in these tests
