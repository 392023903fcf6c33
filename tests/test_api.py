"""The HTTP API against a real ``lurelens serve`` (uvicorn, 2 worker processes) on a loopback port:
token auth, body limit, the verdict JSON of ``scan --json``, defuse, rspamd's /checkv2 with Debian's
``rspamc``, Prometheus metrics, the OpenAPI spec with schemathesis, and 503 under saturation."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import EXAMPLES, make_hunt_db, require_component

pytestmark = pytest.mark.services

TOKEN = "test-token-0123456789abcdef"
MAX_BODY = 1_000_000


def _need_serve() -> None:
    missing = [m for m in ("fastapi", "uvicorn", "prometheus_client", "multipart", "httpx")
               if importlib.util.find_spec(m) is None]
    require_component("the serve extra", f"missing {', '.join(missing)}: pip install 'lurelens[serve]'" if missing else None)


@pytest.fixture(scope="session")
def api(tmp_path_factory):
    """A server with 2 workers (so metrics run in Prometheus multiprocess mode) and a token."""
    _need_serve()
    from lurelens.testing.server import ApiServer

    d = tmp_path_factory.mktemp("api")
    tokens = d / "tokens"
    tokens.write_text(f"# test tokens\n{TOKEN}\n")
    # Its own data overlay: schemathesis posts analyst actions, which are written there.
    srv = ApiServer(["--workers", "2", "--tokens-file", str(tokens), "--max-body", str(MAX_BODY), "--data-dir", str(d / "overlay")],
                    env={"LURELENS_API_TOKENS": "second-token"}, log=d / "server.log")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def client(api):
    import httpx

    with httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as c:
        yield c


@pytest.fixture(scope="session")
def lure() -> bytes:
    return (EXAMPLES / "apt31-style-lure.eml").read_bytes()


def plain_message() -> bytes:
    from lurelens.testing import MessageBuilder

    return MessageBuilder().text("Lunch on Thursday? The usual place at noon.").build()


def metric(client, name: str, **labels: str) -> float:
    """The value of one sample in /metrics (0 when absent)."""
    text = client.get("/metrics").text
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    total = 0.0
    for line in text.splitlines():
        m = re.match(r"^(\w+)(?:\{(.*)\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        got = ",".join(sorted((m.group(2) or "").split(","))) if m.group(2) else ""
        if all(f'{k}="{v}"' in got for k, v in labels.items()) or (not labels and not want):
            total += float(m.group(3))
    return total


def test_healthz_needs_no_token(api):
    import httpx

    r = httpx.get(api.url + "/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"},
                                     {"Authorization": "Bearer"}])
def test_token_required(api, lure, headers):
    import httpx

    r = httpx.post(api.url + "/v1/scan", content=lure, headers=headers)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == "Bearer"
    assert httpx.get(api.url + "/metrics", headers=headers).status_code == 401


def test_tokens_from_file_and_environment(api, lure):
    import httpx

    for token in (TOKEN, "second-token"):
        r = httpx.post(api.url + "/v1/scan", content=lure, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text


def test_scan_returns_the_cli_json(client, lure, run_cli):
    code, out, err = run_cli(["scan", "--json", EXAMPLES / "apt31-style-lure.eml"])
    assert code == 1, err
    cli = json.loads(out)
    r = client.post("/v1/scan", content=lure, headers={"Content-Type": "message/rfc822"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    api = r.json()
    for d in (cli, api):
        d.pop("elapsed_ms")
        d.pop("file")
    assert api == cli
    assert api["verdict"] == "recon"
    assert "cdn.example.net" in {h["host"] for h in api["open_leaks"]}


def test_scan_multipart_upload_keeps_file_name(client, lure):
    r = client.post("/v1/scan", files={"file": ("lure.eml", lure, "message/rfc822")})
    assert r.status_code == 200, r.text
    assert r.json()["file"] == "lure.eml" and r.json()["verdict"] == "recon"


def test_scan_authserv_id_query(client, lure):
    # The lure's topmost Authentication-Results says dmarc=fail; trusting another host ignores it.
    default = client.post("/v1/scan", content=lure).json()
    other = client.post("/v1/scan", params={"authserv_id": "mx.other.example"}, content=lure).json()
    assert default["auth"]["methods"]["dmarc"]["result"] == "fail"
    assert other["auth"]["methods"]["dmarc"]["result"] == "not_checked"


@pytest.mark.parametrize("body", [b"\x00\xff" * 300, "Subject: \udcff".encode("utf-8", "surrogateescape") + b"\n\n\xe9t\xe9"])
def test_any_bytes_get_a_verdict_or_clear_error(client, body):
    r = client.post("/v1/scan", content=body)
    assert r.status_code == 200
    d = r.json()
    assert d["verdict"] in {"clean", "incomplete", "tracked", "suspicious", "phishing", "recon"}
    if body.startswith(b"\x00"):
        assert d["errors"], "not-mail input must say so"


def test_empty_body_is_400(client):
    assert client.post("/v1/scan", content=b"").status_code == 400


def test_body_over_limit_is_413(client):
    big = b"Subject: big\r\n\r\n" + b"x" * (MAX_BODY + 10)
    assert client.post("/v1/scan", content=big).status_code == 413

    def chunks():  # no Content-Length: the limit must hold while reading
        for _ in range(20):
            yield b"y" * 100_000

    r = client.post("/v1/scan", content=chunks())
    assert r.status_code == 413
    assert metric(client, "lurelens_errors_total", reason="too_large") >= 2


def test_defuse_returns_a_safe_copy(client, lure):
    r = client.post("/v1/defuse", content=lure, params={"links": "defang"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("message/rfc822")
    assert "attachment" in r.headers["content-disposition"]
    out = r.content
    assert b"X-Lurelens-Defused" in out
    assert b"cdn.example.net/p/" not in out.replace(b"=\r\n", b"").replace(b"=\n", b"")
    # The copy scans with no remote fetch left.
    again = client.post("/v1/scan", content=out).json()
    assert again["remote_resources"] == [] and again["open_leaks"] == []


def test_defuse_rejects_unknown_link_mode(client, lure):
    assert client.post("/v1/defuse", content=lure, params={"links": "bogus"}).status_code == 422


def test_preview_is_sandboxed_html_without_remote_fetch(client, lure):
    r = client.post("/v1/preview", content=lure)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "sandbox" in r.headers["content-security-policy"]
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert "cdn.example.net" not in " ".join(re.findall(r"""(?i)(?:src|background)\s*=\s*["']?([^"'\s>]*)""", r.text))
    assert not re.search(r"(?i)url\(\s*['\"]?https?:", r.text)


def test_symbols(client):
    r = client.get("/v1/symbols")
    names = {s["name"]: s for s in r.json()}
    assert "TRACKER_PIXEL_HIDDEN" in names and names["RECON_BEACON"]["composite"]
    assert all(s["description"] for s in names.values())


def test_metrics_count_scans_by_verdict_across_workers(client, lure):
    before = metric(client, "lurelens_scans_total", verdict="recon", endpoint="scan")
    hist_before = metric(client, "lurelens_scan_seconds_count", endpoint="scan")
    with ThreadPoolExecutor(4) as ex:  # spread over both workers
        codes = list(ex.map(lambda _: client.post("/v1/scan", content=lure).status_code, range(6)))
    assert codes == [200] * 6
    assert metric(client, "lurelens_scans_total", verdict="recon", endpoint="scan") == before + 6
    assert metric(client, "lurelens_scan_seconds_count", endpoint="scan") >= hist_before + 6
    assert "lurelens_in_flight_requests" in client.get("/metrics").text


def test_security_headers_on_every_response(client):
    for path in ("/", "/healthz", "/static/app.js"):
        h = client.get(path).headers
        assert "default-src 'self'" in h["content-security-policy"]
        assert h["x-content-type-options"] == "nosniff"


def test_openapi_spec(client):
    spec = client.get("/openapi.json").json()
    assert {"/v1/scan", "/v1/defuse", "/v1/symbols", "/checkv2", "/healthz", "/metrics"} <= set(spec["paths"])
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert "message/rfc822" in spec["paths"]["/v1/scan"]["post"]["requestBody"]["content"]


def _rspamc() -> str:
    path = shutil.which("rspamc")
    require_component("rspamc (Debian's rspamd package)", None if path else "not on PATH; run scripts/install-rspamc.sh")
    return path


def _run_rspamc(api, *args: str, message: bytes) -> subprocess.CompletedProcess:
    return subprocess.run([_rspamc(), "-h", f"127.0.0.1:{api.port}", *args], input=message, check=False,
                          capture_output=True, timeout=60)


def test_checkv2_with_rspamc(api, lure):
    p = _run_rspamc(api, "-P", TOKEN, "-j", "-F", "news@example.com", "-r", "a@example.org", "-r", "b@example.org",
                    "-i", "192.0.2.7", "--helo", "mx.example.net", "symbols", message=lure)
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["action"] == "reject"
    assert d["score"] > d["required_score"] > 0
    assert d["symbols"]["RECON_BEACON"]["name"] == "RECON_BEACON"
    assert d["symbols"]["TRACKER_PIXEL_HIDDEN"]["options"]
    assert d["milter"]["add_headers"]["X-Lurelens-Verdict"]["value"] == "recon"
    assert "X-Lurelens-Verdict" in d["milter"]["remove_headers"]
    # The envelope rspamc sent in its headers arrived.
    assert d["lurelens"]["envelope"] == {"client_address": "192.0.2.7", "client_name": None, "helo": "mx.example.net",
                                         "mail_from": "news@example.com", "rcpt_to": ["a@example.org", "b@example.org"],
                                         "queue_id": None}
    assert d["lurelens"]["envelope"]["rcpt_to"] == ["a@example.org", "b@example.org"]
    # rspamc's own text output reads it as rspamd's.
    text = _run_rspamc(api, "-P", TOKEN, "symbols", message=lure).stdout.decode()
    assert "Action: reject" in text and "Symbol: RECON_BEACON" in text


def test_checkv2_plain_message_no_action(api):
    p = _run_rspamc(api, "-P", TOKEN, "-j", "symbols", message=plain_message())
    d = json.loads(p.stdout)
    assert d["action"] == "no action"
    assert d["milter"]["add_headers"]["X-Lurelens-Verdict"]["value"] in {"clean", "tracked"}


def test_checkv2_needs_the_token(api, lure):
    p = _run_rspamc(api, "-j", "symbols", message=lure)
    assert b"401" in p.stdout + p.stderr


def test_schemathesis_against_the_running_server(api, tmp_path):
    """Property-based requests from the OpenAPI spec (a bounded number): no 5xx, status codes and
    content types as documented, schema-violating requests refused."""
    st = Path(sys.executable).with_name("st")
    require_component("schemathesis", None if st.exists() else "not installed: pip install 'lurelens[test]'")
    p = subprocess.run(
        [str(st), "run", f"{api.url}/openapi.json", "-H", f"Authorization: Bearer {TOKEN}",
         "--max-examples", "8", "--max-time", "30", "--phases", "examples,coverage,fuzzing",
         "--checks", "all", "--exclude-checks", "positive_data_acceptance",
         "--generation-database", "none", "--seed", "1", "--no-color", "--request-timeout", "30"],
        check=False, capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert p.returncode == 0, p.stdout[-6000:]
    assert "No issues found" in p.stdout, p.stdout[-4000:]


def test_refuses_public_address_without_tokens(run_cli, tmp_path):
    _need_serve()
    code, _out, err = run_cli(["serve", "--host", "0.0.0.0", "--port", "1"], timeout=60)
    assert code == 2
    assert "without API tokens" in err


@pytest.mark.slow
def test_saturation_answers_503_and_stays_responsive(tmp_path, lure):
    """A scanner stalled (test-only setting) past the time limit: requests past the slots get 503 with
    Retry-After at once; the stalled ones 503 at the time limit; /healthz still answers quickly."""
    _need_serve()
    import httpx

    from lurelens.testing.server import ApiServer

    with ApiServer(["--max-pending", "2", "--request-timeout", "1.5"], env={"LURELENS_API_TEST_STALL": "3"},
                   log=tmp_path / "server.log") as srv:
        def post(_):
            t = time.monotonic()
            r = httpx.post(srv.url + "/v1/scan", content=lure, timeout=30)
            return r.status_code, r.headers.get("retry-after"), r.json().get("detail", ""), time.monotonic() - t

        with ThreadPoolExecutor(6) as ex:
            futs = [ex.submit(post, i) for i in range(6)]
            time.sleep(0.5)
            t = time.monotonic()
            health = httpx.get(srv.url + "/healthz", timeout=5)
            health_s = time.monotonic() - t
            results = [f.result() for f in futs]
        assert health.status_code == 200 and health_s < 2.0  # a blocked loop would wait out the 3 s stall
        assert health.json()["pending"] == 2
        assert all(code == 503 and retry for code, retry, _, _ in results), results
        busy = [r for r in results if "busy" in r[2]]
        late = [r for r in results if "no verdict within" in r[2]]
        assert len(busy) == 4 and len(late) == 2, results
        # Refused at once, not queued: every "busy" answer came before the first timed-out one (which
        # waited the 1.5 s limit). Relative, so a loaded machine does not make it flaky.
        assert max(r[3] for r in busy) < min(r[3] for r in late), results
        metrics = httpx.get(srv.url + "/metrics").text
        assert re.search(r'lurelens_errors_total\{reason="overloaded"\} 4\.0', metrics), metrics
        assert re.search(r'lurelens_errors_total\{reason="timeout"\} 2\.0', metrics), metrics
        # rspamd clients get "soft reject" (defer the mail), never a pass without a scan.
        d = httpx.post(srv.url + "/checkv2", content=lure, timeout=30).json()
        assert d["action"] == "soft reject" and "LURELENS_UNAVAILABLE" in d["symbols"], d
        # The slots come back once the stalled scans end (one scan thread: 2 x 3 s): the server recovers.
        deadline = time.monotonic() + 15
        while httpx.get(srv.url + "/healthz").json()["pending"] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert httpx.get(srv.url + "/healthz").json()["pending"] == 0
        # A new request is admitted again (and, the scanner still stalled, times out rather than "busy").
        r = httpx.post(srv.url + "/v1/scan", content=lure, timeout=30)
        assert r.status_code == 503 and "no verdict within" in r.json()["detail"]


def test_hits_from_the_hunt_store(tmp_path, lure):
    """``--db``: the hunt's store served read-only at /v1/hits (needs the store: the hunt extra)."""
    _need_serve()
    import httpx

    from lurelens.testing.server import ApiServer

    db = make_hunt_db(tmp_path / "hunt.db", [("@0", lure), ("@1", plain_message())])
    with ApiServer(["--db", str(db)], log=tmp_path / "server.log") as srv:
        hits = httpx.get(srv.url + "/v1/hits").json()["hits"]
        assert [(h["locator"], h["verdict"]) for h in hits] == [("@0", "recon")]
        every = httpx.get(srv.url + "/v1/hits", params={"all": "true"}).json()["hits"]
        assert {h["locator"] for h in every} == {"@0", "@1"}
        one = httpx.get(srv.url + f"/v1/hits/{hits[0]['id']}").json()
        assert one["verdict"] == "recon" and one["recipients"]
        assert httpx.get(srv.url + "/v1/hits/999999").status_code == 404


@pytest.fixture
def counting_http():
    """A loopback HTTP server that counts connections: the URL a message's beacon points at."""
    import http.server
    import threading

    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True

        def verify_request(self, request, client_address) -> bool:  # type: ignore[override]
            hits.append("connect")
            return True

    srv = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}", hits
    srv.shutdown()
    srv.server_close()


def test_server_never_fetches_a_url_from_the_message(client, counting_http):
    """Scan, render (headless Chromium, network locked), defuse and preview a message whose beacon,
    stylesheet and link point at a live loopback server: that server sees no connection at all."""
    from lurelens.render import BrowserNotAvailable, find_chromium
    from lurelens.testing import MessageBuilder

    try:
        find_chromium()
        problem = None if importlib.util.find_spec("playwright") else "playwright is not installed"
    except BrowserNotAvailable as exc:
        problem = str(exc)
    require_component("headless Chromium (render=true)", problem)
    base, hits = counting_http
    raw = MessageBuilder().html(
        f'<link rel="stylesheet" href="{base}/s.css"><p style="background:url({base}/bg.png)">Hello'
        f' <a href="{base}/click">read</a><img src="{base}/o.gif?u=x" width=1 height=1></p>').build()
    v = client.post("/v1/scan", content=raw).json()
    assert {r["host"] for r in v["remote_resources"]} == {"127.0.0.1"}
    rendered = client.post("/v1/scan", params={"render": "true"}, content=raw)
    assert rendered.status_code == 200, rendered.text
    assert any("/o.gif" in r["url"] for r in rendered.json()["requests"]), "the browser's attempts are listed"
    assert client.post("/v1/defuse", content=raw).status_code == 200
    assert client.post("/v1/preview", content=raw).status_code == 200
    time.sleep(0.5)
    assert hits == []


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_on_a_port_in_use_is_one_error_line(tmp_path, workers):
    """Another process listens on the port: ``lurelens serve`` says so in one line and exits 2 at
    once, instead of uvicorn's log and exit 1 (or, with workers, a supervisor that never serves)."""
    import socket

    _need_serve()
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        p = subprocess.run([str(Path(sys.executable).with_name("lurelens")), "serve", "--port", str(port), "--workers", workers],
                           capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert p.stderr.strip().splitlines() == [f"error: cannot listen on 127.0.0.1:{port}: address already in use"], p.stderr


def test_check_listen_lets_a_free_port_through():
    """The near miss: a port that was used and given back, and port 0, are free to listen on."""
    import socket

    _need_serve()
    from lurelens.adapters.api import check_listen

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert check_listen("127.0.0.1", port) is None
    assert check_listen("127.0.0.1", 0) is None
    assert check_listen("localhost", 0) is None
    assert check_listen("no-such-host.invalid", 8025) is not None
