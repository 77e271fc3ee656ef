"""Issue 12: a linked account's states are written as literals in core/accounts/ only;
everything else names them through that package (accounts.ACTIVE, accounts.label ...)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from core import accounts

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "config", "bots", "runtime", "jobs", "web", "commands", "bench")
HOME = ROOT / "core" / "accounts"
# The same word with another meaning: a poll's outcome (bots.base.STATUSES: bots never
# touch the database), the notification kind a reconnect episode queues, the sandbox's
# fault that refuses a token.
OTHER_MEANINGS = {
    "needs_reconnect": ("bots/", "core/notifications.py", "jobs/templates.py"),
    "revoked": ("bots/sandbox/", "bots/x/sandbox.py", "bots/facebook/sandbox.py",
                "bots/mastodon/sandbox.py", "bots/bluesky/sandbox.py"),
    "active": ("bots/bluesky/sandbox.py",),  # createSession's answer: {"active": true}
}
QUOTED = re.compile("['\"](" + "|".join(accounts.STATES) + ")['\"]")


def _strings(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value in accounts.STATES:
                found.append((node.lineno, node.value))
            found += [(node.lineno, m.group(1)) for m in QUOTED.finditer(node.value)]
    return found


def _allowed(path: Path, state: str) -> bool:
    where = path.relative_to(ROOT).as_posix()
    return path.is_relative_to(HOME) or where.startswith(OTHER_MEANINGS.get(state, ()))


def test_account_states_are_written_in_core_accounts_only() -> None:
    offenders = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            offenders += [f"{path.relative_to(ROOT)}:{line}: {state!r}"
                          for line, state in _strings(path) if not _allowed(path, state)]
        for path in sorted((ROOT / package).rglob("*.html")):
            for line, text in enumerate(path.read_text().splitlines(), 1):
                offenders += [f"{path.relative_to(ROOT)}:{line}: {m.group(1)!r}"
                              for m in QUOTED.finditer(text)]
    assert offenders == []


def test_the_check_sees_a_state_written_by_hand(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('x = "revoked"\nsql = "UPDATE t SET status = \'active\'"\n')
    assert _strings(sample) == [(1, "revoked"), (2, "active")]
