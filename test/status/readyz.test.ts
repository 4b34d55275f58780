// The readiness probe against real BEAM nodes: an erldist node whose static discovery loop names two erl nodes, one
// of them frozen (SIGSTOP: its handshake hangs, so the loop is seen `connecting`) and one not started yet (its
// attempts fail: backing off). /readyz is 503 until the frozen one has connected, then 200 listing the other as
// unreachable, then 200 with both once it starts; drain() turns it 503 and leaves /healthz alone.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Node, StatusServer, type Discovery, type StatusDocument } from "../../src/index.js";
import { BeamNode } from "../support/beam.js";
import { startEpmd, type Epmd } from "../support/epmd.js";

let epmd: Epmd | undefined;
let frozen: BeamNode | undefined; // started, then stopped with SIGSTOP until the test lets it go
let late: BeamNode | undefined; // started only once the loop has failed to reach it
const LATE = "rzlate@127.0.0.1";
let node: Node | undefined;
let server: StatusServer | undefined;
const extras: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  epmd = await startEpmd();
  frozen = await BeamNode.start({ epmd, alive: "rzfrozen" });
  node = await Node.start({ name: "readyz@127.0.0.1", cookie: frozen.cookie, epmd: { port: epmd.port }, listenHost: "127.0.0.1" });
  server = await StatusServer.start({ node, port: 0, host: "127.0.0.1" });
});

afterAll(async () => {
  if (frozen?.pid !== undefined) {
    try {
      process.kill(frozen.pid, "SIGCONT"); // a test that failed midway may have left it stopped
    } catch {
      // gone already
    }
  }
  for (const extra of extras.splice(0).reverse()) await extra.close().catch(() => undefined);
  await server?.close();
  await node?.stop();
  await Promise.all([frozen?.stop(), late?.stop()]);
  await epmd?.stop();
});

async function probe(path: string, on: StatusServer = server!): Promise<{ status: number; body: string; type: string | null }> {
  const response = await fetch(new URL(path, on.url));
  return { status: response.status, body: await response.text(), type: response.headers.get("content-type") };
}

function stateOf(loop: Discovery, name: string): string | undefined {
  return loop.snapshot().nodes.find((known) => known.name === name)?.state;
}

describe("GET /readyz", () => {
  it("is 200 for a running node without discovery loops; /healthz is ok; the 404 names it", async () => {
    expect(await probe("/readyz")).toEqual({ status: 200, body: "ready: node running, no discovery loops", type: "text/plain; charset=utf-8" });
    expect(await probe("/healthz")).toMatchObject({ status: 200, body: "ok" });
    expect((await probe("/nope")).body).toBe("not found: the status server serves /, /status, /metrics, /healthz, /readyz and /live");
    const head = await fetch(new URL("/readyz", server!.url), { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
  });

  it("is 503 until the loop has connected what it found, then 200 listing the unreachable node, and 503 after drain()", async () => {
    process.kill(frozen!.pid!, "SIGSTOP");
    const loop = node!.discover({ static: [frozen!.name, LATE], interval: 200, connectTimeout: 60_000, backoff: { initial: 200, max: 1000 } });
    server!.addDiscovery(loop);
    // Before the loop's first refresh (it runs on the next turn of the event loop).
    expect(server!.readiness()).toMatchObject({ ready: false, reasons: [`discovery loop 0 (static ${frozen!.name},${LATE}): waiting for its first lookup`] });

    // The frozen node's handshake hangs: connecting for as long as it stays stopped.
    await expect.poll(() => stateOf(loop, frozen!.name), { timeout: 10_000 }).toBe("connecting");
    await expect.poll(() => loop.snapshot().nodes.find((known) => known.name === LATE)?.failures ?? 0, { timeout: 10_000 }).toBeGreaterThan(0);
    const waiting = await probe("/readyz");
    expect(waiting.status).toBe(503);
    expect(waiting.body).toMatch(new RegExp(`^not ready: waiting for ${frozen!.name} \\(connecting\\)`));
    expect(await probe("/healthz")).toMatchObject({ status: 200, body: "ok" });
    const doc = (await (await fetch(new URL("/status", server!.url))).json()) as StatusDocument;
    expect(doc.readiness.ready).toBe(false);
    expect(doc.readiness.waiting).toContainEqual({ name: frozen!.name, state: "connecting" });

    // Let it go: the handshake completes. The node not started yet is backing off, and does not hold readiness up.
    process.kill(frozen!.pid!, "SIGCONT");
    // (Polled: LATE is backing off between its attempts, which is almost always, and connecting during one.)
    const unreachable = `ready: 1 node connected; 1 unreachable, retrying: ${LATE}`;
    await expect.poll(async () => await probe("/readyz"), { timeout: 20_000 }).toEqual({ status: 200, body: unreachable, type: "text/plain; charset=utf-8" });
    const ready = (await (await fetch(new URL("/status", server!.url))).json()) as StatusDocument;
    expect(ready.readiness.connected).toEqual([frozen!.name]);

    // Once it starts, a retry connects it.
    late = await BeamNode.start({ epmd: epmd!, alive: "rzlate" });
    await expect.poll(async () => await probe("/readyz"), { timeout: 20_000 }).toEqual({ status: 200, body: "ready: 2 nodes connected", type: "text/plain; charset=utf-8" });
    expect(node!.nodes().sort()).toEqual([frozen!.name, LATE].sort());

    // drain(): not ready from then on, pushed to live clients; everything else as before.
    const pushed = new Promise<StatusDocument>((resolve) => {
      const onUpdate = (pushedDoc: StatusDocument): void => {
        if (!pushedDoc.readiness.reasons.includes("shutting down")) return;
        server!.off("update", onUpdate);
        resolve(pushedDoc);
      };
      server!.on("update", onUpdate);
    });
    expect(server!.draining).toBe(false);
    server!.drain();
    server!.drain(); // idempotent
    expect(server!.draining).toBe(true);
    expect(await probe("/readyz")).toMatchObject({ status: 503, body: "not ready: shutting down" });
    expect(await probe("/healthz")).toMatchObject({ status: 200, body: "ok" });
    expect((await pushed).readiness).toMatchObject({ ready: false, reasons: ["shutting down"] });
    expect(node!.nodes()).toHaveLength(2); // draining disconnects nothing
    expect((await probe("/status")).status).toBe(200);
  });

  it("is 503 once the node stopped (and /healthz too); close() implies drain()", async () => {
    const other = await StatusServer.start({ node: node!, port: 0, host: "127.0.0.1" });
    extras.push(other);
    expect(other.draining).toBe(false);
    expect((await probe("/readyz", other)).status).toBe(200);
    await node!.stop();
    expect(await probe("/readyz", other)).toMatchObject({ status: 503, body: "not ready: node stopped" });
    expect(await probe("/healthz", other)).toMatchObject({ status: 503, body: "node stopped" });
    await other.close();
    expect(other.draining).toBe(true);
    expect(other.readiness().reasons).toEqual(["shutting down", "node stopped"]);
  });
});
