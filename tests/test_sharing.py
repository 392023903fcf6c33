"""Sharing a campaign: the MISP event export (checked against the object templates and relationship
list that ship with pymisp, then converted to STIX 2.1 with misp-stix to show nothing is lost), the
TLP 2.0 marking ids of the STIX export (against the OASIS published ones), and ``lurelens intel
import`` closing the loop: a campaign exported as STIX or MISP, imported into a fresh intel
directory, makes ``scan`` flag a sibling lure and not a near miss. Bad files give a clear error."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy", reason="needs the hunt extra")
pytest.importorskip("stix2", reason="needs the campaigns extra")
pymisp = pytest.importorskip("pymisp", reason="needs the campaigns extra")

sys.path.insert(0, str(Path(__file__).resolve().parent))

from campaign_mail import RECIPIENTS, legit, lone_reuters, lure_a, lure_b, write_mbox  # noqa: E402

from lurelens import ScannerSettings  # noqa: E402
from lurelens.adapters.hunt import run_hunt  # noqa: E402
from lurelens.campaigns import Campaigns  # noqa: E402
from lurelens.campaigns.stix import TLP_LEVELS, pseudonym, stix_bundle  # noqa: E402
from lurelens.registry.intel_import import IntelImportError, import_file, read_indicators, url_prefix  # noqa: E402
from lurelens.store import Store  # noqa: E402

N = 4
KEY = "s3cret"
TEMPLATES = Path(pymisp.__file__).parent / "data" / "misp-objects"


def cli(*args, env: dict[str, str] | None = None):
    """The CLI in this process (typer's runner; a subprocess per call costs seconds on a busy machine).
    An exception other than the exit is a traceback a user would see: the test fails on it."""
    from typer.testing import CliRunner

    from lurelens.adapters.cli import app

    r = CliRunner().invoke(app, [str(a) for a in args], env=env)
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    return r


PDF = b"%PDF-1.4\n% draft of the article\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6300010000050001"
                    "0d0a2db40000000049454e44ae426082")


def with_attachments(raw: bytes) -> bytes:
    """The lure with a PDF "draft" (a payload: its hash is an indicator) and a PNG logo (not one)."""
    from email import message_from_bytes, policy

    msg = message_from_bytes(raw, policy=policy.default)
    msg.make_mixed()
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="draft.pdf")
    msg.add_attachment(PNG, maintype="image", subtype="png", filename="logo.png")
    return msg.as_bytes(policy=policy.SMTP)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    d = tmp_path_factory.mktemp("sharing")
    msgs = [make(i)[0] for i in range(N) for make in (lure_a, lure_b, legit)] + [lone_reuters()]
    msgs[0] = with_attachments(msgs[0])  # lure_a(0)
    write_mbox(d / "archive.mbox", msgs)
    store = Store(str(d / "store.db")).migrate()
    assert not run_hunt([str(d / "archive.mbox")], store, ScannerSettings(), jobs=1).source_errors
    camps = Campaigns(store)
    camps.update()
    by_claim = {tuple(c["claimed"]): c for c in camps.list(min_messages=2)}
    yield d, store, camps, by_claim[("reuters",)], by_claim[("bbc",)]
    store.close()


def export(built, campaign, fmt: str, out: Path, *extra) -> dict:
    d = built[0]
    proc = cli("export", "--db", d / "store.db", "--campaign", campaign["id"], "--format", fmt, "-o", out, *extra)
    assert proc.exit_code == 0, proc.stderr
    return json.loads(out.read_text())


# -- MISP ------------------------------------------------------------------------------------------

def _template(name: str) -> dict:
    return json.loads((TEMPLATES / "objects" / name / "definition.json").read_text())


def _check_against_templates(event: dict) -> None:
    """Every object as its shipped template wants it: known template, uuid and version, attributes
    that the template names with its MISP type, required attributes present, single-valued ones once;
    every reference a relationship type of the shipped list, pointing at an object of the event."""
    relationships = {v["name"] for v in json.loads((TEMPLATES / "relationships" / "definition.json").read_text())["values"]}
    uuids = {o["uuid"] for o in event["Object"]}
    for o in event["Object"]:
        t = _template(o["name"])
        assert o["template_uuid"] == t["uuid"] and int(o["template_version"]) == t["version"], o["name"]
        rels = [a["object_relation"] for a in o["Attribute"]]
        for a in o["Attribute"]:
            spec = t["attributes"].get(a["object_relation"])
            assert spec is not None, f"{o['name']} has no attribute {a['object_relation']}"
            assert a["type"] == spec["misp-attribute"], (o["name"], a["object_relation"], a["type"])
            if "values_list" in spec:
                assert a["value"] in spec["values_list"], (o["name"], a["object_relation"], a["value"])
            if not spec.get("multiple"):
                assert rels.count(a["object_relation"]) == 1, (o["name"], a["object_relation"])
        assert set(t.get("required", [])) <= set(rels), o["name"]
        if t.get("requiredOneOf"):
            assert set(t["requiredOneOf"]) & set(rels), o["name"]
        for r in o.get("ObjectReference", []):
            assert r["relationship_type"] in relationships, r["relationship_type"]
            assert r["referenced_uuid"] in uuids


def test_misp_event_follows_the_pymisp_templates(built, tmp_path):
    import jsonschema

    _d, _store, _camps, reuters, bbc = built
    out1, out2 = tmp_path / "a.json", tmp_path / "b.json"
    doc = export(built, reuters, "misp", out1, "--pseudonym-key", KEY)
    export(built, reuters, "misp", out2, "--pseudonym-key", KEY)
    assert out1.read_bytes() == out2.read_bytes()  # deterministic: uuids and order from the content
    schema = json.loads((Path(pymisp.__file__).parent / "data" / "schema-lax.json").read_text())
    jsonschema.Draft4Validator(schema).validate(doc)
    ev = doc["Event"]
    _check_against_templates(ev)
    loaded = pymisp.MISPEvent()
    loaded.load(json.loads(out1.read_text()))  # pymisp reads it back as an event with template-bound objects
    assert len(loaded.objects) == len(ev["Object"]) and all(o._known_template for o in loaded.objects)

    names = [o["name"] for o in ev["Object"]]
    assert names.count("email") == reuters["messages"] == N
    assert {"tracking-id", "domain-ip", "url", "organization", "annotation"} <= set(names)
    tags = {t["name"] for t in ev["Tag"]}
    assert "tlp:amber+strict" in tags and ev["distribution"] == "0"
    assert 'misp-galaxy:mitre-attack-pattern="Spearphishing Link - T1598.003"' in tags
    assert 'misp-galaxy:mitre-attack-pattern="Impersonation - T1656"' in tags
    by_uuid = {o["uuid"]: o for o in ev["Object"]}

    def value(o, rel):
        return [a["value"] for a in o["Attribute"] if a["object_relation"] == rel]

    emails = [o for o in ev["Object"] if o["name"] == "email"]
    for e in emails:
        refs = {(r["relationship_type"], by_uuid[r["referenced_uuid"]]["name"], (value(by_uuid[r["referenced_uuid"]], "name")
                 or value(by_uuid[r["referenced_uuid"]], "domain") or value(by_uuid[r["referenced_uuid"]], "url") or [""])[0])
                for r in e["ObjectReference"]}
        assert ("beacons-to", "domain-ip", "px.newsdesk-metrics.net") in refs
        assert ("beacons-to", "url", "https://px.newsdesk-metrics.net/o/") in refs
        assert ("impersonates", "organization", "Reuters") in refs
        assert ("targets", "organization", "corp.example.org") in refs
        assert value(e, "message-id") and value(e, "subject") and value(e, "send-date") and value(e, "from-display-name")
        # Only the sender is an IDS indicator in the e-mail object; the recipients never are.
        assert {a["object_relation"] for a in e["Attribute"] if a["to_ids"]} == {"from"}
    (track,) = [o for o in ev["Object"] if o["name"] == "tracking-id"]
    assert value(track, "id") == ["px.newsdesk-metrics.net/o/{token}.gif"] and value(track, "hostname") == ["px.newsdesk-metrics.net"]
    ids = {(a["type"], a["value"]) for o in ev["Object"] for a in o["Attribute"] if a["to_ids"]}
    assert ("domain", "px.newsdesk-metrics.net") in ids and ("url", "https://px.newsdesk-metrics.net/o/") in ids
    assert not any(o["name"] == "organization" and a["to_ids"] for o in ev["Object"] for a in o["Attribute"])
    assert "reuters.com" not in {v for _t, v in ids}  # the impersonated outlet's real domain is no indicator
    # Attachments: a file object each, contained in the e-mail; only the non-image one is an indicator.
    files = {value(o, "filename")[0]: o for o in ev["Object"] if o["name"] == "file"}
    assert set(files) == {"draft.pdf", "logo.png"}
    assert ("sha256", hashlib.sha256(PDF).hexdigest()) in ids and ("sha256", hashlib.sha256(PNG).hexdigest()) not in ids
    assert sum(r["relationship_type"] == "contains" for e in emails for r in e["ObjectReference"]) == 2

    # Recipients: the STIX export's keyed pseudonyms, in clear only when asked (with each token then).
    text = out1.read_text()
    assert not any(r in text for r in RECIPIENTS)
    got = {a["value"] for e in emails for a in e["Attribute"] if a["object_relation"] == "to"}
    assert got == {pseudonym(r, KEY.encode()) for r in reuters_recipients(built)}
    clear = export(built, reuters, "misp", tmp_path / "clear.json", "--include-recipients", "--tlp", "green")["Event"]
    assert clear["distribution"] == "2" and "tlp:green" in {t["name"] for t in clear["Tag"]}
    got = {a["value"] for o in clear["Object"] if o["name"] == "email" for a in o["Attribute"] if a["object_relation"] == "to"}
    assert got == set(reuters_recipients(built))
    tokens = [o for o in clear["Object"] if o["name"] == "tracking-id" and "{token}" not in value(o, "id")[0]]
    assert len(tokens) == N and all(any(r in value(o, "description")[0] for r in RECIPIENTS) for o in tokens)
    _check_against_templates(clear)
    # The BBC campaign's Reply-To domain is its infrastructure: an indicator, and in each e-mail object.
    bbc_ev = export(built, bbc, "misp", tmp_path / "bbc.json", "--pseudonym-key", KEY)["Event"]
    _check_against_templates(bbc_ev)
    bbc_ids = {(a["type"], a["value"]) for o in bbc_ev["Object"] for a in o["Attribute"] if a["to_ids"]}
    assert ("domain", "newsroom-contact.org") in bbc_ids
    assert all(any(a["object_relation"] == "reply-to" for a in o["Attribute"]) for o in bbc_ev["Object"] if o["name"] == "email")


def reuters_recipients(built) -> list[str]:
    return built[2].get(built[3]["id"])["recipients"]


def test_misp_event_converts_to_stix_with_nothing_lost(built, tmp_path):
    """misp-stix (MISP's own converter) turns the event into STIX 2.1: every attribute of every
    e-mail, tracking-id and organization (the impersonated outlet, the targets) object is still
    there, and so is every beacons-to / impersonates / targets relationship."""
    conv = pytest.importorskip("misp_stix_converter", reason="needs the test extra (misp-stix)")
    for camp in built[3:]:
        ev = export(built, camp, "misp", tmp_path / f"{camp['id']}.json", "--pseudonym-key", KEY)
        parser = conv.MISPtoSTIX21Parser()
        parser.parse_misp_event(ev)
        bundle = json.loads(parser.bundle.serialize())
        assert not any(parser.errors.values()), parser.errors
        objs = {o["id"]: o for o in bundle["objects"]}

        def derived(uuid: str) -> list[dict]:
            """The STIX objects made from one MISP object (same uuid) and the observables they reference."""
            out = [o for i, o in objs.items() if i.endswith("--" + uuid)]
            refs = [r for o in out for k, v in o.items() if k.endswith("_refs") or k.endswith("_ref")
                    for r in (v if isinstance(v, list) else [v])]
            return out + [objs[r] for r in refs if r in objs]

        def found(value: str, blob: str) -> bool:
            if value in blob:
                return True
            if value[:4].isdigit() and "T" in value:  # a datetime: STIX writes it in Z form
                return value.replace("+00:00", "Z") in blob or value.replace("+00:00", ".000Z") in blob
            return False

        checked = 0
        for o in ev["Event"]["Object"]:
            if o["name"] not in ("email", "tracking-id", "organization"):
                continue
            blob = json.dumps(derived(o["uuid"]), ensure_ascii=False)
            for a in o["Attribute"]:
                assert found(a["value"], blob), f"{o['name']}/{a['object_relation']} {a['value']!r} lost"
                checked += 1
            for r in o.get("ObjectReference", []):
                assert any(s.get("type") == "relationship" and s["relationship_type"] == r["relationship_type"]
                           and s["source_ref"].endswith(o["uuid"]) and s["target_ref"].endswith(r["referenced_uuid"])
                           for s in objs.values()), (o["name"], r["relationship_type"])
        assert checked > 10 * camp["messages"]
        rels = {s["relationship_type"] for s in objs.values() if s["type"] == "relationship"}
        assert {"beacons-to", "impersonates", "targets"} <= rels
        # misp-stix maps the tlp:amber+strict tag to the same OASIS marking the STIX export uses.
        assert TLP_LEVELS["amber+strict"] in objs


# -- TLP 2.0 ids -----------------------------------------------------------------------------------

# The OASIS TLP 2.0 marking definitions: oasis-open/cti-stix-common-objects,
# extension-definition-specifications/tlp-2.0/marking-definition.json (commit 43be3e67dfe1).
OASIS_TLP2 = {
    "clear": ("marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", "TLP:CLEAR"),
    "green": ("marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", "TLP:GREEN"),
    "amber": ("marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", "TLP:AMBER"),
    "amber+strict": ("marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", "TLP:AMBER+STRICT"),
    "red": ("marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", "TLP:RED"),
}
OASIS_TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"


@pytest.mark.parametrize("level", sorted(OASIS_TLP2))
def test_stix_tlp_markings_are_the_oasis_tlp2_objects(built, level):
    summary = built[2].get(built[3]["id"])
    bundle = stix_bundle(summary, [], tlp=level, key=b"k")
    (mark,) = [o for o in bundle["objects"] if o["type"] == "marking-definition"]
    mid, name = OASIS_TLP2[level]
    # The published object exactly (no other property: a changed copy would be a different marking).
    assert mark == {"type": "marking-definition", "spec_version": "2.1", "id": mid, "created": "2022-10-01T00:00:00.000Z",
                    "name": name, "extensions": {OASIS_TLP2_EXTENSION: {"extension_type": "property-extension",
                                                                        "tlp_2_0": level}}}
    assert all(o.get("object_marking_refs") == [mid] for o in bundle["objects"] if o["type"] not in ("marking-definition",)
               and "created_by_ref" in o)
    # A second, independent copy of the published ids: the one MISP's converter ships.
    mapping = pytest.importorskip("misp_stix_converter.misp_stix_mapping", reason="needs misp-stix")
    theirs = mapping.TLP2MarkingDefinitions.by_uuid(mid)
    assert theirs is not None and theirs.name == name


def test_stix_export_carries_attachment_hashes(built, tmp_path):
    validator = pytest.importorskip("stix2validator", reason="needs the campaigns extra")
    bundle = export(built, built[3], "stix", tmp_path / "s.json", "--pseudonym-key", KEY)
    results = validator.validate_instance(bundle, validator.ValidationOptions(strict=True))
    assert results.is_valid and not results.warnings, [str(e) for e in (results.errors or []) + (results.warnings or [])]
    pdf, png = hashlib.sha256(PDF).hexdigest(), hashlib.sha256(PNG).hexdigest()
    patterns = {o["pattern"] for o in bundle["objects"] if o["type"] == "indicator"}
    assert f"[file:hashes.'SHA-256' = '{pdf}']" in patterns and not any(png in p for p in patterns)
    files = [o for o in bundle["objects"] if o["type"] == "file"]
    assert [(f["name"], f["hashes"]["SHA-256"]) for f in files] == [("draft.pdf", pdf)]
    (obs,) = [o for o in bundle["objects"] if o["type"] == "observed-data"]
    assert files[0]["id"] in obs["object_refs"]


def test_unknown_tlp_is_refused(built, tmp_path):
    proc = cli("export", "--db", built[0] / "store.db", "--campaign", built[3]["id"], "--format", "misp",
               "-o", tmp_path / "x.json", "--tlp", "white")
    assert proc.exit_code == 2 and "--tlp is one of" in proc.stderr and not (tmp_path / "x.json").exists()


# -- intel import: the loop closes ----------------------------------------------------------------

def _intel(proc) -> list[dict]:
    assert proc.exit_code in (0, 1), proc.stderr
    return [f for f in json.loads(proc.stdout)["findings"] if f["symbol"].startswith("INTEL_")]


@pytest.mark.parametrize("fmt", ["stix", "misp"])
def test_intel_import_round_trip(built, tmp_path, fmt):
    _d, _s, _c, reuters, _bbc = built
    exported = tmp_path / f"campaign.{fmt}.json"
    export(built, reuters, fmt, exported, "--pseudonym-key", KEY)
    intel = tmp_path / "intel"  # fresh: does not exist yet
    proc = cli("intel", "import", exported, "--dir", intel, "--json")
    assert proc.exit_code == 0, proc.stderr
    res = json.loads(proc.stdout)
    assert res["format"] == fmt and res["by_type"]["domain"] >= 2 and res["by_type"]["url"] == 1
    assert res["by_type"]["sha256"] == 1  # the PDF's hash; not the logo's
    written = Path(res["file"]).read_text()
    # Recipients (in clear or pseudonymised) are never imported as indicators.
    assert "corp.example.org" not in written and "r-" not in written.split("\n", 1)[1].split(",")[1]
    # Importing the same file again replaces its list rather than adding another.
    assert cli("intel", "import", exported, "--dir", intel).exit_code == 0
    assert len(list(intel.glob("*.csv"))) == 1

    env = {"LURELENS_INTEL_DIR": str(intel)}
    sibling = tmp_path / "sibling.eml"  # a new message of the campaign: a new recipient token, new sender
    sibling.write_bytes(with_attachments(lure_a(77)[0]))
    hits = _intel(cli("scan", "--json", sibling, env=env))
    symbols = {f["symbol"] for f in hits}
    assert {"INTEL_RESOURCE_DOMAIN_LISTED", "INTEL_URL_LISTED", "INTEL_ATTACHMENT_HASH_LISTED"} <= symbols, hits
    assert all(Path(res["file"]).name in f["evidence"] for f in hits)
    # A near miss: the same look and text, but a beacon host (and relay) the campaign never used.
    near = tmp_path / "near.eml"
    near.write_bytes(lure_a(77)[0].replace(b"px.newsdesk-metrics.net", b"px.newsdesk-metrics.org")
                     .replace(b"94.130.10.", b"198.51.100."))
    assert _intel(cli("scan", "--json", near, env=env)) == []
    # And without the imported list, the sibling matches nothing either (the hit is the import's).
    assert _intel(cli("scan", "--json", sibling, env={"LURELENS_INTEL_DIR": str(tmp_path / "empty")})) == []


BAD_FILES = {
    "not-json.json": b"this is not json {",
    "binary.json": bytes(range(256)) * 4,
    "empty.json": b"",
    "numbers.json": b"[1, 2, 3]",
    "deep.json": b"[" * 200000,
    "stix20.json": json.dumps({"type": "bundle", "id": "bundle--0", "spec_version": "2.0", "objects": [
        {"type": "indicator", "id": "indicator--0", "spec_version": "2.0", "pattern": "[domain-name:value = 'x.example']"}]}).encode(),
    "and-only.json": json.dumps({"type": "bundle", "id": "bundle--1", "objects": [
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--1", "pattern_type": "stix",
         "pattern": "[domain-name:value = 'a.example' AND url:value = 'http://a.example/x']"}]}).encode(),
    "misp-no-ids.json": json.dumps({"Event": {"info": "x", "uuid": "u", "Attribute": [
        {"type": "domain", "value": "a.example", "to_ids": False}]}}).encode(),
    "misp-bad-values.json": json.dumps({"Event": {"info": "x", "uuid": "u", "Attribute": [
        {"type": "domain", "value": "not a domain", "to_ids": True}, {"type": "ip-dst", "value": "0.0.0.0/0", "to_ids": True},
        {"type": "sha256", "value": "abc", "to_ids": True}]}}).encode(),
    "other.json": json.dumps({"hello": "world"}).encode(),
}


def test_intel_import_bad_files_give_a_clear_error(tmp_path):
    intel = tmp_path / "intel"
    for name, data in BAD_FILES.items():
        p = tmp_path / name
        p.write_bytes(data)
        r = cli("intel", "import", p, "--dir", intel)
        assert r.exit_code == 2, (name, r.stdout, r.stderr)
        assert "error:" in r.stderr and "Traceback" not in r.stderr, (name, r.stderr)
    r = cli("intel", "import", tmp_path / "missing.json", "--dir", intel)
    assert r.exit_code == 2 and "cannot read" in r.stderr
    assert not intel.exists() or not list(intel.iterdir())  # nothing half-written
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"Event": {"info": "x", "uuid": "u", "Attribute": [{"type": "domain", "value": "a.example", "to_ids": True}]}}))
    r = cli("intel", "import", good, "--dir", intel, "--name", "../escape")
    assert r.exit_code == 2 and "plain file name" in r.stderr and not (tmp_path / "escape.csv").exists()
    assert cli("intel", "import", good, "--dir", intel, "--name", "mine").exit_code == 0
    assert (intel / "mine.csv").read_text().splitlines()[1].startswith("domain,a.example,MISP event u")
    # A directory that cannot be created: a clear error too.
    (tmp_path / "afile").write_text("x")
    r = cli("intel", "import", good, "--dir", tmp_path / "afile" / "sub")
    assert r.exit_code == 2 and "cannot write" in r.stderr


# -- the pattern reader ----------------------------------------------------------------------------

def test_stix_patterns_and_observables():
    sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    bundle = {"type": "bundle", "id": "bundle--x", "objects": [
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--1", "pattern_type": "stix",
         "pattern": "[domain-name:value = 'evil.example' OR domain-name:value = 'bad.example'] OR [ipv4-addr:value = '203.0.113.0/24']"},
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--2", "pattern_type": "stix",
         "pattern": f"[file:hashes.'SHA-256' = '{sha}'] WITHIN 600 SECONDS"},
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--3", "pattern_type": "stix",
         "pattern": "[url:value LIKE '%cdn.track.example/open?u=%'] OR [url:value = 'http://obrien.example/o\\'x']"},
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--4", "pattern_type": "stix",
         "pattern": "[email-message:from_ref.value = 'desk@lure.example' OR email-message:to_refs[*].value = 'victim@corp.example']"},
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--5", "pattern_type": "stix",
         "pattern": "[domain-name:value != 'fine.example'] OR [domain-name:value MATCHES '^x']"},
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--6", "pattern_type": "sigma", "pattern": "title: x"},
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--7", "pattern_type": "stix", "revoked": True,
         "pattern": "[domain-name:value = 'revoked.example']"},
        {"type": "ipv6-addr", "spec_version": "2.1", "id": "ipv6-addr--1", "value": "2001:db8::1"},
        {"type": "email-addr", "spec_version": "2.1", "id": "email-addr--s", "value": "Sender@Lure2.example"},
        {"type": "email-addr", "spec_version": "2.1", "id": "email-addr--r", "value": "someone@corp.example"},
        {"type": "email-message", "spec_version": "2.1", "id": "email-message--1", "is_multipart": False,
         "from_ref": "email-addr--s", "to_refs": ["email-addr--r"]},
        {"type": "file", "spec_version": "2.1", "id": "file--1", "hashes": {"MD5": "098f6bcd4621d373cade4e832627b4f6"}},
    ]}
    res = read_indicators(json.dumps(bundle).encode())
    got = {(i.type, i.value) for i in res.indicators}
    assert got == {("domain", "evil.example"), ("domain", "bad.example"), ("ip", "203.0.113.0/24"), ("sha256", sha),
                   ("url", "cdn.track.example/open"), ("url", "obrien.example/o'x"), ("email", "desk@lure.example"),
                   ("ip", "2001:db8::1"), ("email", "sender@lure2.example"), ("md5", "098f6bcd4621d373cade4e832627b4f6")}
    assert res.skipped["email-addr not a sender (recipients are never imported)"] == 1
    assert res.skipped["revoked indicator"] == 1 and res.skipped["indicator with pattern_type sigma"] == 1
    assert any(k.startswith("STIX comparison") for k in res.skipped) and any("to_refs" in k for k in res.skipped)


def test_url_prefix_of_templates():
    assert url_prefix("https://px.example.net/o/") == "px.example.net/o/"
    assert url_prefix("px.example.net/o/ab") == "px.example.net/o/"
    assert url_prefix("cdn.example.net/open?u=") == "cdn.example.net/open"
    assert url_prefix("px.exam") is None  # the wildcard is in the host
    with pytest.raises(IntelImportError):
        read_indicators(b'{"type": "bundle", "id": "bundle--e", "objects": []}')


def test_misp_composite_types():
    ev = {"Event": {"info": "third party", "uuid": "e1", "Attribute": [
        {"type": "domain|ip", "value": "a.example|192.0.2.7", "to_ids": True},
        {"type": "ip-dst|port", "value": "192.0.2.8|443", "to_ids": "1"},
        {"type": "filename|sha1", "value": "x.doc|a94a8fe5ccb19ba61c4c0873d391e987982fbbd3", "to_ids": True},
        {"type": "email-dst", "value": "victim@corp.example", "to_ids": True},
        {"type": "link", "value": "https://report.example/x", "to_ids": True},
        {"type": "domain", "value": "deleted.example", "to_ids": True, "deleted": True}],
        "Object": [{"name": "url", "Attribute": [{"type": "url", "object_relation": "url", "value": "hxxp://evil[.]example/p", "to_ids": True}]}]}}
    res = read_indicators(json.dumps(ev).encode())
    assert {(i.type, i.value) for i in res.indicators} == {
        ("domain", "a.example"), ("ip", "192.0.2.7"), ("ip", "192.0.2.8"), ("sha1", "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"),
        ("url", "evil.example/p")}
    assert res.skipped["MISP type email-dst"] == 1 and res.skipped["MISP type link"] == 1


def test_misp_event_of_a_message_without_headers(built):
    """A stored member with no From, To, Subject or Date still gives a valid e-mail object."""
    from lurelens.campaigns.misp import misp_event

    summary = json.loads(json.dumps(built[2].get(built[3]["id"])))
    m = summary["messages"][0]
    m.update({"from": None, "from_name": None, "subject": None, "date": None, "recipients": []})
    ev = misp_event(summary, [], None, key=b"k")["Event"]
    _check_against_templates(ev)
    assert any(a["object_relation"] == "header" and m["sha256"] in a["value"]
               for o in ev["Object"] if o["name"] == "email" for a in o["Attribute"])


def test_import_reader_never_raises_anything_else():
    """Any JSON, and any STIX- or MISP-shaped JSON with arbitrary values: indicators or IntelImportError."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40))
    anyjson = st.recursive(scalars, lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(st.text(max_size=8), c, max_size=4)),
                           max_leaves=20)
    pattern = st.one_of(st.text(max_size=80), st.builds(lambda t, p, v: f"[{t}:{p} = '{v}']",
                        st.sampled_from(["domain-name", "url", "ipv4-addr", "file", "email-message", "x"]),
                        st.sampled_from(["value", "hashes.MD5", "from_ref.value", "to_refs[0].value"]), st.text(max_size=30)))
    stix = st.builds(lambda objs: {"type": "bundle", "id": "bundle--f", "objects": objs},
                     st.lists(st.one_of(anyjson, st.fixed_dictionaries({"type": st.just("indicator"), "spec_version": st.just("2.1"),
                                                                        "pattern": pattern, "pattern_type": st.sampled_from(["stix", "snort"])})),
                              max_size=5))
    misp = st.builds(lambda attrs: {"Event": {"info": "f", "uuid": "u", "Attribute": attrs}},
                     st.lists(st.one_of(anyjson, st.fixed_dictionaries({"type": st.sampled_from(["domain", "ip-dst|port", "url", "md5", "x"]),
                                                                        "value": scalars, "to_ids": scalars})), max_size=5))

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.one_of(anyjson, stix, misp))
    def check(doc):
        try:
            res = read_indicators(json.dumps(doc).encode())
        except IntelImportError:
            return
        assert res.indicators

    check()


def test_import_skips_indicators_that_would_match_everything():
    """A partner's bundle may carry values that would flag most mail here: public suffixes, free-mail
    and shared-platform domains, loopback or private relays, wide ranges. They are skipped with a
    reason; the specific ones beside them are kept."""
    pattern = " OR ".join(f"[{t}:value = '{v}']" for t, v in [
        ("domain-name", "co.uk"), ("domain-name", "github.io"), ("domain-name", "gmail.com"), ("domain-name", "cloudfront.net"),
        ("ipv4-addr", "127.0.0.1"), ("ipv4-addr", "10.1.2.3"), ("ipv4-addr", "192.168.0.0/16"), ("ipv6-addr", "::1"),
        ("ipv6-addr", "::ffff:10.0.0.1"), ("ipv4-addr", "45.0.0.0/8"),
        ("domain-name", "lure.example"), ("domain-name", "d111.cloudfront.net"), ("ipv4-addr", "198.51.100.0/24")])
    bundle = {"type": "bundle", "id": "bundle--w", "objects": [
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--w", "pattern_type": "stix", "pattern": pattern}]}
    res = read_indicators(json.dumps(bundle).encode())
    assert {(i.type, i.value) for i in res.indicators} == {
        ("domain", "lure.example"), ("domain", "d111.cloudfront.net"), ("ip", "198.51.100.0/24")}
    assert sum(n for k, n in res.skipped.items() if "would match too much" in k) == 10
    ev = {"Event": {"info": "x", "uuid": "u", "Attribute": [{"type": "domain", "value": "com.au", "to_ids": True}]}}
    with pytest.raises(IntelImportError, match="public suffix"):
        read_indicators(json.dumps(ev).encode())


@pytest.mark.parametrize("doc", [
    {"type": "bundle", "id": "bundle--t", "objects": 5},
    {"type": "indicator", "spec_version": "2.1", "objects": True},
    {"Event": {"info": "x", "Attribute": 5}},
    {"Event": {"info": "x", "Attribute": [], "Object": 5}},
    {"Event": {"info": "x", "Attribute": [], "Object": [{"name": "o", "Attribute": 7}]}},
    {"response": [{"Event": {"info": "x", "Object": [{"name": "o", "Attribute": {"a": 1}}]}}]},
])
def test_import_wrong_json_types_give_a_clear_error(doc):
    with pytest.raises(IntelImportError):
        read_indicators(json.dumps(doc).encode())


def test_import_refuses_what_is_not_a_regular_file(tmp_path):
    """A FIFO would block the import and /dev/zero would fill memory: both refused at once."""
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    for p in (fifo, Path("/dev/zero")):
        r = cli("intel", "import", p, "--dir", tmp_path / "intel")
        assert r.exit_code == 2 and "not a regular file" in r.stderr, r.stderr


def test_two_event_lists_sharing_their_first_events_get_two_files(tmp_path):
    """A REST response of events [A, B, C] and another of [A, B, C, D]: the names of their files once
    were the first 80 characters of the joined uuids, so the second import replaced the first."""
    def event(uuid: str, host: str) -> dict:
        return {"Event": {"info": uuid, "uuid": uuid, "Attribute": [{"type": "domain", "value": host, "to_ids": True}]}}

    a, b, c, d = (f"5f0c{i}e6a-1c2d-4e5f-8a9b-0c1d2e3f4a5{i}" for i in range(4))
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    first.write_text(json.dumps({"response": [event(a, "a.example"), event(b, "b.example"), event(c, "c.example")]}))
    second.write_text(json.dumps({"response": [event(a, "a.example"), event(b, "b.example"), event(c, "c.example"),
                                               event(d, "d.example")]}))
    intel = tmp_path / "intel"
    r1, r2 = import_file(first, intel), import_file(second, intel)
    assert r1.path != r2.path and len(list(intel.glob("*.csv"))) == 2
    assert "c.example" in r1.path.read_text() and "d.example" in r2.path.read_text()
    # The same list again replaces its own file.
    assert import_file(first, intel).path == r1.path and len(list(intel.glob("*.csv"))) == 2
