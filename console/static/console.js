// frontdesk console: reads the admin API and draws it. No framework; every
// value from the gateway goes into the page as text (textContent), never
// as markup.
"use strict";
(function () {
  const POLL_MS = 2000;
  const HISTORY = 150; // points per chart series: 5 minutes at 2 s
  const ALL = "*";

  const $ = (sel) => document.querySelector(sel);
  const el = (tag, attrs, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
    return e;
  };

  async function api(method, path, body) {
    const init = { method, headers: {} };
    if (body !== undefined) {
      init.body = body;
      init.headers["Content-Type"] = "text/plain";
    }
    const resp = await fetch(path, init);
    const text = await resp.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch (_) { /* YAML or plain text */ }
    return { status: resp.status, ok: resp.ok, json, text };
  }

  function setStatus(msg, bad) {
    const s = $("#status");
    s.textContent = msg;
    s.classList.toggle("bad", !!bad);
  }

  function setResult(sel, msg, ok) {
    const r = $(sel);
    r.textContent = msg;
    r.className = "result " + (ok ? "ok" : "bad");
  }

  const fmt = (v, digits) => (v === null || v === undefined || Number.isNaN(v)) ? "—" : v.toFixed(digits);
  const age = (ms) => {
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m " + (s % 60) + "s";
    return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
  };
  const bytes = (n) => n >= 1 << 20 ? (n / (1 << 20)).toFixed(1) + " MiB" : n >= 1024 ? (n / 1024).toFixed(1) + " KiB" : n + " B";

  // ---- routes and charts ----

  const routeId = (api, stage, route) => api + "\u0000" + stage + "\u0000" + route;
  let selected = ALL;
  let prevStats = null;
  const history = new Map(); // id -> {t:[], rps:[], r4:[], r5:[], p50:[], p99:[]}
  const latest = new Map();  // id -> last point
  const rowsById = new Map();

  // quantile of the requests between two cumulative bucket arrays, in ms.
  function quantile(q, bounds, counts) {
    const total = counts[counts.length - 1];
    if (!total) return null;
    const target = q * total;
    for (let i = 0; i < counts.length; i++) {
      if (counts[i] >= target) {
        const lower = i === 0 ? 0 : bounds[i - 1];
        const upper = i < bounds.length ? bounds[i] : bounds[bounds.length - 1];
        const below = i === 0 ? 0 : counts[i - 1];
        const inBucket = counts[i] - below;
        const frac = inBucket > 0 ? (target - below) / inBucket : 0;
        return (lower + (upper - lower) * frac) * 1000;
      }
    }
    return null;
  }

  function delta(cur, prev, dt, bounds) {
    const d = (k) => (cur.requests[k] || 0) - ((prev && prev.requests[k]) || 0);
    const total = ["1xx", "2xx", "3xx", "4xx", "5xx"].reduce((a, k) => a + d(k), 0);
    const buckets = cur.buckets.map((c, i) => c - ((prev && prev.buckets[i]) || 0));
    return { total, r4: d("4xx"), r5: d("5xx"), buckets, dt, bounds };
  }

  function point(t, dl) {
    return {
      t, rps: dl.total / dl.dt, r4: dl.r4 / dl.dt, r5: dl.r5 / dl.dt,
      p50: quantile(0.5, dl.bounds, dl.buckets), p99: quantile(0.99, dl.bounds, dl.buckets),
    };
  }

  function remember(id, p) {
    let h = history.get(id);
    if (!h) {
      h = { t: [], rps: [], r4: [], r5: [], p50: [], p99: [] };
      history.set(id, h);
    }
    for (const k of Object.keys(h)) {
      h[k].push(p[k]);
      if (h[k].length > HISTORY) h[k].shift();
    }
    latest.set(id, p);
  }

  let rpsChart = null, latChart = null;
  function makeCharts() {
    const width = () => Math.max(300, $("#chart-rps").parentElement.clientWidth - 8);
    const base = (series) => ({
      width: width(), height: 200,
      scales: { x: { time: true } },
      series: [{}].concat(series),
      axes: [{}, { size: 60 }],
      legend: { live: true },
    });
    rpsChart = new uPlot(base([
      { label: "req/s", stroke: "#2563eb", width: 2 },
      { label: "4xx/s", stroke: "#d97706", width: 2 },
      { label: "5xx/s", stroke: "#dc2626", width: 2 },
    ]), [[], [], [], []], $("#chart-rps"));
    latChart = new uPlot(base([
      { label: "p50 ms", stroke: "#059669", width: 2 },
      { label: "p99 ms", stroke: "#7c3aed", width: 2 },
    ]), [[], [], []], $("#chart-latency"));
    window.addEventListener("resize", () => {
      rpsChart.setSize({ width: width(), height: 200 });
      latChart.setSize({ width: width(), height: 200 });
    });
  }

  function drawCharts() {
    const h = history.get(selected) || { t: [], rps: [], r4: [], r5: [], p50: [], p99: [] };
    rpsChart.setData([h.t, h.rps, h.r4, h.r5]);
    latChart.setData([h.t, h.p50, h.p99]);
    // For tests and for a glance: the highest rate drawn.
    $("#chart-rps").dataset.max = String(Math.max(0, ...h.rps));
    $("#chart-rps").dataset.points = String(h.t.length);
    let label = "all routes";
    if (selected !== ALL) label = selected.split("\u0000").join(" · ");
    $("#chart-route").textContent = label;
    $("#chart-route-2").textContent = label;
  }

  async function loadRoutes() {
    const r = await api("GET", "/routes");
    if (!r.ok) throw new Error("/routes: " + r.status);
    const tbody = $("#route-table tbody");
    tbody.replaceChildren();
    rowsById.clear();
    for (const row of r.json || []) {
      const id = routeId(row.api, row.stage, row.routeKey);
      const cells = {
        rps: el("td", { class: "num rps" }, "—"), p50: el("td", { class: "num p50" }, "—"),
        p99: el("td", { class: "num p99" }, "—"), r4: el("td", { class: "num r4" }, "—"), r5: el("td", { class: "num r5" }, "—"),
      };
      const auth = [row.authorizer, row.apiKey ? "API key" : ""].filter(Boolean).join(" + ");
      const tr = el("tr", { "data-key": [row.api, row.stage, row.routeKey].join(" "), onclick: () => select(id) },
        el("td", {}, row.api), el("td", {}, row.type), el("td", {}, row.stage),
        el("td", { class: "mono route-key" }, row.routeKey), el("td", {}, row.integration),
        el("td", {}, auth || "—"), el("td", {}, row.throttle || "—"), el("td", {}, row.cache || "—"),
        cells.rps, cells.p50, cells.p99, cells.r4, cells.r5);
      tr.dataset.search = [row.api, row.type, row.stage, row.routeKey, row.integration, row.hosts, row.basePath, auth, row.cache ? "cache" : ""].join(" ").toLowerCase();
      tbody.append(tr);
      rowsById.set(id, { tr, cells });
    }
    filterRoutes();
    updateRouteCells();
  }

  function filterRoutes() {
    const q = $("#route-search").value.trim().toLowerCase();
    let shown = 0;
    for (const { tr } of rowsById.values()) {
      const show = !q || q.split(/\s+/).every((w) => tr.dataset.search.includes(w));
      tr.hidden = !show;
      if (show) shown++;
    }
    $("#route-count").textContent = shown + " of " + rowsById.size + " routes";
  }

  function select(id) {
    selected = selected === id ? ALL : id;
    for (const [rid, { tr }] of rowsById) tr.classList.toggle("selected", rid === selected);
    drawCharts();
  }

  function updateRouteCells() {
    for (const [id, { cells }] of rowsById) {
      const p = latest.get(id);
      if (!p) continue;
      cells.rps.textContent = fmt(p.rps, 1);
      cells.p50.textContent = fmt(p.p50, 1);
      cells.p99.textContent = fmt(p.p99, 1);
      cells.r4.textContent = fmt(p.r4, 1);
      cells.r5.textContent = fmt(p.r5, 1);
    }
  }

  async function pollStats() {
    const r = await api("GET", "/stats/routes");
    if (!r.ok) throw new Error("/stats/routes: " + r.status);
    const cur = r.json;
    if (prevStats) {
      const dt = (cur.time - prevStats.time) / 1000;
      if (dt > 0) {
        const prevById = new Map(prevStats.routes.map((s) => [routeId(s.api, s.stage, s.route), s]));
        const t = cur.time / 1000;
        const all = { total: 0, r4: 0, r5: 0, buckets: new Array(cur.bounds.length + 1).fill(0), dt, bounds: cur.bounds };
        for (const s of cur.routes) {
          const id = routeId(s.api, s.stage, s.route);
          const dl = delta(s, prevById.get(id), dt, cur.bounds);
          remember(id, point(t, dl));
          all.total += dl.total; all.r4 += dl.r4; all.r5 += dl.r5;
          dl.buckets.forEach((c, i) => { if (i < all.buckets.length) all.buckets[i] += c; });
        }
        remember(ALL, point(t, all));
        updateRouteCells();
        drawCharts();
      }
    }
    prevStats = cur;
  }

  // ---- WebSocket connections ----

  const connRows = new Map(); // connectionId -> {tr, age, queued}

  async function pollConnections() {
    const r = await api("GET", "/connections");
    if (!r.ok) throw new Error("/connections: " + r.status);
    const now = Date.now();
    const seen = new Set();
    const tbody = $("#conn-table tbody");
    const apis = Object.keys((r.json && r.json.apis) || {}).sort();
    for (const name of apis) {
      for (const c of r.json.apis[name].connections || []) {
        seen.add(c.connectionId);
        let row = connRows.get(c.connectionId);
        if (!row) {
          const input = el("input", { type: "text", placeholder: "message", "aria-label": "message for " + c.connectionId });
          const send = el("button", { type: "button", class: "small", "data-action": "send" }, "Send");
          const drop = el("button", { type: "button", class: "small danger", "data-action": "disconnect" }, "Disconnect");
          const ageCell = el("td", { class: "num" });
          const queued = el("td", { class: "num" });
          const tr = el("tr", { "data-connection": c.connectionId },
            el("td", {}, name), el("td", {}, c.stage), el("td", { class: "mono" }, c.connectionId),
            el("td", {}, (c.identity && c.identity.sourceIp) || ""), el("td", {}, (c.identity && c.identity.userAgent) || ""),
            ageCell, queued, el("td", { class: "send" }, input, send), el("td", {}, drop));
          const path = "/connections/" + encodeURIComponent(c.connectionId);
          send.addEventListener("click", async () => {
            const res = await api("POST", path, input.value);
            send.textContent = res.ok ? "Sent" : "Failed (" + res.status + ")";
            setTimeout(() => { send.textContent = "Send"; }, 1500);
          });
          drop.addEventListener("click", async () => {
            const res = await api("DELETE", path);
            if (res.ok || res.status === 410) {
              tr.remove();
              connRows.delete(c.connectionId);
              $("#conn-count").textContent = "(" + connRows.size + " open)";
            } else {
              drop.textContent = "Failed (" + res.status + ")";
            }
          });
          row = { tr, ageCell, queued, connectedAt: Date.parse(c.connectedAt) };
          connRows.set(c.connectionId, row);
          tbody.append(tr);
        }
        row.ageCell.textContent = age(now - row.connectedAt);
        row.queued.textContent = String(c.queued);
      }
    }
    for (const [id, row] of connRows) {
      if (!seen.has(id)) { row.tr.remove(); connRows.delete(id); }
    }
    $("#conn-count").textContent = "(" + connRows.size + " open)";
  }

  // ---- API keys ----

  async function pollKeys() {
    const r = await api("GET", "/usage");
    if (!r.ok) throw new Error("/usage: " + r.status);
    const tbody = $("#key-table tbody");
    tbody.replaceChildren();
    for (const k of (r.json && r.json.keys) || []) {
      tbody.append(el("tr", { "data-key": k.name },
        el("td", {}, k.name), el("td", {}, k.plan || "—"), el("td", {}, k.enabled ? "yes" : "no"),
        el("td", { class: "num" }, k.admitted), el("td", { class: "num" }, k.throttled),
        el("td", { class: "num" }, k.quotaUsed ?? "—"), el("td", { class: "num" }, k.quotaRemaining ?? "—"),
        el("td", {}, k.quotaResets || "—")));
    }
    const levels = Object.entries((r.json && r.json.throttled) || {}).map(([l, n]) => l + ": " + n);
    $("#throttled-levels").textContent = levels.length ? levels.join(", ") : "none";
  }

  // ---- cache ----

  async function pollCache() {
    const r = await api("GET", "/cache/stats");
    if (!r.ok) throw new Error("/cache/stats: " + r.status);
    const s = r.json || {};
    const dl = $("#cache-stats");
    dl.replaceChildren();
    const add = (k, v, id) => dl.append(el("dt", {}, k), el("dd", id ? { id } : {}, v));
    if (s.enabled === false) {
      add("Cache", "no route caches");
      $("#cache-flush").disabled = true;
      return;
    }
    $("#cache-flush").disabled = false;
    const looks = (s.hits || 0) + (s.misses || 0);
    add("Hit ratio", looks ? (100 * s.hits / looks).toFixed(1) + " %" : "—", "cache-hit-ratio");
    add("Entries", s.entries, "cache-entries");
    add("Size", bytes(s.bytes || 0), "cache-bytes");
    add("Capacity", bytes(s.capacity_bytes || 0));
    add("Hits", s.hits); add("Misses", s.misses); add("Stale hits", s.stale_hits);
    add("Evictions", s.evictions);
  }

  $("#cache-flush").addEventListener("click", async () => {
    const r = await api("DELETE", "/cache");
    setResult("#cache-result", r.ok ? "flushed" : "flush failed: " + ((r.json && r.json.message) || r.status), r.ok);
    await pollCache().catch(() => {});
  });

  // ---- config and reload ----

  async function loadConfig() {
    const r = await api("GET", "/config");
    $("#config-text").textContent = r.ok ? r.text : "could not read the config: " + r.status;
  }

  async function pollReload() {
    const r = await api("GET", "/reload/last");
    if (!r.ok) return;
    const last = r.json;
    $("#reload-last").textContent = (last.ok ? "succeeded" : "FAILED") + " at " + new Date(last.at).toLocaleString() + (last.trigger ? " (" + last.trigger + ")" : "");
    $("#reload-last").className = last.ok ? "result ok" : "result bad";
    const ul = $("#reload-errors");
    ul.replaceChildren(...(last.errors || []).map((e) => el("li", {}, e)));
  }

  $("#reload").addEventListener("click", async () => {
    const r = await api("POST", "/reload");
    if (r.ok) {
      setResult("#reload-result", "reloaded", true);
    } else {
      setResult("#reload-result", ((r.json && r.json.message) || "reload failed: " + r.status), false);
    }
    await Promise.all([pollReload(), loadConfig(), loadRoutes()]).catch((e) => setStatus(String(e), true));
  });

  // ---- cluster mode: the live instances (GET /cluster) ----

  // pollCluster shows the cluster panel only when cluster mode is on
  // (GET /cluster answers 404 without it). The instance list is bounded by
  // the live instances, so it is redrawn whole at each poll.
  async function pollCluster() {
    const r = await api("GET", "/cluster");
    const section = $("#cluster");
    section.dataset.polled = "1";
    if (r.status === 404) {
      section.hidden = true;
      $("#nav-cluster").hidden = true;
      return;
    }
    section.hidden = false;
    $("#nav-cluster").hidden = false;
    const tbody = $("#cluster-table tbody");
    if (!r.ok || !r.json || !Array.isArray(r.json.instances)) {
      $("#cluster-state").textContent = "— Redis unreachable: " + ((r.json && r.json.message) || r.status);
      $("#cluster-state").className = "bad";
      tbody.replaceChildren();
      return;
    }
    const st = r.json;
    const mine = st.instances.find((i) => i.id === st.self);
    const myHash = mine && mine.info ? mine.info.config_hash : undefined;
    const differing = st.instances.filter((i) => myHash !== undefined && (i.info || {}).config_hash !== myHash).length;
    $("#cluster-state").textContent = "— " + st.instances.length + " live, Redis " + (st.redis_up ? "up" : "down") +
      ", sync lag " + st.sync_lag + (differing ? ", " + differing + " on another config" : "");
    $("#cluster-state").className = differing || !st.redis_up ? "bad" : "muted";
    const now = Date.now();
    const rows = st.instances.slice().sort((a, b) => a.id.localeCompare(b.id)).map((inst) => {
      const info = inst.info || {};
      const seen = Date.parse(info.seen || "");
      const differs = myHash !== undefined && info.config_hash !== myHash;
      const tr = el("tr", { class: (inst.id === st.self ? "self " : "") + (differs ? "differs" : "") },
        el("td", { class: "id mono" }, inst.id),
        el("td", { class: "hash mono", title: differs ? "differs from this instance's config hash" : "" },
          (info.config_hash || "—") + (differs ? " ≠" : "")),
        el("td", { class: "mono" }, info.listen || "—"),
        el("td", {}, info.started || "—"),
        el("td", { class: "num seen", title: info.seen || "" }, Number.isNaN(seen) ? "—" : age(now - seen) + " ago"));
      tr.dataset.id = inst.id;
      return tr;
    });
    tbody.replaceChildren(...rows);
  }

  // ---- main loop ----

  $("#route-search").addEventListener("input", filterRoutes);

  async function tick() {
    try {
      await Promise.all([pollStats(), pollConnections(), pollKeys(), pollCache(), pollReload(),
        pollCluster().catch(() => {})]);
      setStatus("updated " + new Date().toLocaleTimeString());
    } catch (e) {
      setStatus(String(e), true);
    }
  }

  async function start() {
    makeCharts();
    try {
      await Promise.all([loadRoutes(), loadConfig()]);
    } catch (e) {
      setStatus(String(e), true);
    }
    await tick();
    setInterval(tick, POLL_MS);
  }
  start();
})();
