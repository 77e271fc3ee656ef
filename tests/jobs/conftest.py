"""Fixtures for the jobs: an app wired to an in-process sandbox that shares its clock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import pytest
from cryptography.fernet import Fernet

from bots.sandbox import SandboxServer, generate_scenario, start_sandbox
from config import Settings
from core import people
from core.accounts import link_account
from core.db import Database
from jobs.channels import LogChannel
from jobs.worker import Worker
from runtime.app import App, rules_from

TOKEN_KEY = Fernet.generate_key().decode()


@dataclass
class Rig:
    app: App
    sandbox: SandboxServer
    scenario: dict
    clock: object
    log: LogChannel

    def worker(self, owner: str = "test", **options: object) -> Worker:
        return Worker(self.app, api_base_url=self.sandbox.base_url, owner=owner,
                      log_channel=self.log, **options)  # type: ignore[arg-type]

    def person(self, name: str, budget: int = 1000, funds: int = 5000, **columns: object) -> int:
        with self.app.db.unit_of_work() as session:
            row = people.add_person(session, self.app.rules, name, budget, funds,
                                    now=self.app.now(), email=f"{name}@example.net")
            for key, value in columns.items():
                setattr(row, key, value)
            return row.id


def make_settings(database_url: str, sandbox: SandboxServer, scenario: dict,
                  **overrides: object) -> Settings:
    service = scenario["service"]
    values: dict[str, object] = dict(
        database_url=database_url, networks="sandbox", sandbox_url=sandbox.base_url,
        x_triggers=frozenset({"likes", "reposts", "explicit"}), token_keys=TOKEN_KEY,
        x_service_user_id=service["x_user_id"], x_service_token=service["x_token"],
        facebook_page_id=service["facebook_page_id"],
        facebook_page_token=service["facebook_page_token"], http_timeout_seconds=5)
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def link_people(app: App, scenario: dict, budget: int = 1000, funds: int = 5000) -> None:
    now = app.now()
    with app.db.unit_of_work() as session:
        for person in scenario["people"]:
            row = people.add_person(session, app.rules, person["key"], budget, funds, now=now)
            for network in ("x", "facebook"):
                spec = person.get(network)
                if spec:
                    link_account(session, app.keys, person_id=row.id, network=network,
                                 external_user_id=str(spec["user_id"]), token=spec["token"],
                                 now=now, handle=spec.get("username"))


@pytest.fixture
def scenario() -> dict:
    return generate_scenario(4, days=10, seed=7)


@pytest.fixture
def rig(database_url: str, db: Database, clock, scenario: dict, request) -> Iterator[Rig]:  # type: ignore[no-untyped-def]
    clock.set(datetime.fromisoformat(scenario["start"]))
    overrides = getattr(request, "param", {}) or {}
    with start_sandbox(scenario, clock=clock) as sandbox:
        settings = make_settings(database_url, sandbox, scenario, **overrides)
        app = App(settings=settings, db=db, rules=rules_from(settings), clock=clock)
        yield Rig(app, sandbox, scenario, clock, LogChannel())
