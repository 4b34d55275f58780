// Prometheus metrics of a node and its discovery loops, on a private registry (never prom-client's global one, so
// that two status servers in one process do not collide). Node figures are read at scrape time (collect callbacks);
// discovery lookups and connection attempts are counted from the loops' events, from when the loop was added.
import { Counter, Gauge, Registry } from "prom-client";
import type { Discovery, KnownNodeState, LookupStatus } from "../discovery/index.js";
import type { Node, NodeStats } from "../node/index.js";

const LOOKUP_STATUSES: readonly LookupStatus[] = ["found", "partial", "empty", "failed"];
const NODE_STATES: readonly KnownNodeState[] = ["discovered", "connecting", "connected", "backing_off", "disconnected"];

type LoopLabels = { loop: string; source: string };

/** A loop this registry reports on, with its labels. */
export interface WatchedLoop {
  id: number;
  discovery: Discovery;
}

export class StatusMetrics {
  readonly registry = new Registry();
  private readonly lookups: Counter<"loop" | "source" | "status">;
  private readonly attempts: Counter<"loop" | "source" | "result">;

  constructor(node: Node, loops: () => readonly WatchedLoop[]) {
    const registers = [this.registry];
    new Gauge({
      name: "erldist_node_info",
      help: "This node (always 1), with its name and whether it is hidden as labels.",
      labelNames: ["name", "hidden"],
      registers,
      collect() {
        this.reset();
        this.set({ name: node.name, hidden: String(node.hidden) }, 1);
      },
    });
    new Gauge({
      name: "erldist_node_start_time_seconds",
      help: "When this node started, in seconds since the epoch.",
      registers,
      collect() {
        this.set(node.startedAt / 1000);
      },
    });
    new Gauge({
      name: "erldist_connected_nodes",
      help: "Nodes connected now.",
      registers,
      collect() {
        this.set(node.nodes().length);
      },
    });
    const total = (name: string, help: string, pick: (stats: NodeStats) => number): void => {
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(pick(node.stats()));
        },
      });
    };
    total("erldist_connections_up_total", "Connections that came up since the node started.", (s) => s.connectionsUp);
    total("erldist_connections_down_total", "Connections that went down since the node started.", (s) => s.connectionsDown);
    total("erldist_messages_received_total", "Distribution messages received, closed connections included.", (s) => s.messagesIn);
    total("erldist_messages_sent_total", "Distribution messages sent, closed connections included.", (s) => s.messagesOut);
    total("erldist_bytes_received_total", "Distribution bytes received, closed connections included.", (s) => s.bytesIn);
    total("erldist_bytes_sent_total", "Distribution bytes sent, closed connections included.", (s) => s.bytesOut);
    // Backpressure, as BEAM's busy_dist_port monitor reports it: how often and how long connections were busy.
    total("erldist_busy_total", "Times a connection became busy (more than busyLimit bytes waiting for a slow peer).", (s) => s.busyCount);
    total("erldist_busy_seconds_total", "Seconds connections spent busy (spells that ended).", (s) => s.busyMs / 1000);
    total("erldist_sends_held_total", "Sends that waited because their connection was busy.", (s) => s.sendsHeld);
    total("erldist_sends_refused_total", "Sends refused because maxQueuedBytes waited already (DistError busy).", (s) => s.sendsRefused);
    total("erldist_signals_failed_total", "Signals the node sends by itself (exit signals, links, monitors) that could not go.", (s) => s.signalsFailed);
    new Gauge({
      name: "erldist_queued_bytes",
      help: "Bytes waiting to go to each connected node: in the socket, and held back while busy.",
      labelNames: ["node"],
      registers,
      collect() {
        this.reset();
        for (const peer of node.peers()) this.set({ node: peer.name }, peer.queuedBytes);
      },
    });
    new Gauge({
      name: "erldist_connection_busy",
      help: "Whether the connection to each node is busy now (1) or not (0).",
      labelNames: ["node"],
      registers,
      collect() {
        this.reset();
        for (const peer of node.peers()) this.set({ node: peer.name }, peer.busy ? 1 : 0);
      },
    });

    const labels = ({ id, discovery }: WatchedLoop): LoopLabels => ({ loop: String(id), source: discovery.source.description });
    new Counter({
      name: "erldist_discovery_refreshes_total",
      help: "Refreshes of each discovery loop since it started.",
      labelNames: ["loop", "source"],
      registers,
      collect() {
        this.reset();
        for (const loop of loops()) this.inc(labels(loop), loop.discovery.snapshot().refreshes);
      },
    });
    new Gauge({
      name: "erldist_discovery_nodes",
      help: "Names each discovery loop knows, by state (discovered, connecting, connected, backing_off, disconnected).",
      labelNames: ["loop", "source", "state"],
      registers,
      collect() {
        this.reset();
        for (const loop of loops()) {
          const counts = new Map<string, number>(NODE_STATES.map((state) => [state, 0]));
          for (const known of loop.discovery.snapshot().nodes) counts.set(known.state, (counts.get(known.state) ?? 0) + 1);
          for (const [state, count] of counts) this.set({ ...labels(loop), state }, count);
        }
      },
    });
    this.lookups = new Counter({
      name: "erldist_discovery_lookups_total",
      help: "Lookups of each discovery loop by status (found, partial, empty, failed), since the status server watches it.",
      labelNames: ["loop", "source", "status"],
      registers,
    });
    this.attempts = new Counter({
      name: "erldist_discovery_connect_attempts_total",
      help: "Connection attempts of each discovery loop by result (succeeded, failed), since the status server watches it.",
      labelNames: ["loop", "source", "result"],
      registers,
    });
  }

  /** Counts the loop's lookups and attempts from now on; returns what stops it. */
  watch(loop: WatchedLoop): () => void {
    const base = { loop: String(loop.id), source: loop.discovery.source.description };
    for (const status of LOOKUP_STATUSES) this.lookups.inc({ ...base, status }, 0);
    for (const result of ["succeeded", "failed"]) this.attempts.inc({ ...base, result }, 0);
    const onLookup = (summary: { status: LookupStatus }): void => void this.lookups.inc({ ...base, status: summary.status });
    const onLookupFailed = (): void => void this.lookups.inc({ ...base, status: "failed" });
    const onConnected = (): void => void this.attempts.inc({ ...base, result: "succeeded" });
    const onConnectFailed = (): void => void this.attempts.inc({ ...base, result: "failed" });
    const { discovery } = loop;
    discovery.on("lookup", onLookup);
    discovery.on("lookupFailed", onLookupFailed);
    discovery.on("connected", onConnected);
    discovery.on("connectFailed", onConnectFailed);
    return () => {
      discovery.off("lookup", onLookup);
      discovery.off("lookupFailed", onLookupFailed);
      discovery.off("connected", onConnected);
      discovery.off("connectFailed", onConnectFailed);
    };
  }

  /** The exposition text, and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  close(): void {
    this.registry.clear();
  }
}
