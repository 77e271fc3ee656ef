"""The living sandbox's clock control (`flattr web --with-sandbox`): pause, resume, change
the speed, jump to the month's end. Only registered when the app serves a living sandbox;
there every signed-in person may use it (it is a local trial, not a deployment), and the
operator page and the person page show it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from flask import Blueprint, Flask, abort, current_app, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue

from bots.sandbox.clock import MAX_SPEED, SPEEDS, ClockGoesBack
from jobs.living import LivingSandbox
from web import i18n
from web.i18n import _
from web.security import current_person, login_required

EXTENSION = "flattr.living"
BACK = {"me": "pages.me", "admin": "admin.index"}
WELCOME_MONEY = 20_00  # test money a newcomer's wallet starts with

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")


def install(flask_app: Flask, living: LivingSandbox | None) -> None:
    flask_app.extensions[EXTENSION] = living
    flask_app.context_processor(_clock_view)
    if living is not None:
        flask_app.register_blueprint(bp)


def living() -> LivingSandbox | None:
    return cast("LivingSandbox | None", current_app.extensions.get(EXTENSION))


def scaled(wall_time: timedelta) -> timedelta:
    """A time a person needs (an OAuth round trip), in app-clock time: in a living
    sandbox the clock may run up to MAX_SPEED times faster than the person."""
    return wall_time * MAX_SPEED if living() is not None else wall_time


def account_linked() -> None:
    here = living()
    if here is not None:
        here.account_linked()


def _clock_view() -> dict[str, Any]:
    here = living()
    if here is None:
        return {"sandbox_clock": None}
    state = here.clock.state()
    speed = next((_(label) for label, value in SPEEDS.items() if value == state.speed),
                 _("%(n)s simulated seconds a second", n=f"{state.speed:g}"))
    return {"sandbox_clock": {"now": state.now, "paused": state.paused, "speed": speed,
                              "waiting": here.waiting,
                              "speed_value": state.speed, "speeds": SPEEDS,
                              "month_closes": here.month_end() + timedelta(minutes=1)}}


@bp.post("/clock")
@login_required
def clock() -> ResponseReturnValue:
    here = living()
    if here is None:  # pragma: no cover - the blueprint is only registered with one
        abort(404)
    back = BACK.get(request.form.get("back", ""), "pages.me")
    action = request.form.get("action", "")
    person = current_person()
    if action == "pause":
        here.clock.pause()
        flash(_("The sandbox clock is paused."), "ok")
    elif action == "resume":
        here.waiting = False
        here.clock.resume()
        flash(_("The sandbox clock runs again."), "ok")
    elif action == "speed":
        chosen = request.form.get("speed", "")
        value = next((v for label, v in SPEEDS.items() if f"{v:g}" == chosen), None)
        if value is None:
            abort(400, description=_("Choose one of the speeds offered."))
        here.clock.set_speed(value)
        label = next(label for label, v in SPEEDS.items() if v == value)
        flash(_("The sandbox clock now runs at %(speed)s.", speed=_(label)), "ok")
    elif action == "month_end":
        here.account_linked()  # no need to wait any more
        try:
            moment = here.clock.jump_to(here.month_end())
        except ClockGoesBack:  # a race with the clock itself: nothing to do
            flash(_("The sandbox clock has already passed that moment."), "error")
        else:
            flash(_("The sandbox clock jumped to %(moment)s: the month closes in a moment.",
                    moment=i18n.moment(moment)), "ok")
    else:
        abort(400, description=_("Unknown clock action."))
    if person is not None and back == "admin.index" and not person.is_admin:
        back = "pages.me"
    return redirect(url_for(back), code=303)
