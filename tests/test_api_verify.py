"""``lurelens serve --verify-auth --dns-server``: the server verifies SPF, DKIM and DMARC itself against
the real Knot DNS server of the auth tests, as ``scan --verify-auth`` does; rspamd's ``/checkv2``
gives SPF the client IP, HELO and sender the MTA sent in its headers."""

from __future__ import annotations

import pytest
from authworld import IP_BAD, IP_OK, message, world_fixture  # noqa: F401 - the `world` fixture
from dnsserver import sign
from test_api import _need_serve

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def srv(world, tmp_path_factory):
    _need_serve()
    from lurelens.testing.server import ApiServer

    d = tmp_path_factory.mktemp("verify")
    with ApiServer(["--verify-auth", "--dns-server", world.srv.server, "--dns-timeout", "2"], log=d / "server.log") as s:
        yield s


def test_scan_verifies_against_the_dns_server(srv, world):
    import httpx

    raw = sign(message(), world.rsa, "news.test", "rsa")
    v = httpx.post(srv.url + "/v1/scan", content=raw, timeout=60).json()
    av = v["auth_verification"]
    assert av["dkim"][0]["result"] == "pass" and av["dmarc"]["result"] == "pass"
    assert any(x["name"] == "_dmarc.news.test" and x["data"] for x in av["dns"])
    # Tampered after signing: the same server says so.
    bad = httpx.post(srv.url + "/v1/scan", content=raw.replace(b"Today's news", b"Today's NEWS"), timeout=60).json()
    assert bad["auth_verification"]["dkim"][0]["result"] == "fail"
    assert "VERIFY_DMARC_FAIL" in {f["symbol"] for f in bad["findings"]}


@pytest.mark.parametrize("ip, spf, dmarc_symbol", [(IP_OK, "pass", None), (IP_BAD, "fail", "VERIFY_DMARC_FAIL")])
def test_checkv2_uses_the_mta_envelope_for_spf(srv, ip, spf, dmarc_symbol):
    import httpx

    raw = message()  # unsigned: DMARC rests on SPF alone
    r = httpx.post(srv.url + "/checkv2", content=raw, timeout=60,
                   headers={"IP": ip, "Helo": "mx.news.test", "From": "bounce@news.test", "Rcpt": "reader@example.org"})
    d = r.json()
    symbols = set(d["symbols"])
    if spf == "fail":
        assert "VERIFY_SPF_FAIL" in symbols and dmarc_symbol in symbols
    else:
        assert not symbols & {"VERIFY_SPF_FAIL", "VERIFY_SPF_SOFTFAIL", "VERIFY_DMARC_FAIL"}
        assert "VERIFY_DMARC_PASS" in symbols
    assert d["lurelens"]["envelope"]["client_address"] == ip


def test_verify_options_need_verify_auth(run_cli):
    _need_serve()
    code, _out, err = run_cli(["serve", "--dns-server", "127.0.0.1:1", "--port", "1"], timeout=60)
    assert code == 2 and "--verify-auth" in err
