// Prometheus metrics of a node and its discovery loops, on a private registry (never prom-client's global one, so
// that two status servers in one process do not collide). Node figures are read at scrape time (collect callbacks);
// discovery lookups and connection attempts are counted from the loops' events, from when the loop was added; pg
// and PubSub figures are read at scrape time from the scopes and clients in use then (see groups.ts).
import { Counter, Gauge, Registry } from "prom-client";
import type { Discovery, KnownNodeState, LookupStatus } from "../discovery/index.js";
import { pubsubsOf, scopesOf, type TopicStats } from "../groups/index.js";
import type { Node, NodeStats } from "../node/index.js";
import { localGroups } from "./groups.js";

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
    this.groupMetrics(node);
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

  /**
   * pg and Phoenix.PubSub, read at each scrape. Group names are terms, written in Erlang syntax as the page writes
   * them. A PubSub's counts are its client's own since it was made (node.pubsub(name)), so they count as counters.
   */
  private groupMetrics(node: Node): void {
    const registers = [this.registry];
    new Gauge({
      name: "erldist_pg_local_members",
      help: "This node's processes in each pg group it has joined, by scope and group (the group in Erlang syntax).",
      labelNames: ["scope", "group"],
      registers,
      collect() {
        this.reset();
        for (const scope of scopesOf(node)) for (const g of localGroups(scope)) this.set({ scope: scope.scope.name, group: g.group }, g.localMembers);
      },
    });
    new Gauge({
      name: "erldist_pg_synced_nodes",
      help: "Nodes whose pg scope of that name has synced with this node's.",
      labelNames: ["scope"],
      registers,
      collect() {
        this.reset();
        for (const scope of scopesOf(node)) this.set({ scope: scope.scope.name }, scope.syncedNodes().length);
      },
    });
    new Gauge({
      name: "erldist_pubsub_nodes",
      help: "Nodes running each Phoenix.PubSub (a worker in its adapter's pg group), this one included.",
      labelNames: ["pubsub"],
      registers,
      collect() {
        this.reset();
        for (const pubsub of pubsubsOf(node)) this.set({ pubsub: pubsub.name.name }, pubsub.nodes().length);
      },
    });
    const topics = (): Array<{ labels: { pubsub: string; topic: string }; stats: TopicStats }> =>
      pubsubsOf(node).flatMap((pubsub) => pubsub.stats().map((stats) => ({ labels: { pubsub: pubsub.name.name, topic: stats.topic }, stats })));
    new Gauge({
      name: "erldist_pubsub_subscribers",
      help: "This node's subscriptions to each Phoenix.PubSub topic.",
      labelNames: ["pubsub", "topic"],
      registers,
      collect() {
        this.reset();
        for (const { labels, stats } of topics()) this.set(labels, stats.subscribers);
      },
    });
    new Counter({
      name: "erldist_pubsub_messages_received_total",
      help: "Messages on each Phoenix.PubSub topic delivered to this node's subscribers (once per message, whatever the number of subscribers).",
      labelNames: ["pubsub", "topic"],
      registers,
      collect() {
        this.reset();
        for (const { labels, stats } of topics()) this.inc(labels, stats.received);
      },
    });
    new Counter({
      name: "erldist_pubsub_messages_sent_total",
      help: "Broadcasts on each Phoenix.PubSub topic sent from this node.",
      labelNames: ["pubsub", "topic"],
      registers,
      collect() {
        this.reset();
        for (const { labels, stats } of topics()) this.inc(labels, stats.sent);
      },
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
