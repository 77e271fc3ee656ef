"""Asking before what cannot be undone (opting out for ever, disconnecting an account,
withdrawing a flattr), without JavaScript: the page's button posts the action; without
`confirm=yes` the answer is a page that says what will happen, with a second button that
posts it again with `confirm=yes` (and the CSRF token), and a way back."""

from __future__ import annotations

from flask import render_template, request, url_for
from flask.typing import ResponseReturnValue

CONFIRM_FIELD = "confirm"


def ask_first(*, title: str, consequence: str, button: str, back: str
              ) -> ResponseReturnValue | None:
    """None once confirmed (go on); else the page that asks. `back`: where Cancel goes
    (an endpoint)."""
    if request.form.get(CONFIRM_FIELD) == "yes":
        return None
    return render_template("confirm.html", title=title, consequence=consequence,
                           button=button, action=request.path, back=url_for(back))
