"""Logging in one style (core.logs.event), and secrets redacted from every record that goes
through the handler `flattr run`, `flattr web` and the CLI install: our events, library
loggers, tracebacks."""

from __future__ import annotations

import ast
import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from config import Settings
from core.crypto import KeyRing, generate_key
from runtime import logs
from runtime.app import secret_values

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "config", "bots", "runtime", "jobs", "web", "commands")
LEVELS = {"debug", "info", "warning", "error", "exception", "critical", "log"}


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """The production handler on a string, the logging state restored afterwards."""
    root, ours = logging.getLogger(), logs.log
    saved = (root.handlers[:], root.level, ours.handlers[:], ours.level, ours.propagate)
    out = io.StringIO()
    logs.configure("INFO", out, force=True)
    try:
        yield out
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
        ours.handlers[:], ours.level, ours.propagate = saved[2], saved[3], saved[4]


def test_a_token_in_an_exception_is_redacted_from_library_logs_and_tracebacks(
        stream: io.StringIO) -> None:
    sealed = KeyRing([generate_key()]).seal("the-access-token")
    logs.add_secrets(["deployment-app-secret-42"])
    try:
        raise RuntimeError("GET https://graph.example/me?access_token=EAAGm0PX4ZCpsBAKZ"
                           " failed; app secret deployment-app-secret-42; sealed " + sealed)
    except RuntimeError:
        logging.getLogger("urllib3.connectionpool").warning("request failed", exc_info=True)
        logs.event("poll.crashed", level=logging.ERROR, exc_info=True, account=7)
    logging.getLogger("requests_oauthlib").warning("token response: %s",
                                                   '{"refresh_token": "bXktcmVmcmVzaA"}')
    logging.getLogger("tweepy").error("Authorization: Bearer AAAAAAAAAAAAAAAAAAAAAxyz")
    logs.event("oauth.exchange_failed", error="client_secret=hunter2hunter2 was refused",
               access_token="plain-token-value")
    out = stream.getvalue()
    for secret in ("EAAGm0PX4ZCpsBAKZ", "deployment-app-secret-42", sealed, "bXktcmVmcmVzaA",
                   "AAAAAAAAAAAAAAAAAAAAAxyz", "hunter2hunter2", "plain-token-value"):
        assert secret not in out
    assert out.count("Traceback (most recent call last)") == 2  # tracebacks kept, redacted
    assert "RuntimeError: GET https://graph.example/me?access_token=[redacted]" in out
    assert "poll.crashed account=7" in out and "request failed" in out


def test_every_secret_setting_is_registered() -> None:
    key = generate_key()
    settings = Settings(database_url="postgresql://flattr:db-pass-word@db/flattr",
                        token_keys=f"{key},{generate_key()}", session_secret="s" * 32,
                        x_service_token="service-token-1")
    values = secret_values(settings)
    assert {"db-pass-word", key, "s" * 32, "service-token-1",
            settings.x_client_secret, settings.facebook_app_secret} <= set(values)


def test_configure_leaves_someone_elses_handlers_alone() -> None:
    root = logging.getLogger()
    foreign = logging.NullHandler()
    saved = (root.handlers[:], root.level)
    root.handlers[:] = [foreign]
    try:
        logs.configure("DEBUG", io.StringIO())
        assert root.handlers == [foreign] and logs.log.level == logging.DEBUG
    finally:
        root.handlers[:], root.level = saved


def _formatted_log_calls(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in LEVELS and node.args):
            continue
        first = node.args[1 if node.func.attr == "log" and len(node.args) > 1 else 0]
        if isinstance(first, ast.JoinedStr) or (
                isinstance(first, ast.Constant) and isinstance(first.value, str)
                and "%" in first.value):
            found.append(f"{path}:{node.lineno}")
    return found


def test_no_f_string_or_percent_log_calls_in_our_code() -> None:
    offenders = [hit for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))
                 for hit in _formatted_log_calls(path)]
    assert offenders == []


def test_the_style_check_sees_both_kinds(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('log.info(f"x {y}")\nlog.warning("a %s", b)\nlog.info("fine")\n')
    assert len(_formatted_log_calls(sample)) == 2
