"""Readable tables for reports."""

from __future__ import annotations

from typing import Any

from bots.naming import who
from core.money import format_cents
from core.names import Name


def render_report(data: dict[str, Any]) -> str:
    cur = data["currency"]
    state = "settled" if data.get("settled") else "open (nothing charged yet)"
    lines = [f"Period {data['period']} ({cur}), {state}", ""]
    lines.append(f"{'person':<20} {'budget':>10} {'charged':>10} {'flattrs':>8}")
    for p in data["people"]:
        lines.append(f"{p['name']:<20} {format_cents(p['budget_cents']):>10}"
                     f" {format_cents(p['charged_cents']):>10} {p['flattrs']:>8}")
    lines.append("")
    lines.append(f"{'creator':<20} {'gross':>10} {'fee':>10} {'net':>10} {'flattrs':>8}")
    for c in data["creators"] or []:
        lines.append(f"{c['name']:<20} {format_cents(c['gross_cents']):>10}"
                     f" {format_cents(c['fee_cents']):>10} {format_cents(c['net_cents']):>10}"
                     f" {c['flattrs']:>8}")
    if not data["creators"]:
        lines.append("(no creator paid in this period)")
    lines.append("")
    if data["escrow"]:
        lines.append("escrow, waiting for the creator to join:")
        for e in data["escrow"]:  # named as the networks showed them (bots.naming)
            shown = who(e["identity"], {e["identity"]: Name(e.get("display_name"),
                                                            e.get("handle"))})
            lines.append(f"  {shown:<50} {format_cents(e['cents']):>10}")
    else:
        lines.append("escrow: nothing waiting")
    lines.append(f"charity: {format_cents(data['charity_cents'])} {cur}")
    lines.append(f"fees:    {format_cents(data['fees_cents'])} {cur}")
    return "\n".join(lines)
