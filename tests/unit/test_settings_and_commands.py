"""Issue 12: every setting the code reads exists in Settings and is in the README's table;
every "`flattr ...`" that code, templates and docs name is a real command."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from commands.main import build_parser
from config import Settings

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "config", "bots", "runtime", "jobs", "web", "commands", "bench")
READ = re.compile(r"\bsettings\.([a-z_]+)\b")
NAMED = re.compile(r"`flattr ([^`]*)`")


def _sources(*suffixes: str) -> list[Path]:
    files = [p for package in PACKAGES for s in suffixes for p in (ROOT / package).rglob(s)]
    files += [p for s in suffixes if s == "*.md"
              for p in [*ROOT.glob(s), *(ROOT / "docs").rglob(s)]]
    return sorted(files)


def test_every_setting_read_exists_and_is_documented() -> None:
    readme = (ROOT / "README.md").read_text()
    read = {(name, path.relative_to(ROOT).as_posix()) for path in _sources("*.py")
            for name in READ.findall(path.read_text())}
    missing = sorted(f"{where}: settings.{name}" for name, where in read
                     if not hasattr(Settings, name) and name not in Settings.model_fields)
    assert missing == []
    undocumented = [name for name in Settings.model_fields
                    if f"FLATTR_{name.upper()}" not in readme]
    assert undocumented == []


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _unknown(words: list[str]) -> str | None:
    """The first word that should name a command and does not (None: all real)."""
    parser = build_parser()
    for word in words:
        if not re.fullmatch(r"[a-z][a-z|-]*", word):
            return None  # arguments from here on (NAME, --flag, a value)
        choices = _subcommands(parser)
        if not choices:  # a command: a word may follow only where it takes one
            takes = any(not a.option_strings for a in parser._actions)
            return None if takes else word
        alternatives = word.split("|")
        bad = [w for w in alternatives if w not in choices]
        if bad:
            return bad[0]
        if len(alternatives) > 1:
            return None
        parser = choices[word]
    return None


def test_every_command_named_in_messages_and_docs_exists() -> None:
    wrong = []
    for path in _sources("*.py", "*.html", "*.md"):
        for named in NAMED.findall(path.read_text()):
            words = named.replace("...", "").split()
            bad = _unknown(words) if words else None
            if bad is not None:
                wrong.append(f"{path.relative_to(ROOT)}: `flattr {named}` ({bad!r})")
    assert wrong == []


def test_the_command_check_catches_a_wrong_name() -> None:
    assert _unknown(["web", "genkey"]) == "genkey"
    assert _unknown(["tokens", "genkey"]) is None
    assert _unknown(["tokens", "genkey|refresh|reseal"]) is None
    assert _unknown(["settle", "--period", "2026-10"]) is None
