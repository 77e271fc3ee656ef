"""Properties of core.urls canonicalisation and its table (core.url_rules), and the link
choice for X URL entities: issues 10 (class 3), 11 (items 7 and 9) and 12 (IDNA, %2F)."""

from __future__ import annotations

import idna
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from core.urls import (
    MAX_URL_LENGTH,
    InvalidURL,
    canonicalize,
    is_creation_host,
    is_less_specific,
    is_shortener,
    is_x_url,
    pick_entity_url,
    platform_of,
)

labels = st.from_regex(r"[a-z0-9]([a-z0-9\-_]{0,20}[a-z0-9])?", fullmatch=True)
hosts = st.builds(lambda ls, tld: ".".join([*ls, tld]), st.lists(labels, min_size=1, max_size=3),
                  st.sampled_from(["org", "com", "net", "de"]))
# Path pieces mixing plain text, reserved characters, percent-encodings in both cases,
# stray percent signs, dot segments and non-ASCII text.
pieces = st.one_of(
    st.from_regex(r"[A-Za-z0-9_.~\-]{1,8}", fullmatch=True),
    st.sampled_from(["%2F", "%2f", "%41", "%7e", "%7E", "%25", "%", "%zz", "%C3%A9", "%c3%a9",
                     "é", "日本", " ", ".", "..", ":", "@", "!", "$", "&", "'", "(", "*", "+",
                     ",", ";", "=", "%3A", "%40", "\udcff"]),
)
paths = st.lists(st.lists(pieces, max_size=3).map("".join), max_size=5).map("/".join)
query_names = st.sampled_from(["q", "id", "page", "v", "utm_source", "fbclid", "si", "feature",
                               "s", "t", "igshid", "ref_src", "hss_channel", "ssm", "list"])
query_values = st.one_of(st.from_regex(r"[A-Za-z0-9]{0,6}", fullmatch=True),
                         st.sampled_from(["a+b", "a%20b", "%2F", "/", "é", "%FF", ""]))
queries = st.lists(st.tuples(query_names, query_values), max_size=4).map(
    lambda pairs: "&".join(f"{k}={v}" for k, v in pairs))


@st.composite
def urls(draw):
    scheme = draw(st.sampled_from(["http", "https", "HTTPS"]))
    host = draw(st.one_of(hosts, st.sampled_from([
        "x.com", "twitter.com", "mobile.twitter.com", "youtu.be", "m.youtube.com",
        "www.youtube.com", "en.m.wikipedia.org", "bücher.example", "xn--bcher-kva.example",
        "EXAMPLE.ORG", "127.0.0.1", "[::1]", "www.instagram.com", "l.facebook.com"])))
    port = draw(st.sampled_from(["", ":80", ":443", ":8080"]))
    query = draw(queries)
    fragment = draw(st.sampled_from(["", "#top"]))
    return f"{scheme}://{host}{port}/{draw(paths)}{'?' + query if query else ''}{fragment}"


@given(urls())
def test_canonicalization_is_idempotent_and_bounded(url):
    try:
        once = canonicalize(url)
    except InvalidURL:
        return
    assert canonicalize(once) == once
    assert len(once) <= MAX_URL_LENGTH and once.isascii()


@given(st.one_of(
    st.text(max_size=300),
    st.builds(lambda s, t: s + t, st.sampled_from(["http://", "https://", "https://[", "http://@"]),
              st.text(max_size=300)),
    urls(),
    st.builds(lambda u, n: u + "é" * n, urls(), st.integers(0, 1200)),
))
def test_nothing_but_invalid_url_is_ever_raised(text):
    try:
        result = canonicalize(text)
    except InvalidURL:
        return
    assert canonicalize(result) == result and len(result) <= MAX_URL_LENGTH


def test_urls_that_grow_past_the_limit_once_encoded_are_refused_clearly():
    grows = "https://example.org/" + "é" * 400  # 420 characters, over 2,400 once encoded
    assert len(grows) < MAX_URL_LENGTH
    with pytest.raises(InvalidURL, match="too long"):
        canonicalize(grows)
    with pytest.raises(InvalidURL):
        canonicalize(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [
    "https://-/", "https://_/", "https://a..b/", "https://-a.org/", "https://a-.org/",
    "https://__.example.org/", "https://" + "a" * 64 + ".org/", "https://exa%6Dple.org/",
    "https://xn--a.org/", "https://[fe80::1%25eth0]/", "https://[::zz]/",
    "https://" + ".".join(["abcdefghi"] * 26) + ".org/",
])
def test_hosts_that_are_not_dns_names_or_ip_literals_are_refused(bad):
    with pytest.raises(InvalidURL):
        canonicalize(bad)


@pytest.mark.parametrize("good", [
    "https://a.org/", "https://a_b.example.org/", "https://x--y.org/", "https://localhost/",
    "https://" + "a" * 63 + ".org/", "http://192.0.2.1/", "http://[2001:DB8::1]/",
])
def test_valid_hosts_are_kept(good):
    assert canonicalize(good).startswith(("https://", "http://"))


@given(st.lists(st.from_regex(r"[A-Za-z0-9_\-]{1,8}", fullmatch=True), min_size=2, max_size=4))
def test_an_encoded_slash_is_not_a_slash(segments):
    slashed = canonicalize("https://example.org/" + "/".join(segments))
    encoded = canonicalize("https://example.org/" + "%2F".join(segments))
    lower = canonicalize("https://example.org/" + "%2f".join(segments))
    assert slashed != encoded == lower
    assert "%2F" in encoded


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzäöüßéçñøåæœпримеркиї例え日本語中文", min_size=1,
               max_size=12), st.sampled_from(["example", "org", "de", "рф"]))
def test_a_unicode_host_is_its_punycode(label, tld):
    host = f"{label}.{tld}"
    try:
        ascii_host = idna.encode(host, uts46=True, transitional=False).decode()
    except idna.IDNAError:
        assume(False)
        return
    unicode_form = canonicalize(f"https://{host}/a%2Fb")
    assert unicode_form == canonicalize(f"https://{ascii_host}/a%2Fb")
    assert unicode_form == f"https://{ascii_host}/a%2Fb"


def test_idna_uses_current_rules_and_lower_case():
    assert canonicalize("https://BÜCHER.example/") == "https://xn--bcher-kva.example/"
    assert canonicalize("https://faß.de/") == "https://xn--fa-hia.de/"  # IDNA 2008, not fass.de
    assert canonicalize("https://ＥＸＡＭＰＬＥ.com/") == "https://example.com/"


keep = st.lists(st.tuples(st.sampled_from(["id", "page", "q", "lang", "sort"]),
                          st.from_regex(r"[a-z0-9]{1,5}", fullmatch=True)), max_size=4)
drop = st.lists(st.tuples(
    st.sampled_from(["utm_source", "utm_campaign", "fbclid", "gclid", "igshid", "ref_src",
                     "hss_channel", "ssm", "_hsenc", "mc_eid"]),
    st.from_regex(r"[A-Za-z0-9]{1,6}", fullmatch=True)), max_size=4)


@given(keep, drop, st.randoms(use_true_random=False))
def test_tracking_parameters_go_and_the_others_stay_in_order(kept, dropped, rnd):
    mixed = [(k, v, True) for k, v in kept] + [(k, v, False) for k, v in dropped]
    order = sorted(range(len(mixed)), key=lambda _: rnd.random())
    shuffled = [mixed[i] for i in order]
    query = "&".join(f"{k}={v}" for k, v, _ in shuffled)
    canonical = canonicalize(f"https://news.example.org/story?{query}")
    expected = "&".join(f"{k}={v}" for k, v, stays in shuffled if stays)
    assert canonical == "https://news.example.org/story" + (f"?{expected}" if expected else "")


@pytest.mark.parametrize(("raw", "canonical"), [
    # per-host parameters: tracking only there, kept elsewhere
    ("https://youtu.be/MCwJfETgiVo?si=Ab3", "https://www.youtube.com/watch?v=MCwJfETgiVo"),
    ("https://open.spotify.com/track/4uLU6hMC?si=3d2f", "https://open.spotify.com/track/4uLU6hMC"),
    ("https://example.org/search?si=1&feature=2&s=3&t=4", "https://example.org/search?si=1&feature=2&s=3&t=4"),
    ("https://x.com/jack?s=20&t=Ab", "https://x.com/jack"),
    ("https://www.tiktok.com/@a/video/7?is_from_webapp=1&sender_device=pc&sender_web_id=9",
     "https://www.tiktok.com/@a/video/7"),
    ("https://m.facebook.com/story.php?story_fbid=1&id=2&mibextid=Nif5oz",
     "https://www.facebook.com/story.php?story_fbid=1&id=2"),
])
def test_parameters_that_only_track_on_some_hosts(raw, canonical):
    assert canonicalize(raw) == canonical


video_ids = st.from_regex(r"[A-Za-z0-9_\-]{11}", fullmatch=True)


@given(video_ids, st.sampled_from([
    "https://youtu.be/{v}", "https://youtu.be/{v}?t=42&si=x", "http://youtube.com/watch?v={v}",
    "https://www.youtube.com/watch?v={v}&feature=youtu.be", "https://m.youtube.com/watch?v={v}",
    "https://www.youtube.com/shorts/{v}", "https://www.youtube.com/embed/{v}?autoplay=1",
    "https://music.youtube.com/watch?v={v}&list=RD1", "https://www.youtube.com/live/{v}",
    "https://www.youtube-nocookie.com/embed/{v}",
]))
def test_every_spelling_of_a_youtube_video_is_one_url(video, form):
    assert canonicalize(form.format(v=video)) == f"https://www.youtube.com/watch?v={video}"


@given(st.from_regex(r"[1-9][0-9]{0,18}", fullmatch=True), st.sampled_from([
    "https://twitter.com/jack/status/{i}", "https://mobile.twitter.com/jack/status/{i}/photo/1",
    "https://x.com/i/web/status/{i}?s=20", "https://www.x.com/jack/statuses/{i}",
]))
def test_every_spelling_of_an_x_post_is_one_url(post_id, form):
    assert canonicalize(form.format(i=post_id)) == f"https://x.com/i/status/{post_id}"


@pytest.mark.parametrize(("raw", "canonical"), [
    ("https://en.m.wikipedia.org/wiki/Flattr", "https://en.wikipedia.org/wiki/Flattr"),
    ("https://instagr.am/p/MuW67/", "https://www.instagram.com/p/MuW67/"),
    ("https://example.org/a/./b/../c/%7Euser/%c3%a9", "https://example.org/a/c/~user/%C3%A9"),
    ("https://example.org/%zz%", "https://example.org/%25zz%25"),
    ("https://example.org/x?flag&v=a+b&w=%2F", "https://example.org/x?flag=&v=a+b&w=%2F"),
    ("https://x.com/١٢٣/status/٤٥٦", "https://x.com/%D9%A1%D9%A2%D9%A3/status/%D9%A4%D9%A5%D9%A6"),
])
def test_known_spellings(raw, canonical):
    assert canonicalize(raw) == canonical


@pytest.mark.parametrize(("url", "network"), [
    ("https://support.twitter.com/articles/20169222", "x"),
    ("https://help.twitter.com/en/rules-and-policies/tweet-withheld-by-country", "x"),
    ("https://pic.twitter.com/YBA989hwpi", "x"), ("https://pic.x.com/abc", "x"),
    ("https://t.co/abc", "x"), ("https://pbs.twimg.com/media/x.jpg", "x"),
    ("https://developer.twitter.com/en", "x"), ("https://x.com/jack", "x"),
    ("https://www.facebook.com/photo.php?fbid=1", "facebook"), ("https://fb.watch/x", "facebook"),
    ("https://example.org/", None), ("https://notx.com/", None),
    ("https://twitter.com.evil.org/", None),
])
def test_the_networks_own_pages(url, network):
    assert platform_of(url) == network
    assert is_x_url(url) == (network == "x")
    assert is_creation_host(url) == (network is None)


@pytest.mark.parametrize("url", ["https://bit.ly/3hWgaZf", "https://wapo.st/3KpLx2A",
                                 "https://reut.rs/3u8QvXk", "https://buff.ly/x", "https://on.ft.com/x"])
def test_shorteners_are_never_creations(url):
    assert is_shortener(url) and not is_creation_host(url)


@pytest.mark.parametrize(("url", "vague"), [
    ("https://www.theguardian.com/", True),
    ("https://www.instagram.com/accounts/login/?next=/p/CbX3z9LMq7w/", True),
    ("https://www.instagram.com/example_artist/", True),
    ("https://www.youtube.com/channel/UC123", True),
    ("https://accounts.google.com/ServiceLogin?continue=x", True),
    ("https://www.instagram.com/p/CbX3z9LMq7w/", False),
    ("https://example.org/2021/05/story", False),
    ("https://example.org/?p=12", False),
])
def test_less_specific_pages(url, vague):
    assert is_less_specific(url) is vague


@pytest.mark.parametrize(("entity", "link"), [
    # the expanded URL wins when it is not a short link, whatever the unwound URL says
    ({"expanded_url": "https://www.instagram.com/p/CbX3z9LMq7w/?igshid=Y",
      "unwound_url": "https://www.instagram.com/example_artist/", "status": 200},
     "https://www.instagram.com/p/CbX3z9LMq7w/"),
    # a short link is read through its unwound URL ...
    ({"expanded_url": "https://bit.ly/3hWgaZf", "status": 200,
      "unwound_url": "https://best-trading-indicator.com/pages/trial"},
     "https://best-trading-indicator.com/pages/trial"),
    ({"url": "https://t.co/x", "unwound_url": "https://example.org/a"}, "https://example.org/a"),
    ({"expanded_url": "https://bit.ly/x", "status": "200", "unwound_url": "https://example.org/a"},
     "https://example.org/a"),
    # ... but never when the unwinding failed or ended somewhere vaguer, nor without one
    ({"expanded_url": "https://buff.ly/x", "status": 404,
      "unwound_url": "https://example.org/a"}, None),
    ({"expanded_url": "https://bit.ly/x", "status": 503,
      "unwound_url": "https://example.org/a"}, None),
    ({"expanded_url": "https://bit.ly/x",
      "unwound_url": "https://www.instagram.com/accounts/login/?next=/p/X/"}, None),
    ({"expanded_url": "https://trib.al/Qw3", "unwound_url": "https://www.theguardian.com/"}, None),
    ({"expanded_url": "https://bit.ly/x", "unwound_url": "https://ow.ly/y"}, None),
    ({"expanded_url": "https://bit.ly/39Ytg54"}, None),
    ({"expanded_url": "not a url"}, None),
    ({}, None),
])
def test_the_link_an_x_url_entity_stands_for(entity, link):
    assert pick_entity_url(entity) == link
