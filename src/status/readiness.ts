// Readiness, as a Kubernetes readiness probe (GET /readyz) asks it: has this node joined what its discovery loops
// found, and is it not shutting down? Decided from plain data (whether the node runs, whether shutdown has begun,
// each loop's snapshot), so that the rule can be tested with made-up snapshots; the status server gathers the data.
import type { DiscoverySnapshot, KnownNodeState } from "../discovery/index.js";

export interface ReadinessInput {
  /** Whether the node runs (node.running). */
  running: boolean;
  /** Whether shutdown has begun (StatusServer.drain() or close()). */
  draining: boolean;
  /** The discovery loops shown by the status server, each with its number there. */
  discoveries: ReadonlyArray<DiscoverySnapshot & { id: number }>;
}

/** A discovered node readiness waits for: not connected, and not backing off after a failed attempt. */
export interface WaitingNode {
  name: string;
  state: Exclude<KnownNodeState, "connected" | "backing_off">;
}

export interface Readiness {
  ready: boolean;
  /** Why the node is not ready, one reason each; empty when it is ready. */
  reasons: string[];
  /** The discovered nodes that are connected (over every running loop, each name once). */
  connected: string[];
  /** The discovered nodes still being waited for (discovered, connecting, or disconnected and not retried yet). */
  waiting: WaitingNode[];
  /** The discovered nodes backing off after a failed attempt: not waited for, retried by their loop. */
  unreachable: string[];
  /** One line for the probe's body: "ready: 3 nodes connected; 1 unreachable, retrying: a@h" or "not ready: ...". */
  message: string;
}

/** How many names a message lists before it says "and N more" (the lists in the decision hold every name). */
const LISTED = 10;

function list(items: string[]): string {
  if (items.length <= LISTED) return items.join(", ");
  return `${items.slice(0, LISTED).join(", ")} and ${items.length - LISTED} more`;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/**
 * The readiness rule. Not ready once shutdown has begun, or when the node does not run. Otherwise ready once every
 * running loop has had a lookup that did not fail and every node it knows is connected, except the ones backing
 * off after a failed attempt (an unreachable pod must not keep the node unready forever: they are listed instead).
 * A stopped loop is not counted (it changes nothing any more); with no loop, a running node is ready.
 */
export function decideReadiness(input: ReadinessInput): Readiness {
  const reasons: string[] = [];
  if (input.draining) reasons.push("shutting down");
  if (!input.running) reasons.push("node stopped");
  if (reasons.length > 0) return { ready: false, reasons, connected: [], waiting: [], unreachable: [], message: `not ready: ${reasons.join("; ")}` };

  const connected = new Set<string>();
  const waiting = new Map<string, WaitingNode["state"]>();
  const backingOff = new Set<string>();
  const running = input.discoveries.filter((loop) => loop.running);
  for (const loop of running) {
    // failedStreak counts the failed lookups since the last one that did not fail: more refreshes means one did.
    if (loop.refreshes <= loop.failedStreak) {
      const what = `discovery loop ${loop.id} (${loop.source})`;
      reasons.push(
        loop.refreshes === 0
          ? `${what}: waiting for its first lookup`
          : `${what}: no lookup has succeeded yet (${plural(loop.failedStreak, "failed lookup")}${loop.lastLookup?.error ? `, the last: ${loop.lastLookup.error}` : ""})`,
      );
    }
    for (const known of loop.nodes) {
      if (known.state === "connected") connected.add(known.name);
      else if (known.state === "backing_off") backingOff.add(known.name);
      else if (!waiting.has(known.name)) waiting.set(known.name, known.state);
    }
  }
  // Loops that share a name may see it a moment apart: waiting in one wins, then connected in another.
  for (const name of waiting.keys()) connected.delete(name);
  const unreachable = [...backingOff].filter((name) => !connected.has(name) && !waiting.has(name));
  const waitingNodes = [...waiting].map(([name, state]) => ({ name, state }));
  if (waitingNodes.length > 0) reasons.push(`waiting for ${list(waitingNodes.map((node) => `${node.name} (${node.state})`))}`);

  const ready = reasons.length === 0;
  const retrying = unreachable.length > 0 ? `; ${unreachable.length} unreachable, retrying: ${list(unreachable)}` : "";
  const message = !ready
    ? `not ready: ${reasons.join("; ")}${retrying}`
    : running.length === 0
      ? `ready: node running, ${input.discoveries.length === 0 ? "no discovery loops" : "no discovery loop running"}`
      : `ready: ${plural(connected.size, "node")} connected${retrying}`;
  return { ready, reasons, connected: [...connected], waiting: waitingNodes, unreachable, message };
}
