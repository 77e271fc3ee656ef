"""Notification channels come from the networks' specs: jobs/ names no network, and the
built-in networks offer what they offered before (same names, same order)."""

from __future__ import annotations

import ast
from pathlib import Path

from bots import registry
from jobs.channels import announce_channels, choices, invitation_channels

ROOT = Path(__file__).resolve().parents[2]


def test_the_built_in_networks_offer_their_channels_in_the_old_order() -> None:
    offered = {spec.name: [(o.name, o.kind) for o in spec.channels]
               for spec in registry.all_networks()}
    assert offered["x"] == [("x_dm", "dm"), ("x_mention", "mention"), ("announce", "announce")]
    assert offered["facebook"] == [("facebook_page", "page_post")]
    assert offered["mastodon"] == [("mastodon_dm", "dm"), ("announce_mastodon", "announce")]
    assert announce_channels() == ("announce", "announce_mastodon")
    assert invitation_channels() == ("x_dm",)  # no claim invitations on Mastodon
    assert choices() == {"log": "Log (development)", "email": "E-mail",
                         "x_dm": "X direct message", "x_mention": "X mention",
                         "mastodon_dm": "Mastodon direct message"}


def test_the_pages_offer_what_the_networks_offer() -> None:
    from web.pages import CHANNELS

    assert dict(CHANNELS) == choices()


def test_the_notify_job_and_its_channels_name_no_network() -> None:
    networks = {spec.name for spec in registry.all_networks()}
    for path in ("jobs/channels.py", "jobs/notify.py"):
        tree = ast.parse((ROOT / path).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                parts = node.module.split(".")
                assert not (parts[0] == "bots" and len(parts) > 1 and parts[1] in networks), (
                    path, node.module)
                if node.module == "bots":
                    assert not {a.name for a in node.names} & networks, path
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert node.value not in networks, (path, node.value)
