"""``lurelens report``: the campaigns of a hunt store as one self-contained HTML file for a CERT
analyst or a manager: campaigns ranked by threat, a timeline, who was targeted, the infrastructure
graph, and what opening the lures leaked (per campaign, per recipient).

The charts are matplotlib SVG written inline (no JavaScript at all), the page carries a Content
Security Policy that forbids every fetch and script, and every value from a message is escaped:
the file opens offline and a hostile subject stays text. Big stores are summarised, not dumped:
the detail sections cover the most threatening campaigns, so the file stays a few megabytes."""

from __future__ import annotations

import html
import io
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

__all__ = ["ReportLimits", "build_report", "campaign_leaks"]

# default-src does not cover <base> or form targets: both closed too.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
_PALETTE = ("#b2182b", "#ef8a62", "#2166ac", "#67a9cf", "#1b7837", "#7fbf7b", "#762a83", "#af8dc3",
            "#8c510a", "#d8b365", "#01665e", "#5ab4ac", "#555555")


@dataclass(frozen=True)
class ReportLimits:
    """How much of a big store the report shows in full (the rest is counted, not listed)."""

    table_rows: int = 300  # campaigns in the ranking table
    detailed: int = 25  # campaigns with a detail section
    chart_campaigns: int = 15  # campaigns in each chart
    recipients: int = 100  # recipients listed per detailed campaign
    hosts: int = 25  # hosts listed per detailed campaign
    label: int = 48  # characters of a name in a chart label


def _e(value: Any) -> str:
    """Escaped text for HTML content and attribute values."""
    return html.escape("" if value is None else str(value), quote=True)


def _short(text: str, n: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _day(iso: str | None) -> str | None:
    return iso[:10] if iso and re.match(r"^\d{4}-\d{2}-\d{2}", iso) else None


# -- data --------------------------------------------------------------------------------------


def campaign_leaks(store, summary: dict[str, Any]) -> dict[str, Any]:
    """What opening each member would have leaked: per host (messages, what it learns, tracker,
    how the recipient is encoded) and per recipient (their messages, the hosts their copy
    contacts, what those learn). Read from the stored verdicts' ``open_leaks``."""
    from lurelens.store.schema import StoredMessage

    m = StoredMessage.__table__
    ids = [x["id"] for x in summary["messages"]]
    leaks: dict[int, list[dict[str, Any]]] = {}
    with store.engine.connect() as conn:
        for i in range(0, len(ids), 500):
            q = select(m.c.id, m.c.report["open_leaks"]).where(m.c.id.in_(ids[i:i + 500]))
            for mid, value in conn.execute(q):
                leaks[mid] = [h for h in value if isinstance(h, dict)] if isinstance(value, list) else []
    hosts: dict[str, dict[str, Any]] = {}
    people: dict[str, dict[str, Any]] = {}
    for msg in summary["messages"]:
        mine = leaks.get(msg["id"], [])
        for h in mine:
            name = str(h.get("host") or "")
            e = hosts.setdefault(name, {"host": name, "messages": 0, "learns": set(), "trackers": set(),
                                         "tokens": set(), "hidden": False})
            e["messages"] += 1
            e["learns"].update(str(x) for x in h.get("learns") or [])
            if h.get("tracker"):
                e["trackers"].add(str(h["tracker"]))
            if h.get("recipient_token"):
                e["tokens"].add(str(h["recipient_token"]))
            e["hidden"] = e["hidden"] or bool(h.get("hidden"))
        for r in msg.get("recipients") or []:
            p = people.setdefault(r, {"recipient": r, "messages": 0, "hosts": set(), "learns": set()})
            p["messages"] += 1
            p["hosts"].update(str(h.get("host") or "") for h in mine)
            p["learns"].update(str(x) for h in mine for x in h.get("learns") or [])
    host_rows = sorted(({**v, "learns": sorted(v["learns"]), "trackers": sorted(v["trackers"]), "tokens": sorted(v["tokens"])}
                        for v in hosts.values()), key=lambda v: (-v["messages"], v["host"]))
    people_rows = sorted(({**v, "hosts": sorted(v["hosts"]), "learns": sorted(v["learns"])} for v in people.values()),
                         key=lambda v: (-len(v["learns"]), -v["messages"], v["recipient"]))
    learned = Counter(x for msg in summary["messages"] for x in {str(y) for h in leaks.get(msg["id"], [])
                                                                  for y in h.get("learns") or []})
    return {"hosts": host_rows, "recipients": people_rows, "learned": learned,
            "silent": sum(1 for msg in summary["messages"] if not leaks.get(msg["id"]))}


# -- charts ------------------------------------------------------------------------------------


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    matplotlib.rcParams.update({
        "svg.fonttype": "none",  # text stays text: small files, selectable labels
        "text.parse_math": False,  # a "$" in a hostile name is a dollar sign, not mathtext
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
    })
    return plt


def _svg(fig, salt: str) -> str:
    """The figure as inline SVG (no XML prolog), with ids unique to this chart."""
    import matplotlib

    plt = _pyplot()
    matplotlib.rcParams["svg.hashsalt"] = salt  # deterministic ids, distinct between the charts
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _chart_timeline(camps: list[dict[str, Any]], limits: ReportLimits) -> str | None:
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    rows = []
    for c in camps:
        days = Counter(d for d in (_day(x["date"]) for x in c["messages"]) if d)
        if days:
            rows.append((c, days))
    if not rows:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(rows) + 1.2))
    top = max(n for _c, days in rows for n in days.values())
    for y, (c, days) in enumerate(rows):
        xs = [datetime.strptime(d, "%Y-%m-%d") for d in sorted(days)]
        ns = [days[d] for d in sorted(days)]
        ax.scatter(xs, [y] * len(xs), s=[20 + 200 * n / top for n in ns], color=_PALETTE[y % len(_PALETTE)],
                   alpha=0.75, edgecolors="none")
    ax.set_yticks(range(len(rows)), [_short(c["name"], limits.label) for c, _d in rows])
    ax.invert_yaxis()
    loc = AutoDateLocator()
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(loc))
    ax.set_title(f"Messages per day (dot area; largest = {top} messages)", loc="left")
    ax.grid(axis="x", alpha=0.3)
    return _svg(fig, "timeline")


def _chart_targets(camps: list[dict[str, Any]], limits: ReportLimits) -> str | None:
    if not camps:
        return None
    counts = [Counter(r.rsplit("@", 1)[-1] for x in c["messages"] for r in set(x.get("recipients") or []))
              for c in camps]
    total: Counter[str] = Counter()
    for cnt in counts:
        total.update(cnt)
    domains = [d for d, _n in total.most_common(8)]
    if not domains:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(camps) + 1.4))
    left = [0] * len(camps)
    for k, dom in enumerate([*domains, "other"]):
        vals = [sum(n for d, n in cnt.items() if d not in domains) if dom == "other" else cnt.get(dom, 0) for cnt in counts]
        if not any(vals):
            continue
        ax.barh(range(len(camps)), vals, left=left, color=_PALETTE[k % len(_PALETTE)], label=_short(dom, 32))
        left = [a + b for a, b in zip(left, vals, strict=True)]
    ax.set_yticks(range(len(camps)), [_short(c["name"], limits.label) for c in camps])
    ax.invert_yaxis()
    ax.set_xlabel("recipient deliveries (one per message and recipient), by recipient domain")
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax.set_title("Who was targeted", loc="left")
    return _svg(fig, "targets")


def _chart_graph(camps: list[dict[str, Any]], limits: ReportLimits) -> str | None:
    """Campaign - hosts - claimed outlets as three columns of nodes joined by lines."""
    if not camps:
        return None
    outlets: list[str] = []
    hosts: list[str] = []
    edges_o: list[tuple[str, int]] = []
    edges_h: list[tuple[int, str]] = []
    for i, c in enumerate(camps):
        for cl in c["claimed"][:3]:
            name = cl.get("name") or cl.get("entity")
            if name not in outlets:
                outlets.append(name)
            edges_o.append((name, i))
        inf = c["infrastructure"]
        for h in (inf.get("beacon_hosts") or [])[:3] + [h for h in inf.get("hosts") or [] if h not in inf.get("beacon_hosts", [])][:2]:
            if h not in hosts:
                hosts.append(h)
            edges_h.append((i, h))
    hosts = hosts[:40]
    plt = _pyplot()
    n = max(len(camps), len(outlets), len(hosts), 2)
    fig, ax = plt.subplots(figsize=(11, 0.32 * n + 1.2))

    def ys(k: int) -> list[float]:
        return [n - 1 - (j + 0.5) * n / k + 0.5 for j in range(k)] if k else []

    yo, yc, yh = ys(len(outlets)), ys(len(camps)), ys(len(hosts))
    beacons = {h for c in camps for h in c["infrastructure"].get("beacon_hosts") or []}
    for name, i in edges_o:
        ax.plot([0, 1], [yo[outlets.index(name)], yc[i]], color="#999999", lw=0.8, zorder=1)
    for i, h in edges_h:
        if h in hosts:
            ax.plot([1, 2], [yc[i], yh[hosts.index(h)]], color="#b2182b" if h in beacons else "#2166ac", lw=0.8, zorder=1)
    ax.scatter([0] * len(outlets), yo, s=60, color="#762a83", zorder=2)
    ax.scatter([1] * len(camps), yc, s=90, color="#333333", zorder=2)
    ax.scatter([2] * len(hosts), yh, s=60, color=["#b2182b" if h in beacons else "#2166ac" for h in hosts], zorder=2)
    for y, name in zip(yo, outlets, strict=True):
        ax.text(-0.04, y, _short(name, 30), ha="right", va="center")
    for y, c in zip(yc, camps, strict=True):
        ax.text(1, y + 0.35, _short(c["id"], 20), ha="center", va="bottom", fontsize=7)
    for y, h in zip(yh, hosts, strict=True):
        ax.text(2.04, y, _short(h, 40), ha="left", va="center")
    ax.set_xlim(-0.9, 2.9)
    ax.set_ylim(-1, n + 0.2)
    ax.axis("off")
    ax.set_title("Claimed outlets (left) - campaigns - hosts (right; red: beacon hosts fetched on open, blue: link hosts)",
                 loc="left")
    return _svg(fig, "graph")


def _chart_leaks(learned: Counter[str], messages: int) -> str | None:
    if not learned:
        return None
    plt = _pyplot()
    items = learned.most_common(10)
    fig, ax = plt.subplots(figsize=(10, 0.4 * len(items) + 1.2))
    ax.barh(range(len(items)), [n for _k, n in items], color="#b2182b")
    ax.set_yticks(range(len(items)), [_short(k, 70) for k, _n in items])
    ax.invert_yaxis()
    ax.set_xlabel(f"messages (of {messages} in the campaigns shown) whose opening tells a remote host this")
    ax.set_title("What opening the lures leaked", loc="left")
    return _svg(fig, "leaks")


# -- page --------------------------------------------------------------------------------------

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
main{max-width:1200px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:16px;margin:24px 0 6px}.muted{color:#666}.id{font-family:ui-monospace,monospace;font-size:12px}
table{border-collapse:collapse;width:100%;margin:8px 0;background:#fff}
th,td{border:1px solid #e2e2e2;padding:4px 6px;text-align:left;vertical-align:top;font-size:13px}
th{background:#f0f0f0}td.n{text-align:right}.chart{background:#fff;border:1px solid #e2e2e2;padding:8px;margin:8px 0;overflow-x:auto}
.chart svg{max-width:100%;height:auto}.kpi{display:flex;gap:16px;flex-wrap:wrap;margin:12px 0}
.kpi div{background:#fff;border:1px solid #e2e2e2;padding:8px 14px}.kpi b{display:block;font-size:20px}
section.campaign{background:#fff;border:1px solid #e2e2e2;padding:8px 16px;margin:16px 0}
ul.why{margin:4px 0}code{font-size:12px}
"""


def _table(head: Sequence[str], rows: Sequence[Sequence[Any]], numeric: frozenset[int] | set[int] = frozenset()) -> str:
    out = ["<table><thead><tr>", *(f"<th>{_e(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for r in rows:
        out.append("<tr>" + "".join(f'<td class="n">{_e(v)}</td>' if i in numeric else f"<td>{_e(v)}</td>"
                                    for i, v in enumerate(r)) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _more(shown: int, total: int, what: str, hint: str) -> str:
    return f'<p class="muted">{shown} of {total} {_e(what)} shown; {_e(hint)}</p>' if total > shown else ""


def _campaign_section(rank: int, c: dict[str, Any], leaks: dict[str, Any], limits: ReportLimits) -> str:
    inf = c["infrastructure"]
    claimed = ", ".join(f"{x.get('name') or x['entity']} ({x['messages']})" for x in c["claimed"]) or "none"
    parts = [f'<section class="campaign" id="{_e(c["id"])}"><h3>{rank}. {_e(c["name"])}</h3>',
             f'<p><span class="id">{_e(c["id"])}</span> · threat {c["threat"]:.1f} · {len(c["messages"])} messages · '
             f'{len(c["recipients"])} recipients · {_e(c["first_seen"] or "?")} to {_e(c["last_seen"] or "?")} · '
             f'verdicts {_e(", ".join(f"{k} {v}" for k, v in c["verdicts"].items()))}</p>',
             f"<p>Claims to be: {_e(claimed)}. ATT&amp;CK: {_e(', '.join(c['attack']) or 'none')}.</p>"]
    if c["why"]:
        parts.append("<p>Why these messages are one campaign:</p><ul class=\"why\">" + "".join(
            f"<li>{_e(w['label'])} <code>{_e(w['value'])}</code> ({w['messages']} messages)</li>" for w in c["why"]) + "</ul>")
    parts.append(f"<p>Beacon hosts: {_e(', '.join(inf.get('beacon_hosts') or []) or 'none')}. "
                 f"Tracker templates: {_e(', '.join(inf.get('tracker_templates') or []) or 'none')}. "
                 f"Origin IPs: {_e(', '.join(inf.get('ips') or []) or 'none')}.</p>")
    hosts = leaks["hosts"]
    parts.append("<h4>What opening these messages leaked, per host</h4>")
    if hosts:
        parts.append(_table(("host", "messages", "learns", "recipient in the URL", "tracker", "hidden"),
                            [(h["host"], h["messages"], "; ".join(h["learns"]), ", ".join(h["tokens"]) or "-",
                              ", ".join(h["trackers"]) or "-", "yes" if h["hidden"] else "no")
                             for h in hosts[:limits.hosts]], {1}))
        parts.append(_more(min(len(hosts), limits.hosts), len(hosts), "hosts",
                           f"lurelens campaign {c['id']} --json has them all"))
    else:
        parts.append("<p>Nothing is fetched on open.</p>")
    people = leaks["recipients"]
    parts.append(f"<h4>Who was targeted, and what opening the lure would have told about each ({len(people)} recipients)</h4>")
    parts.append(_table(("recipient", "messages", "hosts contacted on open", "what they would learn"),
                        [(p["recipient"], p["messages"], ", ".join(p["hosts"]) or "none",
                          "; ".join(p["learns"]) or "nothing") for p in people[:limits.recipients]], {1}))
    parts.append(_more(min(len(people), limits.recipients), len(people), "recipients",
                       f"lurelens campaign {c['id']} --json lists every one; lurelens watchlist --campaign {c['id']} "
                       "gives their tokens"))
    msgs = c["messages"]
    parts.append("<h4>Messages</h4>")
    parts.append(_table(("date", "verdict", "score", "from", "subject", "recipients"),
                        [(x["date"] or "", x["verdict"], f"{x['score'] or 0:.1f}", x["from"] or "", x["subject"] or "",
                          ", ".join(x["recipients"])) for x in msgs[: limits.recipients]], {2}))
    parts.append(_more(min(len(msgs), limits.recipients), len(msgs), "messages", f"lurelens campaign {c['id']} --json"))
    parts.append("</section>")
    return "".join(parts)


def build_report(store, *, title: str = "lurelens campaign report", limits: ReportLimits = ReportLimits(),
                 progress: Callable[[str, int, int], None] | None = None) -> str:
    """The report of the store's campaigns (brought up to date first) as one HTML document.
    ``progress(step, done, total)`` is told how far it got (for a progress bar)."""
    from lurelens.campaigns import Campaigns

    tell = progress or (lambda _s, _d, _t: None)
    # A title from a command line may carry undecodable bytes (lone surrogates): the page is UTF-8.
    title = title.encode("utf-8", "replace").decode("utf-8")
    camps = Campaigns(store)
    tell("clustering", 0, 1)
    camps.update()
    tell("clustering", 1, 1)
    rows = camps.list()
    total_hits = sum(r["messages"] for r in rows)
    linked = [r for r in rows if r["messages"] > 1]
    ranked = linked or rows  # lone hits are campaigns of one; show them only when nothing is linked
    detailed_ids = [r["id"] for r in ranked[: limits.detailed]]
    chart_ids = detailed_ids[: limits.chart_campaigns]
    summaries: dict[str, dict[str, Any]] = {}
    leaks: dict[str, dict[str, Any]] = {}
    for k, cid in enumerate(detailed_ids):
        tell("reading campaigns", k, len(detailed_ids))
        s = camps.get(cid)
        if s is not None:
            summaries[cid] = s
            leaks[cid] = campaign_leaks(store, s)
    tell("reading campaigns", len(detailed_ids), len(detailed_ids))
    chart_camps = [summaries[c] for c in chart_ids if c in summaries]
    learned: Counter[str] = Counter()
    for cid in summaries:
        learned.update(leaks[cid]["learned"])
    charts: list[tuple[str, str | None]] = []
    makers = [("Timeline", lambda: _chart_timeline(chart_camps, limits)),
              ("Who was targeted", lambda: _chart_targets(chart_camps, limits)),
              ("Infrastructure", lambda: _chart_graph(chart_camps, limits)),
              ("What opening leaked", lambda: _chart_leaks(learned, sum(len(s["messages"]) for s in summaries.values())))]
    for k, (name, make) in enumerate(makers):
        tell("drawing charts", k, len(makers))
        charts.append((name, make()))
    tell("drawing charts", len(makers), len(makers))
    recipients = len({r for s in summaries.values() for r in s["recipients"]})
    domains = Counter(d for s in summaries.values() for d in s["recipient_domains"])
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    # Never silent about what was not scanned: "0 hits" over unreadable messages is not "all clean".
    unscanned = store.count(verdict="error")
    out = ["<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
           f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body><main>",
           f"<h1>{_e(title)}</h1><p class=\"muted\">Built {now} by lurelens from {_e(store.count())} stored messages. "
           "Self-contained: it fetches nothing and runs no script.</p>",
           '<div class="kpi">',
           f"<div><b>{len(linked)}</b>campaigns of 2+ messages</div>",
           f"<div><b>{total_hits}</b>hits (suspicious or worse)</div>",
           f"<div><b>{len(rows) - len(linked)}</b>lone hits</div>",
           f"<div><b>{recipients}</b>recipients targeted (top {len(summaries)} campaigns)</div>",
           f"<div><b>{len(domains)}</b>recipient domains</div>",
           (f"<div><b>{unscanned}</b>messages could not be scanned (lurelens hits --verdict error)</div>"
            if unscanned else ""),
           "</div>",
           "<h2>Campaigns ranked by threat</h2>"]
    table = ranked[: limits.table_rows]
    out.append(_table(("#", "campaign", "id", "threat", "messages", "recipients", "first seen", "last seen", "claims",
                       "beacon hosts", "verdicts"),
                      [(i + 1, r["name"], r["id"], f"{r['threat']:.1f}", r["messages"], r["recipients"],
                        r["first_seen"] or "", r["last_seen"] or "", ", ".join(r["claimed"]),
                        ", ".join(r["infrastructure"].get("beacon_hosts", [])[:3]),
                        ", ".join(f"{k} {v}" for k, v in r["verdicts"].items())) for i, r in enumerate(table)],
                      {0, 3, 4, 5}))
    if not table:
        out.append('<p class="muted">No campaign: no stored message is suspicious or worse.</p>')
    out.append(_more(len(table), len(ranked), "campaigns", "lurelens campaigns --db ... --json lists them all"))
    for name, svg in charts:
        out.append(f"<h2>{_e(name)}</h2>")
        out.append(f'<div class="chart">{svg}</div>' if svg else '<p class="muted">No data.</p>')
    out.append(f"<h2>The {len(summaries)} most threatening campaigns</h2>")
    for k, cid in enumerate(detailed_ids):
        if cid in summaries:
            out.append(_campaign_section(k + 1, summaries[cid], leaks[cid], limits))
    out.append("</main></body></html>\n")
    tell("done", 1, 1)
    return "".join(out)
