// The refresh loop against real BEAM nodes on 127.0.0.1 (no root needed): the epmd scan, and the loop's rules
// (connect, back off, prune, never disconnect on a failed lookup) with a source whose answers the test scripts.
import { createServer } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Node } from "../../src/index.js";
import { atom } from "../../src/etf/index.js";
import { DiscoveryError, type Discovery, type DiscoverySource, type LookupResult } from "../../src/discovery/index.js";
import { BeamNode } from "../support/beam.js";
import { startEpmd, type Epmd } from "../support/epmd.js";

let epmd: Epmd;
let scanned: BeamNode[];
let stranger: BeamNode; // another cookie
const started: Array<Node | BeamNode> = [];
let counter = 0;

beforeAll(async () => {
  epmd = await startEpmd();
  scanned = await Promise.all(["scan1", "scan2", "scan3"].map((alive) => BeamNode.start({ epmd, alive })));
  stranger = await BeamNode.start({ epmd, alive: "stranger", cookie: "not-the-cluster-cookie" });
});

afterEach(async () => {
  for (const item of started.splice(0).reverse()) await item.stop();
});

afterAll(async () => {
  await Promise.all([...(scanned ?? []), stranger].map((beam) => beam?.stop()));
  await epmd?.stop();
});

async function erldist(): Promise<Node> {
  const node = await Node.start({ name: `loop${++counter}@127.0.0.1`, cookie: scanned[0].cookie, epmd: { port: epmd.port }, listenHost: "127.0.0.1" });
  started.push(node);
  return node;
}

/** A source that answers whatever the test set last (an Error makes the lookup fail). */
function scripted(initial: LookupResult | Error): { source: DiscoverySource; set(answer: LookupResult | Error): void; lookups(): number } {
  let answer = initial;
  let count = 0;
  return {
    source: {
      description: "scripted",
      lookup: async () => {
        count++;
        if (answer instanceof Error) throw new DiscoveryError("lookup_failed", answer.message, { cause: answer });
        return answer;
      },
    },
    set: (next) => {
      answer = next;
    },
    lookups: () => count,
  };
}

/** Waits for `n` more refreshes of the loop. */
function refreshes(discovery: Discovery, n: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const onRefresh = (): void => {
      if (++seen < n) return;
      discovery.off("refresh", onRefresh);
      resolve();
    };
    discovery.on("refresh", onRefresh);
  });
}

const fast = { interval: 150, jitter: 0, connectTimeout: 3000, backoff: { initial: 100, max: 400 } };

describe("epmd scan", () => {
  it("finds every node registered with epmd on the host and connects to each, never to itself", async () => {
    const node = await erldist();
    const discovered: string[] = [];
    const discovery = node.discover({ ...fast, epmdScan: { hosts: ["127.0.0.1"], port: epmd.port, match: /^scan\d$/ } });
    discovery.on("discovered", (name) => discovered.push(name));
    const report = await discovery.refresh();
    expect(report.lookup.status).toBe("found");
    expect(new Set(node.nodes())).toEqual(new Set(scanned.map((b) => b.name)));
    for (const beam of scanned) expect(await beam.eval("nodes(hidden).")).toContainEqual(atom(node.name));
    expect(discovered.sort()).toEqual(scanned.map((b) => b.name).sort());

    // Without a filter the scan also finds this node's own registration: it is skipped, not dialled.
    const all = node.discover({ ...fast, epmdScan: { hosts: ["127.0.0.1"], port: epmd.port } });
    const seen = new Set<string>();
    all.on("discovered", (name) => seen.add(name));
    const failed: string[] = [];
    all.on("connectFailed", (name) => failed.push(name));
    await all.refresh();
    expect(seen.has(node.name)).toBe(false);
    expect(seen.has(stranger.name)).toBe(true);
    expect(failed).toEqual([stranger.name]); // the other cookie: reported, nothing else disturbed
    expect(node.nodes()).toHaveLength(3);
  });

  it("a host whose epmd does not answer fails the lookup with the reason, and disconnects nothing", async () => {
    const node = await erldist();
    const discovery = node.discover({ ...fast, epmdScan: { hosts: ["127.0.0.1"], port: 1, timeout: 500 } });
    const failure = new Promise<DiscoveryError>((resolve) => discovery.once("lookupFailed", resolve));
    const error = await failure;
    expect(error.code).toBe("lookup_failed");
    expect(error.message).toMatch(/epmd on 127\.0\.0\.1 did not answer NAMES/);
    expect(discovery.snapshot().lastLookup?.status).toBe("failed");
  });
});

describe("the refresh loop's rules", () => {
  it("reports a node with another cookie with the reason, backs off exponentially, and keeps the others", async () => {
    const node = await erldist();
    const script = scripted({ status: "found", names: [scanned[0].name, stranger.name] });
    const discovery = node.discover({ ...fast, source: script.source });
    const failures: Array<{ error: Error; failures: number; retryInMs: number }> = [];
    discovery.on("connectFailed", (name, error, detail) => name === stranger.name && failures.push({ error, ...detail }));
    await expect.poll(() => failures.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    expect(node.nodes()).toEqual([scanned[0].name]);
    expect(failures.map((f) => f.failures).slice(0, 3)).toEqual([1, 2, 3]);
    expect(failures[0].retryInMs).toBe(100);
    expect(failures[1].retryInMs).toBe(200);
    expect(failures[2].retryInMs).toBe(400);
    expect((failures[0].error as { code?: string }).code).toBe("cookie_rejected");
    const entry = discovery.snapshot().nodes.find((n) => n.name === stranger.name);
    expect(entry?.state).toBe("backing_off");
    expect(entry?.lastError?.message).toMatch(/cookie/i);
    // Backing off means fewer attempts than refreshes: the retry gate holds the name between them.
    expect(failures.length).toBeLessThan(discovery.snapshot().refreshes);
  });

  it("retries a name that was not up yet and connects it once it starts", async () => {
    const node = await erldist();
    const late = `late${counter}@127.0.0.1`;
    const script = scripted({ status: "found", names: [late] });
    const discovery = node.discover({ ...fast, source: script.source });
    const firstFailure = await new Promise<Error>((resolve) => discovery.once("connectFailed", (_name, error) => resolve(error)));
    expect((firstFailure as { code?: string }).code).toBe("not_registered");
    const beam = await BeamNode.start({ epmd, alive: late.split("@")[0] });
    started.push(beam);
    await expect.poll(() => node.nodes(), { timeout: 10_000 }).toContain(late);
    const entry = discovery.snapshot().nodes.find((n) => n.name === late);
    expect(entry?.state).toBe("connected");
    expect(entry?.failures).toBe(0);
  });

  it("prunes a node that vanished from a complete answer: disconnected on both sides", async () => {
    const node = await erldist();
    const [a, b] = scanned;
    const script = scripted({ status: "found", names: [a.name, b.name] });
    const discovery = node.discover({ ...fast, source: script.source });
    await expect.poll(() => node.nodes().sort(), { timeout: 5000 }).toEqual([a.name, b.name].sort());
    const pruned = new Promise<[string, { reason: string; disconnected: boolean }]>((resolve) => discovery.once("pruned", (...args) => resolve(args)));
    script.set({ status: "found", names: [a.name] });
    expect(await pruned).toEqual([b.name, { reason: "vanished", disconnected: true }]);
    expect(node.nodes()).toEqual([a.name]);
    await expect.poll(() => b.eval("nodes(hidden)."), { timeout: 5000 }).not.toContainEqual(atom(node.name));
    expect(discovery.snapshot().nodes.map((n) => n.name)).toEqual([a.name]);
  });

  it("never disconnects on failed lookups, and retries the known names meanwhile", async () => {
    const node = await erldist();
    const [a, b] = scanned;
    const script = scripted({ status: "found", names: [a.name, b.name] });
    const discovery = node.discover({ ...fast, source: script.source });
    await expect.poll(() => node.nodes().length, { timeout: 5000 }).toBe(2);
    const pruned: string[] = [];
    discovery.on("pruned", (name) => pruned.push(name));
    let failedLookups = 0;
    discovery.on("lookupFailed", () => failedLookups++);
    script.set(new Error("SERVFAIL"));
    // A node that drops meanwhile is reconnected from the last good answer, DNS or not.
    await b.eval(`erlang:disconnect_node('${node.name}').`);
    await refreshes(discovery, 5);
    expect(failedLookups).toBeGreaterThanOrEqual(5);
    expect(pruned).toEqual([]);
    await expect.poll(() => node.nodes().sort(), { timeout: 5000 }).toEqual([a.name, b.name].sort());
    expect(discovery.snapshot().failedStreak).toBeGreaterThanOrEqual(5);
  });

  it("prunes on an empty answer only after it persisted for emptyRefreshesBeforePrune refreshes", async () => {
    const node = await erldist();
    const [a] = scanned;
    const script = scripted({ status: "found", names: [a.name] });
    const discovery = node.discover({ ...fast, source: script.source, emptyRefreshesBeforePrune: 4 });
    await expect.poll(() => node.nodes(), { timeout: 5000 }).toEqual([a.name]);
    const streaks: number[] = [];
    discovery.on("refresh", () => streaks.push(discovery.snapshot().emptyStreak));
    const pruned = new Promise<{ reason: string }>((resolve) => discovery.once("pruned", (_name, detail) => resolve({ reason: detail.reason, streak: discovery.snapshot().emptyStreak } as { reason: string })));
    script.set({ status: "empty", reason: "nxdomain" });
    expect(await pruned).toEqual({ reason: "empty", streak: 4 });
    expect(streaks.slice(0, 3)).toEqual([1, 2, 3]); // still connected through these
    expect(node.nodes()).toEqual([]);
  });

  it("a partial answer connects what it names and prunes nothing", async () => {
    const node = await erldist();
    const [a, b] = scanned;
    const script = scripted({ status: "found", names: [a.name] });
    const discovery = node.discover({ ...fast, source: script.source });
    await expect.poll(() => node.nodes(), { timeout: 5000 }).toEqual([a.name]);
    script.set({ status: "partial", names: [b.name], error: new Error("AAAA timed out") });
    await expect.poll(() => node.nodes().sort(), { timeout: 5000 }).toEqual([a.name, b.name].sort());
    await refreshes(discovery, 2);
    expect(node.nodes()).toHaveLength(2);
  });

  it("with prune: false, vanished nodes stay connected", async () => {
    const node = await erldist();
    const [a] = scanned;
    const script = scripted({ status: "found", names: [a.name] });
    const discovery = node.discover({ ...fast, source: script.source, prune: false });
    await expect.poll(() => node.nodes(), { timeout: 5000 }).toEqual([a.name]);
    script.set({ status: "found", names: [] });
    await refreshes(discovery, 3);
    expect(node.nodes()).toEqual([a.name]);
  });

  it("never overlaps itself: a slow lookup delays the next refresh instead of running beside it", async () => {
    const node = await erldist();
    let active = 0;
    let maxActive = 0;
    let lookups = 0;
    const discovery = node.discover({
      ...fast,
      source: {
        description: "slow",
        lookup: async () => {
          lookups++;
          maxActive = Math.max(maxActive, ++active);
          await new Promise((r) => setTimeout(r, 400)); // longer than the interval
          active--;
          return { status: "found", names: [] };
        },
      },
    });
    await Promise.all([discovery.refresh(), discovery.refresh(), discovery.refresh()]);
    await refreshes(discovery, 2);
    expect(maxActive).toBe(1);
    expect(lookups).toBeGreaterThanOrEqual(3);
  });

  it("an attempt that hangs does not hold up the next lookups: a node that appears meanwhile is connected first", async () => {
    // Something on 127.0.0.2 at epmd's port that accepts and never answers: the attempt hangs until connectTimeout.
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(epmd.port, "127.0.0.2", resolve));
    try {
      const node = await erldist();
      const [a, b] = scanned;
      const script = scripted({ status: "found", names: ["hang@127.0.0.2", a.name] });
      const discovery = node.discover({ ...fast, connectTimeout: 4000, source: script.source });
      const order: string[] = [];
      discovery.on("connected", (name) => order.push(`connected ${name}`));
      discovery.on("connectFailed", (name, error) => order.push(`failed ${name} ${(error as { code?: string }).code}`));
      await expect.poll(() => node.nodes(), { timeout: 5000 }).toEqual([a.name]);
      script.set({ status: "found", names: ["hang@127.0.0.2", a.name, b.name] });
      await expect.poll(() => order.some((o) => o.startsWith("failed hang")), { timeout: 10_000 }).toBe(true);
      expect(order).toEqual([`connected ${a.name}`, `connected ${b.name}`, "failed hang@127.0.0.2 timeout"]);
      expect(discovery.snapshot().refreshes).toBeGreaterThan(3); // lookups went on while the attempt hung
    } finally {
      silent.close();
    }
  });

  it("stopping the node stops the loop first: no attempt after, and refresh() says it is stopped", async () => {
    const node = await erldist();
    const script = scripted({ status: "found", names: [scanned[0].name] });
    const discovery = node.discover({ ...fast, source: script.source });
    await expect.poll(() => node.nodes().length, { timeout: 5000 }).toBe(1);
    const events: string[] = [];
    for (const name of ["discovered", "connected", "connectFailed", "pruned"] as const) discovery.on(name, () => events.push(name));
    await node.stop();
    expect(discovery.isRunning).toBe(false);
    const lookups = script.lookups();
    await new Promise((r) => setTimeout(r, 400));
    expect(script.lookups()).toBe(lookups);
    expect(events).toEqual([]);
    const error = await discovery.refresh().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiscoveryError);
    expect((error as DiscoveryError).code).toBe("stopped");
  });

  it("rejects contradictory or incomplete options with a clear error", async () => {
    const node = await erldist();
    expect(() => node.discover({})).toThrow(/needs a source/);
    expect(() => node.discover({ dns: "x.test", static: ["a@b"] })).toThrow(/one source per loop/);
    expect(() => node.discover({ dns: "x.test" })).toThrow(/needs a basename/);
    expect(() => node.discover({ static: [], interval: 0 })).toThrow(/interval must be a positive/);
  });
});
