"""Connecting accounts (every network with a linking flow in the registry): the redirect
out, the callback back in, disconnect, triggers.

The OAuth `state` (and X's PKCE verifier) are kept server-side in `oauth_states`, bound to
the signed-in person and spent exactly once; the state is committed as spent before the
code is exchanged, so a replayed callback finds nothing, even if the exchange failed.
`purpose` is `connect` (poll this account for flattrs) or `claim` (prove that you are this
creator: claim its identity and the escrow waiting for it).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from bots import registry
from bots.oauth import AccountInfo, Managed, OAuthFailed, Tokens
from bots.registry import InstanceApp, InstanceStep, LinkFlow, NetworkSpec
from core import accounts, names
from core.errors import AlreadyClaimed
from core.models import SocialAccount
from core.things import claim
from runtime import logs
from web import sandbox, store
from web.confirm import ask_first
from web.context import commit, db_session, flattr_app
from web.i18n import _, ngettext
from web.names import amount
from web.security import current_person, login_required

bp = Blueprint("accounts", __name__)

PURPOSES = ("connect", "claim")


def linkable() -> tuple[NetworkSpec, ...]:
    """The networks a person can connect, in the registry's order."""
    return tuple(spec for spec in registry.all_networks() if spec.link is not None)


def _flow(network: str) -> tuple[NetworkSpec, LinkFlow]:
    spec = registry.find(network)
    if spec is None or spec.link is None:
        abort(404)
    return spec, spec.link


def display_name(network: str) -> str:
    spec = registry.find(network)
    return spec.display_name if spec is not None else network


def callback_url(network: str) -> str:
    base = flattr_app().settings.web_base_url
    path = url_for("accounts.callback", network=network)
    return base.rstrip("/") + path if base else url_for("accounts.callback", network=network,
                                                         _external=True)


def enabled_triggers(network: str) -> frozenset[str]:
    return registry.get(network).enabled_triggers(flattr_app().settings)


@bp.post("/connect/<network>")
@login_required
def connect(network: str) -> ResponseReturnValue:
    _, flow = _flow(network)
    purpose = request.form.get("purpose", "connect")
    if purpose not in PURPOSES:
        abort(400)
    if flow.form:  # no OAuth: the network's own form proves the account
        return redirect(url_for("accounts.link_form", network=network, purpose=purpose),
                        code=303)
    app, person = flattr_app(), current_person()
    assert person is not None
    session = db_session()
    host = None
    if flow.instance is not None:  # a federated network: the person's server first
        host = flow.instance.parse(request.form.get("instance", ""))
        server = _instance_app(network, flow.instance, host)
        try:
            start = flow.instance.authorize(app.settings, callback_url(network),
                                            purpose == "claim", server)
        except OAuthFailed as exc:
            logs.event("oauth.authorize_failed", network=network, person=person.id,
                       instance=host, error=str(exc))
            abort(502, description=_refused(exc))
    else:
        start = flow.authorize(app.settings, callback_url(network), purpose == "claim")
    store.forget_old_states(session, now=app.now(), ttl=sandbox.scaled(store.STATE_TTL))
    store.new_state(session, person_id=person.id, network=network, purpose=purpose,
                    now=app.now(), state=start.state, verifier=start.verifier, instance=host)
    return redirect(start.url, code=303)


def _instance_app(network: str, step: InstanceStep, host: str) -> InstanceApp:
    """The service's app on the person's server, registered there the first time (the
    network is called outside any transaction: the lookup's is committed first)."""
    app, session = flattr_app(), db_session()
    known = store.instance_app(session, app.settings, network, host)
    commit()
    if known is not None:
        return known
    try:
        fresh = step.register(app.settings, host, callback_url(network))
    except OAuthFailed as exc:
        logs.event("oauth.register_failed", network=network, instance=host, error=str(exc))
        abort(502, description=_refused(exc))
    kept = store.keep_instance_app(session, app.settings, network, fresh,
                                   callback_url(network), app.now())
    commit()
    logs.event("oauth.app_registered", network=network, instance=host,
               kept=kept.client_id == fresh.client_id)
    return kept


@bp.get("/callback/<network>")
@login_required
def callback(network: str) -> ResponseReturnValue:
    spec, flow = _flow(network)
    app, person = flattr_app(), current_person()
    assert person is not None
    session = db_session()
    try:
        row = store.take_state(session, request.args.get("state", ""), person_id=person.id,
                               network=network, now=app.now(),
                               ttl=sandbox.scaled(store.STATE_TTL))
    except store.BadState:
        logs.event("oauth.callback_rejected", network=network, person=person.id,
                   reason="state unknown, spent, expired or foreign")
        raise
    purpose, verifier = row.purpose, row.code_verifier
    commit()  # the state is spent now, whatever the network says next
    back = "pages.creator" if purpose == "claim" else "pages.me"
    if request.args.get("error") or not request.args.get("code"):
        flash(_("%(network)s was not connected: you cancelled.", network=spec.display_name),
              "error")
        return redirect(url_for(back), code=303)
    try:
        if flow.instance is not None:
            server = store.instance_app(session, app.settings, network, row.instance or "")
            commit()
            if server is None:
                raise OAuthFailed(f"no app kept for {row.instance!r}: please start again")
            tokens, account = flow.instance.complete(app.settings, callback_url(network),
                                                     request.args["code"], verifier,
                                                     app.now(), server)
        else:
            tokens, account = flow.complete(app.settings, callback_url(network),
                                            request.args["code"], verifier, app.now())
    except OAuthFailed as exc:
        logs.event("oauth.exchange_failed", network=network, person=person.id, error=str(exc))
        abort(400, description=_refused(exc))
    return _finish(spec, flow, purpose, tokens, account)


@bp.get("/link/<network>")
@login_required
def link_form(network: str) -> ResponseReturnValue:
    """A form-based linking flow (LinkFlow.form: Bluesky's handle and app password)."""
    spec, flow = _flow(network)
    purpose = request.args.get("purpose", "connect")
    if not flow.form or purpose not in PURPOSES:
        abort(404)
    return render_template("link_form.html", spec=spec, fields=flow.form, purpose=purpose)


@bp.post("/link/<network>")
@login_required
def link_submit(network: str) -> ResponseReturnValue:
    spec, flow = _flow(network)
    purpose = request.form.get("purpose", "connect")
    if not flow.form or flow.verify is None or purpose not in PURPOSES:
        abort(404)
    app, person = flattr_app(), current_person()
    assert person is not None
    fields = {f.name: request.form.get(f.name, "") for f in flow.form}
    commit()  # no transaction stays open while the network is asked
    try:
        tokens, account = flow.verify(app.settings, fields, app.now())
    except OAuthFailed as exc:  # the typed secret is never logged nor shown again
        logs.event("link.refused", network=network, person=person.id, error=str(exc))
        flash(_("%(network)s was not connected: %(reason)s", network=spec.display_name,
                reason=str(exc)), "error")
        return redirect(url_for("accounts.link_form", network=network, purpose=purpose),
                        code=303)
    return _finish(spec, flow, purpose, tokens, account)


def _finish(spec: NetworkSpec, flow: LinkFlow, purpose: str, tokens: Tokens,
            account: AccountInfo) -> ResponseReturnValue:
    """The account is proven theirs: claim its identity (and what escrow holds for it), or
    link it for flattrs."""
    network, app, person, session = spec.name, flattr_app(), current_person(), db_session()
    assert person is not None
    back = "pages.creator" if purpose == "claim" else "pages.me"
    shown = f"{spec.handle_prefix}{account.handle}" if account.handle else account.handle
    if purpose == "claim":
        # Ask the network what else the person runs before the claims open a transaction.
        managed = _managed(spec, flow, tokens.access_token)
        result = claim(session, app.rules, person, store.claim_value(network, account),
                       now=app.now())
        logs.event("oauth.claimed", network=network, person=person.id, identity=result.value,
                   released_cents=result.released_cents)
        _keep_names(spec, result.value, account)
        flash(ngettext("You are %(who)s on %(network)s: claimed %(value)s (%(num)d thing, "
                       "%(amount)s released from escrow).",
                       "You are %(who)s on %(network)s: claimed %(value)s (%(num)d things, "
                       "%(amount)s released from escrow).", result.things, who=shown,
                       network=spec.display_name, value=result.value,
                       amount=amount(result.released_cents, app.rules.currency)), "ok")
        if managed is not None:
            _claim_managed(network, flow, managed)
    else:
        linked = store.link(session, app.settings, person_id=person.id, network=network,
                            identity=account, tokens=tokens, now=app.now())
        _keep_names(spec, linked.identity, account)
        sandbox.account_linked()  # a living sandbox's clock may be waiting for this
        logs.event("oauth.connected", network=network, person=person.id, account=linked.id,
                   expires_at=tokens.expires_at, scopes=" ".join(tokens.scopes))
        flash(_("Connected %(network)s as %(who)s.", network=spec.display_name, who=shown),
              "ok")
    return redirect(url_for(back), code=303)


def _keep_names(spec: NetworkSpec, held: str, account: AccountInfo) -> None:
    """What signing in showed of the account: a handle where the network has handles
    (X, Mastodon), else the name it goes by (Facebook)."""
    if not account.handle:
        return
    handle, name = (account.handle, None) if spec.handle_prefix else (None, account.handle)
    names.keep(db_session(), held, display_name=name, handle=handle, now=flattr_app().now())


def _managed(spec: NetworkSpec, flow: LinkFlow, access_token: str) -> list[Managed] | None:
    """The other identities the person runs there (Facebook: Pages); None (and a note)
    when the network has none or will not say."""
    if flow.managed is None:
        return None
    person = current_person()
    assert person is not None
    try:
        return flow.managed(flattr_app().settings, access_token)
    except OAuthFailed as exc:
        logs.event("oauth.pages_failed", network=spec.name, person=person.id, error=str(exc))
        flash(_("%(network)s did not list the %(noun)ss you manage: claim again to retry.",
                network=spec.display_name, noun=flow.managed_noun), "error")
        return None


def _claim_managed(network: str, flow: LinkFlow, managed: list[Managed]) -> None:
    """Claim every identity the person proved they run (a Facebook Page's likes are held in
    escrow for the Page, not for the person). One someone else claimed is reported, not
    taken; the Pages' own access tokens are never kept."""
    app, person, session = flattr_app(), current_person(), db_session()
    assert person is not None
    noun = flow.managed_noun
    for item in managed:
        value = str(item.identity)
        shown = f"{item.name} ({value})" if item.name else value
        try:
            result = claim(session, app.rules, person, value, now=app.now())
        except AlreadyClaimed:
            logs.event("oauth.page_claim_refused", network=network, person=person.id,
                       identity=value)
            flash(_("Your %(noun)s %(what)s is already claimed by someone else: ask an "
                    "operator if it is yours.", noun=noun, what=shown), "error")
            continue
        logs.event("oauth.claimed", network=network, person=person.id, identity=value,
                   released_cents=result.released_cents)
        names.keep(session, value, display_name=item.name, handle=None, now=app.now())
        flash(ngettext("Claimed your %(noun)s %(what)s (%(num)d thing, %(amount)s released "
                       "from escrow).",
                       "Claimed your %(noun)s %(what)s (%(num)d things, %(amount)s released "
                       "from escrow).", result.things, noun=noun, what=shown,
                       amount=amount(result.released_cents, app.rules.currency)), "ok")


@bp.post("/accounts/<int:account_id>/disconnect")
@login_required
def disconnect(account_id: int) -> ResponseReturnValue:
    person = current_person()
    assert person is not None
    known = accounts.person_account(db_session(), person.id, account_id)  # 404 if not theirs
    asked = ask_first(
        title=_("Disconnect %(network)s %(who)s?", network=display_name(known.network),
                who=_shown(known)),
        consequence=_("We stop reading this account at once and forget its access tokens; "
                      "what it already flattred stays. To flattr from it again you would "
                      "connect it anew (and sign in to the network again)."),
        button=_("Disconnect it"), back="pages.me")
    if asked is not None:
        return asked
    account = accounts.disconnect(db_session(), person.id, account_id)
    logs.event("oauth.disconnected", network=account.network, person=person.id,
               account=account_id)
    flash(_("Disconnected %(network)s %(who)s.", network=display_name(account.network),
            who=_shown(account)), "ok")
    return redirect(url_for("pages.me"), code=303)


def _refused(exc: OAuthFailed) -> str:
    """A network's refusal, in the page's language (its reason stays the network's)."""
    return _("The network refused or did not answer: %(reason)s", reason=str(exc))


def _shown(account: SocialAccount) -> str:
    spec = registry.find(account.network)
    prefix = spec.handle_prefix if spec is not None else ""
    return f"{prefix}{account.handle}" if account.handle else account.external_user_id


@bp.post("/accounts/<int:account_id>/triggers")
@login_required
def triggers(account_id: int) -> ResponseReturnValue:
    person = current_person()
    assert person is not None
    account = accounts.person_account(db_session(), person.id, account_id)
    spec = registry.get(account.network)
    accounts.set_triggers(account, spec.account_triggers(
        flattr_app().settings, frozenset(request.form.getlist("trigger"))))
    flash(_("Saved which activity flattrs."), "ok")
    return redirect(url_for("pages.me"), code=303)
