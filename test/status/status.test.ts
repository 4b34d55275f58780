// The status server against real BEAM nodes: an erldist node connected to two erl nodes by a discovery loop (with a
// name that cannot connect and carries markup), served on a free port. Checks the JSON document, the Prometheus
// metrics, the liveness probe (/healthz; /readyz is readyz.test.ts's), the HTTP errors, the live WebSocket, and that
// untrusted names stay text on the page.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { WebSocket } from "ws";
import { register as globalRegistry } from "prom-client";
import { Node, StatusError, StatusServer, type Discovery, type StatusDocument } from "../../src/index.js";
import { BeamNode } from "../support/beam.js";
import { startEpmd, type Epmd } from "../support/epmd.js";
import { rejectionOf } from "../support/rejection.js";
import { otpReleaseOf } from "../support/release.js";
import { parsePrometheus, valueOf } from "./prometheus.js";

const HOSTILE = "<script>x</script>@127.0.0.1";

let epmd: Epmd | undefined;
const beams: BeamNode[] = [];
let node: Node | undefined;
let discovery: Discovery;
let server: StatusServer | undefined;
let release: string; // the BEAM nodes' OTP release, as they report it
/** Everything else a test starts, stopped in afterAll (in reverse) even when the test fails. */
const extras: Array<{ stop(): Promise<void> } | { close(): Promise<void> }> = [];

beforeAll(async () => {
  epmd = await startEpmd();
  for (const alive of ["st1", "st2"]) beams.push(await BeamNode.start({ epmd, alive }));
  release = String(await otpReleaseOf(beams[0]));
  node = await Node.start({ name: "status@127.0.0.1", cookie: beams[0].cookie, epmd: { port: epmd.port }, listenHost: "127.0.0.1" });
  discovery = node.discover({ static: [beams[0].name, beams[1].name, HOSTILE], interval: 200 });
  server = await StatusServer.start({ node, discoveries: [discovery], port: 0, host: "127.0.0.1" });
  await vi.waitFor(() => expect(node!.nodes()).toHaveLength(2), { timeout: 10_000, interval: 50 });
});

afterAll(async () => {
  for (const extra of extras.splice(0).reverse()) await ("stop" in extra ? extra.stop() : extra.close()).catch(() => undefined);
  await server?.close();
  await node?.stop();
  await Promise.all(beams.map((beam) => beam.stop()));
  await epmd?.stop();
});

async function get(path: string, init?: RequestInit): Promise<Response> {
  return fetch(new URL(path, server!.url), init);
}

async function statusJson(): Promise<StatusDocument> {
  const response = await get("/status");
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
  return (await response.json()) as StatusDocument;
}

/** Polls GET /status until a document satisfies `test`, and returns that document. */
async function documentWhere(test: (doc: StatusDocument) => boolean, timeout = 10_000): Promise<StatusDocument> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const doc = await statusJson();
    if (test(doc)) return doc;
    if (Date.now() > deadline) throw new Error(`no status document matched in ${timeout} ms; the last: ${JSON.stringify(doc, null, 2)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("GET /status", () => {
  it("describes this node, the connected nodes with their OTP release, and the discovery loop's names", async () => {
    expect(server!.url).toBe(`http://127.0.0.1:${server!.port}/`);
    await expect.poll(async () => (await statusJson()).peers.map((p) => p.otpRelease), { timeout: 10_000 }).toEqual([release, release]);
    // One document in which the hostile name is backing off (between attempts; briefly connecting during one).
    const doc = await documentWhere((d) => d.discoveries[0].nodes.find((n) => n.name === HOSTILE)?.state === "backing_off");
    expect(doc.node).toMatchObject({ name: "status@127.0.0.1", hidden: true, creation: node!.creation, port: node!.port, startedAt: node!.startedAt, running: true });
    expect(doc.node.uptimeMs).toBeGreaterThanOrEqual(0);
    expect(Math.abs(doc.generatedAt - Date.now())).toBeLessThan(5000);
    expect(doc.node.stats.connectionsUp).toBeGreaterThanOrEqual(2);
    expect(doc.peers.map((p) => p.name)).toEqual([beams[0].name, beams[1].name]);
    for (const peer of doc.peers) {
      expect(peer.hidden).toBe(false); // erl nodes connect as visible nodes
      expect(peer.since).toBeGreaterThanOrEqual(node!.startedAt);
      expect(peer.stats.messagesIn).toBeGreaterThan(0); // the rpc answer at least
      expect(peer.stats.messagesOut).toBeGreaterThan(0);
    }
    expect(doc.discoveries).toHaveLength(1);
    const loop = doc.discoveries[0];
    expect(loop).toMatchObject({ id: 0, source: `static ${beams[0].name},${beams[1].name},${HOSTILE}`, interval: 200, running: true });
    expect(loop.refreshes).toBeGreaterThan(0);
    expect(loop.lastLookup).toMatchObject({ status: "found", count: 3 });
    const byName = new Map(loop.nodes.map((n) => [n.name, n]));
    expect(byName.get(beams[0].name)?.state).toBe("connected");
    expect(byName.get(beams[1].name)?.state).toBe("connected");
    const hostile = byName.get(HOSTILE)!;
    expect(hostile.failures).toBeGreaterThanOrEqual(1);
    expect(hostile.lastError?.code).toBe("not_registered");
    expect(hostile.retryAt).toBeGreaterThan(hostile.since - 1);
  });

  it("is the same document status() returns", async () => {
    const fromHttp = await statusJson();
    const direct = server!.status();
    // Readiness follows the loop's states, which change between the two (the hostile name's attempts): readyz.test.ts.
    const strip = (doc: StatusDocument) => ({ ...doc, generatedAt: 0, node: { ...doc.node, uptimeMs: 0, stats: undefined }, peers: doc.peers.map((p) => p.name), discoveries: doc.discoveries.map((d) => d.source), readiness: undefined });
    expect(strip(fromHttp)).toEqual(strip(direct));
  });

  it("never holds the cookie, nor does the page or the metrics", async () => {
    const cookie = beams[0].cookie;
    for (const path of ["/status", "/", "/metrics"]) expect(await (await get(path)).text()).not.toContain(cookie);
  });
});

describe("GET /metrics", () => {
  it("is Prometheus text with the node's and the loop's figures", async () => {
    await expect.poll(async () => (await statusJson()).peers.every((p) => p.otpRelease === release), { timeout: 10_000 }).toBe(true);
    const response = await get("/metrics");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4; charset=utf-8$/);
    const metrics = parsePrometheus(await response.text());
    const stats = node!.stats();
    expect(metrics.get("erldist_connected_nodes")?.type).toBe("gauge");
    expect(valueOf(metrics, "erldist_connected_nodes")).toBe(2);
    expect(metrics.get("erldist_connections_up_total")?.type).toBe("counter");
    expect(valueOf(metrics, "erldist_connections_up_total")).toBe(stats.connectionsUp);
    expect(valueOf(metrics, "erldist_connections_down_total")).toBe(stats.connectionsDown);
    expect(valueOf(metrics, "erldist_messages_received_total")).toBeGreaterThan(0);
    expect(valueOf(metrics, "erldist_messages_sent_total")).toBeGreaterThan(0);
    expect(valueOf(metrics, "erldist_bytes_received_total")).toBeGreaterThan(0);
    expect(valueOf(metrics, "erldist_bytes_sent_total")).toBeGreaterThanOrEqual(valueOf(metrics, "erldist_messages_sent_total"));
    expect(valueOf(metrics, "erldist_node_info", { name: "status@127.0.0.1", hidden: "true" })).toBe(1);
    expect(valueOf(metrics, "erldist_node_start_time_seconds")).toBeCloseTo(node!.startedAt / 1000, 3);

    const loop = { loop: "0" };
    expect(metrics.get("erldist_discovery_lookups_total")?.type).toBe("counter");
    expect(valueOf(metrics, "erldist_discovery_lookups_total", { ...loop, status: "found" })).toBeGreaterThan(0);
    expect(valueOf(metrics, "erldist_discovery_lookups_total", { ...loop, status: "failed" })).toBe(0);
    expect(valueOf(metrics, "erldist_discovery_refreshes_total", loop)).toBeGreaterThan(0);
    // The two BEAM nodes connected, maybe before the server watched the loop: the hostile name keeps failing since.
    expect(valueOf(metrics, "erldist_discovery_connect_attempts_total", { ...loop, result: "failed" })).toBeGreaterThanOrEqual(1);
    expect(valueOf(metrics, "erldist_discovery_connect_attempts_total", { ...loop, result: "succeeded" })).toBeGreaterThanOrEqual(0);
    expect(valueOf(metrics, "erldist_discovery_nodes", { ...loop, state: "connected" })).toBe(2);
    expect(valueOf(metrics, "erldist_discovery_nodes", { ...loop, state: "backing_off" }) + valueOf(metrics, "erldist_discovery_nodes", { ...loop, state: "connecting" })).toBe(1);
    expect(valueOf(metrics, "erldist_discovery_nodes", { ...loop, state: "disconnected" })).toBe(0);
    // The source's description is a label value: escaped by the exposition format, read back intact.
    expect(metrics.get("erldist_discovery_nodes")!.samples[0].labels.source).toContain(HOSTILE);
    // Only erldist's own metrics, and nothing on prom-client's global registry.
    for (const name of metrics.keys()) expect(name).toMatch(/^erldist_/);
    expect((await globalRegistry.getMetricsAsJSON()).filter((m) => m.name.startsWith("erldist_"))).toEqual([]);
  });

  it("two servers in one process keep their own registries", async () => {
    const second = await StatusServer.start({ node: node!, port: 0, host: "127.0.0.1" });
    extras.push(second);
    const [a, b] = await Promise.all([server!, second].map(async (s) => parsePrometheus(await (await fetch(new URL("/metrics", s.url))).text())));
    expect(valueOf(a, "erldist_connected_nodes")).toBe(2);
    expect(valueOf(b, "erldist_connected_nodes")).toBe(2);
    expect(a.get("erldist_discovery_nodes")!.samples.length).toBe(5); // one loop, five states
    expect(b.get("erldist_discovery_nodes")!.samples).toEqual([]); // the second server was given no loop
    await second.close();
    await second.close(); // idempotent
    await expect(fetch(new URL("/healthz", second.url))).rejects.toThrow();
  });
});

describe("HTTP", () => {
  it("/healthz answers ok while the node runs, 503 once it stopped", async () => {
    expect(await (await get("/healthz")).text()).toBe("ok");
    const other = await Node.start({ name: "status2@127.0.0.1", cookie: "c", epmd: false, listenHost: "127.0.0.1" });
    extras.push(other);
    const probe = await StatusServer.start({ node: other, port: 0, host: "127.0.0.1" });
    extras.push(probe);
    const healthz = await fetch(new URL("/healthz", probe.url));
    expect(healthz.status).toBe(200);
    expect(await healthz.text()).toBe("ok");
    await other.stop();
    const after = await fetch(new URL("/healthz", probe.url));
    expect(after.status).toBe(503);
    expect(((await (await fetch(new URL("/status", probe.url))).json()) as StatusDocument).node.running).toBe(false);
    await probe.close();
  });

  it("unknown paths are 404, other methods than GET and HEAD 405, and /live without an upgrade 426", async () => {
    expect((await get("/nope")).status).toBe(404);
    expect((await get("/status/x")).status).toBe(404);
    const post = await get("/status", { method: "POST", body: "x" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    expect((await get("/", { method: "DELETE" })).status).toBe(405);
    const head = await get("/status", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
    expect((await get("/status?pretty=1")).status).toBe(200);
    expect((await get("/live")).status).toBe(426);
  });

  it("a taken port is a StatusError port_in_use that says so", async () => {
    const error = await rejectionOf(StatusServer.start({ node: node!, port: server!.port, host: "127.0.0.1" }), StatusError);
    expect(error.code).toBe("port_in_use");
    expect(error.message).toContain(`127.0.0.1:${server!.port}`);
    expect(error.message).toMatch(/already in use/);
    expect((await rejectionOf(StatusServer.start({ node: node!, port: 70000 }), StatusError)).code).toBe("listen_failed");
  });
});

describe("the page", () => {
  it("is self-contained and shows untrusted names as text, never as markup", async () => {
    await expect.poll(async () => (await statusJson()).discoveries[0].nodes.some((n) => n.name === HOSTILE), { timeout: 10_000 }).toBe(true);
    const response = await get("/");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const csp = response.headers.get("content-security-policy")!;
    expect(csp).toMatch(/default-src 'none'/);
    const html = await response.text();
    expect(html).toContain("&lt;script&gt;x&lt;/script&gt;@127.0.0.1");
    expect(html).not.toContain("<script>x</script>");
    // One script element: the page's own, allowed by the nonce the policy names.
    const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
    expect(scripts).toHaveLength(1);
    const nonce = /'nonce-([^']+)'/.exec(csp)![1];
    expect(scripts[0]).toBe(`<script nonce="${nonce}">`);
    // Nothing loaded from elsewhere.
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    for (const [link] of html.matchAll(/<link\b[^>]*>/g)) expect(link).toMatch(/href="data:/);
    for (const beam of beams) expect(html).toContain(`data-node="${beam.name}"`);
    expect(html).toContain("backing off");
    // The page's script parses as JavaScript (the browser test runs it).
    const script = /<script[^>]*>([\s\S]*)<\/script>/.exec(html)![1];
    expect(() => new Function(script)).not.toThrow();
  });
});

describe("the live WebSocket", () => {
  it("sends the document on connect, then pushes a fresh one as soon as a node joins", async () => {
    const url = server!.url.replace(/^http/, "ws") + "live";
    const client = new WebSocket(url);
    extras.push({ stop: async () => void client.terminate() });
    const documents: Array<{ at: number; doc: StatusDocument }> = [];
    client.on("message", (data) => {
      const message = JSON.parse(String(data)) as { type: string; status: StatusDocument };
      expect(message.type).toBe("status");
      documents.push({ at: Date.now(), doc: message.status });
    });
    await expect.poll(() => documents.length, { timeout: 5000 }).toBeGreaterThanOrEqual(1);
    expect(documents[0].doc.peers.map((p) => p.name)).toEqual([beams[0].name, beams[1].name]);

    const late = await BeamNode.start({ epmd: epmd!, alive: "st3" });
    beams.push(late);
    const upAt = new Promise<number>((resolve) => node!.once("nodeup", () => resolve(Date.now())));
    const second = node!.discover({ static: [late.name], interval: 200 });
    server!.addDiscovery(second);
    server!.addDiscovery(second); // no effect
    const joinedAt = await upAt;
    await expect.poll(() => documents.find((d) => d.doc.peers.some((p) => p.name === late.name)), { timeout: 5000 }).toBeTruthy();
    const first = documents.find((d) => d.doc.peers.some((p) => p.name === late.name))!;
    // Pushed by the event (throttled to 200 ms), not by the 2 s timer.
    expect(first.at - joinedAt).toBeLessThan(1500);
    expect(first.doc.discoveries.map((d) => d.id)).toEqual([0, 1]);
    await expect.poll(() => documents.at(-1)!.doc.peers.find((p) => p.name === late.name)?.otpRelease, { timeout: 10_000 }).toBe(release);

    // Closing the server closes the socket with 1001 (going away).
    const closed = new Promise<number>((resolve) => client.once("close", (code) => resolve(code)));
    const count = new Promise<number>((resolve) => server!.once("clients", resolve));
    const probe = await StatusServer.start({ node: node!, port: 0, host: "127.0.0.1" });
    extras.push(probe);
    const other = new WebSocket(probe.url.replace(/^http/, "ws") + "live");
    await new Promise((resolve) => other.once("message", resolve));
    const otherClosed = new Promise<number>((resolve) => other.once("close", (code) => resolve(code)));
    await probe.close();
    expect(await otherClosed).toBe(1001);
    client.close();
    expect(await closed).toBe(1005);
    expect(await count).toBe(0);
  });

  it("refuses WebSocket upgrades on other paths", async () => {
    const client = new WebSocket(server!.url.replace(/^http/, "ws") + "elsewhere");
    const error = await new Promise<Error>((resolve) => client.once("error", resolve));
    expect(error.message).toMatch(/404/);
  });
});
