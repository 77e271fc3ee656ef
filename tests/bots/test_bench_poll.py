"""bench/poll.py measures every network it knows (a merge once dropped Mastodon's rows)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from bots.mastodon.scenario import MastodonRates

BENCH = Path(__file__).resolve().parents[2] / "bench" / "poll.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_poll", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_poll", module)
    spec.loader.exec_module(module)
    return module


def test_the_poll_bench_reads_x_facebook_and_mastodon(capsys) -> None:
    bench = _bench()
    totals = bench.simulate(bench.REALISTIC, 4, 4, 3, x_triggers=bench.ALL,
                            toots=MastodonRates(favourites=4))
    assert totals["networks"] == ("x", "facebook", "mastodon")
    for net in totals["networks"]:
        assert totals[f"{net}_activities"] > 0, net
        assert totals[f"{net}_requests"] > 0, net
    assert totals["route_mastodon"] > 0
    ratios = bench.report("small", totals, 0.005)
    assert set(ratios) == {"x", "facebook", "mastodon"}
    printed = capsys.readouterr().out
    assert "mastodon api" in printed and "requests/account/hour" in printed


def test_without_mastodon_rates_the_bench_reads_x_and_facebook_only() -> None:
    bench = _bench()
    totals = bench.simulate(bench.REALISTIC, 2, 3, 3, x_triggers=bench.DEFAULT)
    assert totals["networks"] == ("x", "facebook")
    assert totals["route_mastodon"] == 0
