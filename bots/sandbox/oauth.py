"""What the networks' sandbox OAuth flows share: the page where a person approves (or
cancels), and the redirect back. The flows themselves are in bots/<network>/sandbox_oauth.py."""

from __future__ import annotations

import html
from urllib.parse import urlencode

from bots.sandbox.replies import Reply, html_reply, redirect


def approve_page(
    title: str, action: str, hidden: dict[str, str], choices: list[tuple[str, str]]
) -> Reply:
    fields = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in hidden.items()
    )
    options = "".join(
        f'<option value="{html.escape(v)}">{html.escape(label)}</option>' for v, label in choices
    )
    page = (
        f"<!doctype html><title>{html.escape(title)}</title><h1>{html.escape(title)}</h1>"
        f'<form method="get" action="{html.escape(action)}">{fields}'
        f'<label>Sign in as <select name="user_id">{options}</select></label> '
        f'<button type="submit" name="decision" value="approve">Authorize app</button> '
        f'<button type="submit" name="decision" value="deny">Cancel</button></form>'
    )
    return html_reply(200, page)


def back(redirect_uri: str, params: dict[str, str]) -> Reply:
    joiner = "&" if "?" in redirect_uri else "?"
    return redirect(redirect_uri + joiner + urlencode(params))
