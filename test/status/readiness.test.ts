// The readiness rule on its own, with made-up discovery snapshots (no node, no network): what makes a node ready or
// not, and what the probe's one-line body says.
import { describe, expect, it } from "vitest";
import { decideReadiness, type ReadinessInput } from "../../src/status/index.js";
import type { DiscoverySnapshot, KnownNode, KnownNodeState } from "../../src/discovery/index.js";

function known(name: string, state: KnownNodeState): KnownNode {
  return { name, state, since: 1, firstSeen: 1, lastSeen: 1, failures: state === "backing_off" ? 1 : 0, ...(state === "backing_off" ? { retryAt: 2, lastError: { code: "not_registered", message: "x" } } : {}) };
}

function loop(nodes: Array<[string, KnownNodeState]>, overrides: Partial<DiscoverySnapshot> = {}, id = 0): DiscoverySnapshot & { id: number } {
  return {
    id,
    source: "static a@h,b@h",
    interval: 5000,
    running: true,
    refreshes: 1,
    lastLookup: { at: 1, durationMs: 0, status: "found", count: nodes.length },
    emptyStreak: 0,
    failedStreak: 0,
    nodes: nodes.map(([name, state]) => known(name, state)),
    ...overrides,
  };
}

function decide(discoveries: ReadinessInput["discoveries"], more: Partial<ReadinessInput> = {}) {
  return decideReadiness({ running: true, draining: false, discoveries, ...more });
}

describe("decideReadiness", () => {
  it("with no discovery loop, a running node is ready", () => {
    expect(decide([])).toEqual({ ready: true, reasons: [], connected: [], waiting: [], unreachable: [], message: "ready: node running, no discovery loops" });
  });

  it("is ready once every node the loops know is connected", () => {
    const readiness = decide([loop([["a@h", "connected"], ["b@h", "connected"]]), loop([["c@h", "connected"]], {}, 1)]);
    expect(readiness).toMatchObject({ ready: true, reasons: [], connected: ["a@h", "b@h", "c@h"], unreachable: [], waiting: [] });
    expect(readiness.message).toBe("ready: 3 nodes connected");
    expect(decide([loop([["a@h", "connected"]])]).message).toBe("ready: 1 node connected");
  });

  it("waits for nodes still discovered, connecting or disconnected", () => {
    for (const state of ["discovered", "connecting", "disconnected"] as const) {
      const readiness = decide([loop([["a@h", "connected"], ["erlclu@10.0.0.2", state]])]);
      expect(readiness.ready).toBe(false);
      expect(readiness.waiting).toEqual([{ name: "erlclu@10.0.0.2", state }]);
      expect(readiness.connected).toEqual(["a@h"]);
      expect(readiness.message).toBe(`not ready: waiting for erlclu@10.0.0.2 (${state})`);
    }
  });

  it("does not wait for nodes backing off after a failed attempt, and lists them", () => {
    const readiness = decide([loop([["a@h", "connected"], ["b@h", "connected"], ["c@h", "connected"], ["x@h", "backing_off"]])]);
    expect(readiness).toMatchObject({ ready: true, reasons: [], unreachable: ["x@h"] });
    expect(readiness.message).toBe("ready: 3 nodes connected; 1 unreachable, retrying: x@h");
    // Every node unreachable: still ready (an unreachable pod must not keep the node unready forever).
    expect(decide([loop([["x@h", "backing_off"], ["y@h", "backing_off"]])]).message).toBe("ready: 0 nodes connected; 2 unreachable, retrying: x@h, y@h");
    // Not ready for another reason: the unreachable ones are still listed.
    expect(decide([loop([["a@h", "connecting"], ["x@h", "backing_off"]])]).message).toBe("not ready: waiting for a@h (connecting); 1 unreachable, retrying: x@h");
  });

  it("is not ready until each loop has had a lookup that did not fail", () => {
    const first = decide([loop([], { refreshes: 0, lastLookup: undefined })]);
    expect(first).toMatchObject({ ready: false, reasons: ["discovery loop 0 (static a@h,b@h): waiting for its first lookup"] });
    const failed = decide([
      loop([["a@h", "connected"]]),
      loop([], { source: "dns x.test", refreshes: 2, failedStreak: 2, lastLookup: { at: 1, durationMs: 5, status: "failed", count: 0, error: "queryA ESERVFAIL x.test" } }, 1),
    ]);
    expect(failed.ready).toBe(false);
    expect(failed.message).toBe("not ready: discovery loop 1 (dns x.test): no lookup has succeeded yet (2 failed lookups, the last: queryA ESERVFAIL x.test)");
    // A failed lookup after one that succeeded changes nothing: the loop keeps what it knew.
    expect(decide([loop([["a@h", "connected"]], { refreshes: 5, failedStreak: 3, lastLookup: { at: 1, durationMs: 5, status: "failed", count: 0 } })]).ready).toBe(true);
    // An empty answer is a lookup that did not fail: nothing to wait for.
    expect(decide([loop([], { lastLookup: { at: 1, durationMs: 0, status: "empty", count: 0, error: "NXDOMAIN" }, emptyStreak: 1 })]).message).toBe("ready: 0 nodes connected");
  });

  it("is not ready once shutdown has begun, or when the node does not run, whatever the loops say", () => {
    const connected = [loop([["a@h", "connected"]])];
    expect(decide(connected, { draining: true })).toEqual({ ready: false, reasons: ["shutting down"], connected: [], waiting: [], unreachable: [], message: "not ready: shutting down" });
    expect(decide([], { running: false }).message).toBe("not ready: node stopped");
    expect(decide(connected, { running: false, draining: true }).reasons).toEqual(["shutting down", "node stopped"]);
  });

  it("does not count a stopped loop", () => {
    expect(decide([loop([["a@h", "connecting"]], { running: false })]).message).toBe("ready: node running, no discovery loop running");
    expect(decide([loop([["a@h", "connected"]]), loop([], { running: false, refreshes: 0 }, 1)]).message).toBe("ready: 1 node connected");
  });

  it("counts a name several loops know once: waiting in one wins over connected in another", () => {
    const readiness = decide([loop([["a@h", "connected"], ["b@h", "connected"]]), loop([["a@h", "connecting"], ["b@h", "connected"], ["x@h", "backing_off"]], {}, 1)]);
    expect(readiness).toMatchObject({ ready: false, connected: ["b@h"], waiting: [{ name: "a@h", state: "connecting" }], unreachable: ["x@h"] });
    // Backing off in one loop, connected in the other: it is connected.
    expect(decide([loop([["x@h", "backing_off"]]), loop([["x@h", "connected"]], {}, 1)])).toMatchObject({ ready: true, unreachable: [], connected: ["x@h"] });
  });

  it("lists at most ten names in its message (the lists hold them all)", () => {
    const names = Array.from({ length: 12 }, (_, i) => `n${i}@h`);
    const readiness = decide([loop(names.map((name) => [name, "connecting"]))]);
    expect(readiness.waiting).toHaveLength(12);
    expect(readiness.message).toBe(`not ready: waiting for ${names.slice(0, 10).map((n) => `${n} (connecting)`).join(", ")} and 2 more`);
  });
});
