"""Fuzzing every route of the web app, forms and webhooks, on SQLite and PostgreSQL.

The routes come from the Flask url_map and the form fields from the templates, so a new page
or field is fuzzed without a line here. Requests carry the session's CSRF token and are
signed in as an operator most of the time (so that they reach the views); webhook bodies are
signed with each network's secret most of the time (so that they reach the parsing). After
each: no 5xx but a network's own 502/503 (the test client re-raises any exception: TESTING
propagates them); after
each batch, the ledger's self-check holds."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote

from flask import Flask
from hypothesis import HealthCheck, given, seed
from hypothesis import settings as run_settings
from hypothesis import strategies as st
from sqlalchemy import select

from bots.facebook.webhook import hub_signature
from bots.x.webhook import x_signature
from core import ledger
from core.models import Person
from core.users import set_password, unpause
from runtime.app import App
from tests.campaign.conftest import SEED, scaled
from tests.web.conftest import ALICE_X, PASSWORD, sandbox, settings, web  # noqa: F401
from tests.web.helpers import connect, csrf_of, sign_up

BATCHES = 30
PER_BATCH = 15
TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"
_ARG = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")

HOSTILE = ["", " ", "\0", "a\0b", "\t", "x\n", "\r\n", "\u2028", "\x7f", "١", "٢٠٢٦-10",
           "0000-01", "9999-12", "2026-13", "-1", "9" * 30, "%", "%00", "%2F%2Fevil.example",
           "/%09/evil.example", "//evil.example", "\\\\evil", "https://evil.example/",
           "a" * 250 + "@x.org", "x" * 300, "x" * 5000, "<script>", "' OR 1=1--", "💥",
           '{"for_user_id": "100000001"}', "../../etc/passwd"]
KNOWN = ["olga", "alice", "5.00", "0.01", "2026-10", "https://example.org/blog/", "twitter:123",
         "email", "log", "x_dm", "on", "connect", "claim", "likes", "explicit", "/me", "/admin/",
         "olga@example.org", PASSWORD, "subscribe", "challenge-1234567890"]
# Just over the columns' widths and the fields' (4096).
EDGES = [c * n for n in (65, 101, 255, 301, 2049, 2101, 4096) for c in ("x", "9")] + [
    "a:" + "b" * 2200, "twitter:" + "9" * 2100, "https://example.org/" + "a" * 2100]
VALUES = st.one_of(st.sampled_from(KNOWN), st.sampled_from(HOSTILE), st.sampled_from(EDGES),
                   st.text(max_size=40))
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=10), c,
                                                                        max_size=4),
                    max_leaves=15)
SIGNED_USERS = st.sampled_from([ALICE_X, "200000001", "1", "", "x" * 100])


def _fields() -> list[str]:
    names = set()
    for page in TEMPLATES.glob("**/*.html"):
        names |= set(re.findall(r'name="([A-Za-z0-9_.\-]+)"', page.read_text()))
    return sorted(names - {"viewport"}) + ["state", "code", "error", "crc_token", "hub.mode",
                                           "hub.verify_token", "hub.challenge",
                                           "signed_request"]


def _signed_request(secret: str, payload: object) -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    sig = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(sig).decode().rstrip("=") + "." + body


@st.composite
def requests_(draw, rules, fields):  # type: ignore[no-untyped-def]
    rule = draw(st.sampled_from(rules))
    methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
    method = draw(st.sampled_from(methods)) if draw(st.integers(0, 9)) else draw(
        st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]))

    def arg(match: re.Match[str]) -> str:
        converter = match.group(1)
        if converter == "int" and draw(st.integers(0, 3)):
            return str(draw(st.integers(0, 10**12)))
        if match.group(2) == "network" and draw(st.integers(0, 3)):
            return draw(st.sampled_from(["x", "facebook"]))
        return quote(draw(VALUES), safe="")

    path = _ARG.sub(arg, rule.rule)
    form = {name: draw(VALUES) for name in draw(st.lists(st.sampled_from(fields), max_size=6,
                                                           unique=True))}
    query = {name: draw(VALUES) for name in draw(st.lists(st.sampled_from(fields), max_size=2,
                                                            unique=True))}
    body = None
    if rule.rule.startswith("/webhooks/<network>") and method == "POST":
        kind = draw(st.integers(0, 3))
        body = (json.dumps(draw(JSON)).encode() if kind < 2 else
                b"[" * draw(st.integers(1, 40_000)) if kind == 2 else draw(st.binary(max_size=60)))
        if "signed_request" in form or rule.rule.endswith(("deauthorize", "data-deletion")):
            payload = {"algorithm": draw(st.sampled_from(["HMAC-SHA256", "none"])),
                       "user_id": draw(SIGNED_USERS), "extra": draw(JSON)}
            form["signed_request"] = draw(st.sampled_from(["x.y", "", "signed"]))
            form["_sign"] = json.dumps(payload)
            body = None
    return method, path, query, form, body, draw(st.integers(0, 9)) > 0


def test_every_route_answers_without_a_server_error(web: Flask, app: App, clock) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    operator = web.test_client()
    csrf = sign_up(operator, "olga")
    with app.db.unit_of_work() as session:
        session.execute(select(Person).where(Person.name == "olga")).scalar_one().is_admin = True
    connect(operator, csrf, "x", ALICE_X)
    alice = web.test_client()
    sign_up(alice, "alice")
    rules = [r for r in web.url_map.iter_rules() if r.endpoint != "static"]
    fields = _fields()
    x_secret = app.settings.x_consumer_secret or app.settings.x_client_secret
    fb_secret = app.settings.facebook_app_secret
    statuses: Counter[int] = Counter()
    began = time.monotonic()

    def restore() -> str:
        """The operator signed in again, whatever the last batch did to them."""
        with app.db.unit_of_work() as session:
            olga = session.execute(select(Person).where(Person.name == "olga")).scalar_one()
            set_password(olga, PASSWORD)
            olga.is_admin = True
            unpause(session, "olga")
        token = csrf_of(operator, "/login")
        operator.post("/login", data={"csrf_token": token, "name": "olga",
                                      "password": PASSWORD})
        return csrf_of(operator)

    @seed(SEED)
    @run_settings(max_examples=scaled(BATCHES), deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(requests_(rules, fields), min_size=PER_BATCH, max_size=PER_BATCH))
    def batch(calls) -> None:  # type: ignore[no-untyped-def]
        token = restore()
        for method, path, query, form, body, well_formed in calls:
            if "_sign" in form:
                payload = json.loads(form.pop("_sign"))
                form["signed_request"] = _signed_request(fb_secret if well_formed else "no",
                                                         payload)
            if well_formed:
                form.setdefault("csrf_token", token)
            headers = {}
            if body is not None and well_formed:
                headers = {"x-twitter-webhooks-signature": x_signature(x_secret, body),
                           "X-Hub-Signature-256": hub_signature(fb_secret, body)}
            response = operator.open(path, method=method, query_string=query,
                                     data=body if body is not None else form, headers=headers)
            statuses[response.status_code] += 1
            # 502 and 503 say a network (a Mastodon instance) could not be reached: the
            # upstream's fault, worded as such; any crash is an exception here (TESTING).
            assert response.status_code < 500 or response.status_code in (502, 503), (
                method, path, query, form, body)
            if response.status_code == 400 and not path.startswith("/webhooks"):
                assert response.get_data(as_text=True).strip(), (method, path)
            clock.advance(seconds=7)
        with app.db.unit_of_work() as session:
            assert ledger.self_check(session).problems == []
        assert alice.get("/me").status_code == 200  # nobody else's session was touched

    batch()
    print(f"\ncampaign web[{app.db.engine.dialect.name}]: {statuses.total()} requests over "
          f"{len(rules)} routes in {time.monotonic() - began:.1f} s, "
          f"statuses {dict(sorted(statuses.items()))}")
