"""The words of every notification, with the numbers in them, in the recipient's
language (runtime/locales; English for identities who have not joined). Pure functions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from bots import registry
from runtime import i18n
from runtime.i18n import ntr, tr

SHORT_LIMIT = 280  # an X post


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str  # the full message (e-mail, DM, log)
    short: str  # one post-sized line (mentions, Page posts)


def _m(cents: int, currency: str, lang: str) -> str:
    return i18n.amount(cents, currency, lang)


def _day(text: str, lang: str) -> str:
    """A payload's day ("2026-11-03") for the reader."""
    try:
        return i18n.day(date.fromisoformat(text), lang)
    except (TypeError, ValueError):
        return str(text)


def render(kind: str, data: dict[str, Any], *, name: str, currency: str,
           language: str = i18n.DEFAULT) -> Rendered:
    return _RENDERERS[kind](data, name, currency, i18n.language_or_default(language))


def _statement(d: dict[str, Any], name: str, cur: str, lang: str) -> Rendered:
    month = i18n.month(d["period"], lang)
    lines = [tr(lang, "Hello %(name)s, your statement for %(month)s:", name=name, month=month),
             ntr(lang, "%(num)d person flattred your work: %(gross)s in, fee %(fee)s,"
                 " %(net)s for you.",
                 "%(num)d people flattred your work: %(gross)s in, fee %(fee)s,"
                 " %(net)s for you.", d["people"], gross=_m(d["gross_cents"], cur, lang),
                 fee=_m(d["fee_cents"], cur, lang), net=_m(d["net_cents"], cur, lang))]
    lines += ["  " + ntr(lang, "%(url)s: %(num)d person, %(amount)s",
                         "%(url)s: %(num)d people, %(amount)s", t["people"], url=t["url"],
                         amount=_m(t["gross_cents"], cur, lang))
              for t in d["things"][:20]]
    if len(d["things"]) > 20:
        lines.append("  " + tr(lang, "... and %(n)s more", n=len(d["things"]) - 20))
    return Rendered(tr(lang, "Your flattr statement for %(month)s", month=month),
                    "\n".join(lines),
                    ntr(lang, "Your %(month)s flattrs: %(num)d person, %(net)s for you after fees.",
                        "Your %(month)s flattrs: %(num)d people, %(net)s for you after fees.",
                        d["people"], month=month, net=_m(d["net_cents"], cur, lang)))


def _month_closed(d: dict[str, Any], name: str, cur: str, lang: str) -> Rendered:
    month, count = i18n.month(d["period"], lang), len(d["shares"])
    charged = _m(d["charged_cents"], cur, lang)
    lines = [ntr(lang, "Hello %(name)s, %(month)s is closed: you gave %(amount)s over"
                 " %(num)d flattr.",
                 "Hello %(name)s, %(month)s is closed: you gave %(amount)s over"
                 " %(num)d flattrs.", count, name=name, month=month, amount=charged)]
    for s in d["shares"][:20]:
        params = {"amount": _m(s["cents"], cur, lang), "to": s["to"], "url": s["url"]}
        lines.append("  " + (tr(lang, "%(amount)s waiting in escrow for %(to)s: %(url)s",
                                **params) if s["state"] == "escrow"
                             else tr(lang, "%(amount)s to %(to)s: %(url)s", **params)))
    if d["escrow_cents"]:
        lines.append(tr(lang, "%(amount)s waits for creators who have not joined yet; it comes"
                        " back to you if they do not claim it in time.",
                        amount=_m(d["escrow_cents"], cur, lang)))
    return Rendered(tr(lang, "Your %(month)s flattrs", month=month), "\n".join(lines),
                    ntr(lang, "%(month)s closed: %(amount)s over %(num)d flattr.",
                        "%(month)s closed: %(amount)s over %(num)d flattrs.", count,
                        month=month, amount=charged))


def _new_flattrs(d: dict[str, Any], name: str, cur: str, lang: str) -> Rendered:
    people = ntr(lang, "%(num)d person", "%(num)d people", d["people"])
    text = ntr(lang, "Hello %(name)s, on %(day)s you received %(num)d new flattr from"
               " %(people)s.",
               "Hello %(name)s, on %(day)s you received %(num)d new flattrs from"
               " %(people)s.", d["flattrs"], name=name, day=_day(d["day"], lang),
               people=people)
    return Rendered(ntr(lang, "%(num)d new flattr", "%(num)d new flattrs", d["flattrs"]),
                    text, text)


def _needs_reconnect(d: dict[str, Any], name: str, cur: str, lang: str) -> Rendered:
    spec = registry.find(d.get("network") or "")
    network = spec.display_name if spec is not None else tr(lang, "a network")
    who = f" (@{d['handle']})" if d.get("handle") else ""
    text = tr(lang, "Hello %(name)s, your %(network)s account%(who)s no longer lets us read"
              " your activity: please reconnect it, or your likes and shares will not be"
              " flattred.", name=name, network=network, who=who)
    return Rendered(tr(lang, "Please reconnect your %(network)s account", network=network),
                    text, text)


def _wallet_low(d: dict[str, Any], name: str, cur: str, lang: str) -> Rendered:
    text = tr(lang, "Hello %(name)s, your wallet holds %(amount)s, below the minimum monthly"
              " budget, so your flattrs in %(month)s are not counted. Top up to keep"
              " flattring.", name=name, amount=_m(d["wallet_cents"], cur, lang),
              month=i18n.month(d["period"], lang))
    return Rendered(tr(lang, "Your flattr wallet is too low"), text, text)


def _no_budget(d: dict[str, Any], name: str, cur: str, lang: str) -> Rendered:
    text = tr(lang, "Hello %(name)s, you set no budget for %(month)s, so what you liked and"
              " shared then is not flattred. Set a monthly budget to keep flattring.",
              name=name, month=i18n.month(d["period"], lang))
    return Rendered(tr(lang, "You have no flattr budget for this month"), text, text)


def _escrow_returned(d: dict[str, Any], name: str, cur: str, lang: str) -> Rendered:
    amount = _m(d["cents"], cur, lang)
    if d.get("shares") is not None:
        text = ntr(lang, "Hello %(name)s, %(amount)s from %(num)d flattr came back to your"
                   " wallet: the creators did not join in time.",
                   "Hello %(name)s, %(amount)s from %(num)d flattrs came back to your"
                   " wallet: the creators did not join in time.", d["shares"], name=name,
                   amount=amount)
    else:
        text = tr(lang, "Hello %(name)s, %(amount)s came back to your wallet: the creators did"
                  " not join in time.", name=name, amount=amount)
    return Rendered(tr(lang, "Unclaimed flattrs came back to you"), text, text)


def _claim_invitation(d: dict[str, Any], name: str, cur: str, lang: str) -> Rendered:
    text = ntr(lang, "Your work was flattred %(num)d time: %(amount)s waits for you. Claim it"
               " on flattr, or reply STOP and we will never write again.",
               "Your work was flattred %(num)d times: %(amount)s waits for you. Claim it"
               " on flattr, or reply STOP and we will never write again.", d["flattrs"],
               amount=_m(d["cents"], cur, lang))
    return Rendered(tr(lang, "Flattrs are waiting for you"), text, text)


def _announce(d: dict[str, Any], name: str, cur: str, lang: str) -> Rendered:
    text = tr(lang, "I just flattred %(url)s", url=d["url"])
    return Rendered("Flattr", text, text[:SHORT_LIMIT])


def _announce_day(d: dict[str, Any], name: str, cur: str, lang: str) -> Rendered:
    """The day's flattrs in one post: as many URLs as fit in an X post, then "and N more"."""
    urls: list[str] = list(d["urls"])
    day = _day(d["day"], lang)
    if len(urls) == 1:
        text = tr(lang, "I flattred %(url)s on %(day)s", url=urls[0], day=day) + " #flattr"
        return Rendered("Flattr", text, text if len(text) <= SHORT_LIMIT else
                        tr(lang, "I flattred a creation on %(day)s", day=day) + " #flattr")
    head = tr(lang, "I flattred %(n)s creations on %(day)s:", n=len(urls), day=day) + " "
    tail = " #flattr"
    return Rendered("Flattr", head + ", ".join(urls) + tail, _fit(head, urls, tail, lang))


def _fit(head: str, urls: list[str], tail: str, lang: str) -> str:
    """head + as many urls as fit + "… and N more" + tail, within SHORT_LIMIT."""
    for shown in range(len(urls), 0, -1):
        rest = len(urls) - shown
        more = " " + tr(lang, "… and %(n)s more", n=rest) if rest else ""
        text = head + ", ".join(urls[:shown]) + more + tail
        if len(text) <= SHORT_LIMIT:
            return text
    return (head.rstrip(": ") + tail)[:SHORT_LIMIT]


_RENDERERS = {
    "statement": _statement, "month_closed": _month_closed, "new_flattrs": _new_flattrs,
    "needs_reconnect": _needs_reconnect, "wallet_low": _wallet_low,
    "no_budget": _no_budget,
    "escrow_returned": _escrow_returned, "claim_invitation": _claim_invitation,
    "announce_flattr": _announce, "announce_day": _announce_day,
}


def combine(parts: list[Rendered], language: str = i18n.DEFAULT) -> Rendered:
    """Several messages for one recipient in one batch: one message (a digest)."""
    if len(parts) == 1:
        return parts[0]
    text = "\n\n".join(p.text for p in parts)
    short = " | ".join(p.short for p in parts)
    if len(short) > SHORT_LIMIT:
        short = short[: SHORT_LIMIT - 1] + "…"
    return Rendered(tr(language, "%(n)s updates from flattr", n=len(parts)), text, short)
