"""`flattr run` as a process: it polls, and SIGTERM makes it stop claiming, hand back its
leases and exit 0; `flattr run --once` and `flattr status`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

from tests.jobs.conftest import TOKEN_KEY, Rig, link_people

FLATTR = str(Path(sys.executable).parent / "flattr")


def _env(rig: Rig) -> dict[str, str]:
    return {**os.environ, "FLATTR_DATABASE_URL": rig.app.settings.database_url,
            "FLATTR_SANDBOX_URL": rig.sandbox.base_url, "FLATTR_TOKEN_KEYS": TOKEN_KEY}


def _polled(rig: Rig) -> int:
    with rig.app.db.engine.connect() as connection:
        return connection.execute(text(
            "SELECT COUNT(*) FROM social_accounts WHERE last_polled_at IS NOT NULL")).scalar()


def test_sigterm_stops_cleanly(rig: Rig, tmp_path: Path) -> None:
    link_people(rig.app, rig.scenario)
    start = rig.app.now().isoformat()
    worker = subprocess.Popen([FLATTR, "run", "--poll-every", "0.2", "--sim-start", start],
                              env=_env(rig), stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while _polled(rig) < 8 and time.monotonic() < deadline:
            time.sleep(0.2)
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, stderr
    assert _polled(rig) == 8
    assert "worker.signal" in stderr and "worker.stopped" in stderr
    assert "x-token" not in stderr and "fb-token" not in stderr  # never a token in the logs
    with rig.app.db.engine.connect() as connection:
        held = connection.execute(text(
            "SELECT COUNT(*) FROM social_accounts WHERE lease_owner IS NOT NULL")).scalar()
    assert held == 0


def test_run_once_and_status(rig: Rig) -> None:
    link_people(rig.app, rig.scenario)
    env = _env(rig)
    now = ["--now", rig.app.now().isoformat()]
    before = subprocess.run([FLATTR, *now, "status", "--json"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert before.returncode == 0, before.stderr
    assert json.loads(before.stdout)["accounts"] == {
        "accounts": 8, "due": 8, "leased": 0, "needs_reconnect": 0}
    done = subprocess.run([FLATTR, *now, "run", "--once"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    after = json.loads(subprocess.run([FLATTR, *now, "status", "--json"], env=env,
                                      capture_output=True, text=True, timeout=60).stdout)
    assert after["accounts"]["due"] == 0 and _polled(rig) == 8


def test_status_shows_x_posts_read_this_month_against_the_cap(rig: Rig) -> None:
    link_people(rig.app, rig.scenario)
    env = {**_env(rig), "FLATTR_X_MONTHLY_READ_CAP": "15000", "FLATTR_X_TRIGGERS": "explicit",
           "FLATTR_X_APP_BEARER_TOKEN": "x-app-token",
           "FLATTR_X_SERVICE_USER_ID": rig.scenario["service"]["x_user_id"]}
    later = ["--now", (rig.app.now() + timedelta(days=3)).isoformat()]
    first = subprocess.run([FLATTR, "--now", rig.app.now().isoformat(), "run", "--once"],
                           env=env, capture_output=True, text=True, timeout=60)
    rig.clock.advance(days=3)  # the sandbox's clock: three days of posts to find
    again = subprocess.run([FLATTR, *later, "run", "--once"], env=env, capture_output=True,
                           text=True, timeout=60)
    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
    shown = subprocess.run([FLATTR, *later, "status"], env=env, capture_output=True,
                           text=True, timeout=60)
    data = json.loads(subprocess.run([FLATTR, *later, "status", "--json"], env=env,
                                     capture_output=True, text=True, timeout=60).stdout)
    [x] = [row for row in data["api_usage"] if row["network"] == "x"]
    assert x["cap"] == 15000 and x["requests"] >= 4 and not x["paused"]
    assert data["shared_streams"]["streams"] == 2  # one search group and the mentions
    assert f"X posts read this month: {x['posts_read']} of a 15000 cap" in shown.stdout
