"""``lurelens report`` opened in the project's headless Chromium (Debian's, driven by Playwright): one
self-contained file that makes zero network requests, whose charts render (non-empty inline SVG),
where a hostile subject or sender name stays text, and that lists per campaign every recipient and
what opening the lure would have told about them. LURELENS_UPDATE_SCREENSHOTS=1 refreshes
docs/campaign-report.png.

Fails under ``make test`` when Chromium, Playwright or matplotlib is missing."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, require_component

pytest.importorskip("sqlalchemy", reason="needs the hunt extra")

sys.path.insert(0, str(Path(__file__).resolve().parent))

from campaign_mail import ARTICLE, RECIPIENTS, _date, legit, lure_a, lure_b, lure_c, write_mbox  # noqa: E402

from lurelens import ScannerSettings  # noqa: E402
from lurelens.adapters.hunt import run_hunt  # noqa: E402
from lurelens.store import Store  # noqa: E402
from lurelens.testing import MessageBuilder  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.services]

N = 5
HOSTILE_NAME = "<img src=x onerror=alert(1)> $x$ <script>document.title=1</script>"
HOSTILE_SUBJECT = "<script>document.title='pwned'</script> & <b>bold</b>"


def hostile(i: int) -> bytes:
    """A lure whose sender name and subject are markup: two of them, one beacon host, so they form
    a campaign whose name (and chart labels) come from the hostile From name."""
    rcpt = RECIPIENTS[i]
    return (MessageBuilder().header("From", f'"{HOSTILE_NAME}" <x{i}@mailer{i}.evil-example.biz>')
            .header("To", rcpt).subject(HOSTILE_SUBJECT).header("Message-ID", f"<h{i}@evil-example.biz>")
            .header("Date", _date(i + 9))
            .html(f"<p>{ARTICLE}</p><p><a href=\"https://www.reuters.com/world/story-{i}\">Read the story</a></p>"
                  f'<img src="https://px.evil-metrics.biz/o/{hashlib.md5(rcpt.encode()).hexdigest()}.gif" '
                  'width="1" height="1" style="display:none">')
            .build())


def _browser_problem() -> str | None:
    missing = [m for m in ("playwright", "matplotlib") if importlib.util.find_spec(m) is None]
    if missing:
        return f"{', '.join(missing)} not installed (pip install 'lurelens[render,report]')"
    from lurelens.render import BrowserNotAvailable, find_chromium

    try:
        return None if find_chromium() else "no Chromium found"
    except BrowserNotAvailable as exc:
        return f"no Chromium: {exc}"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    require_component("Chromium, Playwright and matplotlib (the report extra)", _browser_problem())
    d = tmp_path_factory.mktemp("report")
    msgs = [m(i)[0] for i in range(N) for m in (lure_a, lure_b, lure_c, legit)] + [hostile(0), hostile(1)]
    write_mbox(d / "archive.mbox", msgs)
    store = Store(str(d / "store.db")).migrate()
    try:
        assert not run_hunt([str(d / "archive.mbox")], store, ScannerSettings(), jobs=1).source_errors
    finally:
        store.close()
    out = d / "report.html"
    proc = subprocess.run([sys.executable, "-m", "lurelens.adapters.cli", "report", "--db", str(d / "store.db"), "-o", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    # Standard error is not a terminal here: no progress bar, only the one line saying what was written.
    assert proc.stderr.strip().startswith("wrote ") and "\x1b[" not in proc.stderr
    return out


@pytest.fixture(scope="module")
def opened(report):
    from playwright.sync_api import sync_playwright

    from lurelens.render import find_chromium

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=find_chromium(), headless=True, chromium_sandbox=False)
        ctx = b.new_context(viewport={"width": 1280, "height": 900})
        page = ctx.new_page()
        requests: list[str] = []
        dialogs: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.on("dialog", lambda dlg: (dialogs.append(dlg.message), dlg.dismiss()))
        # Anything but the file itself is aborted (never sent), and still recorded above.
        ctx.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file://") else r.abort())
        page.goto(report.as_uri())
        page.wait_for_load_state("load")
        yield page, requests, dialogs
        ctx.close()
        b.close()


def test_self_contained_zero_network_requests(report, opened):
    page, requests, _dialogs = opened
    assert requests == [report.as_uri()]
    text = report.read_text(encoding="utf-8")
    assert "<script" not in text.lower() and "<link" not in text.lower()
    assert "http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'" in text


def test_charts_render(opened):
    page, _r, _d = opened
    charts = page.evaluate("""[...document.querySelectorAll('.chart svg')].map(s => {
        const r = s.getBoundingClientRect();
        return {w: r.width, h: r.height, marks: s.querySelectorAll('path, use').length, texts: s.querySelectorAll('text').length};
    })""")
    assert len(charts) == 4
    for c in charts:
        assert c["w"] > 300 and c["h"] > 100 and c["marks"] > 10 and c["texts"] > 3


def test_hostile_markup_stays_text(report, opened):
    page, _r, dialogs = opened
    assert page.title() == "lurelens campaign report" and dialogs == []
    assert page.evaluate("document.querySelectorAll('img, script, table b, section b, svg foreignObject').length") == 0
    body = page.inner_text("main")
    assert HOSTILE_SUBJECT in body  # shown as the characters it is made of
    assert HOSTILE_NAME in body
    # In the charts too: the campaign's name (from the From name) is a label, escaped in the SVG.
    labels = page.evaluate("[...document.querySelectorAll('.chart svg text')].map(t => t.textContent).join('\\n')")
    assert "<img src=x" in labels and "$x$" in labels


def test_every_recipient_and_what_opening_leaks(report, opened):
    page, _r, _d = opened
    section = page.inner_text("section.campaign:has(h3:text('Reuters'))")
    recipients = {RECIPIENTS[i % len(RECIPIENTS)] for i in range(N)}
    for r in recipients:
        assert r in section
    assert "which recipient opened it (the address, as md5, is in the URL)" in section
    assert "px.newsdesk-metrics.net" in section and "IP address" in section
    ranking = page.inner_text("table")
    assert ranking.index("Reuters") < ranking.index("BBC")  # ranked by threat (A scores highest)


def test_screenshot_kept_under_docs(opened, tmp_path):
    page, _r, _d = opened
    # Refreshed only when asked, so a test run leaves the checkout as it was.
    shot = (REPO / "docs" / "campaign-report.png" if os.environ.get("LURELENS_UPDATE_SCREENSHOTS") == "1"
            else tmp_path / "report.png")
    page.screenshot(path=str(shot), full_page=False)
    assert shot.stat().st_size > 10_000
    assert (REPO / "docs" / "campaign-report.png").exists()


def test_progress_bar_on_a_terminal_only(report, tmp_path):
    """On a terminal, standard error shows the steps as a rich progress bar (in a pipe, nothing but
    the line naming the file: checked by the fixture)."""
    import pty
    import select

    primary, secondary = pty.openpty()
    out = tmp_path / "again.html"
    proc = subprocess.Popen([sys.executable, "-m", "lurelens.adapters.cli", "report", "--db", str(report.parent / "store.db"),
                             "-o", str(out)], stdout=subprocess.DEVNULL, stderr=secondary, stdin=subprocess.DEVNULL,
                            env={**os.environ, "TERM": "xterm", "COLUMNS": "120"})
    os.close(secondary)
    seen = b""
    while True:
        ready, _w, _x = select.select([primary], [], [], 300)
        if not ready:
            break
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the terminal closed: the process is done
            break
        if not chunk:
            break
        seen += chunk
    assert proc.wait(timeout=300) == 0
    os.close(primary)
    text = seen.decode("utf-8", "replace")
    assert "report:" in text and "\x1b[" in text  # the bar, drawn with terminal control sequences
    assert out.stat().st_size > 10_000
