"""The words of every notification, with the numbers in them. Pure functions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bots import registry
from core.money import format_cents

SHORT_LIMIT = 280  # an X post


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str  # the full message (e-mail, DM, log)
    short: str  # one post-sized line (mentions, Page posts)


def _m(cents: int, currency: str) -> str:
    return f"{format_cents(cents)} {currency}"


def render(kind: str, data: dict[str, Any], *, name: str, currency: str) -> Rendered:
    return _RENDERERS[kind](data, name, currency)


def _statement(d: dict[str, Any], name: str, cur: str) -> Rendered:
    lines = [f"Hello {name}, your statement for {d['period']}:",
             f"{d['people']} people flattred your work: {_m(d['gross_cents'], cur)} in,"
             f" fee {_m(d['fee_cents'], cur)}, {_m(d['net_cents'], cur)} for you."]
    lines += [f"  {t['url']}: {t['people']} people, {_m(t['gross_cents'], cur)}"
              for t in d["things"][:20]]
    if len(d["things"]) > 20:
        lines.append(f"  ... and {len(d['things']) - 20} more")
    return Rendered(f"Your flattr statement for {d['period']}", "\n".join(lines),
                    f"Your {d['period']} flattrs: {d['people']} people,"
                    f" {_m(d['net_cents'], cur)} for you after fees.")


def _month_closed(d: dict[str, Any], name: str, cur: str) -> Rendered:
    lines = [f"Hello {name}, {d['period']} is closed: you gave {_m(d['charged_cents'], cur)}"
             f" over {len(d['shares'])} flattr(s)."]
    for s in d["shares"][:20]:
        where = "waiting in escrow for" if s["state"] == "escrow" else "to"
        lines.append(f"  {_m(s['cents'], cur)} {where} {s['to']}: {s['url']}")
    if d["escrow_cents"]:
        lines.append(f"{_m(d['escrow_cents'], cur)} waits for creators who have not joined yet;"
                     " it comes back to you if they do not claim it in time.")
    return Rendered(f"Your {d['period']} flattrs", "\n".join(lines),
                    f"{d['period']} closed: {_m(d['charged_cents'], cur)} over"
                    f" {len(d['shares'])} flattrs.")


def _new_flattrs(d: dict[str, Any], name: str, cur: str) -> Rendered:
    text = (f"Hello {name}, on {d['day']} you received {d['flattrs']} new flattr(s)"
            f" from {d['people']} people.")
    return Rendered(f"{d['flattrs']} new flattrs", text, text)


def _needs_reconnect(d: dict[str, Any], name: str, cur: str) -> Rendered:
    spec = registry.find(d.get("network") or "")
    network = spec.display_name if spec is not None else "a network"
    who = f" (@{d['handle']})" if d.get("handle") else ""
    text = (f"Hello {name}, your {network} account{who} no longer lets us read your activity:"
            " please reconnect it, or your likes and shares will not be flattred.")
    return Rendered(f"Please reconnect your {network} account", text, text)


def _wallet_low(d: dict[str, Any], name: str, cur: str) -> Rendered:
    text = (f"Hello {name}, your wallet holds {_m(d['wallet_cents'], cur)}, below the minimum"
            f" monthly budget, so your flattrs in {d['period']} are not counted. Top up to"
            " keep flattring.")
    return Rendered("Your flattr wallet is too low", text, text)


def _no_budget(d: dict[str, Any], name: str, cur: str) -> Rendered:
    text = (f"Hello {name}, you set no budget for {d['period']}, so what you liked and shared"
            " then is not flattred. Set a monthly budget to keep flattring.")
    return Rendered("You have no flattr budget for this month", text, text)


def _escrow_returned(d: dict[str, Any], name: str, cur: str) -> Rendered:
    flattrs = f" from {d['shares']} flattr(s)" if d.get("shares") is not None else ""
    text = (f"Hello {name}, {_m(d['cents'], cur)}{flattrs} came back to"
            " your wallet: the creators did not join in time.")
    return Rendered("Unclaimed flattrs came back to you", text, text)


def _claim_invitation(d: dict[str, Any], name: str, cur: str) -> Rendered:
    text = (f"Your work was flattred {d['flattrs']} time(s): {_m(d['cents'], cur)} waits for you."
            " Claim it on flattr, or reply STOP and we will never write again.")
    return Rendered("Flattrs are waiting for you", text, text)


def _announce(d: dict[str, Any], name: str, cur: str) -> Rendered:
    text = f"I just flattred {d['url']}"
    return Rendered("Flattr", text, text[:SHORT_LIMIT])


def _announce_day(d: dict[str, Any], name: str, cur: str) -> Rendered:
    """The day's flattrs in one post: as many URLs as fit in an X post, then "and N more"."""
    urls: list[str] = list(d["urls"])
    day = d["day"]
    if len(urls) == 1:
        text = f"I flattred {urls[0]} on {day} #flattr"
        return Rendered("Flattr", text, text if len(text) <= SHORT_LIMIT else
                        f"I flattred a creation on {day} #flattr")
    head = f"I flattred {len(urls)} creations on {day}: "
    tail = " #flattr"
    return Rendered("Flattr", head + ", ".join(urls) + tail, _fit(head, urls, tail))


def _fit(head: str, urls: list[str], tail: str) -> str:
    """head + as many urls as fit + "… and N more" + tail, within SHORT_LIMIT."""
    for shown in range(len(urls), 0, -1):
        rest = len(urls) - shown
        text = head + ", ".join(urls[:shown]) + (f" … and {rest} more" if rest else "") + tail
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


def combine(parts: list[Rendered]) -> Rendered:
    """Several messages for one recipient in one batch: one message (a digest)."""
    if len(parts) == 1:
        return parts[0]
    text = "\n\n".join(p.text for p in parts)
    short = " | ".join(p.short for p in parts)
    if len(short) > SHORT_LIMIT:
        short = short[: SHORT_LIMIT - 1] + "…"
    return Rendered(f"{len(parts)} updates from flattr", text, short)
