"""Identities: one parse, one format, schemes registered by the networks (conftest installs
the built-in ones), ids that may contain colons (Mastodon's host:id, Bluesky's DIDs)."""

from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import identity
from core.errors import UserError
from core.identity import Identity, InvalidIdentity, Scheme


@pytest.mark.parametrize(("raw", "parsed"), [
    ("twitter:12345", "twitter:12345"),
    ("facebook:page:678", "facebook:page:678"),
    ("url:HTTPS://Example.org/a#b", "url:https://example.org/a"),
])
def test_identities(raw, parsed):
    assert str(identity.parse(raw)) == parsed


@pytest.mark.parametrize("bad", ["twitter:abc", "facebook:678", "mastodon:1", "", "url:nope",
                                 "twitter:\u0661\u0662", "twitter:1 2", "facebook:user:"])
def test_bad_identities_are_refused(bad):
    with pytest.raises(UserError):
        identity.parse(bad)


def test_the_parts_of_an_identity():
    assert identity.parse(" facebook:page:678 ") == Identity("facebook", "page", "678")
    assert identity.parse("twitter:1") == identity.account("x", "1")
    assert identity.account("facebook", "9") == Identity("facebook", "user", "9")
    assert identity.parse("url:https://example.org/").is_url
    assert identity.prefix("x", "user") == "twitter:"
    assert identity.url_prefix("https://example.org/blog/") == "url:https://example.org/blog/"
    with pytest.raises(InvalidIdentity, match="unknown network 'myspace'"):
        identity.account("myspace", "1")
    with pytest.raises(InvalidIdentity):
        identity.of("x", "user", "12a")
    assert identity.try_of("x", "user", "12a") is None


@given(st.from_regex(r"[0-9]{1,25}", fullmatch=True),
       st.sampled_from([("x", "user"), ("facebook", "page"), ("facebook", "user")]))
def test_format_then_parse_is_the_identity(user_id, network_kind):
    made = identity.of(*network_kind, user_id)
    assert identity.parse(str(made)) == made


@pytest.fixture
def open_networks() -> Iterator[None]:
    """Schemes like the coming networks' ones, registered for one test (where the network
    itself is not registered already)."""
    known = {s.network for s in identity.schemes()}
    stand_ins = [Scheme("mastodon:", "mastodon", "account", r"[a-z0-9.-]{1,253}:[0-9]{1,20}",
                        account=True),
                 Scheme("bluesky:", "bluesky", "account",
                        r"did:(?:plc:[a-z2-7]{24}|web:[a-z0-9.-]{1,253})", account=True)]
    added = [s for s in stand_ins if s.network not in known]
    for scheme in added:
        identity.register_scheme(scheme)
    yield
    for scheme in added:
        identity.unregister_network(scheme.network)


def test_ids_may_contain_colons(open_networks):
    toot = identity.parse("mastodon:mastodon.social:109876543210")
    assert toot == Identity("mastodon", "account", "mastodon.social:109876543210")
    did = identity.account("bluesky", "did:plc:ewvi7nxzyoun6zhxrhs64oiz")
    assert str(did) == "bluesky:did:plc:ewvi7nxzyoun6zhxrhs64oiz"
    assert identity.parse(str(did)) == did
    with pytest.raises(InvalidIdentity):
        identity.parse("bluesky:did:plc:short")


def test_schemes_may_not_overlap():
    with pytest.raises(ValueError, match="overlaps"):
        identity.register_scheme(Scheme("facebook:", "fb2", "user", r"[0-9]+"))
    with pytest.raises(ValueError, match="overlaps"):
        identity.register_scheme(Scheme("url:x:", "web2", "user", r"[0-9]+"))
    with pytest.raises(ValueError, match="already has a scheme"):
        identity.register_scheme(Scheme("tw:", "x", "user", r"[0-9]+"))


@pytest.mark.parametrize("pattern", [r"\d+", r"[0-9]+$", "[0-9]+\u00e9"])
def test_id_patterns_are_ascii_and_matched_in_full(pattern):
    with pytest.raises(ValueError):
        Scheme("new:", "new", "user", pattern)
