// The status document: what GET /status returns, what the live page receives over its WebSocket, and what the HTML
// page is rendered from. Plain JSON data: numbers are milliseconds since the epoch or counts. The cookie is not on
// the node's public surface, and nothing here reads it.
import type { DiscoverySnapshot } from "../discovery/index.js";
import type { TopicStats } from "../groups/index.js";
import type { NodeStats, PeerInfo } from "../node/index.js";
import type { Readiness } from "./readiness.js";

/** This node. */
export interface NodeStatus {
  name: string;
  hidden: boolean;
  creation: number;
  /** The distribution listen port. */
  port: number;
  /** When the node started (ms since the epoch). */
  startedAt: number;
  uptimeMs: number;
  /** false once the node has been told to stop. */
  running: boolean;
  /** Totals since the node started, closed connections included. */
  stats: NodeStats;
}

/** A connected node. */
export interface PeerStatus extends PeerInfo {
  /** Its OTP release (erlang:system_info(otp_release), e.g. "25"), asked once per connection; null until known, or
   * when the peer did not answer (an erldist node runs no rex, so it never does). */
  otpRelease: string | null;
}

/** A discovery loop: its snapshot, and its number on this status server (in the order the loops were added). */
export interface DiscoveryStatus extends DiscoverySnapshot {
  id: number;
}

/** A pg group this node's processes have joined. */
export interface PgGroupStatus {
  /** The group's name (any term) in Erlang syntax, on one line: `'Elixir.MyApp.PubSub.Adapter'`, `{chat,<<"x">>}`. */
  group: string;
  /** This node's processes in it. */
  localMembers: number;
  /** Its members on every node this scope knows of, this one included. */
  members: number;
}

/** A pg scope running on this node (node.pg(scope)). */
export interface PgScopeStatus {
  /** The scope's name, e.g. `Elixir.Phoenix.PubSub` or pg's default `pg`. */
  scope: string;
  /** The groups this node has joined (groups only other nodes are in are not listed). */
  groups: PgGroupStatus[];
  /** The nodes whose scope of that name has synced with this one. */
  syncedNodes: string[];
}

/** A Phoenix.PubSub client on this node (node.pubsub(name)). */
export interface PubSubStatus {
  /** The PubSub's name as an atom, e.g. `Elixir.MyApp.PubSub`. */
  name: string;
  /** The nodes running it (a worker in its adapter's pg group), this one included. */
  nodes: string[];
  /** Topics with subscribers here or traffic through here: subscribers, messages received and broadcasts sent. */
  topics: TopicStats[];
}

export interface StatusDocument {
  /** When this document was made (ms since the epoch); the page shows times relative to it. */
  generatedAt: number;
  node: NodeStatus;
  /** The connected nodes, by name. */
  peers: PeerStatus[];
  discoveries: DiscoveryStatus[];
  /** What GET /readyz answers: whether the node joined what the loops found and is not shutting down, and why not. */
  readiness: Readiness;
  /** The pg scopes in use on this node, by name (none until something uses node.pg or node.pubsub). */
  pgScopes: PgScopeStatus[];
  /** The Phoenix.PubSub clients in use on this node, by name. */
  pubsubs: PubSubStatus[];
}
