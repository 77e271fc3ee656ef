"""Which activity flattrs: the trigger rules, in one place.

A network names its triggers (X: likes, reposts, explicit; Facebook: page_likes,
shared_links), each letting some activity actions through. A deployment switches some on
(settings, or the network's defaults); a person may narrow them for one account; an
always-on trigger (X's explicit #flattr request) counts whatever either of them says.
Pure functions over plain sets: the vocabulary comes from bots.registry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def deployment(configured: Iterable[str] | None, *, default: Iterable[str],
               always_on: Iterable[str]) -> frozenset[str]:
    """The triggers a deployment runs: those configured (or the defaults), plus always-on."""
    chosen = frozenset(default if configured is None else configured)
    return chosen | frozenset(always_on)


def for_account(enabled: frozenset[str], chosen: Iterable[str] | None, *,
                always_on: Iterable[str]) -> frozenset[str]:
    """An account's triggers: the person's choice (None: everything) within what the
    deployment enabled, plus always-on."""
    triggers = enabled if chosen is None else enabled & frozenset(chosen)
    return triggers | frozenset(always_on)


def allowed_actions(triggers: Iterable[str], actions: Mapping[str, Iterable[str]]
                    ) -> frozenset[str]:
    """The activity actions some trigger lets through."""
    return frozenset(a for t in triggers for a in actions.get(t, ()))


def unknown(triggers: Iterable[str], vocabulary: Iterable[str]) -> list[str]:
    return sorted(frozenset(triggers) - frozenset(vocabulary))
