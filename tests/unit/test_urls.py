from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import UserError
from core.urls import InvalidURL, canonicalize, x_post_id

hosts = st.from_regex(r"[a-z]([a-z0-9\-]{0,14}[a-z0-9])?\.(org|com|net)", fullmatch=True)
segments = st.lists(st.from_regex(r"[A-Za-z0-9_\-]{1,10}", fullmatch=True), max_size=4)
params = st.lists(
    st.tuples(st.from_regex(r"[a-z]{1,6}", fullmatch=True),
              st.from_regex(r"[A-Za-z0-9]{0,6}", fullmatch=True)), max_size=3)


@st.composite
def urls(draw):
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "Https"]))
    host = draw(hosts)
    host = "".join(c.upper() if draw(st.booleans()) else c for c in host)
    port = draw(st.sampled_from(["", ":80", ":443", ":8080"]))
    path = "/" + "/".join(draw(segments))
    query = "&".join(f"{k}={v}" for k, v in draw(params))
    tracking = draw(st.sampled_from(["", "utm_source=tw", "fbclid=AbC", "gclid=1&utm_medium=x"]))
    query = "&".join(q for q in (query, tracking) if q)
    fragment = draw(st.sampled_from(["", "#top", "#"]))
    return f"{scheme}://{host}{port}{path}{'?' + query if query else ''}{fragment}"


@given(urls())
def test_canonicalization_is_idempotent(url):
    once = canonicalize(url)
    assert canonicalize(once) == once


@given(urls())
def test_canonical_urls_have_no_fragment_tracking_or_upper_case_host(url):
    canonical = canonicalize(url)
    assert "#" not in canonical
    for marker in ("utm_", "fbclid", "gclid"):
        assert marker not in canonical
    host = canonical.split("/")[2]
    assert host == host.lower()
    scheme = canonical.split(":")[0]
    assert not host.endswith({"http": ":80", "https": ":443"}[scheme])


@given(urls())
def test_a_wrapped_link_canonicalizes_like_its_target(url):
    wrapped = "https://l.facebook.com/l.php?u=" + quote(url, safe="") + "&h=AT3x"
    assert canonicalize(wrapped) == canonicalize(url)


@pytest.mark.parametrize(("raw", "canonical"), [
    ("HTTPS://Example.ORG:443/a?utm_source=x&b=2#frag", "https://example.org/a?b=2"),
    ("http://example.org", "http://example.org/"),
    ("https://www.google.com/url?q=https://ex.com/x&sa=D", "https://ex.com/x"),
    ("https://twitter.com/jack/status/20/photo/1", "https://x.com/i/status/20"),
    ("https://mobile.twitter.com/i/web/status/99", "https://x.com/i/status/99"),
    ("https://x.com/jack", "https://x.com/jack"),
    ("https://user:pw@example.org/p", "https://example.org/p"),
    ("https://href.li/?https://example.org/z", "https://example.org/z"),
])
def test_known_spellings(raw, canonical):
    assert canonicalize(raw) == canonical


@pytest.mark.parametrize("bad", [
    "", "example.org", "ftp://example.org/", "javascript:alert(1)", "https://", "http:///x",
    "https://exa mple.org/", "https://example.org:99999/", "https://" + "a" * 3000 + ".org",
])
def test_malformed_urls_are_refused_with_a_user_error(bad):
    with pytest.raises(InvalidURL) as caught:
        canonicalize(bad)
    assert isinstance(caught.value, UserError)


def test_x_post_id_reads_canonical_post_urls():
    assert x_post_id("https://x.com/i/status/42") == "42"
    assert x_post_id("https://example.org/i/status/42") is None


@given(st.text(alphabet="aZ09%25/2F41", max_size=12))
def test_percent_encoded_paths_canonicalize_idempotently(path):
    once = canonicalize("https://example.org/" + path)
    assert canonicalize(once) == once


def test_ipv6_hosts_keep_their_brackets():
    assert canonicalize("http://[::1]:8080/a") == "http://[::1]:8080/a"
