"""The money rules of a deployment, as plain values (built from config at start-up)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rules:
    currency: str = "EUR"
    min_monthly_budget: int = 200  # cents
    fee_bps: int = 1000
    idle_budget_policy: str = "keep"  # keep | charity
    claim_window_days: int = 90
