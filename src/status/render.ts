// The body of the status page, rendered from a status document. One renderer for both sides: the server renders the
// first page with it, and the page's script (which embeds this function's source, see page.ts) re-renders with it
// on every document the WebSocket pushes. So it must stay self-contained: no imports (types aside), no references
// to anything outside its own body, and no "</script" or "<!--" anywhere in it.
//
// Every value from the document is written through esc(): node names come from DNS answers, epmd and peers, and are
// untrusted; they are only ever text here, never markup.
import type { StatusDocument } from "./document.js";

export function renderStatusBody(doc: StatusDocument): string {
  const now = doc.generatedAt;
  const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  function esc(value: unknown): string {
    return String(value).replace(/[&<>"']/g, (c) => ENTITIES[c]);
  }
  function count(n: number): string {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }
  function bytes(n: number): string {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let value = n;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit++;
    }
    return unit === 0 ? `${n} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
  }
  function duration(ms: number): string {
    if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
    const s = Math.round(ms / 1000);
    if (s < 60) return `${s} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} min ${s % 60} s`;
    const h = Math.floor(m / 60);
    if (h < 24) return `${h} h ${m % 60} min`;
    return `${Math.floor(h / 24)} d ${h % 24} h`;
  }
  function time(at: number, text: string): string {
    const iso = new Date(at).toISOString();
    return `<time datetime="${esc(iso)}" title="${esc(iso.replace("T", " ").replace(/\.\d+Z$/, " UTC"))}">${esc(text)}</time>`;
  }
  function ago(at: number): string {
    return time(at, now - at < 1000 ? "just now" : `${duration(now - at)} ago`);
  }
  function until(at: number): string {
    return time(at, at - now < 1000 ? "now" : `in ${duration(at - now)}`);
  }
  function badge(kind: string, text: string): string {
    return `<span class="badge ${esc(kind)}">${esc(text)}</span>`;
  }
  function fact(label: string, html: string): string {
    return `<div><dt>${esc(label)}</dt><dd>${html}</dd></div>`;
  }

  const node = doc.node;
  const stats = node.stats;
  const parts: string[] = [];

  parts.push(
    `<section class="card" id="this-node"><h2>This node</h2><dl class="facts">`,
    fact("Name", `<span class="mono" data-field="name">${esc(node.name)}</span>`),
    fact("Mode", node.hidden ? badge("hidden", "hidden") : badge("visible", "visible")),
    fact("State", node.running ? badge("connected", "running") : badge("disconnected", "stopped")),
    fact("Uptime", `<span data-field="uptime">${esc(duration(node.uptimeMs))}</span> (since ${time(node.startedAt, new Date(node.startedAt).toISOString().slice(0, 19).replace("T", " ") + " UTC")})`),
    fact("Distribution port", `<span class="mono">${esc(node.port)}</span>`),
    fact("Creation", `<span class="mono">${esc(node.creation)}</span>`),
    fact("Connections", `${esc(count(stats.connectionsUp))} up, ${esc(count(stats.connectionsDown))} down`),
    fact("Messages", `${esc(count(stats.messagesIn))} in, ${esc(count(stats.messagesOut))} out`),
    fact("Bytes", `${esc(bytes(stats.bytesIn))} in, ${esc(bytes(stats.bytesOut))} out`),
    fact(
      "Backpressure",
      `<span data-field="backpressure">busy ${esc(count(stats.busyCount))} times for ${esc(duration(stats.busyMs))}; ` +
        `${esc(count(stats.sendsHeld))} sends held, ${esc(count(stats.sendsRefused))} refused</span>`,
    ),
    `</dl></section>`,
  );

  parts.push(`<section class="card" id="peers"><h2>Connected nodes <span class="count">${esc(doc.peers.length)}</span></h2>`);
  if (doc.peers.length === 0) {
    parts.push(`<p class="empty">No node is connected.</p>`);
  } else {
    parts.push(
      `<div class="scroll"><table><thead><tr><th>Node</th><th>Mode</th><th>OTP</th><th>Connected</th>`,
      `<th class="num">Messages in</th><th class="num">Messages out</th><th class="num">Bytes in</th><th class="num">Bytes out</th><th class="num">Queued</th></tr></thead><tbody>`,
    );
    for (const peer of doc.peers) {
      parts.push(
        `<tr data-node="${esc(peer.name)}">`,
        `<td class="mono">${esc(peer.name)}</td>`,
        `<td>${peer.hidden ? badge("hidden", "hidden") : badge("visible", "visible")}</td>`,
        `<td data-field="otp">${peer.otpRelease === null ? `<span class="muted">unknown</span>` : esc(peer.otpRelease)}</td>`,
        `<td>${ago(peer.since)}</td>`,
        `<td class="num">${esc(count(peer.stats.messagesIn))}</td>`,
        `<td class="num">${esc(count(peer.stats.messagesOut))}</td>`,
        `<td class="num">${esc(bytes(peer.stats.bytesIn))}</td>`,
        `<td class="num">${esc(bytes(peer.stats.bytesOut))}</td>`,
        `<td class="num" data-field="queued">${peer.busy ? badge("busy", "busy") + " " : ""}${esc(bytes(peer.queuedBytes))}</td>`,
        `</tr>`,
      );
    }
    parts.push(`</tbody></table></div>`);
  }
  parts.push(`</section>`);

  if (doc.discoveries.length === 0) {
    parts.push(`<section class="card"><h2>Discovery</h2><p class="empty">No discovery loop runs.</p></section>`);
  }
  for (const loop of doc.discoveries) {
    parts.push(
      `<section class="card discovery" data-loop="${esc(loop.id)}">`,
      `<h2>Discovery <span class="mono source">${esc(loop.source)}</span></h2>`,
      `<p class="meta">${loop.running ? badge("connected", "running") : badge("disconnected", "stopped")} `,
      `every ${esc(duration(loop.interval))}, ${esc(count(loop.refreshes))} refreshes`,
      loop.failedStreak > 0 ? `, <strong>${esc(loop.failedStreak)} failed lookups in a row</strong>` : "",
      loop.emptyStreak > 0 ? `, ${esc(loop.emptyStreak)} empty answers in a row` : "",
      `</p>`,
    );
    const last = loop.lastLookup;
    if (last) {
      parts.push(
        `<p class="meta lookup">Last lookup ${ago(last.at)}: ${badge(`lookup-${last.status}`, last.status)} `,
        `${esc(count(last.count))} ${last.count === 1 ? "name" : "names"} in ${esc(last.durationMs)} ms`,
        last.error ? ` <span class="error">${esc(last.error)}</span>` : "",
        `</p>`,
      );
    } else {
      parts.push(`<p class="meta lookup muted">No lookup yet.</p>`);
    }
    if (loop.nodes.length === 0) {
      parts.push(`<p class="empty">No name known.</p>`);
    } else {
      parts.push(`<div class="scroll"><table><thead><tr><th>Name</th><th>State</th><th>Since</th><th>Details</th></tr></thead><tbody>`);
      for (const known of loop.nodes) {
        let details = "";
        if (known.state === "backing_off") {
          details = `${esc(known.failures)} failed ${known.failures === 1 ? "attempt" : "attempts"}`;
          if (known.retryAt !== undefined) details += `, retry ${until(known.retryAt)}`;
        } else if (known.state === "disconnected") {
          details = "went down; reconnected on the next refresh";
        } else if (known.state === "discovered") {
          details = `first seen ${ago(known.firstSeen)}`;
        } else if (known.state === "connecting") {
          details = "attempt in flight";
        }
        if (known.lastError && known.state !== "connected") {
          const code = known.lastError.code ? `${known.lastError.code}: ` : "";
          details += `<div class="error">${esc(code + known.lastError.message)}</div>`;
        }
        parts.push(
          `<tr data-node="${esc(known.name)}" data-state="${esc(known.state)}">`,
          `<td class="mono">${esc(known.name)}</td>`,
          `<td>${badge(known.state, known.state.replace("_", " "))}</td>`,
          `<td>${ago(known.since)}</td>`,
          `<td>${details}</td>`,
          `</tr>`,
        );
      }
      parts.push(`</tbody></table></div>`);
    }
    parts.push(`</section>`);
  }

  // pg scopes and PubSub clients: only once something on this node uses them (most nodes never do).
  function names(list: string[]): string {
    return list.length === 0 ? "" : `: <span class="mono">${list.map(esc).join(", ")}</span>`;
  }
  for (const scope of doc.pgScopes) {
    parts.push(
      `<section class="card pg" data-scope="${esc(scope.scope)}">`,
      `<h2>pg scope <span class="mono">${esc(scope.scope)}</span></h2>`,
      `<p class="meta">synced with ${esc(count(scope.syncedNodes.length))} ${scope.syncedNodes.length === 1 ? "node" : "nodes"}${names(scope.syncedNodes)}</p>`,
    );
    if (scope.groups.length === 0) {
      parts.push(`<p class="empty">This node has joined no group.</p>`);
    } else {
      parts.push(`<div class="scroll"><table><thead><tr><th>Group</th><th class="num">Members here</th><th class="num">Members in all</th></tr></thead><tbody>`);
      for (const group of scope.groups) {
        parts.push(
          `<tr data-group="${esc(group.group)}"><td class="mono">${esc(group.group)}</td>`,
          `<td class="num">${esc(count(group.localMembers))}</td><td class="num">${esc(count(group.members))}</td></tr>`,
        );
      }
      parts.push(`</tbody></table></div>`);
    }
    parts.push(`</section>`);
  }
  for (const pubsub of doc.pubsubs) {
    const others = pubsub.nodes.filter((name) => name !== node.name);
    parts.push(
      `<section class="card pubsub" data-pubsub="${esc(pubsub.name)}">`,
      `<h2>Phoenix.PubSub <span class="mono">${esc(pubsub.name.replace(/^Elixir\./, ""))}</span></h2>`,
      `<p class="meta">${others.length === 0 ? `<strong>runs on no other node</strong>` : `runs on ${esc(count(others.length))} other ${others.length === 1 ? "node" : "nodes"}${names(others)}`}</p>`,
    );
    if (pubsub.topics.length === 0) {
      parts.push(`<p class="empty">No topic subscribed to or broadcast on.</p>`);
    } else {
      parts.push(`<div class="scroll"><table><thead><tr><th>Topic</th><th class="num">Subscribers</th><th class="num">Received</th><th class="num">Sent</th></tr></thead><tbody>`);
      for (const topic of pubsub.topics) {
        parts.push(
          `<tr data-topic="${esc(topic.topic)}"><td class="mono">${esc(topic.topic)}</td>`,
          `<td class="num">${esc(count(topic.subscribers))}</td><td class="num">${esc(count(topic.received))}</td><td class="num">${esc(count(topic.sent))}</td></tr>`,
        );
      }
      parts.push(`</tbody></table></div>`);
    }
    parts.push(`</section>`);
  }
  return parts.join("");
}
