"""The web operator console's page: one self-contained HTML document (no external assets).

Every value from the stack is put in the page with ``textContent`` or SVG attributes,
never as HTML, so request text in the ledger cannot inject markup or script.
"""

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>bb_agent console</title>
<style>
 body{font-family:system-ui,sans-serif;margin:0;background:#f4f5f7;color:#222}
 header{display:flex;align-items:center;gap:1em;padding:.6em 1em;background:#1f2933;color:#fff}
 header h1{font-size:1.1em;margin:0;flex:1}
 #stop{background:#d62828;color:#fff;border:0;font-size:1.2em;font-weight:bold;
       padding:.5em 1.4em;border-radius:6px;cursor:pointer}
 main{display:grid;grid-template-columns:420px 1fr 1fr;gap:1em;padding:1em}
 section{background:#fff;border-radius:6px;padding:.8em;box-shadow:0 1px 2px #0002}
 h2{font-size:1em;margin:.1em 0 .6em}
 #level.OK{color:#2a9d8f}#level.WARN{color:#e9a23b}#level.STOP{color:#d62828}
 .node{padding:.2em .4em;margin:.2em 0;border-left:6px solid #999;list-style:none}
 .node.running{border-color:#3a86ff}.node.succeeded{border-color:#2a9d8f}
 .node.failed,.node.canceled{border-color:#d62828}.node.skipped{border-color:#aaa}
 table{border-collapse:collapse;width:100%;font-size:.85em}
 td{border-top:1px solid #eee;padding:2px}
 #error{color:#d62828;min-height:1.2em}
 ul{padding:0;margin:0}
</style></head>
<body>
<header><h1>bb_agent operator console</h1>
 <input id="token" type="password" placeholder="operator token" autocomplete="off">
 <button id="login">Connect</button>
 <button id="stop" title="latch STOP: nothing moves until a reset">STOP</button></header>
<div id="error"></div>
<main>
 <section><h2>Safety</h2>
  <div>V<sub>s</sub> <b id="vs">-</b> / <span id="threshold">-</span>
   &nbsp; level <b id="level">-</b> &nbsp; latched <b id="latched">-</b></div>
  <ul id="reasons"></ul>
  <h2>World (top view, m)</h2>
  <svg id="world" width="400" height="400" viewBox="-1 -1 2 2"
       style="background:#fafafa;border:1px solid #ddd"></svg></section>
 <section><h2>Plan <span id="plan_id"></span></h2><ul id="plan"></ul>
  <h2>Pending approvals</h2><ul id="pending"></ul>
  <h2>Chat</h2>
  <input id="chat" size="40" placeholder="Put the red cup in bin A.">
  <label><input id="dry" type="checkbox"> dry run</label>
  <button id="send">Send</button><ul id="chatlog"></ul></section>
 <section><h2>Ledger (recent)</h2><table><tbody id="ledger"></tbody></table></section>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
let token = sessionStorage.getItem("bb_token") || "";
function el(tag, text, cls) { const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; }
function show(msg) { $("error").textContent = msg || ""; }
async function call(method, path, body) {
  const opts = {method, headers: {"Authorization": "Bearer " + token}};
  if (body !== undefined) { opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body); }
  const r = await fetch(path, opts);
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(r.status + ": " + (data.error_msg || r.statusText));
  return data;
}
function drawWorld(w) {
  const svg = $("world"); const key = JSON.stringify([w.objects, w.ee]);
  if (drawn.world === key) return; drawn.world = key;
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  for (const o of (w.objects || [])) {
    const kind = o.kind === "human" ? "human" : (o.kind === "bin" ? "bin" : "obj");
    let s;
    if (kind === "bin") { s = document.createElementNS(SVG, "rect");
      s.setAttribute("x", o.x - 0.06); s.setAttribute("y", -o.y - 0.06);
      s.setAttribute("width", 0.12); s.setAttribute("height", 0.12);
      s.setAttribute("fill", "#bcd"); }
    else { s = document.createElementNS(SVG, "circle");
      s.setAttribute("cx", o.x); s.setAttribute("cy", -o.y);
      s.setAttribute("r", kind === "human" ? 0.08 : 0.03);
      s.setAttribute("fill", kind === "human" ? "#d62828" : "#555"); }
    s.setAttribute("class", kind); s.setAttribute("data-id", o.id);
    const t = document.createElementNS(SVG, "title"); t.textContent = o.id + " (" + o.kind + ")";
    s.appendChild(t); svg.appendChild(s);
    const label = document.createElementNS(SVG, "text");
    label.setAttribute("x", o.x + 0.05); label.setAttribute("y", -o.y + 0.015);
    label.setAttribute("font-size", "0.045"); label.textContent = o.id; svg.appendChild(label);
  }
  if (w.ee) { const e = document.createElementNS(SVG, "circle");
    e.setAttribute("cx", w.ee[0]); e.setAttribute("cy", -w.ee[1]); e.setAttribute("r", 0.025);
    e.setAttribute("fill", "none"); e.setAttribute("stroke", "#3a86ff");
    e.setAttribute("stroke-width", 0.012); e.setAttribute("class", "ee"); svg.appendChild(e); }
}
const drawn = {};  // what each list shows now: an unchanged list is not rebuilt (a button
                  // under the operator's pointer stays the same button)
function fill(list, items, make) { const key = JSON.stringify(items);
  if (drawn[list.id] === key) return; drawn[list.id] = key;
  list.replaceChildren(...items.map(make)); }
function render(s) {
  const sf = s.safety || {};
  $("vs").textContent = sf.v_s === undefined ? "-" :
    (isFinite(sf.v_s) ? sf.v_s.toFixed(3) : "inf");
  $("threshold").textContent = sf.threshold === undefined ? "-" : sf.threshold.toFixed(2);
  $("level").textContent = sf.level || "-"; $("level").className = sf.level || "";
  $("latched").textContent = sf.latched === undefined ? "-" : (sf.latched ? "yes" : "no");
  fill($("reasons"), sf.reasons || [], (r) => el("li", r));
  drawWorld(s.world || {});
  $("plan_id").textContent = (s.plan && s.plan.plan_id) ? s.plan.plan_id.slice(0, 8) : "";
  fill($("plan"), (s.plan && s.plan.nodes) || [], (n) => { const li = el("li",
    n.id + " " + n.skill + ": " + n.state + (n.message ? " - " + n.message : ""),
    "node " + n.state); li.dataset.state = n.state; li.dataset.skill = n.skill; return li; });
  fill($("pending"), s.pending || [], (p) => { const li = el("li",
    (p.actor || "?") + ": " + (p.text || "") + " -> " + (p.program || "").trim() + " ");
    li.dataset.cid = p.correlation_id;
    for (const [label, ok] of [["approve", true], ["reject", false]]) {
      const b = el("button", label, label); b.onclick = () => decide(p.correlation_id, ok);
      li.appendChild(b); }
    return li; });
  fill($("ledger"), s.ledger || [], (r) => { const tr = el("tr");
    tr.appendChild(el("td", new Date(r.t * 1000).toLocaleTimeString()));
    tr.appendChild(el("td", r.event));
    const what = r.text !== undefined ? r.text : r.program !== undefined ? r.program :
      r.outcome !== undefined ? "outcome " + r.outcome + (r.message ? ": " + r.message : "")
      : (r.correlation_id || "");
    tr.appendChild(el("td", what));
    return tr; });
}
async function poll() {
  if (!token) return;
  try { render(await call("GET", "/v1/console/state")); show(""); }
  catch (e) { show(e.message); }
}
async function decide(cid, approve) {
  try { await call("POST", "/v1/console/decision", {correlation_id: cid, approve,
        reason: approve ? "approved in the console" : "rejected in the console"}); poll(); }
  catch (e) { show(e.message); }
}
$("login").onclick = () => { token = $("token").value.trim();
  sessionStorage.setItem("bb_token", token); poll(); };
$("stop").onclick = async () => { try { const r = await call("POST", "/v1/console/stop", {});
  show(r.error_msg); poll(); } catch (e) { show(e.message); } };
$("send").onclick = async () => { const text = $("chat").value.trim(); if (!text) return;
  const li = el("li", "> " + text); $("chatlog").prepend(li);
  try { const r = await call("POST", "/v1/requests", {text, dry_run: $("dry").checked,
        actor_id: "console"});
    li.textContent = "> " + text + "  [" + r.outcome + "] " + (r.error_msg || r.question || "");
    li.dataset.outcome = r.outcome; }
  catch (e) { li.textContent = "> " + text + "  [refused] " + e.message;
    li.dataset.outcome = "refused"; } };
setInterval(poll, 500); poll();
</script></body></html>
"""
