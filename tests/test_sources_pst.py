"""The Outlook .pst/.ost reader (lurelens[pst], libpff's binding) on real stores: the Enron sample
.pst and an Outlook.com .ost that the npm package pst-extractor (MIT) ships as its test data, fetched
by ``scripts/install-pst.sh sample`` under make test. Our folder walk is compared with the listing
that other reader (pst-extractor, a TypeScript port of java-libpst) made of the same file."""

from __future__ import annotations

import email
import email.policy
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from conftest import REPO, require_component
from lurelens.sources import display_name, iter_items, open_source

SAMPLES = Path(os.environ.get("LURELENS_PST_SAMPLES", REPO / ".venv" / "test-data" / "pst"))
ENRON = SAMPLES / "enron.pst"
OST = SAMPLES / "pstextractortest@outlook.com.ost"


@pytest.fixture(scope="module")
def pst_samples() -> Path:
    try:
        import pypff  # noqa: F401
    except ImportError as exc:
        require_component("libpff-python (the pst extra)", str(exc))
    missing = [p.name for p in (ENRON, OST, SAMPLES / "output.txt") if not p.is_file()]
    require_component("Outlook sample stores", f"{', '.join(missing)} not in {SAMPLES} "
                      "(bash scripts/install-pst.sh sample DIR)" if missing else None)
    return SAMPLES


def _listing(text: str, store: str) -> Counter:
    """(folder name, subject) pairs of one store in pst-extractor's output.txt: folder lines are
    ' |  | ... |- NAME', message lines ' ... |- Sender: X, Subject: Y', indented by depth."""
    section = text.split(f"./testdata/{store}\n", 1)[1].split(f"./testdata/{store} processed", 1)[0]
    stack: list[str] = []
    pairs: Counter = Counter()
    for line in section.splitlines():
        if "|- " not in line:
            continue
        depth = line.index("|- ") // 3
        name = line.split("|- ", 1)[1]
        if name.startswith("Sender: ") and ", Subject:" in name:
            pairs[(stack[depth - 1], name.split(", Subject:", 1)[1].strip())] += 1
        else:
            del stack[depth:]
            stack.append(name)
    return pairs


def _parse(data: bytes):
    return email.message_from_bytes(data, policy=email.policy.default)


def test_pst_folder_walk_matches_another_reader_and_keeps_transport_headers(pst_samples):
    items = list(iter_items([str(ENRON)]))
    assert items and all(it.error is None and it.data is not None for it in items)
    ours = Counter()
    received = 0
    for it in items:
        folder, ident = it.locator.rsplit("#", 1)
        assert ident.isdigit()
        msg = _parse(it.data)
        ours[(folder.rsplit("/", 1)[-1], " ".join((msg["Subject"] or "").split()))] += 1
        # Every Enron message has its header block stored: kept, not made up from properties.
        assert msg["Message-ID"] and "X-Lurelens-Converted" not in msg
        received += bool(msg["Received"])
    assert received >= 20  # the messages delivered over SMTP keep their Received trail
    theirs = _listing((pst_samples / "output.txt").read_text(), "enron.pst")
    assert sum(ours.values()) == sum(theirs.values()) == 71
    assert ours == Counter({(f, " ".join(s.split())): n for (f, s), n in theirs.items()})


def test_pst_locators_are_stable_and_partitions_cover_every_message_once(pst_samples):
    whole = [(it.locator, it.sha256) for it in iter_items([str(ENRON)])]
    src = open_source(str(ENRON))
    assert src.total() == 71
    parts = list(src.partitions(target=20))
    assert [p.estimated_messages for p in parts] == [20, 20, 20, 11]
    assert len({p.key for p in parts}) == 4 and parts[0].key == list(open_source(str(ENRON)).partitions(20))[0].key
    again = [(it.locator, it.sha256) for p in parts for it in p.read()]
    assert again == whole and len(set(whole)) == 71
    it = next(iter(parts[0].read()))
    assert display_name(it, "mail/enron.pst") == f"mail/enron.pst/{it.locator}"


def test_ost_skips_appointments_and_marks_mail_without_transport_headers(pst_samples):
    items = list(iter_items([str(OST)]))
    notes = Counter(it.note for it in items)
    assert notes["skipped: not mail (Outlook IPM.Appointment item)"] > 0
    mail = [it for it in items if it.data is not None]
    assert mail and all(it.locator.startswith("Root - Mailbox/IPM_SUBTREE/") for it in mail)
    welcome = [_parse(it.data) for it in mail if b"X-Lurelens-Converted: from Outlook .pst" in it.data]
    assert welcome, "the Outlook.com welcome message was stored without transport headers"
    assert all(m["From"] and m["Subject"] and m["Date"] for m in welcome)
    received = [_parse(it.data) for it in mail if b"X-Lurelens-Converted" not in it.data]
    assert received and all(m["Received"] for m in received)


def test_pst_in_a_directory_walk_and_a_damaged_store(pst_samples, tmp_path):
    (tmp_path / "good.pst").symlink_to(ENRON)
    (tmp_path / "torn.pst").write_bytes(ENRON.read_bytes()[:200_000])  # the index is past the cut
    (tmp_path / "junk.pst").write_bytes(b"!BDN" + b"\0" * 1000)
    items = list(iter_items([str(tmp_path)]))
    good = [it for it in items if it.locator.startswith(str(tmp_path / "good.pst") + "/")]
    assert len(good) == 71 and all(it.data for it in good)
    bad = [it for it in items if not it.locator.startswith(str(tmp_path / "good.pst"))]
    assert bad and all(it.data is None and it.error and it.error.startswith("unreadable") for it in bad)
    assert {it.locator.split(".pst")[0] for it in bad} >= {str(tmp_path / "junk")}


def test_without_the_extra_a_pst_is_an_error_never_clean(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pypff", None)  # import pypff raises ImportError
    p = tmp_path / "box.pst"
    p.write_bytes(b"!BDN" + b"\0" * 600)
    (it,) = list(iter_items([str(p)]))
    assert it.data is None and "lurelens[pst]" in it.error


@pytest.mark.slow
def test_hunt_a_pst_then_rerun_reads_nothing(pst_samples, tmp_path):
    db = tmp_path / "h.db"
    cmd = [sys.executable, "-m", "lurelens.adapters.cli", "hunt", str(ENRON), "--db", str(db), "--json", "-j", "1",
           "--partition-size", "30"]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=str(REPO))
    assert first.returncode == 0, first.stderr
    s = json.loads(first.stdout)
    assert s["stored"] == 71 and s["errors"] == 0 and s["partitions_scanned"] == 3
    second = json.loads(subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=str(REPO)).stdout)
    assert second["stored"] == 0 and second["partitions_unchanged"] == 3 and second["items_read"] == 0
