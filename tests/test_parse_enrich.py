"""lurelens.parse.enrich: tracker vendor and recipient token per resource, redirect destinations per
link and the cluster features, computed once before any check runs."""

from lurelens.parse.enrich import enrich
from lurelens.parse.mime import Limits, parse_message
from lurelens.testing import MessageBuilder

from conftest import LIST_HOSTS


def test_enrich_fills_the_derived_facts(list_scanner):
    raw = (MessageBuilder().html(
        f'<img src="https://{LIST_HOSTS["tracker_host"]}/o.gif" width=1 height=1>'
        '<img src="https://t.example.net/o.gif?u=bob%40example.org" width=1 height=1>'
        '<a href="https://www.google.com/url?q=https://dest.example.org/x">x</a>'
        '<a href="javascript:void(0)">js</a>').build())
    msg = parse_message(raw, Limits())
    assert msg.features is None and all(r.tracker is None for r in msg.resources)
    enrich(msg, list_scanner.data)
    by_host = {r.host: r for r in msg.resources}
    assert by_host[LIST_HOSTS["tracker_host"]].tracker == LIST_HOSTS["tracker_vendor"]
    assert by_host["t.example.net"].recipient_token == "email:urlencoded"
    wrapped, script = msg.links
    assert wrapped.final_url == "https://dest.example.org/x" and wrapped.final_host == "dest.example.org"
    assert script.final_url is None
    assert msg.features is not None and "dest.example.org" in msg.features.link_hosts
