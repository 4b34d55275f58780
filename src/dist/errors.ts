// Typed errors of the distribution layer.

import { CodedError } from "../coded-error.js";

export type DistErrorCode =
  | "cookie_rejected" // one side's digest did not match: the cookies differ
  | "not_allowed" // the peer refuses connections from this node
  | "nok" // simultaneous connect: the peer's own attempt wins, this one stops
  | "alive" // the peer still has a connection to a node of this name
  | "name_mismatch" // the peer is not the node that was asked for
  | "incompatible" // the peer lacks capabilities erldist requires (too old an OTP)
  | "protocol" // bytes that do not follow the protocol
  | "closed" // the connection closed
  | "timeout" // no answer in time (handshake), or silence beyond net_ticktime (tick timeout)
  | "aborted"; // the caller's AbortSignal fired

export class DistError extends CodedError<DistErrorCode> {
  override readonly name = "DistError";
}
