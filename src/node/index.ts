// erldist's node layer: the local node, its processes, and the services every Erlang node answers. What may import
// what: node.ts (the front) uses every part; the parts (connection-table, process-table, signals, router) use the
// dist, epmd and etf layers and each other's types; services/ use only the public process API (services/host.ts).
export { Node } from "./node.js";
export { defaultCookie, readCookie, findCookie, cookieFile, type CookieSource } from "./cookie.js";
export type { ConnectionStats, NodeEvents, NodeOptions, NodeStats, PeerInfo, PingResult } from "./node-types.js";
export type { ControlStats } from "../dist/index.js"; // what node.controlStats(peer) returns
export type { ServerHandlers, ServerRef } from "./services/gen-server.js";
export type { RpcOptions } from "./services/rpc.js";
export { CallError, NodeError, explainCallError, formatReason, REASON_LIMIT, type CallErrorCode, type ErrorClass, type NodeErrorCode, type ReasonSyntax } from "./errors.js";
export { ErlProcess, type AliasOptions, type Destination, type ExitOptions, type NodeName, type SendOptions, type SpawnRequestOptions } from "./process.js";
export { iolistToString, type IoEncoding } from "./iolist.js";
export { type ReceiveOptions } from "./mailbox.js";
export { ignorable } from "./destination.js";
