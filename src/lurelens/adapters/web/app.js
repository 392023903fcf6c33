// The analyst page: send the message to this server, show the verdict JSON. Every value from the
// message goes into the page as text (textContent), never as HTML.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  let current = null; // the message bytes last scanned (Blob)

  const tokenInput = $("token");
  tokenInput.value = sessionStorage.getItem("lurelens-token") || "";
  tokenInput.addEventListener("change", () => sessionStorage.setItem("lurelens-token", tokenInput.value.trim()));

  function headers() {
    const h = { "Content-Type": "message/rfc822" };
    const t = tokenInput.value.trim();
    if (t) h["Authorization"] = "Bearer " + t;
    return h;
  }

  function status(text, bad) {
    const s = $("status");
    s.textContent = text;
    s.className = bad ? "bad" : "";
  }

  async function post(path, blob) {
    const r = await fetch(path, { method: "POST", headers: headers(), body: blob, credentials: "same-origin" });
    if (!r.ok) {
      let detail = r.statusText;
      try { detail = (await r.json()).detail || detail; } catch (e) { /* not JSON */ }
      throw new Error(r.status + ": " + detail);
    }
    return r;
  }

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function row(tbody, cells) {
    const tr = document.createElement("tr");
    for (const c of cells) {
      const td = document.createElement("td");
      if (c instanceof Node) td.appendChild(c); else td.textContent = c === null || c === undefined ? "" : String(c);
      tr.appendChild(td);
    }
    tbody.appendChild(tr);
  }

  function clear(id) {
    const t = $(id);
    const body = t.tBodies[0] || t;
    while (body.firstChild) body.removeChild(body.firstChild);
    return body;
  }

  function addr(a) {
    if (!a) return "";
    return a.name ? a.name + " <" + a.addr + ">" : a.addr;
  }

  function show(v) {
    $("result").hidden = false;
    $("preview-card").hidden = true;
    // A stored hit has no message bytes here: nothing to defuse or preview.
    $("download").hidden = $("preview").hidden = !current;
    const label = $("label");
    label.textContent = v.verdict;
    label.className = "label v-" + v.verdict;
    $("score").textContent = "score " + Number(v.score).toFixed(1);
    $("subject").textContent = v.sender && v.sender.subject ? v.sender.subject : "";

    const reasons = $("reasons");
    reasons.replaceChildren(...(v.reasons || []).map((r) => el("li", r)));
    if (!v.reasons || !v.reasons.length) reasons.appendChild(el("li", "Nothing suspicious found."));

    const leaks = clear("leaks");
    for (const h of v.open_leaks || []) {
      const learns = el("ul");
      for (const l of h.learns || []) learns.appendChild(el("li", l));
      const host = el("span", h.host, "host");
      const what = document.createElement("span");
      what.appendChild(host);
      if (h.hidden) what.appendChild(el("span", "hidden", "pill warn"));
      if (h.tracker) what.appendChild(el("span", h.tracker, "pill"));
      row(leaks, [what, h.fetches + " (" + (h.kinds || []).join(", ") + ")", learns]);
    }
    $("leaks-none").hidden = (v.open_leaks || []).length > 0;
    $("leaks").hidden = (v.open_leaks || []).length === 0;

    const res = clear("resources");
    for (const r of v.remote_resources || []) {
      row(res, [r.kind, el("code", r.url), r.hidden ? (r.hidden_reason || "yes") : "", r.tracker || ""]);
    }
    $("res-count").textContent = (v.remote_resources || []).length;

    const s = v.sender || {};
    const dl = $("sender");
    dl.replaceChildren();
    const pairs = [
      ["From", (s.from || []).map(addr).join(", ")],
      ["Reply-To", (s.reply_to || []).map(addr).join(", ")],
      ["Return-Path", s.return_path],
      ["To", (s.to || []).map(addr).join(", ")],
      ["Subject", s.subject],
      ["Date", s.date],
      ["Message-ID", s.message_id],
    ];
    for (const [k, val] of pairs) {
      if (!val) continue;
      dl.appendChild(el("dt", k));
      dl.appendChild(el("dd", val));
    }

    const auth = clear("auth");
    const a = v.auth || { methods: {} };
    $("authserv").textContent = a.checked ? "Results from " + (a.authserv_id || "the receiving server") : "No Authentication-Results header: not checked.";
    for (const [name, m] of Object.entries(a.methods || {})) {
      const props = Object.entries(m.props || {}).map(([k, x]) => k + "=" + x).join(" ");
      row(auth, [name.toUpperCase(), el("span", m.result, "pill r-" + m.result), props]);
    }

    const links = clear("links");
    for (const l of v.links || []) {
      const dest = el("code", l.final_url && l.final_url !== l.href ? l.href + " \u2192 " + l.final_url : l.href);
      row(links, [l.text || "", dest, l.final_host || l.host || ""]);
    }
    $("link-count").textContent = (v.links || []).length;

    const f = clear("findings");
    for (const x of v.findings || []) {
      if (x.score === 0) continue;
      row(f, [el("span", x.symbol, "sym"), Number(x.score).toFixed(1), x.evidence || x.description]);
    }
    if (v.errors && v.errors.length) status("scanned, with errors: " + v.errors.join("; "), true);
  }

  async function scan(blob) {
    current = blob;
    status("scanning\u2026");
    try {
      const r = await post("/v1/scan", blob);
      show(await r.json());
      if (!$("status").classList.contains("bad")) status("");
    } catch (e) {
      status("scan failed: " + e.message, true);
    }
  }

  $("scan").addEventListener("click", () => {
    const text = $("raw").value;
    if (!text.trim()) { status("paste a message or drop a file first", true); return; }
    scan(new Blob([text.replace(/\r?\n/g, "\r\n")], { type: "message/rfc822" }));
  });

  $("file").addEventListener("change", (ev) => {
    const file = ev.target.files[0];
    if (file) scan(file);
  });

  const drop = $("drop");
  drop.addEventListener("dragover", (ev) => { ev.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (ev) => {
    ev.preventDefault();
    drop.classList.remove("over");
    const file = ev.dataTransfer.files[0];
    if (file) scan(file);
  });

  $("download").addEventListener("click", async () => {
    if (!current) return;
    try {
      const r = await post("/v1/defuse", current);
      const url = URL.createObjectURL(await r.blob());
      const a = el("a");
      a.href = url;
      a.download = (current.name ? current.name.replace(/\.eml$/i, "") : "message") + ".defused.eml";
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) {
      status("defuse failed: " + e.message, true);
    }
  });

  // With a hunt store (lurelens serve --db): recent hits, filtered by the server; a row opens its
  // stored report. With a data overlay (--data-dir) each row has the analyst's actions.
  let canAct = false;
  const marked = new Set(); // hit ids marked false positive (from the feedback log)

  function getJSON(path) {
    const h = headers();
    delete h["Content-Type"];
    return fetch(path, { headers: h, credentials: "same-origin" });
  }

  let hitsTimer = null;
  function loadHitsSoon() { clearTimeout(hitsTimer); hitsTimer = setTimeout(loadHits, 250); }

  async function loadHits() {
    const p = new URLSearchParams({ limit: "200" });
    const verdict = $("f-verdict").value;
    if (verdict === "*") p.set("all", "true"); else if (verdict) p.set("verdict", verdict);
    for (const [id, key] of [["f-sender", "sender"], ["f-recipient", "recipient"], ["f-subject", "subject"], ["f-since", "since"], ["f-until", "until"]]) {
      const v = $(id).value.trim();
      if (v) p.set(key, v);
    }
    try {
      const r = await getJSON("/v1/hits?" + p.toString());
      if (!r.ok) { $("history").hidden = true; return; }
      const hits = (await r.json()).hits || [];
      $("history").hidden = false;
      drawHits(hits);
    } catch (e) { $("history").hidden = true; }
  }

  function hitDate(h) {
    const d = h.sender && h.sender.date ? new Date(h.sender.date) : null;
    return d && !isNaN(d) ? d : null;
  }

  async function act(action, value, hit, tr) {
    const h = headers();
    h["Content-Type"] = "application/json";
    const body = { action: action, hit: hit };
    if (value) body.value = value;
    const s = $("fb-status");
    try {
      const r = await fetch("/v1/feedback", { method: "POST", headers: h, body: JSON.stringify(body), credentials: "same-origin" });
      const d = await r.json();
      if (!r.ok) throw new Error(r.status + ": " + (d.detail && d.detail.length ? (typeof d.detail === "string" ? d.detail : d.detail[0].msg) : r.statusText));
      if (action === "false_positive") { marked.add(hit); if (tr) tr.classList.add("marked"); }
      s.textContent = action.replace("_", " ") + (d.value ? " " + d.value : " #" + hit) +
        (d.file ? (d.added === false ? ": already in " : ": added to ") + d.file : ": logged") + ". New scans use it.";
      s.className = "ok";
    } catch (e) {
      s.textContent = action.replace("_", " ") + " failed: " + e.message;
      s.className = "bad";
    }
  }

  function button(text, cls, fn) {
    const b = el("button", text, cls);
    b.type = "button";
    b.addEventListener("click", (ev) => { ev.stopPropagation(); fn(); });
    return b;
  }

  function actions(h, tr) {
    const box = el("span", null, "acts");
    const s = h.sender || {};
    const from = (s.from || []).map((a) => a.addr).filter(Boolean)[0];
    box.appendChild(button("False positive", "fp", () => act("false_positive", null, h.id, tr)));
    if (from) {
      box.appendChild(button("Allow sender", "allow", () => act("allow_sender", from, h.id, tr)));
      box.appendChild(button("Block sender", "block", () => act("block_sender", from, h.id, tr)));
    }
    const hosts = [...new Set((h.open_leaks || []).map((l) => l.host).concat((h.links || []).map((l) => l.final_host || l.host)).filter(Boolean))];
    if (hosts.length) {
      const sel = el("select", null, "host-pick");
      sel.setAttribute("aria-label", "host");
      for (const x of hosts) { const o = el("option", x); o.value = x; sel.appendChild(o); }
      sel.addEventListener("click", (ev) => ev.stopPropagation());
      box.appendChild(sel);
      box.appendChild(button("Allow host", "allow", () => act("allow_host", sel.value, h.id, tr)));
      box.appendChild(button("Block host", "block", () => act("block_host", sel.value, h.id, tr)));
    }
    return box;
  }

  function drawHits(hits) {
    const body = clear("hits");
    for (const th of document.querySelectorAll("#hits .act-col")) th.hidden = !canAct;
    for (const h of hits) {
      const s = h.sender || {};
      const from = (s.from || []).map(addr).join(", ");
      const to = (s.to || []).map(addr).join(", ");
      const d = hitDate(h);
      const label = el("span", h.verdict, "label small v-" + h.verdict);
      const cells = [label, Number(h.score).toFixed(1), d ? d.toISOString().slice(0, 16).replace("T", " ") : "", from, to, s.subject || ""];
      row(body, cells);
      const tr = body.lastChild;
      tr.dataset.id = h.id;
      if (canAct) { const td = document.createElement("td"); td.appendChild(actions(h, tr)); tr.appendChild(td); }
      if (marked.has(h.id)) tr.classList.add("marked");
      tr.addEventListener("click", async () => {
        const r = await getJSON("/v1/hits/" + encodeURIComponent(h.id));
        if (r.ok) { current = null; show(await r.json()); $("result").scrollIntoView({ behavior: "smooth" }); }
      });
    }
  }

  // Campaigns (GET /v1/campaigns); a row lists its messages; "Re-cluster" groups what hunts stored since.
  async function loadCampaigns() {
    try {
      const r = await getJSON("/v1/campaigns");
      if (!r.ok) { $("campaigns").hidden = true; return; }
      const rows = (await r.json()).campaigns || [];
      $("campaigns").hidden = false;
      $("camp-none").hidden = rows.length > 0;
      const body = clear("camps");
      for (const c of rows) {
        const hosts = ((c.infrastructure || {}).beacon_hosts || []).join(", ");
        row(body, [c.name, c.messages, c.recipients, c.first_seen || "", c.last_seen || "", hosts]);
        const tr = body.lastChild;
        tr.dataset.id = c.id;
        tr.addEventListener("click", () => toggleCampaign(c.id, tr));
      }
    } catch (e) { $("campaigns").hidden = true; }
  }

  async function toggleCampaign(id, tr) {
    const next = tr.nextSibling;
    if (next && next.classList && next.classList.contains("members")) { next.remove(); return; }
    const r = await getJSON("/v1/campaigns/" + encodeURIComponent(id));
    if (!r.ok) return;
    const c = await r.json();
    const list = el("ul");
    for (const m of c.messages || []) {
      list.appendChild(el("li", (m.date || "") + "  " + (m.verdict || "") + "  " + (m.from || "") + ": " + (m.subject || "") +
        " (" + (m.recipients || []).length + " recipients)"));
    }
    const why = el("p", (c.why || []).map((w) => w.label + ": " + w.value).join("; "), "muted");
    const td = document.createElement("td");
    td.colSpan = 6;
    td.appendChild(list);
    td.appendChild(why);
    const mtr = document.createElement("tr");
    mtr.className = "members";
    mtr.appendChild(td);
    tr.after(mtr);
  }

  $("recluster").addEventListener("click", async () => {
    const h = headers();
    delete h["Content-Type"];
    const r = await fetch("/v1/campaigns/refresh", { method: "POST", headers: h, credentials: "same-origin" });
    if (r.ok) loadCampaigns();
  });

  async function loadMarked() {
    if (!canAct) return;
    try {
      const r = await getJSON("/v1/feedback?limit=1000");
      if (!r.ok) return;
      for (const e of (await r.json()).feedback || []) if (e.action === "false_positive" && e.hit) marked.add(e.hit);
    } catch (e) { /* the marks are a convenience */ }
  }

  for (const id of ["f-sender", "f-recipient", "f-subject"]) $(id).addEventListener("input", loadHitsSoon);
  for (const id of ["f-verdict", "f-since", "f-until"]) $(id).addEventListener("change", loadHits);
  tokenInput.addEventListener("change", () => { loadHits(); loadCampaigns(); });
  fetch("/healthz").then((r) => r.json()).then(async (h) => {
    canAct = !!h.feedback;
    if (h.store) { await loadMarked(); loadHits(); loadCampaigns(); }
  }).catch(() => {});

  $("preview").addEventListener("click", async () => {
    if (!current) return;
    try {
      const r = await post("/v1/preview", current);
      const html = await r.text();
      // sandbox="" (no script, unique origin) and this page's CSP, inherited by srcdoc: nothing can
      // be fetched from elsewhere even if something remote survived defusing.
      $("frame").srcdoc = html || "<p>(no HTML body)</p>";
      $("preview-card").hidden = false;
      $("preview-card").scrollIntoView({ behavior: "smooth" });
    } catch (e) {
      status("preview failed: " + e.message, true);
    }
  });
})();
