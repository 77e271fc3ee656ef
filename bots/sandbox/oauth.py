"""What the networks' sandbox OAuth flows share: the page where a person approves (or
cancels), with its stylesheet, and the redirect back. The flows themselves are in
bots/<network>/sandbox_oauth.py.

The page lets you act as any identity of the scenario: its people, and the creators and
other authors who never joined (so that claiming one releases the escrow waiting for it).
"""

from __future__ import annotations

import html
from importlib import resources
from urllib.parse import urlencode

from bots.sandbox.replies import Reply, html_reply, redirect

STYLESHEET = "/_sandbox/consent.css"
Choices = list[tuple[str, str]]  # (user id, label)


def stylesheet() -> Reply:
    css = (resources.files("bots") / "sandbox" / "static" / "consent.css").read_bytes()
    return Reply(200, css, {"Content-Type": "text/css; charset=utf-8",
                            "Cache-Control": "max-age=3600"})


def approve_page(title: str, action: str, hidden: dict[str, str], choices: Choices,
                 others: Choices | None = None, network: str = "") -> Reply:
    """`choices`: the scenario's people; `others`: everyone else one may sign in as
    (creators who have not joined, other authors), in a group of their own."""
    fields = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in hidden.items()
    )
    if others:
        options = (_group("People of the scenario", choices)
                   + _group("Creators and other accounts (not joined)", others))
    else:
        options = _options(choices)
    shown = html.escape(title)
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{shown} (sandbox)</title><link rel="stylesheet" href="{STYLESHEET}"></head>'
        '<body><main class="consent">'
        + (f'<p class="network">{html.escape(network)} sandbox</p>' if network else "")
        + f"<h1>{shown}</h1>"
        '<p class="note">This is the sandbox standing in for the network: choose whom to '
        "sign in as. Nothing leaves this machine.</p>"
        f'<form method="get" action="{html.escape(action)}">{fields}'
        f'<label for="user_id">Sign in as</label><select id="user_id" name="user_id">'
        f"{options}</select>"
        '<div class="actions"><button type="submit" name="decision" value="approve">'
        'Authorize app</button><button type="submit" name="decision" value="deny">Cancel'
        "</button></div></form></main></body></html>"
    )
    return html_reply(200, page)


def _options(choices: Choices) -> str:
    return "".join(f'<option value="{html.escape(v)}">{html.escape(label)}</option>'
                   for v, label in choices)


def _group(label: str, choices: Choices) -> str:
    if not choices:
        return ""
    return f'<optgroup label="{html.escape(label)}">{_options(choices)}</optgroup>'


def back(redirect_uri: str, params: dict[str, str]) -> Reply:
    joiner = "&" if "?" in redirect_uri else "?"
    return redirect(redirect_uri + joiner + urlencode(params))
