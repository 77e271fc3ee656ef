"""Kept for older imports: the token refresh and key rotation live in `jobs.tokens`, where
the worker's `refresh` job runs them (jobs must not depend on the web package)."""

from __future__ import annotations

from jobs.tokens import REFRESH_MARGIN, RefreshSummary, refresh_x_tokens, reseal_all

__all__ = ["REFRESH_MARGIN", "RefreshSummary", "refresh_x_tokens", "reseal_all"]
