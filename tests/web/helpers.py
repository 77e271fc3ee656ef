"""Driving the web app from a test client, and the sandbox's approve step over HTTP."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

import requests
from flask.testing import FlaskClient

from tests.web.conftest import PASSWORD

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(client: FlaskClient, path: str = "/me") -> str:
    page = client.get(path).get_data(as_text=True)
    match = _CSRF.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_up(client: FlaskClient, name: str, password: str = PASSWORD) -> str:
    token = csrf_of(client, "/signup")
    response = client.post("/signup", data={"csrf_token": token, "name": name,
                                            "password": password, "password2": password})
    assert response.status_code == 303, response.get_data(as_text=True)
    return csrf_of(client)


def start_connect(client: FlaskClient, csrf: str, network: str, purpose: str = "connect") -> str:
    """POST the connect button; returns the network's authorize URL (the sandbox)."""
    response = client.post(f"/connect/{network}", data={"csrf_token": csrf, "purpose": purpose})
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"]


def approve(authorize_url: str, user_id: str) -> str:
    """Press "Authorize" on the sandbox page; returns the callback URL it redirects to."""
    parts = urlsplit(authorize_url)
    query = dict(parse_qsl(parts.query))
    approve_path = parts.path.rstrip("/") + "/approve"
    response = requests.get(f"{parts.scheme}://{parts.netloc}{approve_path}",
                            params={**query, "user_id": user_id, "decision": "approve"},
                            allow_redirects=False, timeout=10)
    assert response.status_code in (302, 303), response.text
    return response.headers["Location"]


def local(url: str) -> str:
    """The path and query of a callback URL, for the test client."""
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def connect(client: FlaskClient, csrf: str, network: str, user_id: str,
            purpose: str = "connect") -> str:
    """The whole dance; returns the callback path the test client followed."""
    callback = local(approve(start_connect(client, csrf, network, purpose), user_id))
    response = client.get(callback)
    assert response.status_code == 303, response.get_data(as_text=True)
    return callback
