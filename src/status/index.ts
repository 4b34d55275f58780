// erldist's status layer: a live HTML status page, the status document as JSON, Prometheus metrics, and liveness
// and readiness probes, served over HTTP for a node, its discovery loops, pg scopes and PubSub clients. It reads the
// node, discovery and groups layers' public API; only the command is above it.
export { StatusServer, type StatusServerEvents, type StatusServerOptions } from "./server.js";
export type { DiscoveryStatus, NodeStatus, PeerStatus, PgGroupStatus, PgScopeStatus, PubSubStatus, StatusDocument } from "./document.js";
export { StatusError, type StatusErrorCode } from "./errors.js";
export { decideReadiness, type Readiness, type ReadinessInput, type WaitingNode } from "./readiness.js";
