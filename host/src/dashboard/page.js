"use strict";
// Every value goes in with textContent: label values are user input.
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}
function table(head, rows) {
  const t = el("table"), tr = el("tr");
  head.forEach(h => tr.appendChild(el("th", h)));
  t.appendChild(tr);
  rows.forEach(r => {
    const row = el("tr");
    r.forEach(c => row.appendChild(c instanceof Node ? wrap(c) : el("td", c)));
    t.appendChild(row);
  });
  return t;
}
function wrap(node) { const td = el("td"); td.appendChild(node); return td; }
// Ages by the daemon's clock (its `now_ms`), not the browser's.
let daemonNow = 0;
function ago(ms) {
  if (!ms || !daemonNow) return "";
  const s = Math.max(0, Math.round((daemonNow - ms) / 1000));
  return s + " s ago";
}
function render(doc) {
  daemonNow = doc.now_ms;
  document.getElementById("updated").textContent =
    "planned " + ago(doc.updated_ms) + " · refreshes every second";
  const clusters = document.getElementById("clusters");
  clusters.replaceChildren();
  for (const c of doc.clusters) {
    clusters.appendChild(el("h2", "Cluster " + c.name));
    clusters.appendChild(el("div",
      "plugin " + (c.plugin || "?") + " · revision " + (c.revision || "none yet")));
    if (c.failing) clusters.appendChild(el("div", c.failing, "bad"));
    const replicas = ((doc.replicas.clusters || {})[c.name] || {}).replicas || {};
    const reps = Object.entries(replicas).map(([name, r]) => [
      name, (r.running || "nothing").slice(0, 12),
      r.failed ? el("span", r.failed.message || "failed", "bad") : "ok",
      ago(r.last_seen_ms)]);
    if (reps.length) clusters.appendChild(table(["replica", "runs", "last attempt", "seen"], reps));
    const routes = [];
    for (const r of c.routes) {
      if (!r.services.length) routes.push([r.host, r.path, el("span", "no running task: 503", "bad"), 0, 0]);
      for (const s of r.services) routes.push([r.host, r.path, s.service, s.servers, s.weight]);
    }
    clusters.appendChild(routes.length
      ? table(["host", "path", "service", "servers", "weight"], routes)
      : el("div", "no routes", "muted"));
  }
  const ex = document.getElementById("excluded");
  ex.replaceChildren(doc.excluded.length
    ? table(["service", "cluster", "label", "why"], doc.excluded.map(e =>
        [e.service, e.cluster || "", e.label || "", e.message]))
    : el("div", "none", "muted"));
}
async function refresh() {
  try {
    const r = await fetch("status.json", { cache: "no-store" });
    if (r.ok) render(await r.json());
  } catch (e) {
    document.getElementById("updated").textContent = "daemon unreachable: " + e;
  }
}
refresh();
setInterval(refresh, 1000);
