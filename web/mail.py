"""The account e-mails (reset link, new address to confirm, notices), written here and
sent through the app's `runtime.mail.Mailer` once the request's transaction has
committed (web.context.after_commit): never inside it, never for a failed request.
Links use FLATTR_WEB_BASE_URL; without it (sandbox mode only) the request's own address."""

from __future__ import annotations

import threading
from typing import Any

from flask import current_app, request, url_for

from runtime import logs
from runtime.mail import Mail, Mailer, MailFailed, mailer_for
from web.context import after_commit, flattr_app
from web.i18n import _

EXTENSION = "flattr.mailer"


def mailer() -> Mailer:
    found = current_app.extensions.get(EXTENSION)
    if found is None:
        found = current_app.extensions[EXTENSION] = mailer_for(flattr_app().settings)
    return found  # type: ignore[no-any-return]


def public_url(endpoint: str, **values: Any) -> str | None:
    """The page's address as the person's mail client opens it; None when unknown (live
    without FLATTR_WEB_BASE_URL: the Host header is anyone's to set)."""
    settings = flattr_app().settings
    if settings.web_base_url:
        return settings.web_base_url.rstrip("/") + url_for(endpoint, **values)
    if settings.networks == "sandbox":
        return request.host_url.rstrip("/") + url_for(endpoint, **values)
    return None


def send_later(mail: Mail) -> None:
    """After the commit, on a thread of its own: the response does not wait for the mail
    server (so a page answers as fast whether or not it sent something)."""
    chosen = mailer()

    def deliver() -> None:
        try:
            chosen.send(mail)
        except MailFailed as exc:
            logs.event("mail.failed", subject=mail.subject, error=str(exc))
        except Exception as exc:  # noqa: BLE001 - a thread's death must not go unnoticed
            logs.event("mail.failed", subject=mail.subject,
                       error=f"{type(exc).__name__}: {exc}")
        else:
            logs.event("mail.sent", subject=mail.subject)

    after_commit(lambda: threading.Thread(target=deliver, name="mail", daemon=True).start())


def _link_or_log(url: str | None, what: str) -> bool:
    if url is None:
        logs.event("mail.no_base_url", what=what,
                   reason="set FLATTR_WEB_BASE_URL to send links by e-mail")
        return False
    return True


def reset_link(to: str, name: str, token: str) -> None:
    url = public_url("reset.reset", token=token)
    if _link_or_log(url, "reset"):
        send_later(Mail(to, _("Reset your Flattr password"), _(
            "Someone, hopefully you, asked to reset the password of the Flattr account"
            " %(name)s.\n\nOpen this link within an hour to choose a new password (it works"
            " once):\n%(url)s\n\nIf it was not you, ignore this message: nothing changes.\n",
            name=name, url=url)))


def confirm_address(to: str, name: str, token: str) -> None:
    url = public_url("account.confirm_email", token=token)
    if _link_or_log(url, "email"):
        send_later(Mail(to, _("Confirm your new e-mail address for Flattr"), _(
            "The Flattr account %(name)s wants to use this address.\n\nOpen this link within"
            " 24 hours to confirm it (it works once):\n%(url)s\n\nUntil then nothing changes."
            " If you did not ask for this, ignore this message.\n", name=name, url=url)))


def address_changing(to: str, name: str, new: str) -> None:
    url = public_url("account.index") or ""
    send_later(Mail(to, _("Your Flattr e-mail address is about to change"), _(
        "Someone signed in as %(name)s asked to use %(new)s instead of this address. It"
        " changes when the link sent there is opened.\n\nIf it was not you, sign in and"
        " change your password now: %(url)s\n", name=name, new=new, url=url)))


def password_changed(to: str, name: str) -> None:
    send_later(Mail(to, _("Your Flattr password was changed"), _(
        "The password of the Flattr account %(name)s was changed, and every other session"
        " was signed out.\n\nIf it was not you, reset your password now: %(url)s\n",
        name=name, url=public_url("reset.forgot") or "")))


def account_deleted(to: str, name: str, summary: str) -> None:
    send_later(Mail(to, _("Your Flattr account is deleted"), _(
        "The Flattr account %(name)s is deleted, as you asked.\n\n%(summary)s\n\n"
        "This is the last message we send to this address.\n", name=name, summary=summary)))
