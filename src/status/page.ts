// The HTML status page: self-contained (inline CSS and script, nothing fetched from elsewhere), rendered on the
// server from the current document, then kept current by its script: it opens a WebSocket to ./live, re-renders on
// every document pushed (with the same renderer, whose source it embeds), and reconnects when the socket drops,
// showing meanwhile that it is disconnected and that what it shows is stale.
import type { StatusDocument } from "./document.js";
import { renderStatusBody } from "./render.js";

const STYLE = `
:root { color-scheme: light dark; --bg: #f5f6f8; --card: #fff; --text: #1d2330; --muted: #6b7385; --line: #e3e6ec;
  --green: #1f8a4c; --blue: #2b6cb0; --orange: #b45d09; --red: #c53030; --grey: #6b7385; --purple: #6b46c1; }
@media (prefers-color-scheme: dark) { :root { --bg: #14171c; --card: #1c2027; --text: #e4e7ec; --muted: #98a0b0;
  --line: #2c323c; --green: #48bb78; --blue: #63a4e8; --orange: #ed9a3a; --red: #f07070; --grey: #98a0b0; --purple: #a38be8; } }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
header { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: 8px 16px;
  padding: 14px 24px; background: var(--card); border-bottom: 1px solid var(--line); }
h1 { margin: 0; font-size: 18px; font-weight: 600; }
h1 .mono { font-weight: 500; }
h2 { margin: 0 0 10px; font-size: 15px; font-weight: 600; }
main { max-width: 1200px; margin: 0 auto; padding: 16px 24px; transition: opacity .3s; }
body.stale main { opacity: .5; }
footer { max-width: 1200px; margin: 0 auto; padding: 0 24px 24px; color: var(--muted); font-size: 12px; }
a { color: var(--blue); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; margin-bottom: 16px; }
.mono, td.mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; word-break: break-all; }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 8px 24px; margin: 0; }
.facts dt { color: var(--muted); font-size: 12px; }
.facts dd { margin: 0; }
.scroll { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 6px 10px 6px 0; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 500; font-size: 12px; white-space: nowrap; }
tr:last-child td { border-bottom: none; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.count { display: inline-block; min-width: 22px; padding: 0 6px; border-radius: 10px; background: var(--line); text-align: center; font-size: 12px; }
.meta { margin: 4px 0; color: var(--muted); }
.empty, .muted { color: var(--muted); }
.error { color: var(--red); font-size: 12px; word-break: break-word; }
time { white-space: nowrap; }
.badge { display: inline-block; padding: 0 7px; border-radius: 10px; font-size: 12px; line-height: 18px; white-space: nowrap;
  border: 1px solid currentColor; }
.badge.connected, .badge.lookup-found { color: var(--green); }
.badge.connecting { color: var(--blue); }
.badge.backing_off, .badge.lookup-partial, .badge.busy { color: var(--orange); }
.badge.disconnected, .badge.lookup-failed { color: var(--red); }
.badge.discovered, .badge.lookup-empty, .badge.hidden { color: var(--grey); }
.badge.visible { color: var(--purple); }
.live { font-size: 13px; padding: 2px 10px; border-radius: 12px; border: 1px solid currentColor; }
.live::before { content: "\\25CF  "; }
.live.up { color: var(--green); }
.live.connecting { color: var(--blue); }
.live.down { color: var(--red); }
`;

/** A small icon as a data: URL, so that the browser asks the server for no favicon. */
const ICON = `data:image/svg+xml,${encodeURIComponent('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="#a90533"/></svg>')}`;

/** The page's script; RENDER is replaced by the renderer's source. Plain browser JavaScript. */
const SCRIPT = `
(function () {
  "use strict";
  var render = RENDER;
  var main = document.getElementById("status");
  var live = document.getElementById("live");
  var updated = document.getElementById("updated");
  var receivedAt = Date.now();
  var delay = 500;
  function show(state, text) {
    live.className = "live " + state;
    live.textContent = text;
    document.body.classList.toggle("stale", state !== "up");
  }
  function connect() {
    var url = new URL("live", location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.hash = "";
    var socket = new WebSocket(url.href);
    socket.onopen = function () {
      delay = 500;
      show("up", "live");
    };
    socket.onmessage = function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      if (!message || message.type !== "status") return;
      main.innerHTML = render(message.status);
      document.title = "erldist status: " + message.status.node.name;
      receivedAt = Date.now();
      tick();
    };
    socket.onclose = function () {
      var wait = delay;
      delay = Math.min(delay * 2, 5000);
      show("down", "disconnected: reconnecting");
      setTimeout(connect, wait);
    };
  }
  function tick() {
    var s = Math.round((Date.now() - receivedAt) / 1000);
    updated.textContent = s < 1 ? "just now" : s + " s ago";
  }
  setInterval(tick, 1000);
  connect();
})();
`;

const renderSource = renderStatusBody.toString();
if (/<\/script|<!--/i.test(renderSource) || !renderSource.startsWith("function")) {
  // A change to render.ts broke the rule it states; fail loudly at load rather than serve a broken page.
  throw new Error("status page: the renderer's source cannot be embedded in a <script> element");
}
const CLIENT_SCRIPT = SCRIPT.replace("RENDER", () => renderSource);

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string);
}

/** The whole page for `doc`; `nonce` is the Content-Security-Policy nonce that lets its one script run. */
export function renderPage(doc: StatusDocument, nonce: string): string {
  const name = escapeHtml(doc.node.name);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>erldist status: ${name}</title>
<link rel="icon" href="${ICON}">
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>erldist <span class="mono">${name}</span></h1>
<div id="live" class="live connecting" role="status" aria-live="polite">connecting</div>
</header>
<main id="status">${renderStatusBody(doc)}</main>
<footer>Updated <span id="updated">just now</span>. Also as <a href="status">JSON</a> and <a href="metrics">Prometheus metrics</a>; updates live over a WebSocket (<span class="mono">/live</span>).</footer>
<script nonce="${escapeHtml(nonce)}">${CLIENT_SCRIPT}</script>
</body>
</html>
`;
}

/** The Content-Security-Policy of the page: its own inline script (by nonce) and style, WebSockets to itself, nothing else. */
export function pagePolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    "style-src 'unsafe-inline'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}
