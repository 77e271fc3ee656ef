"""Identity strings are built and cut apart in core/identity.py only: this reads every other
module of the packages (not tests, docs, benchmarks or the frozen migrations) and fails on
a string that starts an identity for something to be appended (`f"twitter:{id}"`,
`"url:" + url`, `'url:' || t.url`, `LIKE 'twitter:%'`, `.startswith("facebook:page:")`).
A network's own scheme declaration (`Scheme("twitter:", ...)`) is where prefixes belong."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from core import identity

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "config", "bots", "runtime", "jobs", "web", "commands")
# Owned by the ledger branch while it rewrites settlement (coord/PLAN.md); it should use
# core.identity.sql_url_identity when that lands.
NOT_YET = {("core/settlement_sql.py", "'url:' ||")}


def _prefixes() -> list[str]:
    return sorted({s.prefix for s in identity.schemes()} | {identity.URL_PREFIX})


def _pattern() -> re.Pattern[str]:
    # A prefix at the end of a piece of text, or just before a placeholder or a quote.
    words = "|".join(re.escape(p) for p in _prefixes())
    return re.compile(rf"(?<![\w:])({words})(?=$|[{{%'\"])")


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _declared(tree: ast.AST) -> set[int]:
    """The strings given to a Scheme(...): a network declaring its prefix; and a network's
    name (`NETWORK = "bluesky"`), which may be its prefix's word."""
    names = {id(node.value) for node in ast.walk(tree)
             if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
             and [getattr(t, "id", None) for t in node.targets] == ["NETWORK"]}
    return names | {id(arg) for node in ast.walk(tree)
                    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Scheme"
                    for arg in [*node.args, *(k.value for k in node.keywords)]}


def hand_built(source: str) -> list[str]:
    tree = ast.parse(source)
    skip = _docstrings(tree) | _declared(tree)
    pattern = _pattern()
    # A network's prefix without its last colon, to be joined with ":" (was core.accounts'
    # NETWORK_PREFIX); not "url", a common word.
    # A network whose prefix is its own name ("mastodon:") may still name itself.
    bare = ({p.removesuffix(":") for p in _prefixes() if p != identity.URL_PREFIX}
            - {s.network for s in identity.schemes()})
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and id(node) not in skip
                and (pattern.search(node.value) or node.value in bare)):
            found.append(f"line {node.lineno}: {node.value.strip()[:80]!r}")
    return found


def test_identity_strings_are_built_in_core_identity_only():
    offenders = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative == "core/identity.py":
                continue
            source = path.read_text()
            for line in hand_built(source):
                if not any(where == relative and text in source for where, text in NOT_YET):
                    offenders.append(f"{relative} {line}")
    assert offenders == []


def test_the_check_sees_each_way_of_building_one():
    built = [
        'f"twitter:{author}"', '"facebook:page:" + page_id', '"twitter:%s" % user',
        '"facebook:user:{id}".format(id=1)', 'text("SELECT \'url:\' || t.url")',
        'Claim.value.like("twitter:%")', 'value.startswith("url:")',
        '{"x": "twitter", "facebook": "facebook:user"}',
    ]
    for code in built:
        assert hand_built(code), code
    fine = ['"an identity such as twitter:123"', 'Scheme("twitter:", "x", "user", "[0-9]+")',
            '"""Held for twitter:ID."""', '"https://x.com/i/status/1"']
    for code in fine:
        assert not hand_built(code), code
