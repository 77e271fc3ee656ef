"""The campaign's knobs: every test here is seeded and bounded, so that CI runs a fixed,
small number of cases; FLATTR_CAMPAIGN_SCALE multiplies them (e.g. 20 for a long run) and
FLATTR_CAMPAIGN_SEED picks other cases (each run prints its numbers: `pytest -s`)."""

from __future__ import annotations

import os

SCALE = max(float(os.environ.get("FLATTR_CAMPAIGN_SCALE", "1") or 1), 0.1)
SEED = int(os.environ.get("FLATTR_CAMPAIGN_SEED", "20261101") or 20261101)


def scaled(n: int) -> int:
    """n cases at scale 1, at least one."""
    return max(1, round(n * SCALE))
