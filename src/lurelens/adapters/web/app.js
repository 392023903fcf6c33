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

  // With a hunt store (lurelens serve --db): recent hits, filtered here; a row opens its stored report.
  let hits = [];
  async function loadHits() {
    const verdict = $("f-verdict").value;
    const q = verdict ? "?all=false&limit=500&verdict=" + encodeURIComponent(verdict) : "?limit=500";
    try {
      const h = headers();
      delete h["Content-Type"];
      const r = await fetch("/v1/hits" + q, { headers: h, credentials: "same-origin" });
      if (!r.ok) { $("history").hidden = true; return; }
      hits = (await r.json()).hits || [];
      $("history").hidden = false;
      drawHits();
    } catch (e) { $("history").hidden = true; }
  }

  function hitDate(h) {
    const d = h.sender && h.sender.date ? new Date(h.sender.date) : null;
    return d && !isNaN(d) ? d : null;
  }

  function drawHits() {
    const text = $("f-text").value.trim().toLowerCase();
    const since = $("f-since").value ? new Date($("f-since").value) : null;
    const until = $("f-until").value ? new Date($("f-until").value + "T23:59:59") : null;
    const body = clear("hits");
    for (const h of hits) {
      const s = h.sender || {};
      const from = (s.from || []).map(addr).join(", ");
      const to = (s.to || []).map(addr).join(", ");
      const d = hitDate(h);
      if (text && !(from + " " + to + " " + (s.subject || "")).toLowerCase().includes(text)) continue;
      if ((since && (!d || d < since)) || (until && (!d || d > until))) continue;
      const label = el("span", h.verdict, "label small v-" + h.verdict);
      row(body, [label, Number(h.score).toFixed(1), d ? d.toISOString().slice(0, 16).replace("T", " ") : "", from, to, s.subject || ""]);
      body.lastChild.addEventListener("click", async () => {
        const hh = headers();
        delete hh["Content-Type"];
        const r = await fetch("/v1/hits/" + encodeURIComponent(h.id), { headers: hh, credentials: "same-origin" });
        if (r.ok) { current = null; show(await r.json()); $("result").scrollIntoView({ behavior: "smooth" }); }
      });
    }
  }

  for (const id of ["f-text", "f-since", "f-until"]) $(id).addEventListener("input", drawHits);
  $("f-verdict").addEventListener("change", loadHits);
  tokenInput.addEventListener("change", loadHits);
  fetch("/healthz").then((r) => r.json()).then((h) => { if (h.store) loadHits(); }).catch(() => {});

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
