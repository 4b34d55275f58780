// erldist's node layer: the local node, its connections and the services every Erlang node answers.
export { Node, defaultCookie, type ConnectionStats, type ControlStats, type NodeOptions, type NodeStats, type PeerInfo, type PingResult, type ServerHandlers } from "./node.js";
export { CallError, NodeError, explainCallError, formatReason, REASON_LIMIT, type CallErrorCode, type ErrorClass, type NodeErrorCode, type ReasonSyntax } from "./errors.js";
export { ErlProcess, type AliasOptions, type Destination, type ExitOptions, type NodeName, type SendOptions } from "./process.js";
export { iolistToString, type IoEncoding } from "./iolist.js";
export { type ReceiveOptions } from "./mailbox.js";
