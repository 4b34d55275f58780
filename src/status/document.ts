// The status document: what GET /status returns, what the live page receives over its WebSocket, and what the HTML
// page is rendered from. Plain JSON data: numbers are milliseconds since the epoch or counts. The cookie is not on
// the node's public surface, and nothing here reads it.
import type { DiscoverySnapshot } from "../discovery/index.js";
import type { NodeStats, PeerInfo } from "../node/index.js";

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

export interface StatusDocument {
  /** When this document was made (ms since the epoch); the page shows times relative to it. */
  generatedAt: number;
  node: NodeStatus;
  /** The connected nodes, by name. */
  peers: PeerStatus[];
  discoveries: DiscoveryStatus[];
}
