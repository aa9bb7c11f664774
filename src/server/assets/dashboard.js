// Ebb dashboard: polls /status and draws what it finds. Every section is
// optional: a section absent from /status is not shown, and sections this
// page does not know are listed as tables, so the page keeps working as the
// engine adds to /status. No libraries, no network beyond this server.
"use strict";

const params = new URLSearchParams(location.search);
const POLL_MS = Math.max(100, Number(params.get("interval")) || 1000);
const HISTORY = 120;  // points kept per series
// Keep in step with .c0 ... .c7 in dashboard.css (the page's CSP forbids inline styles).
const COLORS = ["#1f6feb", "#d1242f", "#2da44e", "#bf8700", "#8250df", "#0a7f8c", "#cf222e", "#57606a"];

const history = new Map();  // series key -> [{t, v}]
let previous = null;        // last status, for per-interval deltas
let polls = 0;

function record(key, value, t) {
  if (typeof value !== "number" || !isFinite(value)) return;
  let points = history.get(key);
  if (!points) history.set(key, points = []);
  points.push({t, v: value});
  if (points.length > HISTORY) points.shift();
}

function series(key) { return history.get(key) || []; }

function esc(text) {
  return String(text).replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
}

function bytes(n) {
  if (typeof n !== "number") return esc(n);
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : String(n)) + " " + units[i];
}

function num(n) {
  if (typeof n !== "number") return esc(n === undefined || n === null ? "" : n);
  return Number.isInteger(n) || Math.abs(n) >= 100 ? String(Math.round(n)) : n.toFixed(1);
}

function cell(path, text) { return `<td data-path="${esc(path)}">${text}</td>`; }

// A delta per second between this poll and the previous one.
function rate(now, before, dt) {
  if (typeof now !== "number" || typeof before !== "number" || dt <= 0) return undefined;
  return Math.max(0, (now - before) / dt);
}

// Draws `keys` (series) on the canvas with id `id`, with a legend.
function chart(id, title, lines, format) {
  return `<div class="chart"><div class="legend"><b>${esc(title)}</b>` +
      lines.map((l, i) => `<span><i class="c${i % COLORS.length}"></i>${esc(l.label)}</span>`).join("") +
      `</div><canvas id="${esc(id)}" data-series="${esc(JSON.stringify(lines.map(l => l.key)))}" data-format="${format || "num"}"></canvas></div>`;
}

function drawCharts() {
  for (const canvas of document.querySelectorAll("canvas[data-series]")) {
    const keys = JSON.parse(canvas.dataset.series);
    const format = canvas.dataset.format === "bytes" ? bytes : (canvas.dataset.format === "us" ? v => num(v) + " µs" : num);
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || 320, height = canvas.clientHeight || 110;
    canvas.width = width * ratio;
    canvas.height = height * ratio;
    const g = canvas.getContext("2d");
    g.scale(ratio, ratio);
    g.clearRect(0, 0, width, height);
    const all = keys.map(series);
    let max = 0, points = 0, tmin = Infinity, tmax = -Infinity;
    for (const s of all) for (const p of s) { max = Math.max(max, p.v); tmin = Math.min(tmin, p.t); tmax = Math.max(tmax, p.t); points++; }
    canvas.dataset.points = String(points);
    const left = 58, right = 6, top = 6, bottom = 16;
    g.strokeStyle = "#dde1e7";
    g.fillStyle = "#6b7585";
    g.font = "10px system-ui, sans-serif";
    g.beginPath(); g.moveTo(left, top); g.lineTo(left, height - bottom); g.lineTo(width - right, height - bottom); g.stroke();
    const top_value = max > 0 ? max * 1.1 : 1;
    g.fillText(format(top_value), 2, top + 8);
    g.fillText(format(0), 2, height - bottom);
    if (points === 0) { g.fillText("no data yet", left + 8, height / 2); continue; }
    const span = Math.max(tmax - tmin, 1);
    g.fillText(`${Math.round(span / 1000)} s`, width - right - 30, height - 3);
    all.forEach((s, i) => {
      g.strokeStyle = COLORS[i % COLORS.length];
      g.lineWidth = 1.5;
      g.beginPath();
      s.forEach((p, j) => {
        const x = left + (width - left - right) * (p.t - tmin) / span;
        const y = height - bottom - (height - top - bottom) * p.v / top_value;
        if (j === 0) g.moveTo(x, y); else g.lineTo(x, y);
      });
      g.stroke();
      if (s.length === 1) { const p = s[0]; g.fillStyle = COLORS[i % COLORS.length]; g.fillRect(left + 1, height - bottom - (height - top - bottom) * p.v / top_value - 1, 3, 3); }
    });
  }
}

function kvTable(prefix, obj) {
  const rows = [];
  const walk = (path, value) => {
    if (value && typeof value === "object" && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) walk(path ? `${path}.${k}` : k, v);
    } else if (Array.isArray(value)) {
      rows.push(`<tr><td>${esc(path)}</td>${cell(prefix + "." + path, esc(value.length + " items"))}</tr>`);
    } else {
      rows.push(`<tr><td>${esc(path)}</td>${cell(prefix + "." + path, /bytes/.test(path) ? bytes(value) : num(value))}</tr>`);
    }
  };
  walk("", obj);
  return `<table class="kv">${rows.join("")}</table>`;
}

// Arrays of named things may come bare or wrapped ({policy, classes: [...]}).
function listOf(section, inner) {
  if (Array.isArray(section)) return {items: section, rest: null};
  if (section && typeof section === "object" && Array.isArray(section[inner])) {
    const rest = Object.assign({}, section);
    delete rest[inner];
    return {items: section[inner], rest};
  }
  return {items: [], rest: section};
}

function renderServer(s, t, dt) {
  const server = s.server;
  const el = document.getElementById("section-server");
  if (!server) { el.innerHTML = ""; return; }
  const before = previous && previous.server;
  record("server.ops", rate(server.commands_processed, before && before.commands_processed, dt), t);
  record("server.clients", server.connected_clients, t);
  record("server.busy", rate(server.busy_rejections, before && before.busy_rejections, dt), t);
  el.innerHTML = `<h2>Server</h2><div class="cards">
    <div class="card">${kvTable("server", {connected_clients: server.connected_clients, commands_processed: server.commands_processed,
      busy_rejections: server.busy_rejections, protocol_errors: server.protocol_errors, port: server.port, version: server.version})}</div>
    <div class="card">${chart("chart-server-ops", "commands / s", [{key: "server.ops", label: "commands"}])}</div>
    <div class="card">${chart("chart-server-clients", "clients and busy answers / s", [{key: "server.clients", label: "clients"}, {key: "server.busy", label: "-BUSY / s"}])}</div>
  </div>`;
}

function renderWorkClasses(s, t) {
  const el = document.getElementById("section-work_classes");
  // The engine reports them as "work" ({policy, ..., classes: [...]}).
  const section = s.work_classes !== undefined ? s.work_classes : s.work;
  if (section === undefined || section === null) { el.innerHTML = ""; return; }
  const {items, rest} = listOf(section, "classes");
  const cards = items.map((c, i) => {
    const name = c.name || `class ${i}`;
    const key = `work.${name}`;
    record(`${key}.pending`, c.pending_bytes, t);
    record(`${key}.low`, c.band_low_bytes, t);
    record(`${key}.high`, c.band_high_bytes, t);
    const state = c.state || "";
    return `<div class="card" data-class="${esc(name)}"><h3><span>${esc(name)}</span><span class="state ${esc(state)}" data-path="work_classes.${esc(name)}.state">${esc(state)}</span></h3>
      ${chart(`chart-work-${name}`, "pending work", [{key: `${key}.pending`, label: "pending"}, {key: `${key}.low`, label: "band low"}, {key: `${key}.high`, label: "band high"}], "bytes")}
      <table class="kv"><tr><td>pending</td>${cell(`work_classes.${name}.pending_bytes`, bytes(c.pending_bytes))}</tr>
      <tr><td>rate</td>${cell(`work_classes.${name}.rate_bytes_per_s`, bytes(c.rate_bytes_per_s) + "/s")}</tr>
      ${c.last_error ? `<tr><td>last error</td>${cell(`work_classes.${name}.last_error`, esc(c.last_error))}</tr>` : ""}</table></div>`;
  });
  el.innerHTML = `<h2>Background work classes</h2>${rest && Object.keys(rest).length ? kvTable("work", rest) : ""}<div class="cards">${cards.join("")}</div>`;
}

function renderChannels(s, t) {
  const el = document.getElementById("section-channels");
  // The engine reports them as "compaction" ({channels: [...], ...}).
  const section = s.channels !== undefined ? s.channels : s.compaction;
  if (section === undefined || section === null) { el.innerHTML = ""; return; }
  const {items, rest} = listOf(section, "channels");
  const cards = items.map((c, i) => {
    const name = c.name || `channel ${i}`;
    const key = `channel.${name}`;
    const waiting = c.waiting && typeof c.waiting === "object" ? c.waiting.size : c.waiting;
    record(`${key}.waiting`, waiting, t);
    record(`${key}.active`, c.active, t);
    record(`${key}.starting`, c.starting, t);
    const state = c.suspended ? "suspended" : (c.paused ? "paused" : ((c.active || c.starting) ? "active" : "idle"));
    return `<div class="card" data-channel="${esc(name)}"><h3><span>${esc(name)}</span><span class="state ${state === "suspended" ? "bad" : esc(state)}" data-path="channels.${esc(name)}.state">${esc(state)}</span></h3>
      ${chart(`chart-channel-${name}`, "queue", [{key: `${key}.waiting`, label: "waiting"}, {key: `${key}.active`, label: "active"}, {key: `${key}.starting`, label: "starting"}])}
      <table class="kv"><tr><td>waiting</td>${cell(`channels.${name}.waiting`, num(waiting))}</tr>
      <tr><td>active / concurrency</td>${cell(`channels.${name}.active`, `${num(c.active)} / ${num(c.concurrency)}`)}</tr>
      ${c.blocked_reason ? `<tr><td>blocked</td>${cell(`channels.${name}.blocked_reason`, esc(c.blocked_reason))}</tr>` : ""}</table></div>`;
  });
  el.innerHTML = `<h2>Compaction channels</h2>${rest && Object.keys(rest).length ? kvTable("compaction", rest) : ""}<div class="cards">${cards.join("")}</div>`;
}

function renderReadPool(s, t, dt) {
  const el = document.getElementById("section-read_pool");
  const pool = s.read_pool;
  if (!pool) { el.innerHTML = ""; return; }
  const names = Object.keys(pool);
  const rows = [];
  for (const p of names) {
    const lane = pool[p] || {};
    const before = previous && previous.read_pool && previous.read_pool[p];
    record(`rp.${p}.latency`, (lane.queue_wait_p99_us || 0) + (lane.run_p99_us || 0), t);
    record(`rp.${p}.rejected`, rate(lane.rejected, before && before.rejected, dt), t);
    record(`rp.${p}.inflight`, (lane.running || 0) + (lane.queued || 0), t);
    rows.push(`<tr><td>${esc(p)}</td>${["threads", "running", "queued", "admitted", "rejected", "completed"].map(f => cell(`read_pool.${p}.${f}`, num(lane[f]))).join("")}
      ${cell(`read_pool.${p}.queue_wait_p99_us`, num(lane.queue_wait_p99_us))}${cell(`read_pool.${p}.run_p99_us`, num(lane.run_p99_us))}${cell(`read_pool.${p}.estimated_wait_us`, num(lane.estimated_wait_us))}</tr>`);
  }
  el.innerHTML = `<h2>Read pool</h2><div class="cards">
    <div class="card">${chart("chart-rp-latency", "p99 latency (queue wait + run)", names.map(p => ({key: `rp.${p}.latency`, label: p})), "us")}</div>
    <div class="card">${chart("chart-rp-rejected", "rejections / s (Busy)", names.map(p => ({key: `rp.${p}.rejected`, label: p})))}</div>
    <div class="card">${chart("chart-rp-inflight", "running + queued", names.map(p => ({key: `rp.${p}.inflight`, label: p})))}</div>
  </div><table><tr><th>priority</th><th>threads</th><th>running</th><th>queued</th><th>admitted</th><th>rejected</th><th>completed</th><th>queue p99 µs</th><th>run p99 µs</th><th>est. wait µs</th></tr>${rows.join("")}</table>`;
}

function renderTiering(s, t) {
  const el = document.getElementById("section-tiering");
  if (s.tiering === undefined || s.tiering === null) { el.innerHTML = ""; return; }
  const tier = s.tiering;
  const numeric = typeof tier === "object" ? Object.entries(tier).filter(([, v]) => typeof v === "number") : [];
  const bytesFields = numeric.filter(([k]) => /bytes/.test(k)).slice(0, 4);
  for (const [k, v] of bytesFields) record(`tier.${k}`, v, t);
  el.innerHTML = `<h2>Tiering</h2><div class="cards">
    ${bytesFields.length ? `<div class="card">${chart("chart-tiering", "bytes", bytesFields.map(([k]) => ({key: `tier.${k}`, label: k})), "bytes")}</div>` : ""}
    <div class="card">${typeof tier === "object" ? kvTable("tiering", tier) : esc(tier)}</div></div>`;
}

function renderDatabases(s) {
  const el = document.getElementById("section-databases");
  if (!Array.isArray(s.databases)) { el.innerHTML = ""; return; }
  const rows = s.databases.map(d => `<tr data-database="${esc(d.name)}">${cell(`databases.${d.name}.name`, esc(d.name))}
    ${cell(`databases.${d.name}.disk_bytes`, bytes(d.disk_bytes))}${cell(`databases.${d.name}.live_bytes`, bytes(d.live_bytes) + (d.live_bytes_exact === false ? "~" : ""))}
    ${cell(`databases.${d.name}.memtable_bytes`, bytes(d.memtable_bytes))}${cell(`databases.${d.name}.entries`, num(d.entries))}
    ${cell(`databases.${d.name}.segments`, num(d.segments))}${cell(`databases.${d.name}.compactions`, num(d.compactions))}</tr>`);
  el.innerHTML = `<h2>Databases (${s.databases.length})</h2><table><tr><th>name</th><th>disk</th><th>live</th><th>memtable</th><th>entries</th><th>segments</th><th>compactions</th></tr>${rows.join("")}</table>`;
}

function renderJournal(s) {
  const el = document.getElementById("section-journal");
  el.innerHTML = s.journal ? `<h2>Journal</h2>${kvTable("journal", s.journal)}` : "";
}

const KNOWN = new Set(["data_dir", "uptime_s", "background_error", "server", "work_classes", "work", "channels",
                       "compaction", "read_pool", "tiering", "databases", "journal"]);

function renderOther(s) {
  const el = document.getElementById("section-other");
  const parts = Object.entries(s).filter(([k]) => !KNOWN.has(k))
      .map(([k, v]) => `<h2>${esc(k)}</h2>${v && typeof v === "object" && !Array.isArray(v) ? kvTable(k, v) : `<pre data-path="${esc(k)}">${esc(JSON.stringify(v, null, 1))}</pre>`}`);
  el.innerHTML = parts.join("");
}

function renderSummary(s) {
  const summary = document.getElementById("summary");
  const err = s.background_error ? ` <span class="state bad" data-path="background_error">${esc(s.background_error)}</span>` : "";
  summary.innerHTML = `<span data-path="data_dir">${esc(s.data_dir || "")}</span> &middot; up <span data-path="uptime_s">${num(s.uptime_s)}</span> s` +
      (s.journal ? ` &middot; journal.sync <span data-path="journal.sync_mode">${esc(s.journal.sync_mode)}</span>` : "") + err;
}

function render(s) {
  const t = Date.now();
  const dt = previous ? (t - previous.__t) / 1000 : 0;
  renderSummary(s);
  renderServer(s, t, dt);
  renderWorkClasses(s, t);
  renderChannels(s, t);
  renderReadPool(s, t, dt);
  renderTiering(s, t);
  renderDatabases(s);
  renderJournal(s);
  renderOther(s);
  drawCharts();
  s.__t = t;
  previous = s;
  polls++;
  document.getElementById("polls").textContent = String(polls);
  document.getElementById("updated").textContent = new Date(t).toLocaleTimeString();
  document.body.dataset.polls = String(polls);
}

// The admin token (server.admin_token), when the server wants one: asked
// for once, then kept in this tab's sessionStorage and sent as a bearer
// header. A "#token=..." fragment (never sent to the server) is taken too,
// and removed from the address bar.
const TOKEN_KEY = "ebb-admin-token";
let pollTimer = null;

function takeTokenFromFragment() {
  const match = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (!match) return;
  sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
  window.history.replaceState(null, "", location.pathname + location.search);
}

function authHeaders() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? {Authorization: `Bearer ${token}`} : {};
}

function askForToken(wrong) {
  const form = document.getElementById("token-form");
  form.hidden = false;
  form.dataset.wrong = wrong ? "1" : "0";
  const error = document.getElementById("error");
  error.hidden = false;
  error.textContent = wrong ? "The admin token was not accepted; enter it again."
                            : "This admin listener needs its token.";
  document.getElementById("token").focus();
}

function schedule(delay) {
  clearTimeout(pollTimer);
  pollTimer = setTimeout(poll, delay);
}

async function poll() {
  const error = document.getElementById("error");
  try {
    const response = await fetch("/status", {cache: "no-store", headers: authHeaders()});
    if (response.status === 401) {
      // Stop polling until a token is given: asking once, not every second.
      askForToken(sessionStorage.getItem(TOKEN_KEY) !== null);
      return;
    }
    if (!response.ok) throw new Error(`/status answered HTTP ${response.status}`);
    render(await response.json());
    error.hidden = true;
  } catch (e) {
    error.hidden = false;
    error.textContent = `Cannot read /status: ${e.message}. Retrying every ${POLL_MS} ms.`;
  }
  schedule(POLL_MS);
}

document.getElementById("token-form").addEventListener("submit", event => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, document.getElementById("token").value);
  document.getElementById("token").value = "";
  document.getElementById("token-form").hidden = true;
  schedule(0);
});

takeTokenFromFragment();
poll();
